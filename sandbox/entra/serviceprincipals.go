package entra

import (
	"net/http"
)

// newServicePrincipalObject makes the service principal of an application (DOCS resources/serviceprincipal.md).
func (t *Tenant) newServicePrincipalObject(app object) object {
	web, _ := app["web"].(map[string]any)
	api, _ := app["api"].(map[string]any)
	return object{
		"id":                                     newID(),
		"deletedDateTime":                        nil,
		"accountEnabled":                         true,
		"alternativeNames":                       []any{},
		"appDisplayName":                         app["displayName"],
		"appDescription":                         nil,
		"appId":                                  app["appId"],
		"applicationTemplateId":                  app["applicationTemplateId"],
		"appOwnerOrganizationId":                 t.id,
		"appRoleAssignmentRequired":              false,
		"description":                            nil,
		"disabledByMicrosoftStatus":              nil,
		"displayName":                            app["displayName"],
		"homepage":                               web["homePageUrl"],
		"loginUrl":                               nil,
		"logoutUrl":                              nil,
		"notes":                                  nil,
		"notificationEmailAddresses":             []any{},
		"preferredSingleSignOnMode":              nil,
		"preferredTokenSigningKeyThumbprint":     nil,
		"replyUrls":                              deepCopyValue(web["redirectUris"]),
		"servicePrincipalNames":                  []any{app["appId"]},
		"servicePrincipalType":                   "Application",
		"signInAudience":                         app["signInAudience"],
		"tags":                                   []any{},
		"tokenEncryptionKeyId":                   nil,
		"samlSingleSignOnSettings":               nil,
		"addIns":                                 []any{},
		"appRoles":                               deepCopyValue(app["appRoles"]),
		"info":                                   deepCopyValue(app["info"]),
		"keyCredentials":                         []any{},
		"oauth2PermissionScopes":                 deepCopyValue(api["oauth2PermissionScopes"]),
		"passwordCredentials":                    []any{},
		"resourceSpecificApplicationPermissions": []any{},
		"verifiedPublisher":                      object{"displayName": nil, "verifiedPublisherId": nil, "addedDateTime": nil},
	}
}

// startSyncLag makes a new service principal's synchronization calls fail for a while (Faults). Call with
// t.mu held.
func (t *Tenant) startSyncLag(spID string) {
	if n, _ := t.faults.syncLag(); n > 0 {
		t.st.syncLag[spID] = n
	}
}

func servicePrincipalCollection() collection {
	return collection{
		directory:  true,
		context:    "servicePrincipals",
		resource:   "ServicePrincipal",
		filterable: []string{"id", "appId", "displayName", "tags", "servicePrincipalNames", "servicePrincipalType", "accountEnabled", "appOwnerOrganizationId", "applicationTemplateId"},
		searchable: []string{"displayName", "description", "publisherName"},
	}
}

func (t *Tenant) listServicePrincipals(c *call) response {
	return t.page(c, servicePrincipalCollection(), t.copies(t.st.sps))
}

// findServicePrincipal resolves /servicePrincipals/{id} or /servicePrincipals(appId='...'), with replication
// lag. Call with t.mu held.
func (t *Tenant) findServicePrincipal(c *call) (*record, *graphError) {
	if appID := c.param("appId"); appID != "" {
		if r, ok := t.st.spByAppID(appID); ok {
			if got, ok := t.st.get(t.st.sps, str(r.data, "id")); ok {
				return got, nil
			}
		}
		return nil, errResourceNotFound(appID)
	}
	id := c.param("id")
	if id == "" {
		id = c.param("sp")
	}
	if err := checkObjectID(id); err != nil {
		return nil, err
	}
	r, ok := t.st.get(t.st.sps, id)
	if !ok {
		return nil, errResourceNotFound(id)
	}
	return r, nil
}

func (t *Tenant) getServicePrincipal(c *call) response {
	return t.getEntity(c, "servicePrincipals", func() (*record, *graphError) { return t.findServicePrincipal(c) })
}

// createServicePrincipal creates the service principal of an existing application (POST /servicePrincipals
// {"appId": ...}); a second one for the same app is refused as a conflicting key.
func (t *Tenant) createServicePrincipal(c *call) response {
	var body object
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	appID := str(body, "appId")
	t.mu.Lock()
	defer t.mu.Unlock()
	var app object
	for _, r := range t.st.apps {
		if r.data["appId"] == appID {
			app = r.data
		}
	}
	if app == nil {
		return c.fail(errResourceNotFound(appID), t.now())
	}
	if _, exists := t.st.spByAppID(appID); exists {
		return c.fail(newError(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue",
			"The service principal cannot be created, updated, or restored because the service principal name "+appID+" is already in use."), t.now())
	}
	sp := t.newServicePrincipalObject(app)
	mergeTopLevel(sp, body)
	t.st.add(t.st.sps, sp, t.faults.replicationLag())
	t.startSyncLag(str(sp, "id"))
	resp := t.entity(c, "servicePrincipals", deepCopy(sp))
	resp.status = http.StatusCreated
	return resp
}

func (t *Tenant) patchServicePrincipal(c *call) response {
	var body object
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, err := t.findServicePrincipal(c)
	if err != nil {
		return c.fail(err, t.now())
	}
	if v, ok := body["appId"]; ok && v != r.data["appId"] {
		return c.fail(errBadRequest("Property 'appId' is read-only and cannot be set."), t.now())
	}
	mergeTopLevel(r.data, body)
	return noContent()
}

func (t *Tenant) deleteServicePrincipal(c *call) response {
	t.mu.Lock()
	r, err := t.findServicePrincipal(c)
	var spID string
	var jobs []string
	if err == nil {
		spID = str(r.data, "id")
		jobs = t.removeServicePrincipal(spID)
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	for _, j := range jobs {
		t.engine.jobDeleted(spID, j)
	}
	return noContent()
}
