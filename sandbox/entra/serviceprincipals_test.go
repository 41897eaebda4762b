package entra

import (
	"net/http"
	"net/url"
	"testing"
)

func TestGraphServicePrincipalIsSeeded(t *testing.T) {
	f := newFixture(t, Options{})
	sp := f.must(http.StatusOK, f.get("/servicePrincipals(appId='"+GraphAppID+"')?$select=id,oauth2PermissionScopes")).json(t)
	want := map[string]string{
		"openid":         "37f7f235-527c-4136-accd-4a02d197296e",
		"profile":        "14dad69e-099b-42c9-810b-d002981feec1",
		"email":          "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
		"offline_access": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
		"User.Read":      "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
	}
	got := map[string]string{}
	for _, s := range sp["oauth2PermissionScopes"].([]any) {
		scope := s.(map[string]any)
		got[scope["value"].(string)] = scope["id"].(string)
	}
	for value, id := range want {
		if got[value] != id {
			t.Errorf("scope %s has id %q, want %q", value, got[value], id)
		}
	}
	byFilter := f.must(http.StatusOK, f.get("/servicePrincipals?$filter="+url.QueryEscape("appId eq '"+GraphAppID+"'"))).values(t)
	if len(byFilter) != 1 || byFilter[0]["id"] != sp["id"] {
		t.Errorf("filter by appId found %v", byFilter)
	}
}

