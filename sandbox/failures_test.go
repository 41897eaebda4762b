package sandbox_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/refbackend"
)

const codeUnavailable = "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable"

// TestWrongTokenFailsTestConnectionAndQuarantinesTheJob: a wrong SCIM token fails validateCredentials; a
// running job with it goes to quarantine and retries at a falling rate; saving the right token and restarting
// lifts the quarantine and provisions.
func TestWrongTokenFailsTestConnectionAndQuarantinesTheJob(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	demo := e.sb.Demo
	e.createApp()
	e.assign(demo.SmallstepUsers.ID)
	e.saveCredentials(e.sb.SCIMURL, "not-the-token")

	r := e.graph(http.MethodPost, e.job()+"/validateCredentials", map[string]any{"useSavedCredentials": true})
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), codeUnavailable) {
		t.Fatalf("validateCredentials with a wrong token: %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "not-the-token") {
		t.Error("the answer contains the token")
	}
	e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/validateCredentials", map[string]any{"credentials": []map[string]any{
		{"key": "BaseAddress", "value": e.sb.SCIMURL}, {"key": "SecretToken", "value": e.sb.SCIMToken.Reveal()},
	}}))

	e.start()
	e.requests()
	e.nextCycle()
	reqs := e.requests()
	if len(reqs) != 1 || reqs[0].Status != http.StatusUnauthorized {
		t.Errorf("a cycle with a wrong token sent %v; want only the probe, answered 401", summaries(reqs))
	}
	status := e.jobStatus()
	q, _ := status["quarantine"].(map[string]any)
	// seriesCount is the "Number of times in this series the quarantine was re-evaluated and left in effect"
	// (DOCS resources/synchronization-synchronizationquarantine.md): none yet.
	if status["code"] != "Quarantine" || q == nil || q["reason"] != "EncounteredQuarantineException" || q["seriesCount"] != float64(0) ||
		status["countSuccessiveCompleteFailures"] != float64(1) || status["lastExecution"].(map[string]any)["state"] != "Failed" {
		t.Fatalf("status after a cycle with a wrong token %v", status)
	}
	qerr := q["error"].(map[string]any)
	if qerr["code"] != codeUnavailable || qerr["tenantActionable"] != true || !strings.Contains(qerr["message"].(string), "invalid credentials") {
		t.Errorf("quarantine error %v", qerr)
	}
	if len(e.sb.Backend.Users()) != 0 {
		t.Error("users were provisioned with a wrong token")
	}
	// Quarantined jobs run less often: 40 minutes, then 80.
	due, _ := e.sb.Tenant.NextCycle(e.jobID)
	if got := due.Sub(e.clock.Now()); got != 40*time.Minute || q["nextAttempt"] != due.UTC().Format("2006-01-02T15:04:05.0000000Z") {
		t.Errorf("first retry in %v (nextAttempt %v)", got, q["nextAttempt"])
	}
	e.nextCycle()
	status = e.jobStatus()
	if q := status["quarantine"].(map[string]any); q["seriesCount"] != float64(1) || q["seriesBegan"] == q["currentBegan"] ||
		status["countSuccessiveCompleteFailures"] != float64(2) {
		t.Errorf("second quarantined cycle %v", status)
	}
	if due, _ := e.sb.Tenant.NextCycle(e.jobID); due.Sub(e.clock.Now()) != 80*time.Minute {
		t.Errorf("second retry in %v, want 80m", due.Sub(e.clock.Now()))
	}

	// The admin fixes the token and restarts: the quarantine is lifted and the cycle runs now.
	e.saveCredentials(e.sb.SCIMURL, e.sb.SCIMToken.Reveal())
	e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/restart", map[string]any{"criteria": map[string]any{"resetScope": "Full"}}))
	if n := e.cycle(0); n != 1 {
		t.Fatalf("%d cycles after restart", n)
	}
	status = e.jobStatus()
	if status["code"] != "Active" || status["quarantine"] != nil || status["countSuccessiveCompleteFailures"] != float64(0) {
		t.Errorf("status after the fix %v", status)
	}
	if n := len(e.sb.Backend.Users()); n != 3 {
		t.Errorf("backend users after the fix %d, want 3", n)
	}
}

// TestQuarantineLiftsWhenTheTargetRecovers: fixing the problem is enough; the next attempt succeeds and lifts
// the quarantine (ENTRA application-provisioning-quarantine-status.md).
func TestQuarantineLiftsWhenTheTargetRecovers(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	e.quarantinedThenRecovered()
	e.nextCycle()
	if status := e.jobStatus(); status["code"] != "Active" || status["quarantine"] != nil || len(e.sb.Backend.Users()) != 1 {
		t.Errorf("status after the target recovered %v", status)
	}
}

