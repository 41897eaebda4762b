package steps_test

import (
	"strings"
	"testing"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/refbackend"
	"github.com/idpctl/idpctl/steps"
)

// Setup given Owners and Admins gives them their roles in the SaaS once on-demand provisioning has brought them
// there; one who is not assigned, so never provisioned, is reported pending. A second setup changes nothing.
func TestSetupGivesOwnersAndAdminsTheirRoles(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.viaAPI()
	domain := h.sb.Tenant.Domain()
	in.Owners = []string{"adele.vance@" + domain}
	in.Admins = []string{"lee.gu@" + domain, "admin@" + domain, "ADELE.VANCE@" + domain}
	plan, result := h.mustRun(in)
	if got := h.sb.Backend.Roles(); len(got) != 2 || got["adele.vance@"+domain] != refbackend.RoleOwner || got["lee.gu@"+domain] != refbackend.RoleAdmin {
		t.Errorf("roles in the SaaS: %v", got)
	}
	want := map[string]string{"adele.vance@" + domain: steps.RoleSet, "lee.gu@" + domain: steps.RoleSet, "admin@" + domain: steps.RolePending}
	if len(result.Roles) != len(want) {
		t.Fatalf("result roles %+v", result.Roles)
	}
	for _, r := range result.Roles {
		if want[r.UserPrincipalName] != r.Outcome {
			t.Errorf("%s: %s, want %s", r.UserPrincipalName, r.Outcome, want[r.UserPrincipalName])
		}
		if r.UserPrincipalName == "adele.vance@"+domain && r.Role != backend.RoleOwner {
			t.Errorf("named Owner and Admin, adele is %s", r.Role)
		}
	}
	if plan.Steps[len(plan.Steps)-1].Step != "owners and admins" {
		t.Errorf("the last step is %q", plan.Steps[len(plan.Steps)-1].Step)
	}
	// The report says what the SaaS took, not what the plan hoped: the role of a user not there yet was not set.
	rolesDid := func(r steps.Result) string {
		for _, s := range r.Steps {
			if s.Step == "owners and admins" {
				return s.Summary
			}
		}
		t.Fatalf("no owners and admins step in %+v", r.Steps)
		return ""
	}
	wantDid := `updated SaaS role "adele.vance@` + domain + `"; updated SaaS role "lee.gu@` + domain + `"; ` +
		`did not set SaaS role "admin@` + domain + `": the user is not assigned to the application`
	if got := rolesDid(result); got != wantDid {
		t.Errorf("roles step did:\n %s\nwant\n %s", got, wantDid)
	}

	notes := strings.Join(result.Notes, "\n")
	if !strings.Contains(notes, "not assigned to the application, directly or as a member of an assigned group, so provisioning never brings them to the SaaS and they have no role: admin@"+domain+" (admin)") ||
		strings.Contains(notes, "not in the SaaS yet") {
		t.Errorf("notes:\n%s", notes)
	}

	// Run again: the roles the SaaS has are left alone; the pending one is tried again.
	_, result = h.mustRun(in)
	want = map[string]string{"adele.vance@" + domain: steps.RoleUnchanged, "lee.gu@" + domain: steps.RoleUnchanged, "admin@" + domain: steps.RolePending}
	for _, r := range result.Roles {
		if want[r.UserPrincipalName] != r.Outcome {
			t.Errorf("second run, %s: %s, want %s", r.UserPrincipalName, r.Outcome, want[r.UserPrincipalName])
		}
	}
	if got, want := rolesDid(result), `did not set SaaS role "admin@`+domain+`": the user is not assigned to the application`; got != want {
		t.Errorf("second run, roles step did:\n %s\nwant\n %s", got, want)
	}
}
