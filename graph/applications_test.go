package graph

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	appObjectID = "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
	appClientID = "c0ffee00-1111-4222-8333-444455556666"
	spObjectID  = "5b9c7a4e-0c39-4b0e-8f3d-1c1f6f7d2a10"
	userRoleID  = "18d14569-c3bd-439b-9a66-3a2aee01d14f"
	graphSPID   = "9d3e55ba-79e0-4b7c-af50-c56d8f2e1a01"
)

// applicationJSON is an application as Graph returns it for the non-gallery template (shape from DOCS
// concepts/application-proxy-configure-api.md), after idpctl configured it.
const applicationJSON = `{
  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications/$entity",
  "id": "` + appObjectID + `",
  "deletedDateTime": null,
  "appId": "` + appClientID + `",
  "applicationTemplateId": "8adf8e6e-67b2-4cf2-a259-e3dc5476c621",
  "createdDateTime": "2026-11-29T10:00:01Z",
  "displayName": "Smallstep",
  "identifierUris": [],
  "signInAudience": "AzureADMultipleOrgs",
  "tags": ["idpctl", "WindowsAzureActiveDirectoryIntegratedApp"],
  "api": {"oauth2PermissionScopes": [{"id": "8c4a7b2e-1f3d-4e5a-9b6c-7d8e9f0a1b2c", "value": "user_impersonation", "isEnabled": true, "type": "User"}]},
  "appRoles": [
    {"allowedMemberTypes": ["User"], "description": "User", "displayName": "User", "id": "` + userRoleID + `", "isEnabled": true, "origin": "Application", "value": null},
    {"allowedMemberTypes": ["User"], "description": "msiam_access", "displayName": "msiam_access", "id": "b9632174-c057-4f7e-951b-be3adc52bfe6", "isEnabled": true, "origin": "Application", "value": null}
  ],
  "optionalClaims": {"accessToken": [], "idToken": [
      {"additionalProperties": [], "essential": false, "name": "email", "source": null},
      {"additionalProperties": [], "essential": true, "name": "preferred_username", "source": null},
      {"additionalProperties": ["include_externally_authenticated_upn"], "essential": false, "name": "upn", "source": null},
      {"additionalProperties": [], "essential": false, "name": "extension_2c9b1e4f8a7d4c3b9e2f1a0b9c8d7e6f_costCenter", "source": "user"}
    ], "saml2Token": []},
  "passwordCredentials": [
    {"customKeyIdentifier": null, "displayName": "idpctl", "endDateTime": "2028-11-29T10:00:00Z", "hint": "Abc", "keyId": "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b", "secretText": null, "startDateTime": "2026-11-29T10:00:00Z"}
  ],
  "requiredResourceAccess": [
    {"resourceAppId": "00000003-0000-0000-c000-000000000000", "resourceAccess": [
      {"id": "37f7f235-527c-4136-accd-4a02d197296e", "type": "Scope"},
      {"id": "14dad69e-099b-42c9-810b-d002981feec1", "type": "Scope"}
    ]}
  ],
  "web": {
    "homePageUrl": "https://account.activedirectory.windowsazure.com:444/applications/default.aspx?metadata=customappsso|ISV9.1|primary|z",
    "logoutUrl": null,
    "redirectUris": ["https://api.smallstep.com/auth/openid/callback"],
    "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": true},
    "redirectUriSettings": [{"uri": "https://api.smallstep.com/auth/openid/callback", "index": null}]
  }
}`

var wantApplication = Application{
	ObjectID:            appObjectID,
	AppID:               appClientID,
	DisplayName:         "Smallstep",
	SignInAudience:      "AzureADMultipleOrgs",
	Tags:                []string{"idpctl", "WindowsAzureActiveDirectoryIntegratedApp"},
	Created:             time.Date(2026, 11, 29, 10, 0, 1, 0, time.UTC),
	RedirectURIs:        []string{"https://api.smallstep.com/auth/openid/callback"},
	HomePageURL:         "https://account.activedirectory.windowsazure.com:444/applications/default.aspx?metadata=customappsso|ISV9.1|primary|z",
	IDTokenIssuance:     true,
	AccessTokenIssuance: false,
	IDTokenClaims: []OptionalClaim{{Name: "email"}, {Name: "preferred_username", Essential: true},
		{Name: "upn", AdditionalProperties: []string{"include_externally_authenticated_upn"}},
		{Name: "extension_2c9b1e4f8a7d4c3b9e2f1a0b9c8d7e6f_costCenter", Source: "user"}},
	RequiredResourceAccess: []RequiredResourceAccess{{
		ResourceAppID: MicrosoftGraphAppID,
		Access: []ResourceAccess{
			{ID: "37f7f235-527c-4136-accd-4a02d197296e", Type: "Scope"},
			{ID: "14dad69e-099b-42c9-810b-d002981feec1", Type: "Scope"},
		},
	}},
	Passwords: []PasswordCredential{{
		KeyID: "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b", DisplayName: "idpctl", Hint: "Abc",
		Start: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC), End: time.Date(2028, 11, 29, 10, 0, 0, 0, time.UTC),
	}},
}

