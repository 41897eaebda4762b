package steps_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
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

// The manual hand-off at a terminal: the SCIM values come during apply from the admin, who is handed the
// client secret itself when no file takes it; a second run keeps that secret and asks nothing.
func TestSetupHandOffAtTerminal(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.atTerminal()
	plan, result := h.mustRun(in)
	var b strings.Builder
	plan.RenderText(&b, steps.RenderOptions{})
	for _, want := range []string{`> hand-off "at this terminal"`, `delivered to = "the admin at the hand-off"`, `~ provisioning credentials "SCIM endpoint"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, b.String())
		}
	}
	h.configured(in)
	handovers := h.handOff.all()
	if len(handovers) != 1 || handovers[0].ClientSecret.IsZero() || handovers[0].SecretFile != "" || handovers[0].ClientID != result.ClientID {
		t.Fatalf("handovers %+v", handovers)
	}
	h.stateHoldsNoSecret(in)

	h.sb.Tenant.ResetRequests()
	plan, _ = h.mustRun(in)
	if plan.Pending() {
		b.Reset()
		plan.RenderText(&b, steps.RenderOptions{})
		t.Errorf("second run planned changes:\n%s", b.String())
	}
	if n := h.sb.Tenant.WriteCount(); n != 0 || len(h.handOff.all()) != 1 {
		t.Errorf("second run: %d writes, %d hand-offs", n, len(h.handOff.all()))
	}
	h.configured(in)
}

// A run stopped at the hand-off after the secret went to its file: the next run keeps that secret and asks
// for the SCIM values again, without a secret, and completes the setup.
func TestHandOffStoppedBeforeSCIMResumes(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.atTerminal()
	in.SecretOut = h.secretOut
	h.handOff.stop = 1
	if _, _, _, err := h.run(in, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want stopped at the hand-off", err)
	}
	plan, _ := h.mustRun(in)
	var b strings.Builder
	plan.RenderText(&b, steps.RenderOptions{})
	if !strings.Contains(b.String(), `> hand-off "at this terminal"`) || strings.Contains(b.String(), `+ client secret`) {
		t.Errorf("second plan:\n%s", b.String())
	}
	handovers := h.handOff.all()
	if len(handovers) != 2 || !handovers[0].ClientSecret.IsZero() || !handovers[1].ClientSecret.IsZero() {
		t.Errorf("handovers %+v: want two, neither carrying the secret the file holds", handovers)
	}
	h.configured(in)
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

// Inputs that name nothing in the tenant, or something ambiguous, fail in the plan: before any write, with
// the input named and a way out.
func TestUnresolvableInputsFailBeforeAnyWrite(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	cases := []struct {
		name   string
		change func(*steps.Inputs)
		want   []string
	}{
		{"misspelt group", func(in *steps.Inputs) { in.AssignGroups = []string{"Smallstep Usrs"} }, []string{`--assign-group "Smallstep Usrs"`, `did you mean "Smallstep Users"`}},
		{"unknown user", func(in *steps.Inputs) { in.AssignUsers = []string{"adele.vanse@" + h.sb.Demo.Domain} }, []string{"--assign-user", "did you mean", "adele.vance@"}},
		{"unknown app id", func(in *steps.Inputs) { in.AppID = "11111111-2222-3333-4444-555555555555" }, []string{"--app-id 11111111-2222-3333-4444-555555555555"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.sb.Tenant.ResetRequests()
			in := h.manual()
			c.change(&in)
			_, _, _, err := h.run(in, "")
			if err == nil {
				t.Fatal("the run succeeded")
			}
			var ie *steps.InputError
			if !errors.As(err, &ie) {
				t.Errorf("error %v is not an input error (exit code 2)", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if n := h.sb.Tenant.WriteCount(); n != 0 {
				t.Errorf("%d writes before the error", n)
			}
		})
	}
}

// Two applications share the name: the run lists them and asks which one; --app-id picks it and the run
// configures that one.
func TestSameNameApplications(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	var ids []string
	for range 2 {
		raw := h.graphPOST("/applications", `{"displayName":"Smallstep"}`)
		var app struct{ AppID string }
		if err := json.Unmarshal(raw, &app); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, app.AppID)
	}
	h.sb.Tenant.ResetRequests()
	in := h.manual()
	_, _, _, err := h.run(in, "")
	if err == nil || !strings.Contains(err.Error(), "--app-id") || !strings.Contains(err.Error(), ids[0]) || !strings.Contains(err.Error(), ids[1]) {
		t.Fatalf("error = %v, want both client ids and --app-id", err)
	}
	if n := h.sb.Tenant.WriteCount(); n != 0 {
		t.Errorf("%d writes before the error", n)
	}
	// POST /applications makes no service principal, which provisioning needs: the run says so.
	in.AppID = ids[1]
	if _, _, _, err := h.run(in, ""); err == nil || !strings.Contains(err.Error(), "no enterprise application") {
		t.Errorf("error = %v, want the missing service principal explained", err)
	}
}

// A group of more than five members: five arrive on demand, the rest are left to the cycle and reported so.
func TestLargeGroupLeavesTheRestToTheCycle(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	group, err := h.sb.Tenant.AddGroup(entra.NewGroup{DisplayName: "Platform"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		u, err := h.sb.Tenant.AddUser(entra.NewUser{
			UserPrincipalName: fmt.Sprintf("platform%d@%s", i, h.sb.Demo.Domain), DisplayName: fmt.Sprintf("Platform %d", i),
			GivenName: "Platform", Surname: fmt.Sprint(i), Mail: fmt.Sprintf("platform%d@%s", i, h.sb.Demo.Domain),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.sb.Tenant.AddGroupMember(group.ID, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	in := h.manual()
	in.AssignGroups, in.AssignUsers = []string{"Platform"}, nil
	_, result := h.mustRun(in)
	arrived, pendingUsers := 0, 0
	for _, u := range result.Users {
		switch u.Outcome {
		case steps.Arrived:
			arrived++
		case steps.Pending:
			pendingUsers++
		default:
			t.Errorf("%s: %s %s", u.UserPrincipalName, u.Outcome, u.Reason)
		}
	}
	if arrived != 5 || pendingUsers != 2 {
		t.Errorf("%d arrived, %d pending; want 5 and 2", arrived, pendingUsers)
	}
	if !strings.Contains(strings.Join(result.Notes, " "), "2 users left to the provisioning cycle") {
		t.Errorf("notes = %v", result.Notes)
	}
	// The cycle brings the others.
	if _, err := h.sb.Tenant.RunDueCycles(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, j := range h.sb.Tenant.SyncJobs(result.ServicePrincipalID) {
		if err := h.sb.Tenant.RunCycleNow(t.Context(), j.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.sb.Backend.Users()); n != 7 {
		t.Errorf("after a cycle the SaaS has %d users, want 7", n)
	}
}
