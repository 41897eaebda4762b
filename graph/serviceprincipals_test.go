package graph

import (
	"context"
	"net/http"
	"testing"
)

// graphServicePrincipalJSON is Microsoft Graph's own service principal, trimmed to three of its delegated
// scopes (ids as in every tenant).
const graphServicePrincipalJSON = `{
  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity",
  "id": "` + graphSPID + `",
  "appId": "00000003-0000-0000-c000-000000000000",
  "appDisplayName": "Microsoft Graph",
  "displayName": "Microsoft Graph",
  "appRoleAssignmentRequired": false,
  "servicePrincipalType": "Application",
  "tags": [],
  "appRoles": [
    {"allowedMemberTypes": ["Application"], "description": "Allows the app to read and update user profiles without a signed in user.", "displayName": "Read and write all users' full profiles", "id": "741f803b-c850-494e-b5df-cde7c675a1ca", "isEnabled": true, "origin": "Application", "value": "User.ReadWrite.All"}
  ],
  "oauth2PermissionScopes": [
    {"adminConsentDescription": "Allows users to sign in to the app with their work or school accounts.", "adminConsentDisplayName": "Sign users in", "id": "37f7f235-527c-4136-accd-4a02d197296e", "isEnabled": true, "type": "User", "value": "openid"},
    {"adminConsentDescription": "Allows the app to see your users' basic profile.", "adminConsentDisplayName": "View users' basic profile", "id": "14dad69e-099b-42c9-810b-d002981feec1", "isEnabled": true, "type": "User", "value": "profile"},
    {"adminConsentDescription": "Allows the app to read your users' primary email address.", "adminConsentDisplayName": "View users' email address", "id": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "isEnabled": true, "type": "User", "value": "email"}
  ]
}`

