package sandbox_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/sandbox"
)

// These tests follow Microsoft's pages on a user's manager:
//   GRAPH  api-reference/v1.0/api/user-list-manager.md, user-post-manager.md, user-delete-manager.md
//          (microsoftgraph/microsoft-graph-docs-contrib)

// setManager is PUT /users/{id}/manager/$ref as an administrator (GRAPH user-post-manager.md).
func (e *env) setManager(userID, managerID string) {
	e.t.Helper()
	e.must(http.StatusNoContent, e.graph(http.MethodPut, "/users/"+userID+"/manager/$ref",
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + managerID}))
}

// TestManagerThroughGraph: "Returns the user or organizational contact assigned as the user's manager" (GRAPH
// user-list-manager.md); PUT .../manager/$ref "Assign a user's manager" with an @odata.id, 204; DELETE
// .../manager/$ref "Remove a user's manager", 204; both need User.ReadWrite.All or Directory.ReadWrite.All
// (GRAPH user-post-manager.md, user-delete-manager.md), which the setup token does not carry.
func TestManagerThroughGraph(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	admin, adele, lee, grady := e.sb.Demo.Admin, e.sb.Demo.Users[0], e.sb.Demo.Users[1], e.sb.Demo.Users[4]

	// The demo directory has managers: Adele reports to the admin, Lee to Adele.
	got := e.must(http.StatusOK, e.graph(http.MethodGet, "/users/"+lee.UserPrincipalName+"/manager", nil)).json(t)
	if got["id"] != adele.ID || got["displayName"] != "Adele Vance" || got["@odata.type"] != "#microsoft.graph.user" ||
		!strings.HasSuffix(got["@odata.context"].(string), "/$metadata#directoryObjects/$entity") {
		t.Errorf("Lee's manager %v", got)
	}
	if id := e.must(http.StatusOK, e.graph(http.MethodGet, "/users/"+adele.ID+"/manager?$select=id", nil)).json(t)["id"]; id != admin.ID {
		t.Errorf("Adele's manager %v, want the admin", id)
	}
	ref := e.must(http.StatusOK, e.graph(http.MethodGet, "/users/"+lee.ID+"/manager/$ref", nil)).json(t)
	if !strings.HasSuffix(ref["@odata.id"].(string), "/directoryObjects/"+adele.ID) {
		t.Errorf("Lee's manager reference %v", ref)
	}

	e.setManager(lee.ID, grady.ID)
	if id := e.must(http.StatusOK, e.graph(http.MethodGet, "/users/"+lee.ID+"/manager", nil)).json(t)["id"]; id != grady.ID {
		t.Errorf("Lee's manager after PUT %v, want Grady", id)
	}
	e.must(http.StatusNoContent, e.graph(http.MethodDelete, "/users/"+lee.ID+"/manager/$ref", nil))
	gone := e.must(http.StatusNotFound, e.graph(http.MethodGet, "/users/"+lee.ID+"/manager", nil)).json(t)["error"].(map[string]any)
	if gone["code"] != "Request_ResourceNotFound" || !strings.Contains(gone["message"].(string), "'manager'") {
		t.Errorf("a user without a manager: %v", gone)
	}
	e.must(http.StatusNotFound, e.graph(http.MethodDelete, "/users/"+lee.ID+"/manager/$ref", nil))

	// Bad references: a manager that does not exist, a group, a body without exactly one @odata.id.
	e.must(http.StatusNotFound, e.graph(http.MethodPut, "/users/"+lee.ID+"/manager/$ref",
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/00000000-0000-0000-0000-000000000000"}))
	e.must(http.StatusBadRequest, e.graph(http.MethodPut, "/users/"+lee.ID+"/manager/$ref",
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/groups/" + e.sb.Demo.Engineering.ID}))
	e.must(http.StatusBadRequest, e.graph(http.MethodPut, "/users/"+lee.ID+"/manager/$ref", map[string]any{"id": adele.ID}))

	// The setup token reads managers but cannot change them; the user administrator's token idpctl sandbox
	// prints can.
	admins := e.token
	e.token = e.sb.AccessToken.Reveal()
	e.must(http.StatusOK, e.graph(http.MethodGet, "/users/"+adele.ID+"/manager", nil))
	e.must(http.StatusForbidden, e.graph(http.MethodPut, "/users/"+lee.ID+"/manager/$ref",
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + adele.ID}))
	e.token = e.sb.AdminToken.Reveal()
	e.setManager(lee.ID, grady.ID)
	e.token = admins

	// A deleted manager is not shown while in the deleted items, and is back after a restore.
	e.setManager(lee.ID, adele.ID)
	e.must(http.StatusNoContent, e.graph(http.MethodDelete, "/users/"+adele.ID, nil))
	e.must(http.StatusNotFound, e.graph(http.MethodGet, "/users/"+lee.ID+"/manager", nil))
	e.must(http.StatusOK, e.graph(http.MethodPost, "/directory/deletedItems/"+adele.ID+"/restore", nil))
	e.must(http.StatusOK, e.graph(http.MethodGet, "/users/"+lee.ID+"/manager", nil))
}
