package sandbox_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/refbackend"
)

// These tests follow Microsoft's pages on quarantine and job status:
//   ENTRA  docs/identity/app-provisioning/application-provisioning-quarantine-status.md (MicrosoftDocs/entra-docs)
//   ENTRA  docs/identity/app-provisioning/accidental-deletions.md
//   GRAPH  api-reference/v1.0/resources/synchronization-synchronizationstatus.md,
//          synchronization-synchronizationquarantine.md, synchronization-synchronizationjobrestartcriteria.md
//          (microsoftgraph/microsoft-graph-docs-contrib)

const graphTimeLayout = "2006-01-02T15:04:05.0000000Z"

// TestAnOutageQuarantinesOnlyWhenItPersists: "If most, or all, of the calls made against the target system
// consistently fail then the provisioning job is marked as in quarantine" (ENTRA quarantine-status). One 503
// fails the cycle (lastExecution Failed) without quarantine, and the job has still not "completed its first
// run" (GRAPH synchronizationstatus: NotRun); the target's Retry-After is honoured; when the failures go on the
// job is quarantined, and a cycle that works lifts it.
func TestAnOutageQuarantinesOnlyWhenItPersists(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	adele := e.sb.Demo.Users[0]
	e.configure(adele.ID)
	e.sb.Backend.SetFaults(refbackend.Faults{Rules: []refbackend.FaultRule{
		{Method: http.MethodGet, Path: "/Users", Status: http.StatusServiceUnavailable, RetryAfter: 2 * time.Hour, Times: 1},
		{Method: http.MethodGet, Path: "/Users", Status: http.StatusServiceUnavailable},
	}})
	e.start()
	e.nextCycle()
	status := e.jobStatus()
	last := status["lastExecution"].(map[string]any)
	if status["code"] != "NotRun" || status["quarantine"] != nil || status["countSuccessiveCompleteFailures"] != float64(1) ||
		last["state"] != "Failed" || last["error"].(map[string]any)["code"] != codeUnavailable {
		t.Fatalf("status after one failed cycle %v", status)
	}
	// The target said Retry-After: 2 hours; the next cycle waits for it rather than the usual 40 minutes.
	if due, _ := e.sb.Tenant.NextCycle(e.jobID); due.Sub(e.clock.Now()) != 2*time.Hour {
		t.Errorf("next cycle in %v, want the Retry-After of 2h", due.Sub(e.clock.Now()))
	}
	e.nextCycle()
	if status := e.jobStatus(); status["quarantine"] != nil || status["countSuccessiveCompleteFailures"] != float64(2) {
		t.Fatalf("status after two failed cycles %v", status)
	}
	e.nextCycle()
	status = e.jobStatus()
	q, _ := status["quarantine"].(map[string]any)
	now := e.clock.Now().UTC().Format(graphTimeLayout)
	if status["code"] != "Quarantine" || q == nil || q["reason"] != "EncounteredQuarantineException" || q["seriesCount"] != float64(0) ||
		q["seriesBegan"] != now || q["currentBegan"] != now || status["countSuccessiveCompleteFailures"] != float64(3) {
		t.Fatalf("status after three failed cycles %v", status)
	}

	e.sb.Backend.SetFaults(refbackend.Faults{})
	e.nextCycle()
	status = e.jobStatus()
	if status["code"] != "Active" || status["quarantine"] != nil || status["countSuccessiveCompleteFailures"] != float64(0) {
		t.Errorf("status after the target recovered %v", status)
	}
	e.target(adele.UserPrincipalName)
}

// TestRetryAfterOnAnObjectDefersTheRestOfTheCycle: a target that throttles one request with Retry-After gets
// nothing more until then; the objects not reached wait for the next cycle, which is still an initial one.
func TestRetryAfterOnAnObjectDefersTheRestOfTheCycle(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	adele, lee, megan := e.sb.Demo.Users[0], e.sb.Demo.Users[1], e.sb.Demo.Users[2]
	e.configure(adele.ID, lee.ID, megan.ID)
	e.sb.Backend.SetFaults(refbackend.Faults{Rules: []refbackend.FaultRule{
		{Method: http.MethodPost, Path: "/Users", Status: http.StatusTooManyRequests, RetryAfter: time.Hour, Times: 1},
	}})
	e.start()
	e.requests()
	e.nextCycle()
	got := summaries(e.requests())
	if len(got) != 3 || got[2] != "POST /Users" {
		t.Fatalf("requests %v: want the probe, Adele's lookup and her throttled POST, then nothing", got)
	}
	if due, _ := e.sb.Tenant.NextCycle(e.jobID); due.Sub(e.clock.Now()) != time.Hour {
		t.Errorf("next cycle in %v, want the Retry-After of 1h", due.Sub(e.clock.Now()))
	}
	status := e.jobStatus()
	if last := status["lastExecution"].(map[string]any); last["state"] != "EntryLevelErrors" || last["countEscrowed"] != float64(1) ||
		status["steadyStateFirstAchievedTime"] != "0001-01-01T00:00:00Z" || status["lastSuccessfulExecution"] != nil {
		t.Errorf("status after the throttled cycle %v", status)
	}
	entries := logFor(e.provisioningLog(), adele.UserPrincipalName)
	if info := entries[0]["provisioningStatusInfo"].(map[string]any); info["errorInformation"].(map[string]any)["errorCode"] != "TooManyRequests" {
		t.Errorf("Adele's entry %v", info)
	}
	e.nextCycle()
	for _, u := range []string{adele.UserPrincipalName, lee.UserPrincipalName, megan.UserPrincipalName} {
		e.target(u)
	}
	if status := e.jobStatus(); status["lastSuccessfulExecution"] == nil || status["steadyStateFirstAchievedTime"] == "0001-01-01T00:00:00Z" {
		t.Errorf("status after the deferred cycle %v", status)
	}
}

