package steps

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestPlanStale(t *testing.T) {
	saved := &Plan{TenantID: "t", Steps: []PlannedStep{
		{Step: "provisioning job", Change: Change{Payload: jobPlan{ID: "scim.1"}, Resources: []Resource{{Action: NoOp, Type: "provisioning job", Name: "scim.1"}}}},
		{Step: "provisioning credentials", Change: Change{Payload: credentialsPlan{Probed: true, SCIM: "fp-1"}, Resources: []Resource{{Action: Update, Type: "provisioning credentials", Name: "x"}}}},
	}}
	raw, err := json.Marshal(saved)
	if err != nil {
		t.Fatal(err)
	}
	read, err := ReadPlan(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := read.Stale(saved); err != nil {
		t.Errorf("a plan read back from its JSON is stale against itself: %v", err)
	}

	// The SCIM token given now is another: the resources read the same, the payload does not.
	now := *saved
	now.Steps = []PlannedStep{saved.Steps[0], saved.Steps[1]}
	now.Steps[1].Change.Payload = credentialsPlan{Probed: true, SCIM: "fp-2"}
	var stale *StaleError
	if err := read.Stale(&now); !errors.As(err, &stale) || len(stale.Steps) != 1 || stale.Steps[0].Step != "provisioning credentials" ||
		!strings.Contains(err.Error(), "what it read differs (scimFingerprint)") {
		t.Errorf("Stale = %v, want the credentials step differing in scimFingerprint", err)
	}

	if _, err := ReadPlan([]byte(`{"formatVersion": 2, "tenantId": "t", "steps": [{}]}`)); err == nil || !strings.Contains(err.Error(), "format 2") {
		t.Errorf("a plan of another format: %v", err)
	}
	if _, err := ReadPlan(raw[:len(raw)/2]); err == nil {
		t.Error("a plan cut short was read")
	}
}
