package sandbox_test

import (
	"net/http"
	"testing"

	"github.com/idpctl/idpctl/sandbox"
)

// TestSoftDeleteDisablesAndRestoreReactivates follows the deprovisioning section of ENTRA
// docs/identity/app-provisioning/how-provisioning-works.md (MicrosoftDocs/entra-docs): a user deleted in Entra
// is soft-deleted ("sent to the recycle bin") and disabled in the target by an update; "When a user goes from
// soft-deleted to active, the Microsoft Entra provisioning service activates the user in the target app"; "At any
// time during the 30-day window, you can manually delete a user permanently, which sends a delete request to the
// application". The Graph side follows DOCS api-reference/v1.0/api/user-delete.md ("moved to a temporary
// container and can be restored within 30 days"), directory-deleteditems-list.md, -restore.md and -delete.md.
func TestSoftDeleteDisablesAndRestoreReactivates(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	grady := e.sb.Demo.Users[4]
	e.configure(grady.ID)
	e.start()
	e.nextCycle()
	target := e.target(grady.UserPrincipalName).ID

	e.must(http.StatusNoContent, e.graph(http.MethodDelete, "/users/"+grady.ID, nil))
	e.must(http.StatusNotFound, e.graph(http.MethodGet, "/users/"+grady.ID, nil))
	deleted := e.must(http.StatusOK, e.graph(http.MethodGet, "/directory/deletedItems/microsoft.graph.user", nil)).json(t)["value"].([]any)
	if len(deleted) != 1 || deleted[0].(map[string]any)["id"] != grady.ID || deleted[0].(map[string]any)["deletedDateTime"] == nil {
		t.Fatalf("deleted items %v", deleted)
	}
	if n := len(e.must(http.StatusOK, e.graph(http.MethodGet, "/servicePrincipals/"+e.spID+"/appRoleAssignedTo", nil)).json(t)["value"].([]any)); n != 0 {
		t.Errorf("a deleted user's assignment is still listed (%d)", n)
	}
	e.nextCycle()
	if u := e.target(grady.UserPrincipalName); u.Active() || u.ID != target {
		t.Fatalf("after the soft delete: active %v, id %s", u.Active(), u.ID)
	}
	last := e.provisioningLog()[len(e.provisioningLog())-1]
	if last["provisioningAction"] != "disable" {
		t.Errorf("log entry for the soft delete %v", last["provisioningAction"])
	}

	restored := e.must(http.StatusOK, e.graph(http.MethodPost, "/directory/deletedItems/"+grady.ID+"/restore", nil)).json(t)
	if restored["userPrincipalName"] != grady.UserPrincipalName || restored["@odata.type"] != "#microsoft.graph.user" {
		t.Errorf("restore answered %v", restored)
	}
	e.must(http.StatusOK, e.graph(http.MethodGet, "/users/"+grady.ID, nil))
	e.nextCycle()
	if !e.target(grady.UserPrincipalName).Active() {
		t.Fatal("the restored user was not reactivated")
	}

	// Deleted again, then permanently: the target gets its DELETE at the next cycle.
	e.must(http.StatusNoContent, e.graph(http.MethodDelete, "/users/"+grady.ID, nil))
	e.must(http.StatusNoContent, e.graph(http.MethodDelete, "/directory/deletedItems/"+grady.ID, nil))
	e.must(http.StatusNotFound, e.graph(http.MethodPost, "/directory/deletedItems/"+grady.ID+"/restore", nil))
	e.requests()
	e.nextCycle()
	got := summaries(e.requests())
	if len(got) != 2 || got[1] != "DELETE /Users/"+target {
		t.Errorf("requests after the permanent delete %v, want the probe and the DELETE", got)
	}
}
