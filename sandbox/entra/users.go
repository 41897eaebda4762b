package entra

import (
	"net/http"
	"strings"
)

func userCollection(context string) collection {
	return collection{
		directory: true,
		context:   context,
		resource:  "User",
		filterable: []string{"id", "userPrincipalName", "mail", "displayName", "givenName", "surname", "mailNickname",
			"accountEnabled", "userType", "jobTitle", "department", "employeeId", "createdDateTime"},
		searchable: []string{"displayName", "userPrincipalName", "mail", "givenName", "surname", "mailNickname"},
	}
}

func (t *Tenant) listUsers(c *call) response { return t.readDirectory(c, usersCollection, readPage) }

func (t *Tenant) countUsers(c *call) response { return t.readDirectory(c, usersCollection, readCount) }

// findUser resolves a user by object id or userPrincipalName (both address /users/{id}). Call with t.mu held.
func (t *Tenant) findUser(idOrUPN string) (*record, bool) {
	if r, ok := t.st.get(t.st.users, idOrUPN); ok {
		return r, true
	}
	for _, r := range t.st.users {
		if strings.EqualFold(str(r.data, "userPrincipalName"), idOrUPN) {
			return r, true
		}
	}
	return nil, false
}

func (t *Tenant) getUser(c *call) response {
	return t.getEntity(c, "users", func() (*record, *graphError) {
		if r, ok := t.findUser(c.param("id")); ok {
			return r, nil
		}
		return nil, errResourceNotFound(c.param("id"))
	})
}

// Directory answers for user writes, as commonly observed: the domain of a UPN must be verified, and a UPN is
// unique in the tenant.
func errUPNDomain() *graphError {
	return errBadRequest("The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.")
}

func errUPNTaken() *graphError {
	return errBadRequest("Another object with the same value for property userPrincipalName already exists.")
}

func (t *Tenant) checkUPN(upn string) *graphError {
	_, domain, ok := strings.Cut(upn, "@")
	if !ok || !strings.EqualFold(domain, t.domain) {
		return errUPNDomain()
	}
	return nil
}

// createUser is the admin action POST /users (DOCS user-post-users.md); the body was checked against
// microsoft.graph.user with the properties required on create.
func (t *Tenant) createUser(c *call) response {
	var body object
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	if err := t.checkUPN(str(body, "userPrincipalName")); err != nil {
		return c.fail(err, t.now())
	}
	user := t.userObject(body)
	t.mu.Lock()
	if t.upnTaken(str(user, "userPrincipalName")) {
		t.mu.Unlock()
		return c.fail(errUPNTaken(), t.now())
	}
	t.st.add(t.st.users, user, 0)
	out := deepCopy(user)
	t.mu.Unlock()
	resp := t.entity(c, "users", out)
	resp.status = http.StatusCreated
	return resp
}

func (t *Tenant) patchUser(c *call) response {
	var body object
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	delete(body, "passwordProfile")
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.findUser(c.param("id"))
	if !ok {
		return c.fail(errResourceNotFound(c.param("id")), t.now())
	}
	if upn, ok := body["userPrincipalName"].(string); ok && !strings.EqualFold(upn, str(r.data, "userPrincipalName")) {
		if err := t.checkUPN(upn); err != nil {
			return c.fail(err, t.now())
		}
		if t.upnTaken(upn) {
			return c.fail(errUPNTaken(), t.now())
		}
	}
	mergeTopLevel(r.data, body)
	t.st.touch()
	return noContent()
}

// deleteUser moves a user to the deleted items, from where it can be restored for 30 days (DOCS
// user-delete.md); deleteditems.go has the rest.
func (t *Tenant) deleteUser(c *call) response {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.findUser(c.param("id"))
	if !ok {
		return c.fail(errResourceNotFound(c.param("id")), t.now())
	}
	t.softDeleteUser(r)
	return noContent()
}
