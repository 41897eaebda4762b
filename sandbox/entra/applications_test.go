package entra

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestApplicationTemplates(t *testing.T) {
	f := newFixture(t, Options{})
	list := f.must(http.StatusOK, f.get("/applicationTemplates")).values(t)
	if len(list) < 3 {
		t.Fatalf("%d templates, want the non-gallery one and gallery ones", len(list))
	}
	one := f.must(http.StatusOK, f.get("/applicationTemplates/"+NonGalleryTemplateID)).json(t)
	if one["displayName"] != "Custom" {
		t.Errorf("non-gallery template %v", one)
	}
	filtered := f.must(http.StatusOK, f.get("/applicationTemplates?$filter="+url.QueryEscape("displayName eq 'Smallstep SSH'"))).values(t)
	if len(filtered) != 1 {
		t.Errorf("filter by displayName found %d", len(filtered))
	}
	wantError(t, f.get("/applicationTemplates/does-not-exist"), http.StatusNotFound, "Request_ResourceNotFound", "")
}

func TestInstantiateNonGalleryTemplate(t *testing.T) {
	f := newFixture(t, Options{})
	app, sp := f.instantiate("Smallstep")
	if app["signInAudience"] != "AzureADMyOrg" || app["displayName"] != "Smallstep" || app["applicationTemplateId"] != NonGalleryTemplateID {
		t.Errorf("application %v", app)
	}
	web := app["web"].(map[string]any)
	if !strings.Contains(web["homePageUrl"].(string), "customappsso") || len(web["redirectUris"].([]any)) != 0 {
		t.Errorf("web %v", web)
	}
	scopes := app["api"].(map[string]any)["oauth2PermissionScopes"].([]any)
	if len(scopes) != 1 || scopes[0].(map[string]any)["value"] != "user_impersonation" {
		t.Errorf("scopes %v", scopes)
	}
	for _, role := range []string{"User", "msiam_access"} {
		if roleID(t, app, role) != roleID(t, sp, role) {
			t.Errorf("role %s has different ids on app and service principal", role)
		}
	}
	if sp["appId"] != app["appId"] || sp["appRoleAssignmentRequired"] != true || sp["servicePrincipalType"] != "Application" {
		t.Errorf("service principal %v", sp)
	}
	tags := sp["tags"].([]any)
	if len(tags) != 2 || tags[0] != "WindowsAzureActiveDirectoryCustomSingleSignOnApplication" || tags[1] != "WindowsAzureActiveDirectoryIntegratedApp" {
		t.Errorf("tags %v", tags)
	}
	// A second instance gets new ids everywhere.
	app2, sp2 := f.instantiate("Smallstep")
	if app2["appId"] == app["appId"] || sp2["id"] == sp["id"] || roleID(t, sp2, "User") == roleID(t, sp, "User") {
		t.Error("ids repeat across instances")
	}
	if got := len(f.tenant.Applications()); got != 2 {
		t.Errorf("%d applications stored, want 2", got)
	}
	wantError(t, f.request(http.MethodPost, "/applicationTemplates/"+NonGalleryTemplateID+"/instantiate", map[string]any{"displayName": "x", "bogus": 1}),
		http.StatusBadRequest, "Request_BadRequest", "The parameter 'bogus' in the request payload is not a valid parameter for the operation 'instantiate'.")
}

