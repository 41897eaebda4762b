package entra

import "testing"

// TestEscrowThresholdsFollowTheDocumentedExamples replays the examples of "Escrow thresholds" in
// MicrosoftDocs/entra-docs docs/identity/app-provisioning/application-provisioning-quarantine-status.md.
func TestEscrowThresholdsFollowTheDocumentedExamples(t *testing.T) {
	for _, c := range []struct {
		what                            string
		failures, references, successes int
		want                            string
	}{
		{"a job with 4,000 failures wouldn't go into quarantine", 4000, 0, 0, ""},
		{"a job with 5,000 failures would trigger an evaluation (all failed: over 40%)", 5000, 0, 0, reasonEscrowProportion},
		{"45,000 users were unsuccessfully provisioned: exceeds the 40,000 threshold", 45000, 0, 100000, reasonBaseEscrow},
		{"30,000 users failed and 5,000 were successful: exceeds the 40% threshold", 30000, 0, 5000, reasonEscrowProportion},
		{"20,000 failures and 100,000 success wouldn't go into quarantine", 20000, 0, 100000, ""},
		{"40,000 users failed and 21,000 manager updates failed: 61,000 exceeds 60,000", 40000, 21000, 200000, reasonTotalEscrow},
		{"reference failures won't be counted as part of the 40% threshold", 1000, 9000, 5000, ""},
	} {
		if got := documentedEscrowThresholds().reason(c.failures, c.references, c.successes); got != c.want {
			t.Errorf("%s: %q, want %q", c.what, got, c.want)
		}
	}
}
