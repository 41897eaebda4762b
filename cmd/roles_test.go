package cmd

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/sandbox/refbackend"
	"github.com/idpctl/idpctl/steps"
)

// roles entra gives Owners and Admins their roles through the backend's API once they have arrived; one who has
// not is reported with what to run later, and a later run without flags (the state remembers them) leaves the
// roles the SaaS has alone and tries that one again.
func TestRolesThroughTheBackend(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI())
	domain := tn.sb.Tenant.Domain()
	adele, lee, alex := "adele.vance@"+domain, "lee.gu@"+domain, "admin@"+domain
	tn.reset()
	o := tn.run(invocation{}, tn.day2("roles", "--owner", adele, "--admin", lee, "--admin", alex, "--yes", "--non-interactive", "--output", "json")...)
	if o.code != 0 {
		t.Fatalf("roles: %v", o)
	}
	if got := tn.sb.Backend.Roles(); len(got) != 2 || got[adele] != refbackend.RoleOwner || got[lee] != refbackend.RoleAdmin {
		t.Errorf("roles in the SaaS: %v", got)
	}
	var result steps.Result
	if err := json.Unmarshal([]byte(o.stdout), &result); err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]string{}
	for _, r := range result.Roles {
		outcomes[r.UserPrincipalName+" "+string(r.Role)] = r.Outcome
	}
	want := map[string]string{adele + " owner": steps.RoleSet, lee + " admin": steps.RoleSet, alex + " admin": steps.RolePending}
	if fmt.Sprint(outcomes) != fmt.Sprint(want) || result.Command != "roles" {
		t.Errorf("result roles %v, want %v", outcomes, want)
	}
	if notes := strings.Join(result.Notes, "\n"); !strings.Contains(notes, alex+" (admin)") || !strings.Contains(notes, "run idpctl roles entra once provisioning has created them") {
		t.Errorf("notes %q", notes)
	}
	// The roles command has no confirmation to tell an unassigned user from one not provisioned yet.
	wantDid := fmt.Sprintf(`updated SaaS role %q; updated SaaS role %q; left SaaS role %q for later: the user is not in the SaaS yet`, adele, lee, alex)
	if n := len(result.Steps); n == 0 || result.Steps[n-1].Summary != wantDid {
		t.Errorf("steps %+v, want the last to say %q", result.Steps, wantDid)
	}

	tn.reset()
	o = tn.run(invocation{}, tn.day2("roles", "--yes", "--non-interactive", "--output", "json")...)
	result = steps.Result{}
	if err := json.Unmarshal([]byte(o.stdout), &result); o.code != 0 || err != nil {
		t.Fatalf("roles again: %v", o)
	}
	outcomes = map[string]string{}
	for _, r := range result.Roles {
		outcomes[r.UserPrincipalName+" "+string(r.Role)] = r.Outcome
	}
	want = map[string]string{adele + " owner": steps.RoleUnchanged, lee + " admin": steps.RoleUnchanged, alex + " admin": steps.RolePending}
	if fmt.Sprint(outcomes) != fmt.Sprint(want) {
		t.Errorf("the second run: %v, want %v", outcomes, want)
	}
	tn.noWritesToTenant("roles")
}

// With the manual backend nothing is sent: the result says whom to make Owner or Admin in Smallstep.
func TestRolesManual(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.manual())
	tn.reset()
	adele := "adele.vance@" + tn.sb.Tenant.Domain()
	o := tn.run(invocation{}, tn.day2("roles", "--owner", adele, "--yes", "--non-interactive")...)
	if o.code != 0 || !strings.Contains(o.stdout, adele+" (owner)") || !strings.Contains(o.stdout, "let Smallstep know which of your SSO users should be team Owners or Admins") {
		t.Errorf("roles with the manual backend: %v", o)
	}
	tn.noWrites("roles with the manual backend")
	if len(tn.sb.Backend.Roles()) != 0 {
		t.Errorf("roles in the SaaS: %v", tn.sb.Backend.Roles())
	}
}

// A user who is not in the tenant is refused by name before anything is sent.
func TestRolesUnknownUser(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI())
	tn.reset()
	o := tn.run(invocation{}, tn.day2("roles", "--owner", "nobody@"+tn.sb.Tenant.Domain(), "--yes", "--non-interactive")...)
	if o.code != 2 || !strings.Contains(fmt.Sprint(o.err), `--owner "nobody@`) {
		t.Errorf("an unknown owner: %v", o)
	}
	tn.noWrites("an unknown owner")
}

// noWritesToTenant fails the test if the tenant received a write since the last reset (the SaaS may have).
func (tn *tenant) noWritesToTenant(what string) {
	tn.t.Helper()
	for _, r := range tn.sb.Tenant.Requests() {
		if r.IsWrite() {
			tn.t.Errorf("%s wrote to the tenant: %s %s", what, r.Method, r.Path)
		}
	}
}

// setup --owner --admin gives the roles at the end of the setup, once the users arrived.
func TestSetupOwnersAndAdmins(t *testing.T) {
	tn := newTenant(t)
	domain := tn.sb.Tenant.Domain()
	adele, lee := "adele.vance@"+domain, "lee.gu@"+domain
	tn.mustSetUp(tn.viaAPI("--owner", adele, "--admin", lee))
	if got := tn.sb.Backend.Roles(); len(got) != 2 || got[adele] != refbackend.RoleOwner || got[lee] != refbackend.RoleAdmin {
		t.Errorf("roles in the SaaS after setup: %v", got)
	}
}
