package sandbox_test

import (
	"net/http"
	"testing"

	"github.com/idpctl/idpctl/sandbox"
)

// TestRestartScopeAndStartOnAQuarantinedJob: a restart whose resetScope leaves out QuarantineState keeps the job
// quarantined (QuarantineState "temporarily lifts the quarantine", DOCS synchronizationjobrestartcriteria.md);
// start then clears it ("If the job is in quarantine, the quarantine status is cleared", DOCS
// synchronization-synchronizationjob-start.md) and the next cycle runs.
func TestRestartScopeAndStartOnAQuarantinedJob(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	e.quarantinedThenRecovered()

	e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/restart", map[string]any{"criteria": map[string]any{"resetScope": "Escrows,Watermark"}}))
	if status := e.jobStatus(); status["code"] != "Quarantine" || status["quarantine"] == nil {
		t.Errorf("after a restart without QuarantineState: %v", status)
	}
	e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/start", nil))
	if status := e.jobStatus(); status["code"] == "Quarantine" || status["quarantine"] != nil {
		t.Errorf("after start: %v", status)
	}
	if n := e.cycle(0); n != 1 {
		t.Fatalf("%d cycles right after start", n)
	}
	if status := e.jobStatus(); status["code"] != "Active" || status["quarantine"] != nil || len(e.sb.Backend.Users()) != 1 {
		t.Errorf("after the cycle: %v", status)
	}
}

// TestRestartNoneIsAStart: resetScope None "Starts a paused or quarantined provisioning job" (DOCS
// resources/synchronization-synchronizationjobrestartcriteria.md): the quarantine goes, as with start, and the
// next cycle runs.
func TestRestartNoneIsAStart(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	e.quarantinedThenRecovered()
	e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/restart", map[string]any{"criteria": map[string]any{"resetScope": "None"}}))
	if status := e.jobStatus(); status["code"] == "Quarantine" || status["quarantine"] != nil {
		t.Errorf("after a restart with None: %v", status)
	}
	if n := e.cycle(0); n != 1 {
		t.Fatalf("%d cycles right after the restart", n)
	}
	if status := e.jobStatus(); status["code"] != "Active" || len(e.sb.Backend.Users()) != 1 {
		t.Errorf("after the cycle: %v, %d users", status, len(e.sb.Backend.Users()))
	}
}