func TestApplicationQueries(t *testing.T) {
	f := newFixture(t, Options{PageSize: 2})
	for _, name := range []string{"alpha one", "alpha two", "beta", "gamma"} {
		f.must(http.StatusCreated, f.request(http.MethodPost, "/applications", map[string]any{"displayName": name, "tags": []string{"tag-" + name[:1]}}))
	}
	target := f.tenant.Applications()[2]

	cases := []struct {
		filter string
		want   []string
	}{
		{"displayName eq 'beta'", []string{"beta"}},
		{"displayName eq 'BETA'", []string{"beta"}},
		{"appId eq '" + target.AppID + "'", []string{"beta"}},
		{"startswith(displayName,'alpha')", []string{"alpha one", "alpha two"}},
		{"tags/any(t:t eq 'tag-g')", []string{"gamma"}},
		{"startswith(displayName,'alpha') and tags/any(t:t eq 'tag-a')", []string{"alpha one", "alpha two"}},
		{"displayName eq 'beta' or displayName eq 'gamma'", []string{"beta", "gamma"}},
	}
	for _, c := range cases {
		got := names(f.must(http.StatusOK, f.get("/applications?$top=10&$filter="+url.QueryEscape(c.filter))).values(t))
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("$filter=%s: %v, want %v", c.filter, got, c.want)
		}
	}
	wantError(t, f.get("/applications?$filter="+url.QueryEscape("notes eq 'x'")), http.StatusBadRequest, "Request_UnsupportedQuery",
		"Unsupported or invalid query filter clause specified for property 'notes' of resource 'Application'.")
	wantError(t, f.get("/applications?$filter="+url.QueryEscape("displayName eq")), http.StatusBadRequest, "BadRequest", "")

	one := f.must(http.StatusOK, f.get("/applications/"+target.ID+"?$select=displayName,appId")).json(t)
	if len(one) != 3 || one["displayName"] != "beta" || one["appId"] != target.AppID {
		t.Errorf("$select gave %v", one)
	}
	if !strings.HasSuffix(one["@odata.context"].(string), "#applications(displayName,appId)/$entity") {
		t.Errorf("@odata.context %v", one["@odata.context"])
	}
	byAppID := f.must(http.StatusOK, f.get("/applications(appId='"+target.AppID+"')")).json(t)
	if byAppID["id"] != target.ID {
		t.Errorf("alternate key found %v", byAppID["id"])
	}
	wantError(t, f.get("/applications(appId='nope')"), http.StatusNotFound, "Request_ResourceNotFound", "")

	// Paging: default page size 2 here, nextLink absolute with $skiptoken.
	var all []string
	next := "/applications"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		body := f.must(http.StatusOK, f.get(next)).json(t)
		for _, v := range body["value"].([]any) {
			all = append(all, v.(map[string]any)["displayName"].(string))
		}
		next = ""
		if link, ok := body["@odata.nextLink"].(string); ok {
			if !strings.HasPrefix(link, f.srv.URL+"/v1.0/applications?") || !strings.Contains(link, "$skiptoken=") {
				t.Fatalf("nextLink %q", link)
			}
			next = strings.TrimPrefix(link, f.srv.URL+"/v1.0")
		}
	}
	if strings.Join(all, "|") != "alpha one|alpha two|beta|gamma" {
		t.Errorf("paged through %v", all)
	}
	wantError(t, f.get("/applications?$skip=2"), http.StatusBadRequest, "Request_BadRequest", "'$skip' is not supported by the service.")
	wantError(t, f.get("/applications?$top=1000"), http.StatusBadRequest, "Request_BadRequest",
		"Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.")
}

func names(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["displayName"].(string))
	}
	return out
}