// bulkGroup creates a security group with n new enabled users, through $batch as an admin script would.
func (e *env) bulkGroup(name string, n int) string {
	e.t.Helper()
	group := e.must(http.StatusCreated, e.graph(http.MethodPost, "/groups", map[string]any{
		"displayName": name, "mailEnabled": false, "mailNickname": strings.ToLower(name), "securityEnabled": true,
	})).json(e.t)["id"].(string)
	batch := func(requests []map[string]any) []map[string]any {
		out := e.must(http.StatusOK, e.graph(http.MethodPost, "/$batch", map[string]any{"requests": requests})).json(e.t)
		var responses []map[string]any
		for _, r := range out["responses"].([]any) {
			responses = append(responses, r.(map[string]any))
		}
		return responses
	}
	for start := 0; start < n; start += 20 {
		var create []map[string]any
		for i := start; i < min(start+20, n); i++ {
			nick := fmt.Sprintf("%s.%04d", strings.ToLower(name), i)
			create = append(create, map[string]any{"id": fmt.Sprint(i), "method": "POST", "url": "/users",
				"headers": map[string]any{"Content-Type": "application/json"},
				"body": map[string]any{"accountEnabled": true, "displayName": nick, "mailNickname": nick,
					"userPrincipalName": nick + "@" + e.sb.Demo.Domain,
					"passwordProfile":   map[string]any{"password": "Bulk-Passw0rd!", "forceChangePasswordNextSignIn": true}}})
		}
		var add []map[string]any
		for _, r := range batch(create) {
			if r["status"] != float64(http.StatusCreated) {
				e.t.Fatalf("bulk user create answered %v", r)
			}
			id := r["body"].(map[string]any)["id"].(string)
			add = append(add, map[string]any{"id": id, "method": "POST", "url": "/groups/" + group + "/members/$ref",
				"headers": map[string]any{"Content-Type": "application/json"},
				"body":    map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + id}})
		}
		for _, r := range batch(add) {
			if r["status"] != float64(http.StatusNoContent) {
				e.t.Fatalf("bulk member add answered %v", r)
			}
		}
	}
	return group
}

// TestTooManyDeletesStagesThemAndQuarantines: "When the deletion threshold is met, the job goes into
// quarantine"; disables count with deletes; held objects show in the logs as staged (ENTRA
// accidental-deletions.md), with the threshold of the job's QuarantineTooManyDeletesThreshold setting (500 on a
// new job). "ForceDeletes - Forces the system to delete the pending deleted users" (GRAPH restartcriteria).
func TestTooManyDeletesStagesThemAndQuarantines(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	e.createApp()
	group := e.bulkGroup("Bulk", 501)
	e.assign(group)
	e.saveCredentials(e.sb.SCIMURL, e.sb.SCIMToken.Reveal())
	e.start()
	e.nextCycle()
	if n := len(e.sb.Backend.Users()); n != 501 {
		t.Fatalf("%d users provisioned, want 501", n)
	}

	// Unassigning the group takes its 501 members and the group itself out of scope: 502 > 500.
	e.unassign(group)
	e.requests()
	e.nextCycle()
	for _, r := range e.requests() {
		if r.Method != http.MethodGet {
			t.Fatalf("a cycle over the threshold sent %s %s", r.Method, r.Path)
		}
	}
	status := e.jobStatus()
	q, _ := status["quarantine"].(map[string]any)
	if status["code"] != "Quarantine" || q == nil || q["reason"] != "TooManyDeletes" || !strings.Contains(q["error"].(map[string]any)["message"].(string), "502") {
		t.Fatalf("status over the threshold %v", status)
	}
	staged := 0
	for _, l := range e.provisioningLog() {
		if l["provisioningAction"] == "stagedDelete" {
			staged++
		}
	}
	if staged != 502 {
		t.Errorf("%d stagedDelete log entries, want 502", staged)
	}
	for _, u := range e.sb.Backend.Users() {
		if !u.Active() {
			t.Fatalf("%s was disabled over the threshold", u.UserName())
		}
	}

	// "Allow deletes": restart with ForceDeletes runs a cycle now that sends them, and the quarantine lifts.
	e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/restart", map[string]any{"criteria": map[string]any{"resetScope": "ForceDeletes"}}))
	if n := e.cycle(0); n != 1 {
		t.Fatalf("%d cycles after ForceDeletes", n)
	}
	for _, u := range e.sb.Backend.Users() {
		if u.Active() {
			t.Fatalf("%s is still active after ForceDeletes", u.UserName())
		}
	}
	if len(e.sb.Backend.Groups()) != 0 {
		t.Error("the group was not deleted after ForceDeletes")
	}
	if status := e.jobStatus(); status["code"] != "Active" || status["quarantine"] != nil {
		t.Errorf("status after ForceDeletes %v", status)
	}
}