// servicePrincipalJSON is the enterprise application the template creates (DOCS
// concepts/application-proxy-configure-api.md).
const servicePrincipalJSON = `{
  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity",
  "id": "` + spObjectID + `",
  "accountEnabled": true,
  "appDisplayName": "Smallstep",
  "appId": "` + appClientID + `",
  "appRoleAssignmentRequired": true,
  "displayName": "Smallstep",
  "servicePrincipalType": "Application",
  "tags": ["WindowsAzureActiveDirectoryCustomSingleSignOnApplication", "WindowsAzureActiveDirectoryIntegratedApp"],
  "appRoles": [
    {"allowedMemberTypes": ["User"], "description": "User", "displayName": "User", "id": "` + userRoleID + `", "isEnabled": true, "origin": "Application", "value": null},
    {"allowedMemberTypes": ["User"], "description": "msiam_access", "displayName": "msiam_access", "id": "b9632174-c057-4f7e-951b-be3adc52bfe6", "isEnabled": true, "origin": "Application", "value": null}
  ],
  "oauth2PermissionScopes": [
    {"adminConsentDescription": "Allow the application to access Smallstep on behalf of the signed-in user.", "adminConsentDisplayName": "Access Smallstep", "id": "8c4a7b2e-1f3d-4e5a-9b6c-7d8e9f0a1b2c", "isEnabled": true, "type": "User", "value": "user_impersonation"}
  ]
}`

var wantServicePrincipal = ServicePrincipal{
	ID:          spObjectID,
	AppID:       appClientID,
	DisplayName: "Smallstep",
	AppRoles: []AppRole{
		{ID: userRoleID, DisplayName: "User", Enabled: true, AllowedMemberTypes: []string{"User"}},
		{ID: "b9632174-c057-4f7e-951b-be3adc52bfe6", DisplayName: "msiam_access", Enabled: true, AllowedMemberTypes: []string{"User"}},
	},
	Scopes:                    []PermissionScope{{ID: "8c4a7b2e-1f3d-4e5a-9b6c-7d8e9f0a1b2c", Value: "user_impersonation", Enabled: true}},
	AppRoleAssignmentRequired: true,
	Tags:                      []string{"WindowsAzureActiveDirectoryCustomSingleSignOnApplication", "WindowsAzureActiveDirectoryIntegratedApp"},
}

func TestGetApplication(t *testing.T) {
	f := newFakeGraph(t,
		stub{method: "GET", path: "/applications/" + appObjectID, resp: applicationJSON},
		stub{method: "GET", path: "/applications(appId='" + appClientID + "')", resp: applicationJSON},
	)
	c, _ := newTestClient(t, f)
	got, err := c.GetApplication(context.Background(), appObjectID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "GetApplication", got, wantApplication)
	got, err = c.GetApplicationByAppID(context.Background(), appClientID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "GetApplicationByAppID", got, wantApplication)
}