func TestPatchApplication(t *testing.T) {
	f := newFixture(t, Options{})
	app, sp := f.instantiate("Smallstep")
	id := app["id"].(string)
	patch := map[string]any{
		"signInAudience": "AzureADMultipleOrgs",
		"web":            map[string]any{"redirectUris": []string{"https://api.smallstep.com/auth/openid/callback"}},
		"optionalClaims": map[string]any{"idToken": []map[string]any{{"name": "email", "essential": false}, {"name": "preferred_username", "essential": false}}},
		"requiredResourceAccess": []map[string]any{{"resourceAppId": GraphAppID, "resourceAccess": []map[string]any{
			{"id": "37f7f235-527c-4136-accd-4a02d197296e", "type": "Scope"}}}},
	}
	f.must(http.StatusNoContent, f.request(http.MethodPatch, "/applications/"+id, patch))
	got := f.must(http.StatusOK, f.get("/applications/"+id)).json(t)
	if got["signInAudience"] != "AzureADMultipleOrgs" || got["displayName"] != "Smallstep" {
		t.Errorf("after PATCH %v / %v", got["signInAudience"], got["displayName"])
	}
	web := got["web"].(map[string]any)
	if uris := web["redirectUris"].([]any); len(uris) != 1 || uris[0] != "https://api.smallstep.com/auth/openid/callback" {
		t.Errorf("redirectUris %v", uris)
	}
	// A partial web object replaces web whole: the home page the template set is gone.
	if web["homePageUrl"] != nil {
		t.Errorf("homePageUrl %v survived a partial web PATCH", web["homePageUrl"])
	}
	// Claims read back with all four properties, whatever the PATCH left out (DOCS resources/optionalclaim.md).
	claims, _ := json.Marshal(got["optionalClaims"])
	if want := `{"accessToken":[],"idToken":[{"additionalProperties":[],"essential":false,"name":"email","source":null},` +
		`{"additionalProperties":[],"essential":false,"name":"preferred_username","source":null}],"saml2Token":[]}`; string(claims) != want {
		t.Errorf("optionalClaims\n got %s\nwant %s", claims, want)
	}
	stored := f.tenant.Applications()[0]
	if stored.SignInAudience != "AzureADMultipleOrgs" || len(stored.RedirectURIs) != 1 {
		t.Errorf("stored %+v", stored)
	}
	if spNow := f.tenant.ServicePrincipals()[1]; spNow.ID != sp["id"] || spNow.Raw["signInAudience"] != "AzureADMultipleOrgs" {
		t.Errorf("service principal does not mirror the audience: %v", spNow.Raw["signInAudience"])
	}

	bad := []map[string]any{
		{"web": map[string]any{"redirectUris": []string{"http://example.com/callback"}}},
		{"web": map[string]any{"redirectUris": []string{"https://example.com/" + strings.Repeat("a", 260)}}},
		{"web": map[string]any{"redirectUris": []string{"https://*.example.com/cb"}}},
		{"spa": map[string]any{"redirectUris": []string{"ftp://example.com"}}},
	}
	for _, b := range bad {
		prop := "web"
		if _, ok := b["spa"]; ok {
			prop = "spa"
		}
		wantError(t, f.request(http.MethodPatch, "/applications/"+id, b), http.StatusBadRequest, "Request_BadRequest",
			"Invalid value specified for property '"+prop+"' of resource 'Application'.")
	}
	f.must(http.StatusNoContent, f.request(http.MethodPatch, "/applications/"+id,
		map[string]any{"web": map[string]any{"redirectUris": []string{"http://localhost:8400/callback"}}}))

	wantError(t, f.request(http.MethodPatch, "/applications/"+id, map[string]any{"passwordCredentials": []map[string]any{{"displayName": "x"}}}),
		http.StatusBadRequest, "Request_BadRequest", "New password credentials must be generated using service actions.")
	wantError(t, f.request(http.MethodPatch, "/applications/"+id, map[string]any{"identifierUris": []string{"https://evil.example.com/app"}}),
		http.StatusBadRequest, "HostNameNotOnVerifiedDomain", "")
	f.must(http.StatusNoContent, f.request(http.MethodPatch, "/applications/"+id, map[string]any{"identifierUris": []string{"api://" + app["appId"].(string)}}))
	f.must(http.StatusNoContent, f.request(http.MethodPatch, "/applications(appId='"+app["appId"].(string)+"')", map[string]any{"notes": "by appId"}))
}

