package steps_test

import (
	"os"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/steps"
)

func TestSetupManualBackend(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.manual()
	plan, result := h.mustRun(in)
	if !plan.Pending() {
		t.Fatal("the first run planned no change")
	}
	h.configured(in)
	if n := len(result.Users); n != 4 {
		t.Errorf("result lists %d users, want 4: %+v", n, result.Users)
	}
	for _, u := range result.Users {
		if u.Outcome != steps.Arrived {
			t.Errorf("%s: %s (%s)", u.UserPrincipalName, u.Outcome, u.Reason)
		}
	}
	if result.ClientID == "" || result.ProvisioningJobID == "" || result.ServicePrincipalID == "" || result.ApplicationObjectID == "" {
		t.Errorf("result lacks ids: %+v", result)
	}
	h.stateHoldsNoSecret(in)
}

func TestSetupBackendAPI(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.viaAPI()
	h.mustRun(in)
	h.configured(in)
	regs := h.sb.Backend.Registrations()
	if len(regs) != 1 || regs[0].TenantID != h.sb.TenantID ||
		regs[0].DiscoveryURL != "https://login.microsoftonline.com/"+h.sb.TenantID+"/v2.0/.well-known/openid-configuration" {
		t.Errorf("registrations = %+v", regs)
	}
}

// stateHoldsNoSecret reads the state file: 0600, ids only.
func (h *harness) stateHoldsNoSecret(in steps.Inputs) {
	h.t.Helper()
	state, err := steps.OpenState(h.stateDir, in.TenantID, in.AppName)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := os.Stat(state.Path())
	if err != nil {
		h.t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		h.t.Errorf("state file mode %v", info.Mode().Perm())
	}
	raw, _ := os.ReadFile(state.Path())
	secrets := []string{h.sb.SCIMToken.Reveal(), h.sb.BackendToken.Reveal(), h.sb.AccessToken.Reveal()}
	if s, err := os.ReadFile(in.SecretOut); err == nil {
		secrets = append(secrets, strings.TrimSpace(string(s)))
	}
	for _, r := range h.sb.Backend.Registrations() {
		secrets = append(secrets, r.ClientSecret.Reveal(), r.SCIMToken.Reveal())
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(string(raw), s) {
			h.t.Errorf("the state file holds a secret")
		}
	}
}

func TestSecondRunChangesNothing(t *testing.T) {
	for name, inputs := range map[string]func(*harness) steps.Inputs{
		"manual": (*harness).manual,
		"http":   (*harness).viaAPI,
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{})
			in := inputs(h)
			h.mustRun(in)
			h.sb.Tenant.ResetRequests()
			h.sb.Backend.ClearRequests()
			regs := h.sb.Backend.Registrations()

			plan, result := h.mustRun(in)
			if plan.Pending() {
				var b strings.Builder
				plan.RenderText(&b, steps.RenderOptions{})
				t.Errorf("second run planned changes:\n%s", b.String())
			}
			if n := h.sb.Tenant.WriteCount(); n != 0 {
				t.Errorf("second run sent %d writes to the tenant", n)
			}
			for _, r := range h.sb.Backend.Requests() {
				if r.Method != "GET" {
					t.Errorf("second run wrote to the SaaS: %s %s", r.Method, r.Path)
				}
			}
			if after := h.sb.Backend.Registrations(); len(after) != len(regs) || (len(after) > 0 && after[0].SecretRotations != regs[0].SecretRotations) {
				t.Errorf("second run re-registered with the backend")
			}
			if len(result.Users) != 4 {
				t.Errorf("second run reports %d users", len(result.Users))
			}
			h.configured(in)
		})
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.manual()
	env := h.env(in)
	plan, err := (&steps.Runner{Steps: steps.Flow()}).Plan(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Pending() {
		t.Error("the plan for an empty tenant has no changes")
	}
	if n := h.sb.Tenant.WriteCount(); n != 0 {
		t.Errorf("planning sent %d writes", n)
	}
	for _, r := range h.sb.Backend.Requests() {
		if r.Method != "GET" {
			t.Errorf("planning wrote to the SaaS: %s %s", r.Method, r.Path)
		}
	}
	if _, err := os.Stat(in.SecretOut); err == nil {
		t.Error("planning wrote the secret file")
	}
	if _, err := os.Stat(h.stateDir); err == nil {
		t.Error("planning wrote the state file")
	}
	var text strings.Builder
	if err := plan.RenderText(&text, steps.RenderOptions{Width: 80}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`+ enterprise application "Smallstep"`, "(known after apply)", "(sensitive)", "Plan: "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), h.sb.SCIMToken.Reveal()) {
		t.Error("the plan shows the SCIM token")
	}
}
