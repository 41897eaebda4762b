package entra

import (
	"fmt"
	"net/http"
)

// A user's manager: the manager navigation property of Graph's user, read with GET /users/{id}/manager (DOCS
// api-reference/v1.0/api/user-list-manager.md), set with PUT /users/{id}/manager/$ref (user-post-manager.md) and
// removed with DELETE /users/{id}/manager/$ref (user-delete-manager.md). Graph also allows an organizational
// contact as manager; the sandbox has no contacts, so a manager is a user. A soft-deleted manager is hidden, as
// the rest of a deleted user's links are, until a restore brings it back ("fully restore the item", DOCS
// directory-deleteditems-restore.md); a permanent delete of either user removes the link.

// errNoManager is Graph's answer for a user without a manager: the navigation property is not found (the
// directory's Request_ResourceNotFound, naming 'manager', as commonly observed).
func errNoManager() *graphError { return errResourceNotFound("manager") }

// managerOf resolves /users/{id} and its visible manager. Call with t.mu held.
func (t *Tenant) managerOf(c *call) (*record, *graphError) {
	u, ok := t.findUser(c.param("id"))
	if !ok {
		return nil, errResourceNotFound(c.param("id"))
	}
	m, ok := t.st.users[t.st.managers[str(u.data, "id")]]
	if !ok {
		return nil, errNoManager()
	}
	return m, nil
}

// getManager is GET /users/{id}/manager: 200 with the manager as a directoryObject.
func (t *Tenant) getManager(c *call) response {
	t.mu.Lock()
	m, err := t.managerOf(c)
	var out object
	if err == nil {
		out = deepCopy(m.data)
		out["@odata.type"] = "#microsoft.graph.user"
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	return t.entity(c, "directoryObjects", out)
}

// getManagerRef is GET /users/{id}/manager/$ref: the OData reference to the manager.
func (t *Tenant) getManagerRef(c *call) response {
	t.mu.Lock()
	m, err := t.managerOf(c)
	var id string
	if err == nil {
		id = str(m.data, "id")
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	return jsonResponse(http.StatusOK, object{
		"@odata.context": c.serviceRoot + "/$metadata#directoryObjects/$ref",
		"@odata.id":      c.serviceRoot + "/directoryObjects/" + id,
	})
}

// putManagerRef is PUT /users/{id}/manager/$ref with {"@odata.id": ".../users/{managerId}"}: 204, replacing any
// manager the user had.
func (t *Tenant) putManagerRef(c *call) response {
	managerID, err := c.referencedID()
	if err != nil {
		return c.fail(err, t.now())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.findUser(c.param("id"))
	if !ok {
		return c.fail(errResourceNotFound(c.param("id")), t.now())
	}
	_, kind, ok := t.st.directoryObject(managerID)
	switch {
	case !ok:
		return c.fail(errResourceNotFound(managerID), t.now())
	case kind != "User":
		// The message Graph gives a reference of the wrong type for a link property (observed for members).
		return c.fail(errBadRequest("Unsupported referenced-object resource identifier for link property 'manager'."), t.now())
	}
	t.st.managers[str(u.data, "id")] = managerID
	return noContent()
}

// deleteManagerRef is DELETE /users/{id}/manager/$ref: 204, or 404 when the user has no manager.
func (t *Tenant) deleteManagerRef(c *call) response {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := t.managerOf(c); err != nil {
		return c.fail(err, t.now())
	}
	u, _ := t.findUser(c.param("id"))
	delete(t.st.managers, str(u.data, "id"))
	return noContent()
}

// SetManager makes managerID the manager of userID (both users), as PUT /users/{id}/manager/$ref does.
func (t *Tenant) SetManager(userID, managerID string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range []string{userID, managerID} {
		if _, ok := t.st.users[id]; !ok {
			return fmt.Errorf("set manager: no user with id %q", id)
		}
	}
	t.st.managers[userID] = managerID
	return nil
}

// ManagerOf returns the id of a user's manager as Graph shows it (none while the manager is deleted).
func (t *Tenant) ManagerOf(userID string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := t.st.managers[userID]
	_, userLive := t.st.users[userID]
	_, managerLive := t.st.users[id]
	return id, userLive && managerLive
}

// forgetManagerLinks removes the links of a permanently deleted user, as manager and as report. Call with t.mu
// held.
func (s *store) forgetManagerLinks(id string) {
	delete(s.managers, id)
	for report, manager := range s.managers {
		if manager == id {
			delete(s.managers, report)
		}
	}
}