func TestPasswordCredentials(t *testing.T) {
	f := newFixture(t, Options{})
	app, _ := f.instantiate("Secrets")
	id := app["id"].(string)
	cred := f.must(http.StatusOK, f.request(http.MethodPost, "/applications/"+id+"/addPassword",
		map[string]any{"passwordCredential": map[string]any{"displayName": "idpctl"}})).json(t)
	secretText := cred["secretText"].(string)
	if len(secretText) != 40 || cred["hint"] != secretText[:3] || cred["displayName"] != "idpctl" {
		t.Errorf("credential %v", cred)
	}
	start, _ := time.Parse(time.RFC3339, cred["startDateTime"].(string))
	end, _ := time.Parse(time.RFC3339, cred["endDateTime"].(string))
	if !start.Equal(f.clock.Now()) || !end.Equal(start.AddDate(2, 0, 0)) {
		t.Errorf("start %v end %v, want now and now+2y", start, end)
	}
	read := f.must(http.StatusOK, f.get("/applications/"+id))
	if strings.Contains(string(read.raw), secretText) {
		t.Fatal("GET returned the secret text")
	}
	creds := read.json(t)["passwordCredentials"].([]any)
	if len(creds) != 1 || creds[0].(map[string]any)["secretText"] != nil || creds[0].(map[string]any)["keyId"] != cred["keyId"] {
		t.Errorf("stored credentials %v", creds)
	}
	stored := f.tenant.Applications()[0].PasswordCredentials
	if len(stored) != 1 || stored[0].Hint != secretText[:3] {
		t.Errorf("accessor %+v", stored)
	}
	// A GET-modify-PATCH round trip that sends the credentials back unchanged is fine.
	f.must(http.StatusNoContent, f.request(http.MethodPatch, "/applications/"+id, map[string]any{"passwordCredentials": creds, "notes": "x"}))

	custom := f.must(http.StatusOK, f.request(http.MethodPost, "/applications/"+id+"/addPassword",
		map[string]any{"passwordCredential": map[string]any{"endDateTime": "2026-09-01T00:00:00Z"}})).json(t)
	if custom["endDateTime"] != "2026-09-01T00:00:00Z" {
		t.Errorf("endDateTime %v", custom["endDateTime"])
	}

	f.must(http.StatusNoContent, f.request(http.MethodPost, "/applications/"+id+"/removePassword", map[string]any{"keyId": cred["keyId"]}))
	wantError(t, f.request(http.MethodPost, "/applications/"+id+"/removePassword", map[string]any{"keyId": cred["keyId"]}),
		http.StatusBadRequest, "Request_BadRequest", "No password credential found with keyId "+cred["keyId"].(string)+".")
	if n := len(f.tenant.Applications()[0].PasswordCredentials); n != 1 {
		t.Errorf("%d credentials left, want 1", n)
	}
}

func TestDeleteApplicationCascades(t *testing.T) {
	f := newFixture(t, Options{})
	app, sp := f.instantiate("Doomed")
	spID := sp["id"].(string)
	graphSP := f.tenant.ServicePrincipals()[0]
	f.must(http.StatusCreated, f.request(http.MethodPost, "/servicePrincipals/"+spID+"/appRoleAssignedTo",
		map[string]any{"principalId": f.demo.Users[0].ID, "resourceId": spID, "appRoleId": roleID(t, sp, "User")}))
	f.must(http.StatusCreated, f.request(http.MethodPost, "/oauth2PermissionGrants",
		map[string]any{"clientId": spID, "consentType": "AllPrincipals", "resourceId": graphSP.ID, "scope": "openid profile email"}))
	f.must(http.StatusCreated, f.request(http.MethodPost, "/servicePrincipals/"+spID+"/synchronization/jobs", map[string]any{"templateId": "scim"}))

	f.must(http.StatusNoContent, f.request(http.MethodDelete, "/applications/"+app["id"].(string), nil))
	if len(f.tenant.Applications()) != 0 || len(f.tenant.ServicePrincipals()) != 1 {
		t.Errorf("apps %d, service principals %d (Graph's only should remain)", len(f.tenant.Applications()), len(f.tenant.ServicePrincipals()))
	}
	if len(f.tenant.AppRoleAssignments("")) != 0 || len(f.tenant.PermissionGrants()) != 0 || len(f.tenant.SyncJobs("")) != 0 {
		t.Error("assignments, grants or jobs survived the application")
	}
	wantError(t, f.get("/servicePrincipals/"+spID), http.StatusNotFound, "Request_ResourceNotFound", "")
}
