package cmd

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/sandbox/refbackend"
	"github.com/idpctl/idpctl/steps"
)

// quarantine has the SaaS refuse Entra's SCIM token for one cycle, which Entra quarantines at once (ENTRA
// application-provisioning-quarantine-status.md), then fixes the SaaS again.
func (tn *tenant) quarantine() {
	tn.t.Helper()
	_, _, job := tn.app()
	tn.sb.Backend.SetFaults(refbackend.Faults{Rules: []refbackend.FaultRule{{Path: "/Users", Status: http.StatusUnauthorized}}})
	if err := tn.sb.Tenant.RunCycleNow(tn.t.Context(), job.ID); err != nil {
		tn.t.Fatal(err)
	}
	if _, _, job := tn.app(); job.StatusCode != "Quarantine" {
		tn.t.Fatalf("the job is %s, not quarantined", job.StatusCode)
	}
	tn.sb.Backend.SetFaults(refbackend.Faults{})
}

// jobCalls are the restart, start and pause requests the tenant received since the last reset, with the
// restart's resetScope: "restart Watermark", "start".
func (tn *tenant) jobCalls() []string {
	var calls []string
	for _, r := range tn.sb.Tenant.Requests() {
		if r.Method != http.MethodPost || !strings.Contains(r.Path, "/synchronization/jobs/") {
			continue
		}
		action := r.Path[strings.LastIndex(r.Path, "/")+1:]
		switch action {
		case "restart":
			var body struct{ Criteria struct{ ResetScope string } }
			if err := json.Unmarshal(r.Body, &body); err != nil {
				tn.t.Fatalf("restart body %s: %v", r.Body, err)
			}
			calls = append(calls, "restart "+body.Criteria.ResetScope)
		case "start", "pause":
			calls = append(calls, action)
		}
	}
	return calls
}

// The acceptance test of issue 11: once the SaaS is fixed, restart brings the job out of quarantine, and status
// then finds it Active. The restart is the portal's, written out (DOCS
// resources/synchronization-synchronizationjobrestartcriteria.md), and the start follows it.
func TestRestartClearsQuarantine(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI())
	tn.quarantine()

	tn.reset()
	o := tn.run(invocation{}, tn.day2("restart", "--dry-run")...)
	if o.code != 0 {
		t.Fatalf("restart --dry-run: %v", o)
	}
	tn.noWrites("restart --dry-run")
	for _, want := range []string{"restart, then start", "EncounteredQuarantineException", "Escrows,Watermark,QuarantineState", "lifts the quarantine"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("the plan lacks %q:\n%s", want, o.stdout)
		}
	}

	o = tn.run(invocation{}, tn.day2("restart", "--yes", "--non-interactive", "--output", "json")...)
	if o.code != 0 {
		t.Fatalf("restart: %v", o)
	}
	if doc := jsonResult(t, o.stdout); doc["command"] != "restart" || doc["error"] != nil {
		t.Errorf("result %v", doc)
	}
	if got, want := tn.jobCalls(), []string{"restart Escrows,Watermark,QuarantineState", "start"}; !slices.Equal(got, want) {
		t.Errorf("job calls %q, want %q", got, want)
	}
	_, _, job := tn.app()
	if err := tn.sb.Tenant.RunCycleNow(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	o = tn.run(invocation{}, tn.day2("status", "--output", "json")...)
	var health steps.Health
	if err := json.Unmarshal([]byte(o.stdout), &health); err != nil {
		t.Fatalf("status: %v", o)
	}
	if p := health.Provisioning; o.code != 0 || p == nil || p.Code != "Active" || p.Quarantine != nil {
		t.Errorf("status after the restart: exit %d, provisioning %+v, problems %v", o.code, p, health.Problems)
	}
}

// --reset chooses the scope: the plan explains each value, a job that is not running is started after the
// restart, one that is running is not, and a quarantine stays when QuarantineState is left out.
func TestRestartResetScopes(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI())
	_, sp, job := tn.app()

	restart := func(extra ...string) outcome {
		t.Helper()
		tn.reset()
		o := tn.run(invocation{}, tn.day2("restart", append([]string{"--yes", "--non-interactive"}, extra...)...)...)
		if o.code != 0 {
			t.Fatalf("restart %v: %v", extra, o)
		}
		return o
	}
	// Running: only the restart, with the scope in Microsoft's spelling.
	o := restart("--reset", "watermark")
	if got := tn.jobCalls(); !slices.Equal(got, []string{"restart Watermark"}) {
		t.Errorf("a running job: %q", got)
	}
	if !strings.Contains(o.stderr, "evaluates every user and group again") {
		t.Errorf("the plan does not say what Watermark resets:\n%s", o.stderr)
	}

	// Paused in the admin center: restarted, then started.
	tn.graph(http.MethodPost, "/servicePrincipals/"+sp.ID+"/synchronization/jobs/"+job.ID+"/pause", "")
	restart("--reset", "Escrows", "--reset", "Watermark")
	if got := tn.jobCalls(); !slices.Equal(got, []string{"restart Escrows,Watermark", "start"}) {
		t.Errorf("a paused job: %q", got)
	}
	if _, _, job := tn.app(); job.Raw["schedule"].(map[string]any)["state"] != "Active" {
		t.Errorf("schedule after the restart: %v", job.Raw["schedule"])
	}

	// Quarantined, and the admin keeps the quarantine: no start, which would lift it.
	tn.quarantine()
	o = restart("--reset", "Watermark,Escrows")
	if got := tn.jobCalls(); !slices.Equal(got, []string{"restart Escrows,Watermark"}) {
		t.Errorf("a quarantined job without QuarantineState: %q", got)
	}
	if !strings.Contains(o.stderr, "the quarantine stays") {
		t.Errorf("the plan does not say the quarantine stays:\n%s", o.stderr)
	}
	if _, _, job := tn.app(); job.StatusCode != "Quarantine" {
		t.Errorf("the job is %s after a restart without QuarantineState", job.StatusCode)
	}
}

// A reset scope idpctl does not send is refused before anything is read or written, with the values to use.
func TestRestartRefusesUnknownScopes(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI())
	for _, c := range []struct{ value, want string }{
		{"Everything", `--reset "Everything": not a reset scope; use ConnectorDataStore, Escrows, Watermark, QuarantineState, Full, ForceDeletes`},
		{"none", "--reset None: Microsoft says not to use it"},
	} {
		tn.reset()
		o := tn.run(invocation{}, tn.day2("restart", "--yes", "--non-interactive", "--reset", c.value)...)
		if o.code != 2 || o.err == nil || !strings.Contains(o.err.Error(), c.want) {
			t.Errorf("--reset %s: %v", c.value, o)
		}
		if n := len(tn.sb.Tenant.Requests()); n != 0 {
			t.Errorf("--reset %s: %d requests", c.value, n)
		}
	}
}
