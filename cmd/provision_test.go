package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/sandbox/refbackend"
	"github.com/idpctl/idpctl/steps"
	"github.com/idpctl/idpctl/wizard"
)

// assign assigns a user or group to the application as a person in the admin center would.
func (tn *tenant) assign(principalID string) {
	tn.t.Helper()
	_, sp, _ := tn.app()
	var role string
	for _, r := range sp.AppRoles {
		if r.DisplayName == "User" {
			role = r.ID
		}
	}
	tn.graph(http.MethodPost, "/servicePrincipals/"+sp.ID+"/appRoleAssignedTo", `{"principalId":"`+principalID+`","resourceId":"`+sp.ID+`","appRoleId":"`+role+`"}`)
}

// provisioned decodes provision's JSON result into the outcome of each user, by user principal name.
func provisioned(t *testing.T, stdout string) (map[string]steps.UserResult, steps.Result) {
	t.Helper()
	var result steps.Result
	if err := json.Unmarshal([]byte(stdout), &result); err != nil {
		t.Fatalf("provision's result: %v\n%s", err, stdout)
	}
	users := map[string]steps.UserResult{}
	for _, u := range result.Users {
		users[strings.SplitN(u.UserPrincipalName, "@", 2)[0]] = u
	}
	return users, result
}

// The acceptance test of issue 11: a group with its members, a user who arrives and a user out of scope, each
// reported with its outcome, read back from the SCIM endpoint. The group's call carries its members (DOCS
// synchronization-synchronizationjob-provisionondemand.md); the disabled member is skipped, as Entra does not
// provision disabled users (ENTRA provision-on-demand.md).
func TestProvisionReportsEachUser(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.manual())
	demo := tn.sb.Demo
	tn.assign(demo.Engineering.ID) // Lee (arrived with setup), Diego (disabled), Grady
	if _, ok := tn.sb.Backend.UserByUserName(demo.Users[4].UserPrincipalName); ok {
		t.Fatal("Grady is in the SaaS before provision")
	}

	tn.reset()
	o := tn.run(invocation{}, tn.day2("provision", "--group", "Engineering", "--user", demo.Admin.UserPrincipalName, "--dry-run")...)
	if o.code != 0 {
		t.Fatalf("provision --dry-run: %v", o)
	}
	tn.noWrites("provision --dry-run")
	for _, want := range []string{"group Engineering", demo.Users[4].UserPrincipalName, "not assigned to the application", "the SCIM endpoint " + tn.sb.SCIMURL} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("the plan lacks %q:\n%s", want, o.stdout)
		}
	}

	o = tn.run(invocation{}, tn.day2("provision", "--group", "Engineering", "--user", demo.Admin.UserPrincipalName, "--yes", "--non-interactive", "--output", "json")...)
	if o.code != 0 {
		t.Fatalf("provision: %v", o)
	}
	users, result := provisioned(t, o.stdout)
	if result.Command != "provision" || len(users) != 4 {
		t.Fatalf("result %+v", result)
	}
	for name, want := range map[string]struct{ outcome, via, reason string }{
		"lee.gu":          {steps.Arrived, "group Engineering", ""},
		"grady.archie":    {steps.Arrived, "group Engineering", ""},
		"diego.siciliani": {steps.Skipped, "group Engineering", "disabled"},
		"admin":           {steps.Skipped, "user", "not assigned to the application"},
	} {
		u := users[name]
		if u.Outcome != want.outcome || u.Via != want.via || !strings.Contains(u.Reason, want.reason) {
			t.Errorf("%s: %+v, want %s via %s (%q)", name, u, want.outcome, want.via, want.reason)
		}
		if want.outcome == steps.Arrived && u.SCIMID == "" {
			t.Errorf("%s arrived without its SCIM id: %+v", name, u)
		}
	}
	grady, ok := tn.sb.Backend.UserByUserName(demo.Users[4].UserPrincipalName)
	if !ok || users["grady.archie"].SCIMID != grady.ID {
		t.Errorf("Grady in the SaaS: %v %+v", ok, grady)
	}
	var members []any
	for _, g := range tn.sb.Backend.Groups() {
		if g.Attributes["displayName"] == "Engineering" {
			members, _ = g.Attributes["members"].([]any)
		}
	}
	if len(members) != 2 {
		t.Errorf("the group Engineering in the SaaS has members %v, want Lee and Grady", members)
	}

	// In text, one line per user with the reason.
	o = tn.run(invocation{}, tn.day2("provision", "--user", demo.Admin.UserPrincipalName, "--yes", "--non-interactive")...)
	if o.code != 0 || !strings.Contains(o.stdout, "skipped  "+demo.Admin.UserPrincipalName+": NotEffectivelyEntitled") {
		t.Errorf("provision in text: %v", o)
	}
}