func TestServicePrincipalSearchAndCount(t *testing.T) {
	f := newFixture(t, Options{})
	f.instantiate("Smallstep SSO")
	f.instantiate("Other App")
	wantError(t, f.get(`/servicePrincipals?$search="displayName:small"`), http.StatusBadRequest, "Request_UnsupportedQuery",
		"Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
	r := f.must(http.StatusOK, f.get(`/servicePrincipals?$search="displayName:small"&$count=true`, "ConsistencyLevel", "eventual")).json(t)
	if r["@odata.count"] != float64(1) || names(valuesOf(r))[0] != "Smallstep SSO" {
		t.Errorf("search gave %v", r)
	}
	// Without ConsistencyLevel, $count=true is ignored, as Graph does for directory objects.
	plain := f.must(http.StatusOK, f.get("/servicePrincipals?$count=true")).json(t)
	if _, ok := plain["@odata.count"]; ok {
		t.Error("@odata.count without ConsistencyLevel: eventual")
	}
	byName := f.must(http.StatusOK, f.get("/servicePrincipals?$filter="+url.QueryEscape("displayName eq 'Other App'"))).values(t)
	if len(byName) != 1 {
		t.Errorf("displayName filter found %d", len(byName))
	}
}

func valuesOf(body map[string]any) []map[string]any {
	var out []map[string]any
	for _, v := range body["value"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

func TestPatchAndDeleteServicePrincipal(t *testing.T) {
	f := newFixture(t, Options{})
	app, sp := f.instantiate("Patched")
	id := sp["id"].(string)
	f.must(http.StatusNoContent, f.request(http.MethodPatch, "/servicePrincipals/"+id, map[string]any{"tags": []string{"idpctl", "WindowsAzureActiveDirectoryIntegratedApp"}}))
	got := f.must(http.StatusOK, f.get("/servicePrincipals/"+id)).json(t)
	if tags := got["tags"].([]any); len(tags) != 2 || tags[0] != "idpctl" {
		t.Errorf("tags %v", tags)
	}
	wantError(t, f.request(http.MethodPatch, "/servicePrincipals/"+id, map[string]any{"nonsense": true}), http.StatusBadRequest, "Request_BadRequest", "Invalid property 'nonsense'.")
	f.must(http.StatusNoContent, f.request(http.MethodDelete, "/servicePrincipals/"+id, nil))
	// The application stays; its service principal can be created again.
	f.must(http.StatusOK, f.get("/applications/"+app["id"].(string)))
	again := f.must(http.StatusCreated, f.request(http.MethodPost, "/servicePrincipals", map[string]any{"appId": app["appId"]})).json(t)
	if again["appId"] != app["appId"] {
		t.Errorf("recreated %v", again)
	}
	wantError(t, f.request(http.MethodPost, "/servicePrincipals", map[string]any{"appId": app["appId"]}),
		http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "")
}

func TestAppRoleAssignments(t *testing.T) {
	f := newFixture(t, Options{})
	_, sp := f.instantiate("Assigned")
	spID := sp["id"].(string)
	userRole := roleID(t, sp, "User")
	path := "/servicePrincipals/" + spID + "/appRoleAssignedTo"

	a := f.must(http.StatusCreated, f.request(http.MethodPost, path,
		map[string]any{"principalId": f.demo.Users[0].ID, "resourceId": spID, "appRoleId": userRole})).json(t)
	if a["principalType"] != "User" || a["principalDisplayName"] != "Adele Vance" || a["resourceDisplayName"] != "Assigned" || a["appRoleId"] != userRole {
		t.Errorf("assignment %v", a)
	}
	g := f.must(http.StatusCreated, f.request(http.MethodPost, path,
		map[string]any{"principalId": f.demo.SmallstepUsers.ID, "resourceId": spID, "appRoleId": userRole})).json(t)
	if g["principalType"] != "Group" || g["principalDisplayName"] != "Smallstep Users" {
		t.Errorf("group assignment %v", g)
	}

	wantError(t, f.request(http.MethodPost, path, map[string]any{"principalId": f.demo.Users[0].ID, "resourceId": spID, "appRoleId": userRole}),
		http.StatusBadRequest, "Request_BadRequest", "Permission being assigned already exists on the object.")
	wantError(t, f.request(http.MethodPost, path, map[string]any{"principalId": f.demo.Users[1].ID, "resourceId": spID, "appRoleId": ZeroGUID}),
		http.StatusBadRequest, "Request_BadRequest", "Permission being assigned was not found on application.")
	wantError(t, f.request(http.MethodPost, path, map[string]any{"principalId": "0d4b8bc4-2d64-4b0c-a1a8-7d0b4c2f9e11", "resourceId": spID, "appRoleId": userRole}),
		http.StatusNotFound, "Request_ResourceNotFound", "")

	list := f.must(http.StatusOK, f.get(path)).values(t)
	if len(list) != 2 {
		t.Fatalf("%d assignments listed", len(list))
	}
	filtered := f.must(http.StatusOK, f.get(path+"?$filter="+url.QueryEscape("principalId eq '"+f.demo.Users[0].ID+"'"))).values(t)
	if len(filtered) != 1 {
		t.Errorf("filter by principalId found %d", len(filtered))
	}
	f.must(http.StatusNoContent, f.request(http.MethodDelete, path+"/"+a["id"].(string), nil))
	wantError(t, f.request(http.MethodDelete, path+"/"+a["id"].(string), nil), http.StatusNotFound, "Request_ResourceNotFound", "")
	if got := f.tenant.AppRoleAssignments(spID); len(got) != 1 || got[0].PrincipalType != "Group" {
		t.Errorf("stored %+v", got)
	}
}

func TestDefaultAccessAndLicensing(t *testing.T) {
	tenant := New(Options{})
	admin, _ := tenant.AddUser(NewUser{UserPrincipalName: "root@contoso.onmicrosoft.com", DisplayName: "Root"})
	if err := tenant.AssignDirectoryRole(admin.ID, RoleApplicationAdministrator); err != nil {
		t.Fatal(err)
	}
	group, _ := tenant.AddGroup(NewGroup{DisplayName: "Free tier"})
	token, err := tenant.IssueToken(TokenRequest{UserID: admin.ID, Scopes: FlowScopes()})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, tenant: tenant, token: token}
	f.srv = newServer(t, tenant)
	created := f.must(http.StatusCreated, f.request(http.MethodPost, "/applications", map[string]any{"displayName": "No roles"})).json(t)
	sp := f.must(http.StatusCreated, f.request(http.MethodPost, "/servicePrincipals", map[string]any{"appId": created["appId"]})).json(t)
	spID := sp["id"].(string)
	// A resource without app roles takes the zero GUID ("default access").
	f.must(http.StatusCreated, f.request(http.MethodPost, "/servicePrincipals/"+spID+"/appRoleAssignedTo",
		map[string]any{"principalId": admin.ID, "resourceId": spID, "appRoleId": ZeroGUID}))
	// No Entra ID P1 in this tenant: groups cannot be assigned.
	wantError(t, f.request(http.MethodPost, "/servicePrincipals/"+spID+"/appRoleAssignedTo",
		map[string]any{"principalId": group.ID, "resourceId": spID, "appRoleId": ZeroGUID}),
		http.StatusBadRequest, "Request_BadRequest", "Groups are not available for assignment due to your Active Directory plan level. You can assign individual users to the application.")
	skus := f.must(http.StatusOK, f.get("/subscribedSkus")).values(t)
	if len(skus) != 0 {
		t.Errorf("free tenant lists %d SKUs", len(skus))
	}
}

func TestPermissionGrants(t *testing.T) {
	f := newFixture(t, Options{})
	_, sp := f.instantiate("Consented")
	spID := sp["id"].(string)
	graphID := f.tenant.ServicePrincipals()[0].ID
	grant := map[string]any{"clientId": spID, "consentType": "AllPrincipals", "resourceId": graphID, "scope": "openid profile email"}
	created := f.must(http.StatusCreated, f.request(http.MethodPost, "/oauth2PermissionGrants", grant)).json(t)
	if created["principalId"] != nil || created["scope"] != "openid profile email" || created["id"] == "" {
		t.Errorf("grant %v", created)
	}
	wantError(t, f.request(http.MethodPost, "/oauth2PermissionGrants", grant), http.StatusConflict,
		"Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
	wantError(t, f.request(http.MethodPost, "/oauth2PermissionGrants",
		map[string]any{"clientId": spID, "consentType": "AllPrincipals", "principalId": f.demo.Admin.ID, "resourceId": graphID, "scope": "openid"}),
		http.StatusBadRequest, "Request_BadRequest", "")

	q := "/oauth2PermissionGrants?$filter=" + url.QueryEscape("clientId eq '"+spID+"' and consentType eq 'AllPrincipals' and resourceId eq '"+graphID+"'")
	found := f.must(http.StatusOK, f.get(q)).values(t)
	if len(found) != 1 || found[0]["id"] != created["id"] {
		t.Fatalf("filter found %v", found)
	}
	id := created["id"].(string)
	f.must(http.StatusNoContent, f.request(http.MethodPatch, "/oauth2PermissionGrants/"+id, map[string]any{"scope": "openid profile email offline_access"}))
	if g := f.tenant.PermissionGrants(); len(g) != 1 || g[0].Scope != "openid profile email offline_access" {
		t.Errorf("after PATCH %+v", g)
	}
	f.must(http.StatusNoContent, f.request(http.MethodDelete, "/oauth2PermissionGrants/"+id, nil))
	wantError(t, f.request(http.MethodDelete, "/oauth2PermissionGrants/"+id, nil), http.StatusNotFound, "Request_ResourceNotFound", "")
}