// TestQuarantineOverFourWeeksDisablesTheJob: "If the provisioning job stays in quarantine for more than four
// weeks, the provisioning job is disabled (stops running)" (ENTRA quarantine-status); the frequency is
// "gradually reduced to once per day".
func TestQuarantineOverFourWeeksDisablesTheJob(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	e.configure(e.sb.Demo.Users[0].ID)
	e.sb.Backend.SetFaults(refbackend.Faults{RejectAllTokens: true})
	e.start()
	var waits []time.Duration
	for range 8 {
		e.nextCycle()
		due, _ := e.sb.Tenant.NextCycle(e.jobID)
		waits = append(waits, due.Sub(e.clock.Now()))
	}
	want := []time.Duration{40 * time.Minute, 80 * time.Minute, 160 * time.Minute, 320 * time.Minute, 640 * time.Minute,
		1280 * time.Minute, 24 * time.Hour, 24 * time.Hour}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Errorf("waits between quarantined cycles %v, want %v", waits, want)
	}
	for {
		e.nextCycle()
		if _, ok := e.sb.Tenant.NextCycle(e.jobID); !ok {
			break
		}
	}
	job := e.must(http.StatusOK, e.graph(http.MethodGet, e.job(), nil)).json(t)
	status, schedule := job["status"].(map[string]any), job["schedule"].(map[string]any)
	q := status["quarantine"].(map[string]any)
	began, _ := time.Parse(time.RFC3339, q["seriesBegan"].(string))
	if schedule["state"] != "Disabled" || status["code"] != "Quarantine" || e.clock.Now().Sub(began) <= 28*24*time.Hour {
		t.Errorf("after four weeks: schedule %v, status %v", schedule, status)
	}
}

// TestEscrowExpiresAfter28Days: "The retries will go on for 28 days after the first failure after which the
// escrow entry is removed and the job is disabled." (ENTRA quarantine-status, Retry duration)
func TestEscrowExpiresAfter28Days(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	adele, lee := e.sb.Demo.Users[0], e.sb.Demo.Users[1]
	e.configure(adele.ID, lee.ID)
	e.sb.Backend.SetFaults(refbackend.Faults{Rules: []refbackend.FaultRule{
		{Method: http.MethodPost, Path: "/Users", Status: http.StatusConflict, Times: 1},
	}})
	e.start()
	e.nextCycle()
	e.sb.Backend.SetFaults(refbackend.Faults{Rules: []refbackend.FaultRule{{Method: http.MethodPost, Path: "/Users", Status: http.StatusConflict}}})
	if n := e.cycle(28 * 24 * time.Hour); n != 1 {
		t.Fatalf("%d cycles", n)
	}
	entries := logFor(e.provisioningLog(), adele.UserPrincipalName)
	reason := entries[len(entries)-1]["provisioningStatusInfo"].(map[string]any)["errorInformation"].(map[string]any)["reason"].(string)
	if !strings.Contains(reason, "will not be retried again") {
		t.Errorf("last failure %q", reason)
	}
	if _, ok := e.sb.Tenant.NextCycle(e.jobID); ok {
		t.Error("the job still plans cycles after its escrow expired")
	}
	job := e.must(http.StatusOK, e.graph(http.MethodGet, e.job(), nil)).json(t)
	if job["schedule"].(map[string]any)["state"] != "Disabled" {
		t.Errorf("schedule %v", job["schedule"])
	}
}

