package entra

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// newApplicationObject fills the properties Graph returns for a new application (DOCS resources/application.md).
func (t *Tenant) newApplicationObject(displayName string) object {
	return object{
		"id":                              newID(),
		"deletedDateTime":                 nil,
		"appId":                           newID(),
		"applicationTemplateId":           nil,
		"disabledByMicrosoftStatus":       nil,
		"createdDateTime":                 timestamp(t.now()),
		"displayName":                     displayName,
		"description":                     nil,
		"groupMembershipClaims":           nil,
		"identifierUris":                  []any{},
		"isDeviceOnlyAuthSupported":       nil,
		"isFallbackPublicClient":          false,
		"notes":                           nil,
		"publisherDomain":                 t.domain,
		"serviceManagementReference":      nil,
		"signInAudience":                  "AzureADMyOrg",
		"tags":                            []any{},
		"tokenEncryptionKeyId":            nil,
		"defaultRedirectUri":              nil,
		"optionalClaims":                  nil,
		"addIns":                          []any{},
		"appRoles":                        []any{},
		"keyCredentials":                  []any{},
		"passwordCredentials":             []any{},
		"requiredResourceAccess":          []any{},
		"verifiedPublisher":               object{"displayName": nil, "verifiedPublisherId": nil, "addedDateTime": nil},
		"info":                            object{"logoUrl": nil, "marketingUrl": nil, "privacyStatementUrl": nil, "supportUrl": nil, "termsOfServiceUrl": nil},
		"parentalControlSettings":         object{"countriesBlockedForMinors": []any{}, "legalAgeGroupRule": "Allow"},
		"publicClient":                    object{"redirectUris": []any{}},
		"spa":                             object{"redirectUris": []any{}},
		"nativeAuthenticationApisEnabled": nil,
		"api": object{
			"acceptMappedClaims":          nil,
			"knownClientApplications":     []any{},
			"requestedAccessTokenVersion": nil,
			"oauth2PermissionScopes":      []any{},
			"preAuthorizedApplications":   []any{},
		},
		"web": object{
			"homePageUrl":           nil,
			"logoutUrl":             nil,
			"redirectUris":          []any{},
			"implicitGrantSettings": object{"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false},
			"redirectUriSettings":   []any{},
		},
	}
}

func applicationCollection() collection {
	return collection{
		directory:  true,
		context:    "applications",
		resource:   "Application",
		filterable: []string{"id", "appId", "displayName", "tags", "identifierUris", "signInAudience", "publisherDomain", "createdDateTime", "applicationTemplateId"},
		searchable: []string{"displayName", "description"},
	}
}

func (t *Tenant) listApplications(c *call) response {
	return t.page(c, applicationCollection(), t.copies(t.st.apps))
}

// findApplication resolves /applications/{id} or /applications(appId='...') the way a request sees the
// directory (replication lag applies). Call with t.mu held.
func (t *Tenant) findApplication(c *call) (*record, *graphError) {
	if appID := c.param("appId"); appID != "" {
		for _, r := range t.st.apps {
			if r.data["appId"] == appID {
				if got, ok := t.st.get(t.st.apps, str(r.data, "id")); ok {
					return got, nil
				}
				break
			}
		}
		return nil, errResourceNotFound(appID)
	}
	if err := checkObjectID(c.param("id")); err != nil {
		return nil, err
	}
	r, ok := t.st.get(t.st.apps, c.param("id"))
	if !ok {
		return nil, errResourceNotFound(c.param("id"))
	}
	return r, nil
}

func (t *Tenant) getApplication(c *call) response {
	return t.getEntity(c, "applications", func() (*record, *graphError) { return t.findApplication(c) })
}

func (t *Tenant) createApplication(c *call) response {
	var body object
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	if _, ok := body["passwordCredentials"]; ok && len(objectsOf(body["passwordCredentials"])) > 0 {
		return c.fail(errPasswordCredentialsWrite(), t.now())
	}
	app := t.newApplicationObject(str(body, "displayName"))
	mergeTopLevel(app, body)
	completeOptionalClaims(app)
	if err := t.checkApplication(app); err != nil {
		return c.fail(err, t.now())
	}
	t.mu.Lock()
	t.st.add(t.st.apps, app, t.faults.replicationLag())
	out := deepCopy(app)
	t.mu.Unlock()
	resp := t.entity(c, "applications", out)
	resp.status = http.StatusCreated
	resp.header.Set("Location", c.serviceRoot+"/directoryObjects/"+str(out, "id")+"/Microsoft.DirectoryServices.Application")
	return resp
}

// errPasswordCredentialsWrite is the answer to a create or PATCH that tries to add client secrets: observed in
// msgraph-sdk-dotnet#2788 ("New password credentials must be generated using service actions."). The code is
// not quoted there; Request_BadRequest (400) is the directory's code for refused values (guess).
func errPasswordCredentialsWrite() *graphError {
	return errBadRequest("New password credentials must be generated using service actions.")
}

func objectsOf(v any) []any {
	items, _ := v.([]any)
	return items
}

// mergeTopLevel applies a PATCH body: every property sent replaces the stored value whole. Complex values such
// as web and optionalClaims are replaced, not merged: Graph documents no merge of nested properties
// (no public source confirms either way), and replacing is the stricter reading, so a client that sends a partial
// web object loses the rest here and learns to send the whole object.
func mergeTopLevel(dst, patch object) {
	for k, v := range patch {
		if strings.HasPrefix(k, "@odata.") || strings.Contains(k, "@odata.") || k == "id" {
			continue
		}
		dst[k] = v
	}
}

func (t *Tenant) patchApplication(c *call) response {
	var body object
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, err := t.findApplication(c)
	if err != nil {
		return c.fail(err, t.now())
	}
	if creds, ok := body["passwordCredentials"]; ok && !samePasswordCredentials(r.data["passwordCredentials"], creds) {
		return c.fail(errPasswordCredentialsWrite(), t.now())
	}
	delete(body, "passwordCredentials")
	if v, ok := body["appId"]; ok && v != r.data["appId"] {
		// UNVERIFIED wording: appId is read-only after creation.
		return c.fail(errBadRequest("Property 'appId' is read-only and cannot be set."), t.now())
	}
	updated := deepCopy(r.data)
	mergeTopLevel(updated, body)
	completeOptionalClaims(updated)
	if err := t.checkApplication(updated); err != nil {
		return c.fail(err, t.now())
	}
	r.data = updated
	t.syncServicePrincipalOfApp(updated)
	return noContent()
}

// samePasswordCredentials reports whether a PATCH sent back exactly the stored credentials (a GET-modify-PATCH
// round trip), which changes nothing.
func samePasswordCredentials(stored, sent any) bool {
	a, b := objectsOf(stored), objectsOf(sent)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		am, _ := a[i].(map[string]any)
		bm, _ := b[i].(map[string]any)
		if str(am, "keyId") != str(bm, "keyId") || (bm["secretText"] != nil && bm["secretText"] != "") {
			return false
		}
	}
	return true
}

