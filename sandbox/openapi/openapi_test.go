package openapi

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
)

func spec(t testing.TB) *Spec {
	t.Helper()
	s, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

const (
	appPath   = "/applications/0d3b8f6e-3c1a-4d2b-9e8f-7a6b5c4d3e2f"
	spPath    = "/servicePrincipals/5b9c7a4e-0c39-4b0e-8f3d-1c1f6f7d2a10"
	jobPath   = spPath + "/synchronization/jobs/scim.e1b6c1d2a3f44c5e9b7d8a6f5e4d3c2b.5b9c7a4e-0c39-4b0e-8f3d-1c1f6f7d2a10"
	extension = "extension_0123456789abcdef0123456789abcdef_costCenter"
)

// The bodies idpctl sends in a setup (README.md "What it does"; the steps package builds them).
const (
	instantiateBody = `{"displayName":"Smallstep (idpctl 7f3a)"}`
	appPatchBody    = `{
  "displayName": "Smallstep",
  "signInAudience": "AzureADMultipleOrgs",
  "tags": ["idpctl", "HideApp"],
  "web": {"redirectUris": ["https://api.smallstep.com/auth/openid/callback"]},
  "optionalClaims": {
    "idToken": [
      {"name": "email", "source": null, "essential": false, "additionalProperties": []},
      {"name": "preferred_username", "source": null, "essential": false, "additionalProperties": []}
    ],
    "accessToken": [],
    "saml2Token": []
  },
  "requiredResourceAccess": [{
    "resourceAppId": "00000003-0000-0000-c000-000000000000",
    "resourceAccess": [
      {"id": "37f7f235-527c-4136-accd-4a02d197296e", "type": "Scope"},
      {"id": "14dad69e-099b-42c9-810b-d002981feec1", "type": "Scope"},
      {"id": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "type": "Scope"}
    ]
  }]
}`
	addPasswordBody    = `{"passwordCredential":{"displayName":"idpctl 2026-11-29","endDateTime":"2028-11-29T10:00:00Z"}}`
	removePasswordBody = `{"keyId":"f0b0b335-1d71-4883-8f98-567911bfdca6"}`
	assignBody         = `{"principalId":"3a1f5c2e-9b7d-4e6f-8a2c-1d0e9f8a7b6c","resourceId":"5b9c7a4e-0c39-4b0e-8f3d-1c1f6f7d2a10","appRoleId":"18d14569-c3bd-439b-9a66-3a2aee01d14f"}`
	grantBody          = `{"clientId":"5b9c7a4e-0c39-4b0e-8f3d-1c1f6f7d2a10","consentType":"AllPrincipals","resourceId":"7c2d9e1f-4a3b-4c5d-8e6f-9a0b1c2d3e4f","scope":"openid profile email"}`
	validateCredsBody  = `{"useSavedCredentials":false,"templateId":"scim","credentials":[{"key":"BaseAddress","value":"https://scim.example.com/scim/v2"},{"key":"SecretToken","value":"eyJhbGciOiJIUzI1NiJ9.c2NpbS10b2tlbg.sig"}]}`
	secretsBody        = `{"value":[{"key":"BaseAddress","value":"https://scim.example.com/scim/v2"},{"key":"SecretToken","value":"eyJhbGciOiJIUzI1NiJ9.c2NpbS10b2tlbg.sig"},{"key":"SyncNotificationSettings","value":"{\"Enabled\":false,\"DeleteThresholdEnabled\":false}"},{"key":"SyncAll","value":"false"}]}`
	restartBody        = `{"criteria":{"resetScope":"Watermark, Escrows, QuarantineState"}}`
	onDemandBody       = `{"parameters":[{"ruleId":"AD2SCIM","subjects":[{"objectId":"3a1f5c2e-9b7d-4e6f-8a2c-1d0e9f8a7b6c","objectTypeName":"User"}]}]}`
)

func schemaBody(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/scim-job-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// editJSON returns body with one change made through a generic JSON tree, so broken variants stay in step with
// the valid body.
func editJSON(t *testing.T, body string, edit func(doc map[string]any)) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func at(v any, path ...any) map[string]any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v.(map[string]any)
}

func TestLoad(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	app := s.schemas["microsoft.graph.application"]
	if app == nil || app.kind != kindObject {
		t.Fatal("microsoft.graph.application not compiled as an object")
	}
	// allOf chain: application <- directoryObject <- entity.
	for _, inherited := range []string{"id", "deletedDateTime", "web", "signInAudience"} {
		if _, ok := app.props[inherited]; !ok {
			t.Errorf("application lacks property %q", inherited)
		}
	}
	if !app.open || !app.directory {
		t.Errorf("application: open=%v directory=%v, want both", app.open, app.directory)
	}
	if ara := s.schemas["microsoft.graph.appRoleAssignment"]; !ara.open {
		t.Error("appRoleAssignment should inherit openness from directoryObject")
	}
	if job := s.schemas["microsoft.graph.synchronizationJob"]; job.open || job.directory {
		t.Error("synchronizationJob is neither open nor a directory object")
	}
}

type requestCase struct {
	name   string
	method string
	path   string
	body   string
	want   *Error // nil: valid
}

func TestValidateRequest(t *testing.T) {
	s := spec(t)
	schema := schemaBody(t)
	longToken := strings.Repeat("Zm9vYmFy", 8)

	cases := []requestCase{
		// Step 1: create the app from the non-gallery template.
		{"instantiate", "POST", "/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate", instantiateBody, nil},
		{"instantiate unknown parameter", "POST", "/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate",
			`{"displayName":"x","name":"y"}`,
			&Error{400, "Request_BadRequest", "The parameter 'name' in the request payload is not a valid parameter for the operation 'instantiate'.", "name"}},
		{"instantiate number for string", "POST", "/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate",
			`{"displayName":5}`,
			&Error{400, "Request_BadRequest", "Cannot convert the literal '5' to the expected type 'Edm.String'.", "displayName"}},

		// Step 2: SSO settings on the application.
		{"application PATCH", "PATCH", appPath, appPatchBody, nil},
		{"application PATCH by appId", "PATCH", appPath, `{"web":null,"optionalClaims":null}`, nil},
		{"application PATCH keeps read-only id and appId", "PATCH", appPath,
			`{"id":"0d3b8f6e-3c1a-4d2b-9e8f-7a6b5c4d3e2f","appId":"2c9b1e4f-8a7d-4c3b-9e2f-1a0b9c8d7e6f","displayName":"x"}`, nil},
		{"application PATCH directory extension", "PATCH", appPath, `{"` + extension + `":"4711","displayName":"x"}`, nil},
		{"application PATCH extension collection", "PATCH", appPath, `{"` + extension + `":["a","b"]}`, nil},
		{"application PATCH @odata.type", "PATCH", appPath, `{"@odata.type":"#microsoft.graph.application","displayName":"x"}`, nil},
		{"application unknown top-level property", "PATCH", appPath,
			editJSON(t, appPatchBody, func(d map[string]any) { d["signinAudience"] = "AzureADMyOrg" }),
			&Error{400, "Request_BadRequest", "Invalid property 'signinAudience'.", "signinAudience"}},
		{"application malformed extension name", "PATCH", appPath, `{"extension_1234_costCenter":"4711"}`,
			&Error{400, "Request_BadRequest", "Invalid property 'extension_1234_costCenter'.", "extension_1234_costCenter"}},
		{"application extension given an object", "PATCH", appPath, `{"` + extension + `":{"a":1}}`,
			&Error{400, "Request_BadRequest", "A value without a type name was found and no expected type is available. When the model is specified, each value in the payload must have a type which can be either specified in the payload, explicitly by the caller or implicitly inferred from the parent value.", extension}},
		{"application redirect URI not a string", "PATCH", appPath,
			`{"web":{"redirectUris":[42]}}`,
			&Error{400, "Request_BadRequest", "Cannot convert the literal '42' to the expected type 'Edm.String'.", "web.redirectUris[0]"}},
		{"application unknown property in web", "PATCH", appPath,
			editJSON(t, appPatchBody, func(d map[string]any) { at(d, "web")["redirectUri"] = "https://x" }),
			&Error{400, "Request_BadRequest", "The property 'redirectUri' does not exist on type 'microsoft.graph.webApplication'. Make sure to only use property names that are defined by the type or mark the type as open type.", "web.redirectUri"}},
		{"application optional claim essential as string", "PATCH", appPath,
			editJSON(t, appPatchBody, func(d map[string]any) { at(d, "optionalClaims", "idToken", 1)["essential"] = "false" }),
			&Error{400, "Request_BadRequest", "Cannot convert a primitive value to the expected type 'Edm.Boolean'. See the inner exception for more details.", "optionalClaims.idToken[1].essential"}},
		{"application optional claim unknown property", "PATCH", appPath,
			editJSON(t, appPatchBody, func(d map[string]any) { at(d, "optionalClaims", "idToken", 0)["claim"] = "email" }),
			&Error{400, "Request_BadRequest", "The property 'claim' does not exist on type 'microsoft.graph.optionalClaim'. Make sure to only use property names that are defined by the type or mark the type as open type.", "optionalClaims.idToken[0].claim"}},
		{"application optional claim name null", "PATCH", appPath,
			editJSON(t, appPatchBody, func(d map[string]any) { at(d, "optionalClaims", "idToken", 0)["name"] = nil }),
			&Error{400, "Request_BadRequest", "A null value was found for the property named 'name', which has the expected type 'Edm.String[Nullable=False]'. The expected type 'Edm.String[Nullable=False]' does not allow null values.", "optionalClaims.idToken[0].name"}},
		{"application scope id not a uuid", "PATCH", appPath,
			editJSON(t, appPatchBody, func(d map[string]any) {
				at(d, "requiredResourceAccess", 0, "resourceAccess", 2)["id"] = "email"
			}),
			&Error{400, "Request_BadRequest", "Cannot convert a primitive value to the expected type 'Edm.Guid'. See the inner exception for more details.", "requiredResourceAccess[0].resourceAccess[2].id"}},
		{"application resourceAccess type misspelt", "PATCH", appPath,
			editJSON(t, appPatchBody, func(d map[string]any) {
				ra := at(d, "requiredResourceAccess", 0, "resourceAccess", 1)
				ra["Type"] = ra["type"]
				delete(ra, "type")
			}),
			&Error{400, "Request_BadRequest", "The property 'Type' does not exist on type 'microsoft.graph.resourceAccess'. Make sure to only use property names that are defined by the type or mark the type as open type.", "requiredResourceAccess[0].resourceAccess[1].Type"}},
		{"application tags as a string", "PATCH", appPath, `{"tags":"idpctl"}`,
			&Error{400, "Request_BadRequest", "An unexpected 'PrimitiveValue' node was found when reading from the JSON reader. A 'StartArray' node was expected.", "tags"}},
		{"application web as an array", "PATCH", appPath, `{"web":[]}`,
			&Error{400, "Request_BadRequest", "An unexpected 'StartArray' node was found when reading from the JSON reader. A 'StartObject' node was expected.", "web"}},
		{"application redirectUris null", "PATCH", appPath, `{"web":{"redirectUris":null}}`,
			&Error{400, "Request_BadRequest", "A null value was found for the property named 'redirectUris', which has the expected type 'Collection(Edm.String)[Nullable=False]'. The expected type 'Collection(Edm.String)[Nullable=False]' does not allow null values.", "web.redirectUris"}},
		{"application duplicate property", "PATCH", appPath, `{"displayName":"a","displayName":"b"}`,
			&Error{400, "Request_BadRequest", "Multiple properties with the name 'displayName' were detected in a resource or a complex value. In OData, duplicate property names are not allowed.", "displayName"}},
		{"application @odata.type of another entity", "PATCH", appPath, `{"@odata.type":"#microsoft.graph.user"}`,
			&Error{400, "Request_BadRequest", "The type 'microsoft.graph.user' is not assignable to the expected type 'microsoft.graph.application'.", "@odata.type"}},
		{"application @odata.type unknown", "PATCH", appPath, `{"@odata.type":"#microsoft.graph.nothing"}`,
			&Error{400, "Request_BadRequest", "A type named 'microsoft.graph.nothing' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.", "@odata.type"}},
		{"application body not JSON", "PATCH", appPath, `{"displayName":`,
			&Error{400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", ""}},
		{"application body empty", "PATCH", appPath, "",
			&Error{400, "BadRequest", "Empty Payload. JSON content expected.", ""}},
		{"application body an array", "PATCH", appPath, `[{"displayName":"x"}]`,
			&Error{400, "Request_BadRequest", "An unexpected 'StartArray' node was found when reading from the JSON reader. A 'StartObject' node was expected.", ""}},
		{"application POST with owners bind", "POST", "/applications",
			`{"displayName":"x","owners@odata.bind":["https://graph.microsoft.com/v1.0/directoryObjects/3a1f5c2e-9b7d-4e6f-8a2c-1d0e9f8a7b6c"]}`, nil},
		{"application POST without displayName", "POST", "/applications", `{"signInAudience":"AzureADMyOrg"}`,
			&Error{400, "Request_BadRequest", "Invalid value specified for property 'displayName' of resource 'Application'.", "displayName"}},
		{"application bind of unknown property", "POST", "/applications", `{"displayName":"x","admins@odata.bind":[]}`,
			&Error{400, "Request_BadRequest", "Invalid property 'admins'.", "admins"}},

		// Client secret.
		{"addPassword", "POST", appPath + "/addPassword", addPasswordBody, nil},
		{"addPassword without body", "POST", appPath + "/addPassword", "", nil},
		{"addPassword leap day", "POST", appPath + "/addPassword", `{"passwordCredential":{"endDateTime":"2028-02-29T00:00:00.1234567+01:00"}}`, nil},
		{"addPassword unknown credential property", "POST", appPath + "/addPassword",
			`{"passwordCredential":{"displayName":"x","expires":"2028-11-29T10:00:00Z"}}`,
			&Error{400, "Request_BadRequest", "The property 'expires' does not exist on type 'microsoft.graph.passwordCredential'. Make sure to only use property names that are defined by the type or mark the type as open type.", "passwordCredential.expires"}},
		{"addPassword date without time", "POST", appPath + "/addPassword", `{"passwordCredential":{"endDateTime":"2028-11-29"}}`,
			&Error{400, "Request_BadRequest", "Cannot convert a primitive value to the expected type 'Edm.DateTimeOffset'. See the inner exception for more details.", "passwordCredential.endDateTime"}},
		{"addPassword day not in month", "POST", appPath + "/addPassword", `{"passwordCredential":{"endDateTime":"2027-02-29T00:00:00Z"}}`,
			&Error{400, "Request_BadRequest", "Cannot convert a primitive value to the expected type 'Edm.DateTimeOffset'. See the inner exception for more details.", "passwordCredential.endDateTime"}},
		{"addPassword unknown parameter", "POST", appPath + "/addPassword", `{"credential":{}}`,
			&Error{400, "Request_BadRequest", "The parameter 'credential' in the request payload is not a valid parameter for the operation 'addPassword'.", "credential"}},
		{"removePassword", "POST", appPath + "/removePassword", removePasswordBody, nil},
		{"removePassword keyId not a uuid", "POST", appPath + "/removePassword", `{"keyId":"f0b0b335"}`,
			&Error{400, "Request_BadRequest", "Cannot convert a primitive value to the expected type 'Edm.Guid'. See the inner exception for more details.", "keyId"}},
		{"removePassword without keyId", "POST", appPath + "/removePassword", `{}`,
			&Error{400, "Request_BadRequest", "The parameter 'keyId' of the operation 'removePassword' is required.", "keyId"}},
		{"removePassword without body", "POST", appPath + "/removePassword", "  \n",
			&Error{400, "BadRequest", "Empty Payload. JSON content expected.", ""}},

		// Assignments.
		{"appRoleAssignedTo", "POST", spPath + "/appRoleAssignedTo", assignBody, nil},
		{"appRoleAssignedTo unknown property", "POST", spPath + "/appRoleAssignedTo",
			editJSON(t, assignBody, func(d map[string]any) { d["roleId"] = d["appRoleId"] }),
			&Error{400, "Request_BadRequest", "Invalid property 'roleId'.", "roleId"}},
		{"appRoleAssignedTo without appRoleId", "POST", spPath + "/appRoleAssignedTo",
			editJSON(t, assignBody, func(d map[string]any) { delete(d, "appRoleId") }),
			&Error{400, "Request_BadRequest", "Invalid value specified for property 'appRoleId' of resource 'AppRoleAssignment'.", "appRoleId"}},
		{"appRoleAssignedTo principalId not a uuid", "POST", spPath + "/appRoleAssignedTo",
			editJSON(t, assignBody, func(d map[string]any) { d["principalId"] = "alice@contoso.com" }),
			&Error{400, "Request_BadRequest", "Cannot convert a primitive value to the expected type 'Edm.Guid'. See the inner exception for more details.", "principalId"}},

		// Admin consent.
		{"oauth2PermissionGrants POST", "POST", "/oauth2PermissionGrants", grantBody, nil},
		{"oauth2PermissionGrants PATCH", "PATCH", "/oauth2PermissionGrants/AbCdEf123-grant-id", `{"scope":"openid profile email offline_access"}`, nil},
		{"oauth2PermissionGrants POST without consentType", "POST", "/oauth2PermissionGrants",
			editJSON(t, grantBody, func(d map[string]any) { delete(d, "consentType") }),
			&Error{400, "Request_BadRequest", "Invalid value specified for property 'consentType' of resource 'OAuth2PermissionGrant'.", "consentType"}},
		{"oauth2PermissionGrants PATCH unknown property", "PATCH", "/oauth2PermissionGrants/AbCdEf123-grant-id", `{"scopes":"openid"}`,
			&Error{400, "Request_BadRequest", "The property 'scopes' does not exist on type 'microsoft.graph.oAuth2PermissionGrant'. Make sure to only use property names that are defined by the type or mark the type as open type.", "scopes"}},

		// Step 3: provisioning.
		{"validateCredentials without job", "POST", spPath + "/synchronization/jobs/validateCredentials", validateCredsBody, nil},
		{"validateCredentials with job", "POST", jobPath + "/validateCredentials", `{"useSavedCredentials":true}`, nil},
		{"validateCredentials namespace-qualified", "POST", jobPath + "/microsoft.graph.validateCredentials", validateCredsBody, nil},
		{"validateCredentials camelCase secret key", "POST", spPath + "/synchronization/jobs/validateCredentials",
			strings.Replace(validateCredsBody, `"BaseAddress"`, `"baseAddress"`, 1),
			&Error{500, "InternalError", "Requested value 'baseAddress' was not found.", "credentials[0].key"}},
		{"validateCredentials flag as string", "POST", spPath + "/synchronization/jobs/validateCredentials",
			strings.Replace(validateCredsBody, `false`, `"false"`, 1),
			&Error{400, "BadRequest", "Cannot convert a primitive value to the expected type 'Edm.Boolean'. See the inner exception for more details.", "useSavedCredentials"}},
		{"validateCredentials unknown parameter", "POST", spPath + "/synchronization/jobs/validateCredentials", `{"templateId":"scim","secrets":[]}`,
			&Error{400, "BadRequest", "The parameter 'secrets' in the request payload is not a valid parameter for the operation 'validateCredentials'.", "secrets"}},
		{"validateCredentials credential property misspelt", "POST", spPath + "/synchronization/jobs/validateCredentials",
			`{"templateId":"scim","credentials":[{"name":"BaseAddress","value":"https://x"}]}`,
			&Error{400, "BadRequest", "The property 'name' does not exist on type 'microsoft.graph.synchronizationSecretKeyStringValuePair'. Make sure to only use property names that are defined by the type or mark the type as open type.", "credentials[0].name"}},
		{"create job", "POST", spPath + "/synchronization/jobs", `{"templateId":"scim"}`, nil},
		{"create job without templateId", "POST", spPath + "/synchronization/jobs", `{}`,
			&Error{400, "BadRequest", "The property 'templateId' is required on type 'microsoft.graph.synchronizationJob'.", "templateId"}},
		{"create job misspelt templateId", "POST", spPath + "/synchronization/jobs", `{"templateID":"scim"}`,
			&Error{400, "BadRequest", "The property 'templateID' does not exist on type 'microsoft.graph.synchronizationJob'. Make sure to only use property names that are defined by the type or mark the type as open type.", "templateID"}},
		{"secrets PUT", "PUT", spPath + "/synchronization/secrets", secretsBody, nil},
		{"secrets PUT as credentials", "PUT", spPath + "/synchronization/secrets",
			`{"credentials":[{"key":"BaseAddress","value":"https://x"}]}`,
			&Error{400, "BadRequest", "The property 'credentials' is not valid in the request body of operation 'servicePrincipals.synchronization.SetSecrets'.", "credentials"}},
		{"secrets PUT camelCase key", "PUT", spPath + "/synchronization/secrets",
			strings.Replace(secretsBody, `"SecretToken"`, `"secretToken"`, 1),
			&Error{500, "InternalError", "Requested value 'secretToken' was not found.", "value[1].key"}},
		{"secrets PUT token in the key field is not quoted back", "PUT", spPath + "/synchronization/secrets",
			`{"value":[{"key":"` + longToken + `","value":"SecretToken"}]}`,
			&Error{500, "InternalError", "Requested value was not found.", "value[0].key"}},

		// Step 5's function sources come from parseExpression; the body is DOCS
		// synchronization-synchronizationschema-parseexpression.md's example (its test input trimmed), whose
		// stringKeyObjectValuePair entries are open: "value" is a dynamic property.
		{"parseExpression", "POST", jobPath + "/schema/parseExpression", `{"expression":"Coalesce([mail], [userPrincipalName])"}`, nil},
		{"parseExpression documented example", "POST", jobPath + "/schema/parseExpression",
			`{"expression":"Replace([preferredLanguage], \"-\", , , \"_\", ,  )","targetAttributeDefinition":null,
			"testInputObject":{"definition":null,"properties":[{"key":"preferredLanguage","value":"EN-US"},
			{"key":"appRoleAssignments","value@odata.type":"#Collection(String)","value":["Default Assignment"]}]}}`, nil},
		{"parseExpression misspelt parameter", "POST", jobPath + "/schema/parseExpression", `{"expresion":"[mail]"}`,
			&Error{400, "BadRequest", "The parameter 'expresion' in the request payload is not a valid parameter for the operation 'parseExpression'.", "expresion"}},
		{"parseExpression closed test input", "POST", jobPath + "/schema/parseExpression",
			`{"expression":"[mail]","testInputObject":{"values":[]}}`,
			&Error{400, "BadRequest", "The property 'values' does not exist on type 'microsoft.graph.expressionInputObject'. Make sure to only use property names that are defined by the type or mark the type as open type.", "testInputObject.values"}},

		// Step 4: start, with or without an empty body.
		{"start", "POST", jobPath + "/start", "", nil},
		{"start with empty object", "POST", jobPath + "/start", `{}`, nil},
		{"start with a parameter", "POST", jobPath + "/start", `{"force":true}`,
			&Error{400, "BadRequest", "The parameter 'force' in the request payload is not a valid parameter for the operation 'start'.", "force"}},
		{"pause", "POST", jobPath + "/pause", "", nil},

		// Step 5: attribute mappings.
		{"schema PUT", "PUT", jobPath + "/schema", schema, nil},
		{"schema PUT unknown attribute mapping property", "PUT", jobPath + "/schema",
			editJSON(t, schema, func(d map[string]any) {
				m := at(d, "synchronizationRules", 0, "objectMappings", 0, "attributeMappings", 3)
				m["flowBehaviour"] = m["flowBehavior"]
			}),
			&Error{400, "BadRequest", "The property 'flowBehaviour' does not exist on type 'microsoft.graph.attributeMapping'. Make sure to only use property names that are defined by the type or mark the type as open type.", "synchronizationRules[0].objectMappings[0].attributeMappings[3].flowBehaviour"}},
		{"schema PUT flow behaviour in camelCase", "PUT", jobPath + "/schema",
			editJSON(t, schema, func(d map[string]any) {
				at(d, "synchronizationRules", 0, "objectMappings", 0, "attributeMappings", 2)["flowBehavior"] = "flowWhenChanged"
			}),
			&Error{500, "InternalError", "Requested value 'flowWhenChanged' was not found.", "synchronizationRules[0].objectMappings[0].attributeMappings[2].flowBehavior"}},
		{"schema PUT unknown object flow type", "PUT", jobPath + "/schema",
			editJSON(t, schema, func(d map[string]any) {
				at(d, "synchronizationRules", 0, "objectMappings", 1)["flowTypes"] = "Add, Update, Remove"
			}),
			&Error{500, "InternalError", "Requested value 'Add, Update, Remove' was not found.", "synchronizationRules[0].objectMappings[1].flowTypes"}},
		{"schema PUT function parameter source type", "PUT", jobPath + "/schema",
			editJSON(t, schema, func(d map[string]any) {
				at(d, "synchronizationRules", 0, "objectMappings", 0, "attributeMappings", 1, "source", "parameters", 0, "value")["type"] = "attribute"
			}),
			&Error{500, "InternalError", "Requested value 'attribute' was not found.", "synchronizationRules[0].objectMappings[0].attributeMappings[1].source.parameters[0].value.type"}},
		{"schema PUT fractional matching priority", "PUT", jobPath + "/schema",
			editJSON(t, schema, func(d map[string]any) {
				at(d, "synchronizationRules", 0, "objectMappings", 0, "attributeMappings", 0)["matchingPriority"] = 1.5
			}),
			&Error{400, "BadRequest", "Cannot convert the literal '1.5' to the expected type 'Edm.Int32'.", "synchronizationRules[0].objectMappings[0].attributeMappings[0].matchingPriority"}},
		{"schema PUT scope filter clause property misspelt", "PUT", jobPath + "/schema",
			editJSON(t, schema, func(d map[string]any) {
				at(d, "synchronizationRules", 0, "objectMappings", 0, "scope", "groups", 0, "clauses", 0)["operator"] = "EQUALS"
			}),
			&Error{400, "BadRequest", "The property 'operator' does not exist on type 'microsoft.graph.filterClause'. Make sure to only use property names that are defined by the type or mark the type as open type.", "synchronizationRules[0].objectMappings[0].scope.groups[0].clauses[0].operator"}},
		{"schema PUT directory discovery time", "PUT", jobPath + "/schema",
			editJSON(t, schema, func(d map[string]any) { at(d, "directories", 1)["discoveryDateTime"] = "yesterday" }),
			&Error{400, "BadRequest", "Cannot convert a primitive value to the expected type 'Edm.DateTimeOffset'. See the inner exception for more details.", "directories[1].discoveryDateTime"}},
		{"schema PUT attribute definition mutability", "PUT", jobPath + "/schema",
			editJSON(t, schema, func(d map[string]any) {
				at(d, "directories", 0, "objects", 0, "attributes", 0)["mutability"] = "Readonly"
			}),
			&Error{500, "InternalError", "Requested value 'Readonly' was not found.", "directories[0].objects[0].attributes[0].mutability"}},

		// Step 6: confirm.
		{"provisionOnDemand", "POST", jobPath + "/provisionOnDemand", onDemandBody, nil},
		{"provisionOnDemand subject property misspelt", "POST", jobPath + "/provisionOnDemand",
			strings.Replace(onDemandBody, "objectTypeName", "objectType", 1),
			&Error{400, "BadRequest", "The property 'objectType' does not exist on type 'microsoft.graph.synchronizationJobSubject'. Make sure to only use property names that are defined by the type or mark the type as open type.", "parameters[0].subjects[0].objectType"}},
		{"provisionOnDemand subjects not a collection", "POST", jobPath + "/provisionOnDemand",
			`{"parameters":[{"ruleId":"AD2SCIM","subjects":{"objectId":"x","objectTypeName":"User"}}]}`,
			&Error{400, "BadRequest", "An unexpected 'StartObject' node was found when reading from the JSON reader. A 'StartArray' node was expected.", "parameters[0].subjects"}},
		{"restart", "POST", jobPath + "/restart", restartBody, nil},
		{"restart with empty scope", "POST", jobPath + "/restart", `{"criteria":{"resetScope":""}}`, nil},
		{"restart with null criteria", "POST", jobPath + "/restart", `{"criteria":null}`, nil},
		{"restart unknown scope", "POST", jobPath + "/restart", `{"criteria":{"resetScope":"Watermark,Everything"}}`,
			&Error{500, "InternalError", "Requested value 'Watermark,Everything' was not found.", "criteria.resetScope"}},
		{"restart criteria property misspelt", "POST", jobPath + "/restart", `{"criteria":{"scope":"Full"}}`,
			&Error{400, "BadRequest", "The property 'scope' does not exist on type 'microsoft.graph.synchronizationJobRestartCriteria'. Make sure to only use property names that are defined by the type or mark the type as open type.", "criteria.scope"}},

		// Reads carry no body worth checking.
		{"GET ignores a body", "GET", jobPath, `not json`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.ValidateRequest(tc.method, tc.path, []byte(tc.body))
			checkError(t, err, tc.want)
		})
	}
}

func checkError(t *testing.T, err error, want *Error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	var got *Error
	if !errors.As(err, &got) {
		t.Fatalf("want %+v, got %v", *want, err)
	}
	if *got != *want {
		t.Errorf("got  %+v\nwant %+v", *got, *want)
	}
}

func TestValidateEntity(t *testing.T) {
	s := spec(t)
	cases := []struct {
		name    string
		schema  string
		body    string
		partial bool
		want    *Error
	}{
		{"user PATCH", "microsoft.graph.user", `{"displayName":"Alice","accountEnabled":false,"mail":"alice@contoso.com"}`, true, nil},
		{"user PATCH extension", "microsoft.graph.user", `{"` + extension + `":"4711"}`, true, nil},
		{"user PATCH accountEnabled as string", "microsoft.graph.user", `{"accountEnabled":"no"}`, true,
			&Error{400, "Request_BadRequest", "Cannot convert a primitive value to the expected type 'Edm.Boolean'. See the inner exception for more details.", "accountEnabled"}},
		{"user PATCH unknown property", "microsoft.graph.user", `{"firstName":"Alice"}`, true,
			&Error{400, "Request_BadRequest", "Invalid property 'firstName'.", "firstName"}},
		{"user POST missing required", "microsoft.graph.user", `{"displayName":"Alice","accountEnabled":true}`, false,
			&Error{400, "Request_BadRequest", "Invalid value specified for property 'mailNickname' of resource 'User'.", "mailNickname"}},
		{"group POST", "microsoft.graph.group", `{"displayName":"Engineers","mailEnabled":false,"mailNickname":"engineers","securityEnabled":true}`, false, nil},
		{"synchronization job", "microsoft.graph.synchronizationJob", `{"templateId":5}`, true,
			&Error{400, "BadRequest", "Cannot convert the literal '5' to the expected type 'Edm.String'.", "templateId"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkError(t, s.ValidateEntity(tc.schema, []byte(tc.body), tc.partial), tc.want)
		})
	}
	if err := s.ValidateEntity("microsoft.graph.nothing", []byte(`{}`), true); err == nil || errors.As(err, new(*Error)) {
		t.Errorf("unknown schema name: got %v, want a plain error naming the schema", err)
	}
}

func TestOperation(t *testing.T) {
	s := spec(t)
	cases := []struct{ method, path, want string }{
		{"GET", "/applications(appId='2c9b1e4f-8a7d-4c3b-9e2f-1a0b9c8d7e6f')", "applications.application.GetApplicationByAppId"},
		{"PATCH", appPath, "applications.application.UpdateApplication"},
		{"patch", "/Applications/x/", "applications.application.UpdateApplication"},
		{"POST", appPath + "/addPassword?$select=keyId", "applications.application.addPassword"},
		{"POST", spPath + "/synchronization/jobs/validateCredentials", "servicePrincipals.servicePrincipal.synchronization.jobs.validateCredentials"},
		{"POST", jobPath + "/validateCredentials", "servicePrincipals.servicePrincipal.synchronization.jobs.synchronizationJob.validateCredentials"},
		{"PUT", jobPath + "/schema", "servicePrincipals.synchronization.jobs.SetSchema"},
		{"POST", jobPath + "/schema/parseExpression", "servicePrincipals.servicePrincipal.synchronization.jobs.synchronizationJob.schema.parseExpression"},
		{"GET", spPath + "/synchronization/secrets", "servicePrincipals.synchronization.ListSecrets"},
		{"GET", "/v1.0/auditLogs/provisioning", "auditLogs.ListProvisioning"},
	}
	for _, tc := range cases {
		got, ok := s.Operation(tc.method, tc.path)
		if !ok || got != tc.want {
			t.Errorf("Operation(%s %s) = %q, %v; want %q", tc.method, tc.path, got, ok, tc.want)
		}
	}
	for _, unknown := range []struct{ method, path string }{
		{"PATCH", "/users/3a1f5c2e-9b7d-4e6f-8a2c-1d0e9f8a7b6c"},
		{"POST", "/groups"},
		{"PATCH", jobPath + "/schema"}, // the SDKs' verb; 404 (microsoftgraph/msgraph-sdk-python#820)
		{"POST", "/applications/x/addKey"},
	} {
		if id, ok := s.Operation(unknown.method, unknown.path); ok {
			t.Errorf("Operation(%s %s) = %q, want no operation", unknown.method, unknown.path, id)
		}
		if err := s.ValidateRequest(unknown.method, unknown.path, []byte(`{}`)); !errors.Is(err, ErrUnknownOperation) {
			t.Errorf("ValidateRequest(%s %s) = %v, want ErrUnknownOperation", unknown.method, unknown.path, err)
		}
	}
}

// TestEveryBodyRejectsUnknownNames sends a body with a made-up property to every operation of the subset that
// reads a body, so that no operation is silently left unchecked.
func TestEveryBodyRejectsUnknownNames(t *testing.T) {
	s := spec(t)
	checked := 0
	for _, r := range s.routes {
		path := strings.NewReplacer("{", "", "}", "").Replace(r.template)
		for method, op := range r.ops {
			if op.body == nil && !op.isAction {
				continue
			}
			checked++
			err := s.ValidateRequest(method, path, []byte(`{"zzNotAProperty":1}`))
			var ve *Error
			if !errors.As(err, &ve) || ve.Property != "zzNotAProperty" || ve.Status != 400 {
				t.Errorf("%s %s (%s): got %v, want a 400 naming zzNotAProperty", method, r.template, op.id, err)
			}
		}
	}
	if checked != 19 {
		t.Errorf("checked %d operations with a body, want the subset's 19", checked)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := spec(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if err := s.ValidateRequest("PATCH", appPath, []byte(appPatchBody)); err != nil {
					t.Error(err)
				}
				if err := s.ValidateRequest("PATCH", appPath, []byte(`{"web":{"x":1}}`)); err == nil {
					t.Error("unknown property accepted")
				}
			}
		})
	}
	wg.Wait()
}

func TestErrorString(t *testing.T) {
	e := &Error{400, "Request_BadRequest", "Invalid property 'x'.", "x"}
	if got, want := e.Error(), "400 Request_BadRequest at x: Invalid property 'x'."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
