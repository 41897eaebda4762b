package sandbox_test

import (
	"net/http"
	"testing"

	"github.com/idpctl/idpctl/sandbox"
)

// TestStrictSCIMNeedsTheCompliantFlag: against a strict SCIM 2.0 server (Options.StrictSCIM), Entra's default
// dialect cannot deactivate a user, because it sends "active": "False" as a string (ENTRA
// application-provisioning-config-problem-scim-compatibility.md, "Requests made to disable users"); the same run
// with aadOptscim062020 in the tenant URL sends a JSON boolean and the user is deactivated.
func TestStrictSCIMNeedsTheCompliantFlag(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		active      bool // the user's active flag in the target after being unassigned
	}{
		{"default dialect", "", true},
		{"aadOptscim062020", "?aadOptscim062020", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, sandbox.Options{StrictSCIM: true})
			user := e.sb.Demo.Users[0]
			e.createApp()
			e.assign(user.ID)
			e.saveCredentials(e.sb.SCIMURL+tc.query, e.sb.SCIMToken.Reveal())
			e.start()
			e.nextCycle()
			if !e.target(user.UserPrincipalName).Active() {
				t.Fatal("the user did not arrive active")
			}
			e.requests()
			e.unassign(user.ID)
			e.nextCycle()
			if got := e.target(user.UserPrincipalName).Active(); got != tc.active {
				t.Errorf("active after unassignment = %v, want %v", got, tc.active)
			}
			var patches []int
			for _, r := range e.requests() {
				if r.Method == http.MethodPatch {
					patches = append(patches, r.Status)
				}
			}
			want := http.StatusNoContent
			if tc.active {
				want = http.StatusBadRequest // 400 invalidValue: the deactivation failed
			}
			if len(patches) == 0 || patches[0] != want {
				t.Errorf("deactivation PATCH answered %v, want %d", patches, want)
			}
		})
	}
}