// syncServicePrincipalOfApp carries app changes the service principal mirrors (display name, roles, scopes).
func (t *Tenant) syncServicePrincipalOfApp(app object) {
	sp, ok := t.st.spByAppID(str(app, "appId"))
	if !ok {
		return
	}
	sp.data["appDisplayName"] = app["displayName"]
	sp.data["appRoles"] = deepCopyValue(app["appRoles"])
	sp.data["signInAudience"] = app["signInAudience"]
	if api, ok := app["api"].(map[string]any); ok {
		sp.data["oauth2PermissionScopes"] = deepCopyValue(api["oauth2PermissionScopes"])
	}
	if web, ok := app["web"].(map[string]any); ok {
		sp.data["replyUrls"] = deepCopyValue(web["redirectUris"])
	}
}

func deepCopyValue(v any) any {
	return deepCopy(object{"v": v})["v"]
}

// completeOptionalClaims gives every optional claim its four properties, as Graph reads them back (DOCS
// resources/optionalclaim.md: name, source, essential, additionalProperties; source null for built-in claims),
// whatever subset a write sent.
func completeOptionalClaims(app object) {
	oc, _ := app["optionalClaims"].(map[string]any)
	for _, token := range []string{"idToken", "accessToken", "saml2Token"} {
		if oc == nil {
			break
		}
		if oc[token] == nil {
			oc[token] = []any{}
		}
		for _, c := range objectsOf(oc[token]) {
			claim, ok := c.(map[string]any)
			if !ok {
				continue
			}
			defaults := object{"source": nil, "essential": false, "additionalProperties": []any{}}
			for k, v := range defaults {
				if claim[k] == nil {
					claim[k] = v
				}
			}
		}
	}
}