// A user the SaaS refuses is a failure with the SaaS's answer, and the command exits 1. Without a SCIM token
// the report comes from Entra's answers and logs, and says so.
func TestProvisionFailsWhenTheSaaSRefuses(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI())
	grady := tn.sb.Demo.Users[4]
	tn.assign(grady.ID)
	tn.sb.Backend.SetFaults(refbackend.Faults{Rules: []refbackend.FaultRule{{Method: http.MethodPost, Path: "/Users", Status: http.StatusBadRequest}}})
	env := tn.env()
	delete(env, "IDPCTL_SCIM_TOKEN")
	o := tn.run(invocation{env: env}, tn.day2("provision", "--user", grady.UserPrincipalName, "--yes", "--non-interactive", "--output", "json")...)
	if o.code != exitFailed {
		t.Fatalf("provision of a user the SaaS refuses: %v", o)
	}
	users, result := provisioned(t, o.stdout)
	if u := users["grady.archie"]; u.Outcome != steps.Failed || u.Reason == "" {
		t.Errorf("Grady: %+v", u)
	}
	if !strings.Contains(strings.Join(result.Notes, " "), "no SCIM token") {
		t.Errorf("notes %q", result.Notes)
	}
}

// Names that match nothing are refused before anything is sent, with the flag they came from.
func TestProvisionBadInput(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.manual())
	tn.reset()
	o := tn.run(invocation{}, tn.day2("provision", "--user", "nobody@contoso.com", "--group", "Enginering", "--yes", "--non-interactive")...)
	if o.code != 2 || !strings.Contains(o.err.Error(), `--user "nobody@contoso.com": no user`) || !strings.Contains(o.err.Error(), `--group "Enginering": no group with this name or object id; did you mean "Engineering"?`) {
		t.Errorf("unknown names: %v", o)
	}
	tn.noWrites("unknown names")
	if o := tn.run(invocation{}, tn.day2("provision", "--yes")...); o.code != 2 || !strings.Contains(o.err.Error(), "nothing to provision") {
		t.Errorf("no names: %v", o)
	}
}

// Without --user or --group, a terminal gets the picker (answered here in its place, with the tenant's own
// directory to search), and what is chosen is provisioned; a script gets the error naming the flags, and no
// question.
func TestProvisionAsksWhomOnATerminal(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.manual())
	demo := tn.sb.Demo
	tn.assign(demo.Engineering.ID)
	asked := 0
	choose := func(ctx context.Context, _ *wizard.IOStreams, dir wizard.Directory, in steps.Inputs) ([]string, []string, error) {
		asked++
		if in.AppName != "Smallstep" {
			t.Errorf("the picker is told of the application %q, want the one set up", in.AppName)
		}
		groups, err := dir.ResolveGroup(ctx, "Engineering") // the signed-in tenant's directory
		if err != nil || len(groups) != 1 {
			t.Errorf("the picker's directory found %v, %v", groups, err)
		}
		return []string{"Engineering"}, nil, nil
	}
	for _, args := range [][]string{{"--yes"}, {"--yes", "--non-interactive"}, {"--yes", "--output", "json"}} {
		o := tn.run(invocation{choose: choose}, tn.day2("provision", args...)...)
		if o.code != 2 || !strings.Contains(fmt.Sprint(o.err), "--user") || !strings.Contains(fmt.Sprint(o.err), "--group") || asked != 0 {
			t.Errorf("provision %q without a terminal: asked %d times; %v", args, asked, o)
		}
	}
	o := tn.run(invocation{tty: true, choose: choose}, tn.day2("provision", "--yes")...)
	if o.code != 0 || asked != 1 {
		t.Fatalf("provision on a terminal: asked %d times; %v", asked, o)
	}
	if _, ok := tn.sb.Backend.UserByUserName(demo.Users[4].UserPrincipalName); !ok {
		t.Errorf("Grady, of the group chosen, did not arrive:\n%s", o.stdout)
	}
}
