package steps

import (
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/graph"
)

// A quarantined job is restarted with the portal's reset scope written out, then started, and the plan says
// why it was quarantined; one quarantined for too many deletions is left to an admin, as Microsoft says to
// (ENTRA accidental-deletions.md: don't restart before the deletions are understood).
func TestStartPlanForAQuarantinedJob(t *testing.T) {
	began := time.Date(2026, 11, 29, 10, 21, 30, 0, time.UTC)
	for _, tc := range []struct {
		reason  string
		want    startPlan
		pending bool
		says    []string
	}{
		{"EncounteredQuarantineException", startPlan{Restart: true, ResetScope: "Escrows,Watermark,QuarantineState", Start: true}, true,
			[]string{"EncounteredQuarantineException", "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable", "2026-11-29T10:21:30Z"}},
		{"TooManyDeletes", startPlan{}, false, []string{"TooManyDeletes", "StagedDelete", "does not restart"}},
	} {
		env := &Env{}
		env.resetOutputs()
		env.Out().Job.Set(&graph.SyncJob{ID: "scim.x", TemplateID: "scim", ScheduleState: "Active", Status: graph.SyncStatus{
			Code: "Quarantine", Quarantine: &graph.Quarantine{Reason: tc.reason, SeriesBegan: began,
				Error: &graph.SyncError{Code: "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable"}}}})
		change, err := (&startProvisioning{}).Plan(t.Context(), env)
		if err != nil {
			t.Fatal(err)
		}
		if got := change.Payload.(startPlan); got != tc.want || change.Pending() != tc.pending {
			t.Errorf("%s: payload %+v pending %v, want %+v %v", tc.reason, got, change.Pending(), tc.want, tc.pending)
		}
		var text strings.Builder
		for _, r := range change.Resources {
			text.WriteString(r.Name + " " + r.Note)
			for _, a := range r.Attrs {
				text.WriteString(" " + a.Name + "=" + a.New)
			}
		}
		for _, s := range tc.says {
			if !strings.Contains(text.String(), s) {
				t.Errorf("%s: the plan does not say %q: %s", tc.reason, s, text.String())
			}
		}
	}
}