// checkApplication enforces the directory's rules on an application's values.
func (t *Tenant) checkApplication(app object) *graphError {
	switch str(app, "signInAudience") {
	case "AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount":
	default:
		return invalidApplicationValue("signInAudience")
	}
	for _, prop := range []string{"web", "spa", "publicClient"} {
		holder, _ := app[prop].(map[string]any)
		if bad := checkRedirectURIs(prop, strs(holder, "redirectUris")); bad {
			return invalidApplicationValue(prop)
		}
	}
	if str(app, "signInAudience") == "AzureADMultipleOrgs" {
		for _, uri := range strs(app, "identifierUris") {
			if !t.onVerifiedDomain(uri) {
				// Source: error text quoted in OfficeDev/microsoft-365-agents-toolkit#8275.
				return newError(http.StatusBadRequest, "HostNameNotOnVerifiedDomain",
					fmt.Sprintf("Values of identifierUris property must use a verified domain of the organization or its subdomain: '%s'", uri))
			}
		}
	}
	return nil
}

// invalidApplicationValue is the directory's answer to a refused value, naming the top-level property even when
// the bad value is nested. Source: Update-MgApplication with a bad web.redirectUris answered 400
// Request_BadRequest "Invalid value specified for property 'web' of resource 'Application'."
// (microsoftgraph/msgraph-sdk-powershell#3149).
func invalidApplicationValue(prop string) *graphError {
	return errBadRequest(fmt.Sprintf("Invalid value specified for property '%s' of resource 'Application'.", prop))
}

// checkRedirectURIs applies ENTRA docs/identity-platform/reply-url.md: at most 256 URIs of at most 256
// characters; web and spa URIs use https, or http only for localhost (127.0.0.1, [::1]); no wildcards.
// Public-client URIs may also use custom schemes.
func checkRedirectURIs(prop string, uris []string) (bad bool) {
	if len(uris) > 256 {
		return true
	}
	for _, raw := range uris {
		if len(raw) > 256 || strings.Contains(raw, "*") {
			return true
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" {
			return true
		}
		switch strings.ToLower(u.Scheme) {
		case "https":
			if u.Host == "" {
				return true
			}
		case "http":
			switch u.Hostname() {
			case "localhost", "127.0.0.1", "::1":
			default:
				return true
			}
		default:
			if prop != "publicClient" {
				return true
			}
		}
	}
	return false
}

// onVerifiedDomain accepts api:// and urn: identifiers and http(s) URIs on the tenant's verified domain.
func (t *Tenant) onVerifiedDomain(uri string) bool {
	u, err := url.Parse(uri)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "api", "urn", "ms-appx":
		return true
	case "http", "https":
		host := strings.ToLower(u.Hostname())
		return host == t.domain || strings.HasSuffix(host, "."+t.domain)
	}
	return false
}