func TestServicePrincipals(t *testing.T) {
	f := newFakeGraph(t,
		stub{method: "GET", path: "/servicePrincipals/" + spObjectID, resp: servicePrincipalJSON},
		stub{method: "GET", path: "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')", resp: graphServicePrincipalJSON},
		stub{method: "PATCH", path: "/servicePrincipals/" + spObjectID, status: http.StatusNoContent,
			body: `{"@odata.type":"#microsoft.graph.servicePrincipal","displayName":"Smallstep","tags":["WindowsAzureActiveDirectoryIntegratedApp","idpctl"]}`},
	)
	c, _ := newTestClient(t, f)
	ctx := context.Background()
	sp, err := c.GetServicePrincipal(ctx, spObjectID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "GetServicePrincipal", sp, wantServicePrincipal)

	graphSP, err := c.GetServicePrincipalByAppID(ctx, MicrosoftGraphAppID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Microsoft Graph's service principal", graphSP, ServicePrincipal{
		ID: graphSPID, AppID: MicrosoftGraphAppID, DisplayName: "Microsoft Graph", Tags: []string{},
		AppRoles: []AppRole{{ID: "741f803b-c850-494e-b5df-cde7c675a1ca", DisplayName: "Read and write all users' full profiles",
			Value: "User.ReadWrite.All", Enabled: true, AllowedMemberTypes: []string{"Application"}}},
		Scopes: []PermissionScope{
			{ID: "37f7f235-527c-4136-accd-4a02d197296e", Value: "openid", Enabled: true},
			{ID: "14dad69e-099b-42c9-810b-d002981feec1", Value: "profile", Enabled: true},
			{ID: "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", Value: "email", Enabled: true},
		},
	})

	name := "Smallstep"
	if err := c.UpdateServicePrincipal(ctx, spObjectID, ServicePrincipalUpdate{
		DisplayName: &name, Tags: []string{"WindowsAzureActiveDirectoryIntegratedApp", "idpctl"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateServicePrincipal(ctx, spObjectID, ServicePrincipalUpdate{}); err != nil {
		t.Fatal(err) // nothing to send: no request
	}
}

const assignmentJSON = `{
  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals('` + spObjectID + `')/appRoleAssignedTo/$entity",
  "id": "41W1zT6z1U-kJxf62svfp1HFE8pMZhxDun-ThPczmJE",
  "deletedDateTime": null,
  "appRoleId": "` + userRoleID + `",
  "createdDateTime": "2026-11-29T10:01:00.7171213Z",
  "principalDisplayName": "Adele Vance",
  "principalId": "cdb555e3-b33e-4fd5-a427-17fadacbdfa7",
  "principalType": "User",
  "resourceDisplayName": "Smallstep",
  "resourceId": "` + spObjectID + `"
}`

func TestAppRoleAssignments(t *testing.T) {
	const userID = "cdb555e3-b33e-4fd5-a427-17fadacbdfa7"
	want := AppRoleAssignment{
		ID: "41W1zT6z1U-kJxf62svfp1HFE8pMZhxDun-ThPczmJE", PrincipalID: userID, PrincipalType: "User",
		PrincipalDisplayName: "Adele Vance", AppRoleID: userRoleID, ResourceID: spObjectID,
	}
	f := newFakeGraph(t,
		stub{method: "POST", path: "/servicePrincipals/" + spObjectID + "/appRoleAssignedTo", status: http.StatusCreated,
			body: `{"principalId":"` + userID + `","resourceId":"` + spObjectID + `","appRoleId":"` + userRoleID + `"}`,
			resp: assignmentJSON},
		stub{method: "POST", path: "/servicePrincipals/" + spObjectID + "/appRoleAssignedTo", status: http.StatusBadRequest,
			body: `{"principalId":"` + userID + `","resourceId":"` + spObjectID + `","appRoleId":"` + userRoleID + `"}`,
			resp: graphError("Request_BadRequest", "Permission being assigned already exists on the object.", "r2")},
		stub{method: "GET", path: "/servicePrincipals/" + spObjectID + "/appRoleAssignedTo", query: q("$top", "999"),
			resp: `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#servicePrincipals('` + spObjectID + `')/appRoleAssignedTo","value":[` + assignmentJSON + `]}`},
		stub{method: "DELETE", path: "/servicePrincipals/" + spObjectID + "/appRoleAssignedTo/41W1zT6z1U-kJxf62svfp1HFE8pMZhxDun-ThPczmJE", status: http.StatusNoContent},
	)
	c, clock := newTestClient(t, f)
	ctx := context.Background()
	got, err := assignOne(ctx, c, spObjectID, userID, userRoleID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "AssignAppRole", got, want)

	_, err = assignOne(ctx, c, spObjectID, userID, userRoleID)
	if !IsConflict(err) || !IsBadRequest(err) {
		t.Errorf("duplicate assignment: err = %v, want a conflict (Graph says 400 'already exists')", err)
	}
	if len(clock.Sleeps()) != 0 {
		t.Errorf("a duplicate was retried: slept %v", clock.Sleeps())
	}

	list, err := c.ListAppRoleAssignedTo(ctx, spObjectID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListAppRoleAssignedTo", list, []AppRoleAssignment{want})
	if err := c.DeleteAppRoleAssignment(ctx, spObjectID, want.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := assignOne(ctx, c, spObjectID, "adele@contoso.com", userRoleID); err == nil {
		t.Error("AssignAppRole with a UPN as principal id: want an error before any request")
	}
}

const grantJSON = `{
  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#oauth2PermissionGrants/$entity",
  "clientId": "` + spObjectID + `",
  "consentType": "AllPrincipals",
  "id": "TnzJWzkMDkyPPRwfb30qEELzFTG8oc5MoHG2mXHdoRA",
  "principalId": null,
  "resourceId": "` + graphSPID + `",
  "scope": "openid profile email"
}`

func TestPermissionGrants(t *testing.T) {
	want := PermissionGrant{ID: "TnzJWzkMDkyPPRwfb30qEELzFTG8oc5MoHG2mXHdoRA", ClientID: spObjectID, ResourceID: graphSPID,
		ConsentType: "AllPrincipals", Scope: "openid profile email"}
	body := `{"clientId":"` + spObjectID + `","consentType":"AllPrincipals","resourceId":"` + graphSPID + `","scope":"openid profile email"}`
	f := newFakeGraph(t,
		stub{method: "POST", path: "/oauth2PermissionGrants", status: http.StatusCreated, body: body, resp: grantJSON},
		stub{method: "POST", path: "/oauth2PermissionGrants", status: http.StatusConflict, body: body,
			resp: graphError("Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.", "r2")},
		stub{method: "GET", path: "/oauth2PermissionGrants", query: q("$filter", "clientId eq '"+spObjectID+"'"),
			resp: `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#oauth2PermissionGrants","value":[` + grantJSON + `]}`},
		stub{method: "PATCH", path: "/oauth2PermissionGrants/" + want.ID, status: http.StatusNoContent,
			body: `{"scope":"openid profile email offline_access"}`},
	)
	c, clock := newTestClient(t, f)
	ctx := context.Background()
	// The client's service principal is new: a duplicate must still come back at once.
	c.track(spObjectID)
	g := PermissionGrant{ClientID: spObjectID, ResourceID: graphSPID, ConsentType: "AllPrincipals", Scope: "openid profile email"}
	got, err := c.CreatePermissionGrant(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "CreatePermissionGrant", got, want)
	_, err = c.CreatePermissionGrant(ctx, g)
	if !IsConflict(err) || Code(err) != "Request_MultipleObjectsWithSameKeyValue" {
		t.Errorf("second grant: err = %v, want the 409 duplicate", err)
	}
	if len(clock.Sleeps()) != 0 {
		t.Errorf("a duplicate was retried: slept %v", clock.Sleeps())
	}
	list, err := c.ListPermissionGrants(ctx, spObjectID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListPermissionGrants", list, []PermissionGrant{want})
	if err := c.UpdatePermissionGrantScope(ctx, want.ID, " openid  profile email offline_access "); err != nil {
		t.Fatal(err)
	}
}