// TestFilterAnswering404Quarantines: a target that answers a filter matching nothing with 404 is the SCIM
// compliance issue ENTRA application-provisioning-quarantine-status.md names; the job is quarantined for it.
func TestFilterAnswering404Quarantines(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	e.configure(e.sb.Demo.Users[0].ID)
	e.sb.Backend.SetFaults(refbackend.Faults{FilterNotFound: true})
	e.start()
	e.nextCycle()
	status := e.jobStatus()
	q, _ := status["quarantine"].(map[string]any)
	if status["code"] != "Quarantine" || q == nil {
		t.Fatalf("status %v", status)
	}
	qerr := q["error"].(map[string]any)
	if qerr["code"] != "SystemForCrossDomainIdentityManagementServiceIncompatible" || !strings.Contains(qerr["message"].(string), "HTTP/404 Not Found") {
		t.Errorf("quarantine error %v", qerr)
	}
}

// TestObjectFailuresGoToEscrow: a 409 on one user's create fails that user only; it waits in escrow (retried
// six hours later, ENTRA application-provisioning-quarantine-status.md) while the rest is provisioned; a 503 is
// retried at the next cycle.
func TestObjectFailuresGoToEscrow(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	demo := e.sb.Demo
	adele, lee := demo.Users[0], demo.Users[1]
	e.configure(adele.ID, lee.ID)
	e.sb.Backend.SetFaults(refbackend.Faults{Rules: []refbackend.FaultRule{
		{Method: http.MethodPost, Path: "/Users", Status: http.StatusConflict, Times: 1},
	}})
	e.start()
	e.nextCycle()
	if _, ok := e.sb.Backend.UserByUserName(adele.UserPrincipalName); ok {
		t.Fatal("the failed create landed")
	}
	e.target(lee.UserPrincipalName)
	status := e.jobStatus()
	last := status["lastExecution"].(map[string]any)
	if status["code"] != "Active" || last["state"] != "EntryLevelErrors" || last["countEscrowed"] != float64(1) {
		t.Errorf("status with one failed object %v", status)
	}
	entries := logFor(e.provisioningLog(), adele.UserPrincipalName)
	info := entries[len(entries)-1]["provisioningStatusInfo"].(map[string]any)
	errInfo := info["errorInformation"].(map[string]any)
	if info["status"] != "failure" || errInfo["errorCode"] != "EntryConflict" ||
		!strings.Contains(errInfo["reason"].(string), "StatusCode: Conflict") || !strings.Contains(errInfo["reason"].(string), "retried 0 times") {
		t.Errorf("failure entry %v", info)
	}

	e.requests()
	e.nextCycle() // 40 minutes later: the escrow waits
	if reqs := e.requests(); len(reqs) != 1 {
		t.Errorf("the escrowed user was retried after 40 minutes: %v", summaries(reqs))
	}
	for range 7 { // until 5h20m after the failure
		e.nextCycle()
	}
	if _, ok := e.sb.Backend.UserByUserName(adele.UserPrincipalName); ok {
		t.Fatal("the escrowed user was retried before 6 hours")
	}
	e.nextCycle() // 6 hours after the failure
	if _, ok := e.sb.Backend.UserByUserName(adele.UserPrincipalName); !ok {
		t.Fatal("the escrowed user was not retried after 6 hours")
	}
	if last := e.jobStatus()["lastExecution"].(map[string]any); last["state"] != "Succeeded" {
		t.Errorf("state after the retry %v", last["state"])
	}

	// A transient failure comes back at the next cycle.
	e.sb.Backend.SetFaults(refbackend.Faults{Rules: []refbackend.FaultRule{
		{Method: http.MethodPatch, Path: "/Users", Status: http.StatusServiceUnavailable, Times: 1},
	}})
	e.must(http.StatusNoContent, e.graph(http.MethodPatch, "/users/"+lee.ID, map[string]any{"jobTitle": "Staff Engineer"}))
	e.nextCycle()
	if got := e.target(lee.UserPrincipalName).GetString("title"); got == "Staff Engineer" {
		t.Fatal("the failed update landed")
	}
	e.nextCycle()
	if got := e.target(lee.UserPrincipalName).GetString("title"); got != "Staff Engineer" {
		t.Errorf("title %q after the retry", got)
	}
}
