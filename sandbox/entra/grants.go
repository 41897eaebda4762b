package entra

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

func grantCollection() collection {
	return collection{
		context:    "oauth2PermissionGrants",
		resource:   "OAuth2PermissionGrant",
		filterable: []string{"id", "clientId", "consentType", "principalId", "resourceId"},
	}
}

func (t *Tenant) listGrants(c *call) response {
	return t.page(c, grantCollection(), t.copies(t.st.grants))
}

func (t *Tenant) getGrant(c *call) response {
	return t.getEntity(c, "oauth2PermissionGrants", t.byID(c, t.st.grants))
}

// errGrantExists is Graph's answer to a second grant for the same client, resource and principal (or all
// principals): 409 Request_MultipleObjectsWithSameKeyValue "Permission entry already exists." (quoted in
// hashicorp/terraform-provider-azuread#690; 409 also in Azure/SimuLand#13).
func errGrantExists() *graphError {
	return newError(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
}

// createGrant records delegated consent (DOCS oauth2permissiongrant-post.md).
func (t *Tenant) createGrant(c *call) response {
	var body struct {
		ClientID    string  `json:"clientId"`
		ConsentType string  `json:"consentType"`
		PrincipalID *string `json:"principalId"`
		ResourceID  string  `json:"resourceId"`
		Scope       string  `json:"scope"`
	}
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	principalID := ""
	if body.PrincipalID != nil {
		principalID = *body.PrincipalID
	}
	switch {
	case body.ConsentType == "AllPrincipals" && principalID != "":
		return c.fail(errBadRequest("Invalid value specified for property 'principalId' of resource 'OAuth2PermissionGrant'."), t.now())
	case body.ConsentType == "Principal" && principalID == "":
		return c.fail(errBadRequest("Invalid value specified for property 'principalId' of resource 'OAuth2PermissionGrant'."), t.now())
	case body.ConsentType != "AllPrincipals" && body.ConsentType != "Principal":
		return c.fail(errBadRequest("Invalid value specified for property 'consentType' of resource 'OAuth2PermissionGrant'."), t.now())
	case len(body.Scope) > 3850:
		return c.fail(errBadRequest("Invalid value specified for property 'scope' of resource 'OAuth2PermissionGrant'."), t.now())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	client, ok := t.st.get(t.st.sps, body.ClientID)
	if !ok {
		return c.fail(errResourceNotFound(body.ClientID), t.now())
	}
	resource, ok := t.st.get(t.st.sps, body.ResourceID)
	if !ok {
		return c.fail(errResourceNotFound(body.ResourceID), t.now())
	}
	if principalID != "" {
		if _, ok := t.st.users[principalID]; !ok {
			return c.fail(errResourceNotFound(principalID), t.now())
		}
	}
	for _, g := range t.st.grants {
		if g.data["clientId"] == client.data["id"] && g.data["resourceId"] == resource.data["id"] &&
			g.data["consentType"] == body.ConsentType && str(g.data, "principalId") == principalID {
			return c.fail(errGrantExists(), t.now())
		}
	}
	grant := object{
		"id":          grantID(str(client.data, "id"), str(resource.data, "id"), principalID),
		"clientId":    client.data["id"],
		"consentType": body.ConsentType,
		"principalId": nullable(principalID),
		"resourceId":  resource.data["id"],
		"scope":       body.Scope,
	}
	t.st.add(t.st.grants, grant, 0)
	resp := t.entity(c, "oauth2PermissionGrants", deepCopy(grant))
	resp.status = http.StatusCreated
	return resp
}

// grantID derives the grant id from client, resource and principal, as Entra's ids are (base64url of the ids'
// bytes), so the same consent always has the same id.
func grantID(clientID, resourceID, principalID string) string {
	var b []byte
	for _, id := range []string{clientID, resourceID, principalID} {
		if id == "" {
			continue
		}
		u, err := uuid.Parse(id)
		if err != nil {
			b = append(b, []byte(id)...)
			continue
		}
		b = append(b, u[:]...)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// patchGrant updates a grant; PATCH replaces the scope string (microsoft-graph-docs-contrib#1436).
func (t *Tenant) patchGrant(c *call) response {
	var body object
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	for k := range body {
		switch k {
		case "scope", "expiryTime", "startTime":
		default:
			if !strings.HasPrefix(k, "@odata.") {
				return c.fail(errBadRequest("Invalid value specified for property '"+k+"' of resource 'OAuth2PermissionGrant'."), t.now())
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.st.get(t.st.grants, c.param("id"))
	if !ok {
		return c.fail(errResourceNotFound(c.param("id")), t.now())
	}
	mergeTopLevel(r.data, body)
	return noContent()
}

func (t *Tenant) deleteGrant(c *call) response {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.st.get(t.st.grants, c.param("id")); !ok {
		return c.fail(errResourceNotFound(c.param("id")), t.now())
	}
	delete(t.st.grants, c.param("id"))
	return noContent()
}