func TestFindApplications(t *testing.T) {
	page1 := `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#applications",
	  "@odata.nextLink":"` + "%s" + `/v1.0/applications?$filter=startswith(displayName,'Smallstep')+and+tags/any(t:t+eq+'idpctl')&$top=999&$skiptoken=RFNwdAIAAQAAAB4",
	  "value":[` + applicationJSON + `]}`
	page2 := `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#applications","value":[
	  {"id":"7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d","appId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","displayName":"Smallstep (idpctl 2f9c)","signInAudience":"AzureADMyOrg","tags":["idpctl"],"web":{"redirectUris":[]}}]}`
	f := newFakeGraph(t)
	f.plan = []stub{
		{method: "GET", path: "/applications", query: q("$filter", "startswith(displayName,'Smallstep') and tags/any(t:t eq 'idpctl')", "$top", "999"),
			resp: strings.Replace(page1, "%s", f.srv.URL, 1)},
		{method: "GET", path: "/applications", query: q("$filter", "startswith(displayName,'Smallstep') and tags/any(t:t eq 'idpctl')", "$top", "999", "$skiptoken", "RFNwdAIAAQAAAB4"),
			resp: page2},
		{method: "GET", path: "/applications", query: q("$filter", "displayName eq 'O''Brien''s app'", "$top", "999"), resp: `{"value":[]}`},
	}
	c, _ := newTestClient(t, f)
	got, err := c.FindApplications(context.Background(), ApplicationQuery{DisplayNamePrefix: "Smallstep", Tag: "idpctl"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Application{wantApplication, {
		ObjectID: "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", AppID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
		DisplayName: "Smallstep (idpctl 2f9c)", SignInAudience: "AzureADMyOrg", Tags: []string{"idpctl"}, RedirectURIs: []string{},
	}}
	diff(t, "FindApplications (two pages)", got, want)

	got, err = c.FindApplications(context.Background(), ApplicationQuery{DisplayName: "O'Brien's app"})
	if err != nil || len(got) != 0 {
		t.Fatalf("FindApplications(quoted name) = %v, %v; want none", got, err)
	}
	if _, err := c.FindApplications(context.Background(), ApplicationQuery{}); err == nil {
		t.Error("FindApplications with no criteria: want an error, not a listing of every application")
	}
}

func TestInstantiateTemplate(t *testing.T) {
	f := newFakeGraph(t, stub{
		method: "POST", path: "/applicationTemplates/" + NonGalleryTemplateID + "/instantiate",
		body:   `{"displayName":"Smallstep (idpctl 2f9c)"}`,
		status: http.StatusCreated,
		resp: `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.applicationServicePrincipal",
		  "application":` + applicationJSON + `, "servicePrincipal":` + servicePrincipalJSON + `}`,
	})
	c, _ := newTestClient(t, f)
	app, sp, err := c.InstantiateTemplate(context.Background(), NonGalleryTemplateID, "Smallstep (idpctl 2f9c)")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "application", app, wantApplication)
	diff(t, "service principal", sp, wantServicePrincipal)
	for _, id := range []string{appObjectID, appClientID, spObjectID} {
		if !c.replicating([]string{id}) {
			t.Errorf("%s is not tracked as freshly created", id)
		}
	}
}

func TestInstantiateTemplateIsNotReplayedAfterGatewayTimeout(t *testing.T) {
	// A 504 may come after the application was created: replaying would create a second one.
	f := newFakeGraph(t, stub{
		method: "POST", path: "/applicationTemplates/" + NonGalleryTemplateID + "/instantiate",
		body: `{"displayName":"Smallstep (idpctl 2f9c)"}`, status: http.StatusGatewayTimeout,
		resp: graphError("GatewayTimeout", "The gateway did not receive a response in time.", "r1"),
	})
	c, clock := newTestClient(t, f)
	_, _, err := c.InstantiateTemplate(context.Background(), NonGalleryTemplateID, "Smallstep (idpctl 2f9c)")
	if e := mustGraphError(t, err); e.Status != 504 || e.Attempts != 1 {
		t.Errorf("error = %+v, want the 504 after one attempt", e)
	}
	if len(clock.Sleeps()) != 0 {
		t.Errorf("slept %v", clock.Sleeps())
	}
}

func TestUpdateApplication(t *testing.T) {
	name, aud := "Smallstep", "AzureADMultipleOrgs"
	home := wantApplication.HomePageURL
	idTokens := true
	f := newFakeGraph(t,
		stub{
			method: "PATCH", path: "/applications/" + appObjectID, status: http.StatusNoContent,
			body: `{
			  "@odata.type": "#microsoft.graph.application",
			  "displayName": "Smallstep",
			  "signInAudience": "AzureADMultipleOrgs",
			  "tags": ["idpctl"],
			  "web": {"redirectUris": ["https://api.smallstep.com/auth/openid/callback"], "homePageUrl": "` + home + `",
			          "implicitGrantSettings": {"enableIdTokenIssuance": true}},
			  "optionalClaims": {"idToken": [
			      {"name": "upn", "essential": false, "additionalProperties": ["include_externally_authenticated_upn"]},
			      {"name": "extension_2c9b1e4f8a7d4c3b9e2f1a0b9c8d7e6f_costCenter", "source": "user", "essential": false, "additionalProperties": []},
			      {"name": "email", "essential": false, "additionalProperties": []},
			      {"name": "preferred_username", "essential": false, "additionalProperties": []}]},
			  "requiredResourceAccess": [{"resourceAppId": "00000003-0000-0000-c000-000000000000", "resourceAccess": [
			      {"id": "37f7f235-527c-4136-accd-4a02d197296e", "type": "Scope"},
			      {"id": "14dad69e-099b-42c9-810b-d002981feec1", "type": "Scope"},
			      {"id": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "type": "Scope"}]}]
			}`,
		},
		// Only the set field goes out: a fresh model, so nothing else is sent.
		stub{method: "PATCH", path: "/applications/" + appObjectID, status: http.StatusNoContent,
			body: `{"@odata.type": "#microsoft.graph.application", "tags": []}`},
	)
	c, _ := newTestClient(t, f)
	err := c.UpdateApplication(context.Background(), appObjectID, ApplicationUpdate{
		DisplayName:     &name,
		SignInAudience:  &aud,
		Tags:            []string{"idpctl"},
		RedirectURIs:    []string{"https://api.smallstep.com/auth/openid/callback"},
		HomePageURL:     &home,
		IDTokenIssuance: &idTokens,
		// Claims others set go back with all four properties (DOCS resources/optionalclaim.md).
		IDTokenClaims: []OptionalClaim{
			{Name: "upn", AdditionalProperties: []string{"include_externally_authenticated_upn"}},
			{Name: "extension_2c9b1e4f8a7d4c3b9e2f1a0b9c8d7e6f_costCenter", Source: "user"},
			{Name: "email"}, {Name: "preferred_username"}},
		RequiredResourceAccess: []RequiredResourceAccess{{ResourceAppID: MicrosoftGraphAppID, Access: []ResourceAccess{
			{ID: "37f7f235-527c-4136-accd-4a02d197296e", Type: "Scope"},
			{ID: "14dad69e-099b-42c9-810b-d002981feec1", Type: "Scope"},
			{ID: "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", Type: "Scope"},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateApplication(context.Background(), appObjectID, ApplicationUpdate{Tags: []string{}}); err != nil {
		t.Fatal(err)
	}
	// Nothing to change: no request at all.
	if err := c.UpdateApplication(context.Background(), appObjectID, ApplicationUpdate{}); err != nil {
		t.Fatal(err)
	}
	err = c.UpdateApplication(context.Background(), appObjectID, ApplicationUpdate{RequiredResourceAccess: []RequiredResourceAccess{
		{ResourceAppID: MicrosoftGraphAppID, Access: []ResourceAccess{{ID: "openid", Type: "Scope"}}}}})
	if err == nil || !strings.Contains(err.Error(), `"openid" is not a GUID`) {
		t.Errorf("bad permission id: err = %v", err)
	}
}

func TestAddAndRemovePassword(t *testing.T) {
	const secretText = "Abc8Q~vZ3kLx0pR7sT2uW5yB9nM4hJ6gF1dE8cA"
	end := time.Date(2027, 11, 29, 10, 0, 0, 0, time.UTC)
	f := newFakeGraph(t,
		stub{
			method: "POST", path: "/applications/" + appObjectID + "/addPassword",
			body: `{"passwordCredential":{"displayName":"idpctl 2026-11-29","endDateTime":"2027-11-29T10:00:00Z"}}`,
			resp: `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.passwordCredential",
			  "customKeyIdentifier":null,"displayName":"idpctl 2026-11-29","endDateTime":"2027-11-29T10:00:00Z",
			  "hint":"Abc","keyId":"f47ac10b-58cc-4372-a567-0e02b2c3d479","secretText":"` + secretText + `",
			  "startDateTime":"2026-11-29T10:00:03.0952433Z"}`,
		},
		stub{method: "POST", path: "/applications/" + appObjectID + "/removePassword", status: http.StatusNoContent,
			body: `{"keyId":"e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"}`},
		stub{method: "DELETE", path: "/applications/" + appObjectID, status: http.StatusNoContent},
	)
	c, _ := newTestClient(t, f)
	p, err := c.AddPassword(context.Background(), appObjectID, "idpctl 2026-11-29", end)
	if err != nil {
		t.Fatal(err)
	}
	if p.Secret.Reveal() != secretText || p.KeyID != "f47ac10b-58cc-4372-a567-0e02b2c3d479" || p.Hint != "Abc" || !p.End.Equal(end) ||
		p.DisplayName != "idpctl 2026-11-29" || p.Start.IsZero() {
		t.Errorf("AddPassword = %+v", p)
	}
	if err := c.RemovePassword(context.Background(), appObjectID, "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemovePassword(context.Background(), appObjectID, "not-a-guid"); err == nil {
		t.Error("RemovePassword with a bad key id: want an error before any request")
	}
	if err := c.DeleteApplication(context.Background(), appObjectID); err != nil {
		t.Fatal(err)
	}
}
