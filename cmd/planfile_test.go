package cmd

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/steps"
)

// wroteExactly fails the test unless the tenant received exactly the writes want (see writes) since the
// last reset.
func (tn *tenant) wroteExactly(what string, want []string) {
	tn.t.Helper()
	slices.Sort(want)
	if got := tn.writes(); !slices.Equal(got, want) {
		tn.t.Errorf("%s wrote\n  %s\nwant exactly\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// writes lists the writes the tenant received since the last reset, ids replaced by {id}, sorted.
func (tn *tenant) writes() []string {
	ids := regexp.MustCompile(`scim\.[^/]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	var out []string
	for _, r := range tn.sb.Tenant.Requests() {
		if r.IsWrite() && r.Path != "/$batch" {
			out = append(out, r.Method+" "+ids.ReplaceAllString(r.Path, "{id}"))
		}
	}
	slices.Sort(out)
	return out
}

// applyPlan is `idpctl setup entra --plan FILE` as the second admin runs it: sign-in flags and the secrets in
// the environment, setup flags from the plan.
func (tn *tenant) applyPlan(file string, extra ...string) outcome {
	tn.t.Helper()
	return tn.run(invocation{}, append([]string{"setup", "entra", "--graph-url", tn.sb.GraphURL, "--auth", "token",
		"--state-dir", tn.stateDir, "--plan", file}, extra...)...)
}

// One admin saves the plan of a first setup, another applies it: the writes are exactly the ones the plan
// lists, and the same plan applied again is refused as stale without a write.
func TestSavedPlanAppliesExactlyThePlannedWrites(t *testing.T) {
	tn := newTenant(t)
	file := t.TempDir() + "/smallstep.plan.json"
	o := tn.run(invocation{}, tn.manual("--dry-run", "--plan-out", file)...)
	if o.code != 0 || !strings.Contains(o.stdout, `+ enterprise application "Smallstep"`) {
		t.Fatalf("--dry-run --plan-out: %v", o)
	}
	tn.noWrites("--dry-run --plan-out")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	noSecret(t, "the plan file", string(raw), map[string]string{"SCIM token": tn.sb.SCIMToken.Reveal(), "access token": tn.sb.AccessToken.Reveal()})
	if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("plan file: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	plan, err := steps.ReadPlanFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if plan.TenantID != tn.sb.TenantID || plan.Version != version || !slices.Equal(plan.Inputs.AssignGroups, []string{"Smallstep Users"}) {
		t.Errorf("the plan records tenant %q, version %q, inputs %+v", plan.TenantID, plan.Version, plan.Inputs)
	}

	o = tn.applyPlan(file)
	if o.code != 0 {
		t.Fatalf("--plan: %v", o)
	}
	// The plan: create the application (instantiate, then the final name on the enterprise application) and
	// its settings, assign the group, consent, a client secret, the provisioning job, save its credentials and
	// have Entra test them, set the mappings (the Coalesce source parsed by Entra; a POST, though it writes
	// nothing), start, and provision the group on demand.
	want := []string{
		"PATCH /applications/{id}",
		"PATCH /servicePrincipals/{id}",
		"POST /applicationTemplates/{id}/instantiate",
		"POST /applications/{id}/addPassword",
		"POST /oauth2PermissionGrants",
		"POST /servicePrincipals/{id}/appRoleAssignedTo",
		"POST /servicePrincipals/{id}/synchronization/jobs",
		"POST /servicePrincipals/{id}/synchronization/jobs/{id}/provisionOnDemand",
		"POST /servicePrincipals/{id}/synchronization/jobs/{id}/schema/parseExpression",
		"POST /servicePrincipals/{id}/synchronization/jobs/{id}/start",
		"POST /servicePrincipals/{id}/synchronization/jobs/{id}/validateCredentials",
		"PUT /servicePrincipals/{id}/synchronization/jobs/{id}/schema",
		"PUT /servicePrincipals/{id}/synchronization/secrets",
	}
	tn.wroteExactly("applying the plan", want)
	tn.app() // exactly one application, service principal and job

	tn.reset()
	o = tn.applyPlan(file)
	if o.code != exitFailed || !strings.Contains(o.err.Error(), "stale") || !strings.Contains(o.err.Error(), "application: planned create") {
		t.Errorf("the applied plan again: %v; want exit 1, stale", o)
	}
	tn.noWrites("an applied plan")
}

// A re-run's plan adds one user; someone assigns that user in the portal before the plan is applied: the
// plan is refused as stale, without a write. A fresh plan then applies its one assignment and nothing else.
func TestStalePlanIsRefused(t *testing.T) {
	tn := newTenant(t)
	if o := tn.run(invocation{}, tn.manual("--non-interactive", "--yes")...); o.code != 0 {
		t.Fatalf("setup: %v", o)
	}
	user := "grady.archie@" + tn.sb.Demo.Domain
	file := t.TempDir() + "/plan.json"
	if o := tn.run(invocation{}, tn.manual("--dry-run", "--plan-out", file, "--assign-user", user)...); o.code != 0 {
		t.Fatalf("plan: %v", o)
	}
	_, sp, _ := tn.app()
	var userID, userRole string
	for _, u := range tn.sb.Demo.Users {
		if u.UserPrincipalName == user {
			userID = u.ID
		}
	}
	for _, r := range sp.AppRoles {
		if r.DisplayName == "User" {
			userRole = r.ID
		}
	}
	tn.graphPOST("/servicePrincipals/"+sp.ID+"/appRoleAssignedTo", `{"principalId":"`+userID+`","resourceId":"`+sp.ID+`","appRoleId":"`+userRole+`"}`)
	tn.reset()
	o := tn.applyPlan(file)
	if o.code != exitFailed || !strings.Contains(o.err.Error(), "stale") || !strings.Contains(o.err.Error(), "assignments: planned create assignment") {
		t.Fatalf("stale plan: %v; want exit 1 naming the assignments", o)
	}
	tn.noWrites("a stale plan")

	// Planned again after another admin's change: the user's assignment is there, only confirming remains.
	other := "adele.vance@" + tn.sb.Demo.Domain
	if o := tn.run(invocation{}, tn.manual("--dry-run", "--plan-out", file, "--assign-user", user, "--assign-user", other)...); o.code != 0 {
		t.Fatalf("plan: %v", o)
	}
	tn.reset()
	if o := tn.applyPlan(file, "--assign-user", other, "--assign-user", user); o.code != 0 {
		t.Fatalf("--plan with agreeing flags: %v", o)
	}
	want := []string{
		"POST /servicePrincipals/{id}/appRoleAssignedTo",
		"POST /servicePrincipals/{id}/synchronization/jobs/{id}/provisionOnDemand",
		"POST /servicePrincipals/{id}/synchronization/jobs/{id}/provisionOnDemand",
		"POST /servicePrincipals/{id}/synchronization/jobs/{id}/provisionOnDemand",
	}
	tn.wroteExactly("applying the plan", want)
}

// Setup flags given with --plan must agree with it; flags the plan does not fix are refused.
func TestPlanFlagsMustAgree(t *testing.T) {
	tn := newTenant(t)
	file := t.TempDir() + "/plan.json"
	if o := tn.run(invocation{}, tn.manual("--dry-run", "--plan-out", file)...); o.code != 0 {
		t.Fatalf("plan: %v", o)
	}
	env := tn.env()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--app-name", "Other"}, `--app-name "Other" disagrees with the plan's "Smallstep"`},
		{[]string{"--assign-group", "Smallstep Users", "--assign-group", "Sales"}, "--assign-group"},
		{[]string{"--tenant-id", "72f988bf-86f1-41af-91ab-2d7cd011db47"}, "--tenant-id"},
		{[]string{"--dry-run"}, "does not go with --dry-run"},
		{[]string{"--plan-out", file + ".2"}, "does not go with --dry-run or --plan-out"},
		{[]string{"--sandbox"}, "--sandbox"},
	} {
		_, err := parse(t, env, append([]string{"--plan", file}, c.args...)...)
		if err == nil || exitCode(err) != exitUsage || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--plan with %q: %v; want a usage error saying %q", c.args, err, c.want)
		}
	}
	o := mustParse(t, env, "--plan", file, "--assign-group", "Smallstep Users", "--tenant-id", strings.ToUpper(tn.sb.TenantID), "--secret-expiry", "180d")
	if o.Inputs.SCIMURL != tn.sb.SCIMURL || o.Inputs.SecretOut != tn.secretOut || o.Inputs.SCIMToken.Reveal() != tn.sb.SCIMToken.Reveal() {
		t.Errorf("inputs from the plan and the environment: %+v", o.Inputs)
	}
	if _, err := parse(t, env, "--plan", file+".missing"); err == nil || exitCode(err) != exitUsage {
		t.Errorf("a missing plan file: %v, want a usage error", err)
	}
}