// escrowScale brings the escrow thresholds down a thousandfold (5 failures to start evaluating instead of 5,000)
// so a test can trip them with a handful of users; the 40% proportion is Microsoft's.
const escrowScale = 1000

// TestEscrowThresholdQuarantinesAnIncrementalCycle: "In general, 5,000 failures are the minimum to start
// evaluating" and a job is quarantined when "more than 40% of provisioning events fail", with reason
// EncounteredEscrowProportionThreshold (ENTRA quarantine-status, Escrow thresholds); the failures are the
// escrows still outstanding, from this cycle and earlier ones. A restart "clears escrows, removes the app from
// quarantine" (ENTRA quarantine-status).
func TestEscrowThresholdQuarantinesAnIncrementalCycle(t *testing.T) {
	e := newEnv(t, sandbox.Options{EscrowThresholdScale: escrowScale})
	e.createApp()
	e.assign(e.bulkGroup("Provisioned", 3))
	e.saveCredentials(e.sb.SCIMURL, e.sb.SCIMToken.Reveal())
	e.start()
	e.nextCycle()

	// Four users the target refuses: under the minimum, so they are escrowed and the job stays active.
	e.sb.Backend.SetFaults(refbackend.Faults{Rules: []refbackend.FaultRule{{Method: http.MethodPost, Path: "/Users", Status: http.StatusConflict}}})
	e.assign(e.bulkGroup("Refused", 4))
	e.nextCycle()
	status := e.jobStatus()
	if last := status["lastExecution"].(map[string]any); status["code"] != "Active" || status["quarantine"] != nil ||
		last["state"] != "EntryLevelErrors" || last["countEscrowed"] != float64(4) {
		t.Fatalf("status after 4 failures %v", status)
	}

	// A fifth: 5 outstanding failures against 5 objects provisioned (3 users, 2 groups) is 50%, over 40%.
	e.assign(e.bulkGroup("Refused too", 1))
	e.nextCycle()
	status = e.jobStatus()
	q, _ := status["quarantine"].(map[string]any)
	if status["code"] != "Quarantine" || q == nil || q["reason"] != "EncounteredEscrowProportionThreshold" {
		t.Fatalf("status after 5 failures %v", status)
	}
	if msg := q["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "5 of the job's provisioning events failed") {
		t.Errorf("quarantine message %q", msg)
	}

	e.sb.Backend.SetFaults(refbackend.Faults{})
	e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/restart", map[string]any{"criteria": map[string]any{"resetScope": ""}}))
	if n := e.cycle(0); n != 1 {
		t.Fatalf("%d cycles after the restart", n)
	}
	if status := e.jobStatus(); status["code"] != "Active" || status["quarantine"] != nil || len(e.sb.Backend.Users()) != 8 {
		t.Errorf("after the restart: %d users, status %v", len(e.sb.Backend.Users()), status)
	}
}

// TestEscrowThresholdPrunesEscrowsInTheInitialCycle: "Escrows can be pruned if during the initial
// synchronization, you reach the threshold of errors that would normally put the job in quarantine. Instead of
// going into quarantine, the synchronization process clears the job's errors and continues until the initial
// synchronization is completed. When the initial synchronization is completed, the job will pause and wait for
// the customer to clean up the errors." (GRAPH synchronizationstatus, escrowsPruned)
func TestEscrowThresholdPrunesEscrowsInTheInitialCycle(t *testing.T) {
	e := newEnv(t, sandbox.Options{EscrowThresholdScale: escrowScale})
	e.createApp()
	e.assign(e.bulkGroup("Refused", 5))
	e.saveCredentials(e.sb.SCIMURL, e.sb.SCIMToken.Reveal())
	e.sb.Backend.SetFaults(refbackend.Faults{Rules: []refbackend.FaultRule{{Method: http.MethodPost, Path: "/Users", Status: http.StatusConflict}}})
	e.start()
	e.nextCycle()
	job := e.must(http.StatusOK, e.graph(http.MethodGet, e.job(), nil)).json(t)
	status, schedule := job["status"].(map[string]any), job["schedule"].(map[string]any)
	if status["escrowsPruned"] != true || status["code"] != "Paused" || status["quarantine"] != nil || schedule["state"] != "Paused" {
		t.Fatalf("after an initial cycle over the threshold: status %v, schedule %v", status, schedule)
	}
	if _, ok := e.sb.Tenant.NextCycle(e.jobID); ok {
		t.Error("a paused job still plans a cycle")
	}
	// The job was paused while its escrows were cleared: started again, it retries every user at once.
	e.sb.Backend.SetFaults(refbackend.Faults{})
	e.start()
	e.nextCycle()
	if n := len(e.sb.Backend.Users()); n != 5 {
		t.Errorf("%d users after the job was started again, want 5", n)
	}
}
