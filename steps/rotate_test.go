package steps_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/steps"
)

// failingRegistration is a backend that is down when the new secret is handed over.
type failingRegistration struct{ backend.Backend }

func (failingRegistration) Register(context.Context, backend.Registration) (backend.SCIM, error) {
	return backend.SCIM{}, errors.New("backend down")
}

// runDay2 plans and applies a day-2 command's steps.
func (h *harness) runDay2(env *steps.Env, list []steps.Step) error {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runner := &steps.Runner{Steps: list}
	plan, err := runner.Plan(ctx, env)
	if err != nil {
		return err
	}
	_, err = runner.Apply(ctx, env, plan)
	return err
}

func (h *harness) idpctlSecrets() []entra.PasswordCredential {
	var ours []entra.PasswordCredential
	for _, a := range h.sb.Tenant.Applications() {
		for _, p := range a.PasswordCredentials {
			if strings.HasPrefix(p.DisplayName, "idpctl") {
				ours = append(ours, p)
			}
		}
	}
	return ours
}

// A rotation whose handover fails leaves the old secret where it was, valid and held by the SaaS; the next
// rotation removes both the old secret and the one that never arrived.
func TestRotationNeverLeavesTheSaaSWithoutASecret(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.viaAPI()
	h.mustRun(in)
	old := h.idpctlSecrets()[0]

	env := h.env(in)
	env.Backend = failingRegistration{env.Backend}
	if err := h.runDay2(env, steps.RotateSecret(in)); err == nil || !strings.Contains(err.Error(), "the old secret stays") {
		t.Fatalf("rotation with the backend down: %v", err)
	}
	if got := h.sb.Backend.Registrations()[0].ClientSecret.Hint(); got != old.Hint {
		t.Errorf("the backend holds %q..., want the old secret %q...", got, old.Hint)
	}
	ours := h.idpctlSecrets()
	if len(ours) != 2 || !containsKey(ours, old.KeyID) {
		t.Fatalf("after the failed handover %+v, want the old secret and the undelivered one", ours)
	}

	if err := h.runDay2(h.env(in), steps.RotateSecret(in)); err != nil {
		t.Fatal(err)
	}
	ours = h.idpctlSecrets()
	if len(ours) != 1 || containsKey(h.idpctlSecrets(), old.KeyID) {
		t.Fatalf("after the second rotation %+v, want one new secret", ours)
	}
	if got := h.sb.Backend.Registrations()[0].ClientSecret.Hint(); got != ours[0].Hint {
		t.Errorf("the backend holds %q..., want the new secret %q...", got, ours[0].Hint)
	}
}

func containsKey(creds []entra.PasswordCredential, keyID string) bool {
	for _, c := range creds {
		if strings.EqualFold(c.KeyID, keyID) {
			return true
		}
	}
	return false
}