func (t *Tenant) deleteApplication(c *call) response {
	t.mu.Lock()
	r, err := t.findApplication(c)
	var spID string
	var jobs []string
	if err == nil {
		spID, jobs = t.removeApplication(r.data)
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

// removeApplication deletes an application and, as Entra does, its service principal with everything hanging
// off it (both to the deleted items, deletedapps.go); it returns the service principal and the provisioning jobs that went with it. Call with t.mu held.
func (t *Tenant) removeApplication(app object) (spID string, jobs []string) {
	t.softDeleteObject("application", t.st.apps[str(app, "id")])
	delete(t.st.apps, str(app, "id"))
	if sp, ok := t.st.spByAppID(str(app, "appId")); ok {
		spID = str(sp.data, "id")
		jobs = t.removeServicePrincipal(spID)
	}
	return spID, jobs
}

// removeServicePrincipal deletes a service principal, its provisioning jobs and secrets, the app role
// assignments to and from it and the permission grants that name it, and returns the deleted jobs' ids so the
// caller can tell the provisioning engine once the lock is released. Call with t.mu held.
func (t *Tenant) removeServicePrincipal(spID string) (jobs []string) {
	t.softDeleteObject("servicePrincipal", t.st.sps[spID])
	delete(t.st.sps, spID)
	delete(t.st.secrets, spID)
	delete(t.st.syncLag, spID)
	for id, j := range t.st.jobs {
		if j.spID == spID {
			delete(t.st.jobs, id)
			jobs = append(jobs, id)
		}
	}
	for id, a := range t.st.assignments {
		if a.data["resourceId"] == spID || a.data["principalId"] == spID {
			delete(t.st.assignments, id)
		}
	}
	for id, g := range t.st.grants {
		if g.data["clientId"] == spID || g.data["resourceId"] == spID {
			delete(t.st.grants, id)
		}
	}
	for gid, members := range t.st.members {
		t.st.members[gid] = slices.DeleteFunc(members, func(m string) bool { return m == spID })
	}
	return jobs
}

// addPassword adds a client secret (DOCS application-addpassword.md): 200 with the passwordCredential and its
// secretText, which is returned only here; start defaults to now and end to start + 2 years.
func (t *Tenant) addPassword(c *call) response {
	var body struct {
		PasswordCredential struct {
			DisplayName   *string `json:"displayName"`
			StartDateTime *string `json:"startDateTime"`
			EndDateTime   *string `json:"endDateTime"`
		} `json:"passwordCredential"`
	}
	if len(strings.TrimSpace(string(c.body))) > 0 {
		if err := c.decodeJSON(&body); err != nil {
			return c.fail(err, t.now())
		}
	}
	start := t.now().UTC()
	if s := body.PasswordCredential.StartDateTime; s != nil {
		parsed, ok := asTime(*s)
		if !ok {
			return c.fail(errBadRequest("Invalid value specified for property 'startDateTime' of resource 'PasswordCredential'."), t.now())
		}
		start = parsed
	}
	end := start.AddDate(2, 0, 0)
	if e := body.PasswordCredential.EndDateTime; e != nil {
		parsed, ok := asTime(*e)
		if !ok || !parsed.After(start) {
			return c.fail(errBadRequest("Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'."), t.now())
		}
		end = parsed
	}
	secret, err := newClientSecret()
	if err != nil {
		return c.fail(newError(http.StatusInternalServerError, "InternalServerError", "Could not generate a secret."), t.now())
	}
	cred := object{
		"customKeyIdentifier": nil,
		"displayName":         nil,
		"endDateTime":         end.UTC().Format(time.RFC3339),
		"hint":                secret[:3],
		"keyId":               newID(),
		"secretText":          nil,
		"startDateTime":       start.UTC().Format(time.RFC3339),
	}
	if d := body.PasswordCredential.DisplayName; d != nil {
		cred["displayName"] = *d
	}

	t.mu.Lock()
	r, gerr := t.findApplication(c)
	if gerr == nil {
		r.data["passwordCredentials"] = append(objectsOf(r.data["passwordCredentials"]), deepCopy(cred))
	}
	t.mu.Unlock()
	if gerr != nil {
		return c.fail(gerr, t.now())
	}
	cred["secretText"] = secret
	cred["@odata.context"] = c.serviceRoot + "/$metadata#microsoft.graph.passwordCredential"
	return jsonResponse(http.StatusOK, cred)
}

// newClientSecret makes a 40-character secret in the alphabet and shape Entra uses (three characters, a
// version marker "8Q~", then random characters).
func newClientSecret() (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.~-"
	pick := func(n int) (string, error) {
		var b strings.Builder
		for range n {
			i, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
			if err != nil {
				return "", err
			}
			b.WriteByte(alphabet[i.Int64()])
		}
		return b.String(), nil
	}
	head, err := pick(3)
	if err != nil {
		return "", err
	}
	tail, err := pick(34)
	if err != nil {
		return "", err
	}
	return head + "8Q~" + tail, nil
}

// removePassword deletes a client secret: 204. An unknown keyId answers 400 "No password credential found with
// keyId ..." (text and 400 observed in public client code that tolerates it on cleanup; the error code is not
// quoted there, Request_BadRequest is a guess).
func (t *Tenant) removePassword(c *call) response {
	var body struct {
		KeyID string `json:"keyId"`
	}
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, err := t.findApplication(c)
	if err != nil {
		return c.fail(err, t.now())
	}
	creds := objectsOf(r.data["passwordCredentials"])
	kept := slices.DeleteFunc(slices.Clone(creds), func(v any) bool {
		m, _ := v.(map[string]any)
		return strings.EqualFold(str(m, "keyId"), body.KeyID)
	})
	if len(kept) == len(creds) {
		return c.fail(errBadRequest("No password credential found with keyId "+body.KeyID+"."), t.now())
	}
	r.data["passwordCredentials"] = kept
	return noContent()
}
