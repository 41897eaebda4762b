package entra

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// odataQuote writes an OData string literal as idpctl's graph package does.
func odataQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// FuzzFilter: any $filter parses or is refused without a panic, and evaluates on every kind of object; a
// quoted literal is read back exactly, so `displayName eq '<any name>'` compares with that name and nothing else.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		"displayName eq 'Smallstep Users'", "x' or 1 eq 1 or displayName eq 'y", "startswith(displayName,'Small')",
		"tags/any(t:t eq 'idpctl')", "not(accountEnabled eq true)", "id in ('a','b')", "activityDateTime gt 2026-03-01T12:00:00Z",
		"((((((((((a eq 1))))))))))", "a eq", "'unterminated", "a eq 1 and", "-", "1.2.3", "servicePrincipal/id eq 'x' and jobId eq 'y'",
		"endswith(mail,'@contoso.com') or userPrincipalName eq null", "x/any(", "$count eq 1", "a eq 'it''s'",
	} {
		f.Add(s, "Smallstep Users")
	}
	objects := []object{
		{"id": "1", "displayName": "Smallstep Users", "tags": []any{"idpctl"}, "accountEnabled": true, "count": 3.0},
		{"id": "2", "displayName": nil, "servicePrincipal": map[string]any{"id": "x"}, "jobId": "y", "activityDateTime": "2026-03-01T12:00:01Z"},
		{},
	}
	f.Fuzz(func(t *testing.T, filter, name string) {
		if e, err := parseFilter(filter); err == nil {
			for _, o := range objects {
				e.eval(o, &evalEnv{})
				e.eval(o, &evalEnv{caseSensitive: true})
			}
			advancedOperator(e)
			e.unsupportedProperty([]string{"displayName"})
		}
		e, err := parseFilter("displayName eq " + odataQuote(name))
		if err != nil {
			t.Fatalf("the quoted literal %s does not parse: %v", odataQuote(name), err)
		}
		env := &evalEnv{caseSensitive: true}
		if !truthy(e.eval(object{"displayName": name}, env)) {
			t.Fatalf("displayName eq %s does not match the name it quotes", odataQuote(name))
		}
		if other := name + "x"; truthy(e.eval(object{"displayName": other}, env)) {
			t.Fatalf("displayName eq %s matches %q", odataQuote(name), other)
		}
	})
}

// FuzzSearch: any $search is parsed or refused without a panic.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{`"displayName:Small"`, `"displayName:a" OR "mail:b"`, `"`, `"x:"`, `"displayName:\"q\""`, `""`, `"a:b" AND`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, search string) {
		if c, err := parseSearch(search, []string{"displayName", "mail"}); err == nil {
			c.matches(object{"displayName": "Smallstep Users", "mail": nil})
		}
	})
}

// FuzzExpression: any attribute-mapping expression (a schema PUT carries them) parses or is refused without a
// panic, and evaluates without one.
func FuzzExpression(f *testing.F) {
	for _, s := range []string{
		`Switch([IsSoftDeleted], , "False", "True", "True", "False")`, `Coalesce([mail], [userPrincipalName])`, `Not([IsSoftDeleted])`,
		`Mid([surname], 1, 99999999999)`, `Left([givenName], -1)`, `Replace([mail], , "(?<x", , "y", , )`, `Join(",", [proxyAddresses])`,
		`SingleAppRoleAssignment([appRoleAssignments])`, `Item([proxyAddresses], 0)`, `IIF([country]="USA",[country],[department])`,
		`"unterminated`, `Switch(`, `[`, `ToLower([mail], "tr-TR")`, `FormatDateTime([x], , "yyyyMMdd", "yyyy")`, `Append(`, `StripSpaces(" a b ")`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		e, err := parseExpression(text)
		if err != nil {
			return
		}
		env := testEnv()
		_, _ = e.eval(env)
	})
}

// outboundSCIM answers every SCIM request the tenant's provisioning service sends with an empty list, at once.
type outboundSCIM struct{}

func (outboundSCIM) RoundTrip(req *http.Request) (*http.Response, error) {
	body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}`
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/scim+json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

// FuzzTenantHTTP: any request, with the ids of a real application, service principal, job, user and group
// spliced in, is answered without a panic: a status, and a Graph error envelope when it is an error.
func FuzzTenantHTTP(f *testing.F) {
	for _, s := range []struct {
		method      uint8
		target      string
		body        string
		contentType string
	}{
		{0, "/applications?$filter=displayName eq 'Smallstep'&$select=id,appId", "", ""},
		{0, "/groups?$filter=displayName eq 'x'' or 1 eq 1 or displayName eq ''y'&$top=999", "", ""},
		{0, "/users?$search=\"displayName:ad\"&$count=true&$orderby=displayName desc", "", ""},
		{0, "/groups/{group}/members/microsoft.graph.user?$top=1&$skiptoken=zzz", "", ""},
		{1, "/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate", `{"displayName":"x"}`, "application/json"},
		{2, "/applications/{app}", `{"signInAudience":"AzureADMultipleOrgs","web":{"redirectUris":["https://x"]},"optionalClaims":{"idToken":[{"name":"email"}]}}`, "application/json"},
		{1, "/applications/{app}/addPassword", `{"passwordCredential":{"displayName":"x","endDateTime":"2027-01-01T00:00:00Z"}}`, "application/json"},
		{1, "/servicePrincipals/{sp}/appRoleAssignedTo", `{"principalId":"{user}","resourceId":"{sp}","appRoleId":"00000000-0000-0000-0000-000000000000"}`, "application/json"},
		{3, "/servicePrincipals/{sp}/synchronization/jobs/{job}/schema", `{"synchronizationRules":[{"objectMappings":[{"attributeMappings":[{"source":{"expression":"Switch("}}]}]}]}`, "application/json"},
		{4, "/servicePrincipals/{sp}/synchronization/jobs/{job}/schema", `{}`, "application/json"},
		{3, "/servicePrincipals/{sp}/synchronization/secrets", `{"value":[{"key":"BaseAddress","value":"https://scim.example.com/scim"},{"key":"SecretToken","value":"t"}]}`, "application/json"},
		{1, "/servicePrincipals/{sp}/synchronization/jobs/{job}/start", ``, ""},
		{1, "/servicePrincipals/{sp}/synchronization/jobs/{job}/provisionOnDemand", `{"parameters":[{"ruleId":"x","subjects":[{"objectId":"{user}","objectTypeName":"User"}]}]}`, "application/json"},
		{1, "/servicePrincipals/{sp}/synchronization/jobs/validateCredentials", `{"templateId":"scim","credentials":[{"key":"BaseAddress","value":"https://h/scim"}]}`, "application/json"},
		{1, "/$batch", `{"requests":[{"id":"1","method":"GET","url":"/users/{user}"},{"id":"2","method":"POST","url":"/groups/{group}/members/$ref","body":{"@odata.id":"x"},"dependsOn":["1"]}]}`, "application/json"},
		{1, "/$batch", `{"requests":[{"id":"1","method":"GET","url":"/$batch"}]}`, "application/json"},
		{0, "/auditLogs/provisioning?$filter=jobId eq '{job}'&$orderby=activityDateTime desc", "", ""},
		{5, "/servicePrincipals/{sp}/appRoleAssignedTo/x", "", ""},
		{1, "/applications", "\x1f\x8b garbage", "application/json;gzip"},
		{0, "/../../etc/passwd", "", ""},
	} {
		f.Add(s.method, s.target, []byte(s.body), s.contentType)
	}
	tenant := New(Options{HTTPClient: &http.Client{Transport: outboundSCIM{}, Timeout: time.Second},
		Provisioning: ProvisioningOptions{ManualCycles: true}})
	f.Cleanup(func() { _ = tenant.Close() })
	demo, err := tenant.SeedDemo()
	if err != nil {
		f.Fatal(err)
	}
	serve := func(method, target string, body []byte, contentType string) *httptest.ResponseRecorder {
		req, err := http.NewRequest(method, "http://graph.local/v1.0"+target, bytes.NewReader(body))
		if err != nil {
			return nil
		}
		req.Header.Set("Authorization", "Bearer "+demo.AdminToken)
		if ct, gzipped := strings.CutSuffix(contentType, ";gzip"); gzipped {
			req.Header.Set("Content-Encoding", "gzip")
			contentType = ct
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("ConsistencyLevel", "eventual")
		w := httptest.NewRecorder()
		tenant.ServeHTTP(w, req)
		return w
	}
	ids := map[string]string{"{user}": demo.Users[0].ID, "{group}": demo.SmallstepUsers.ID}
	app := serve(http.MethodPost, "/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate", []byte(`{"displayName":"Fuzz"}`), "application/json")
	var created struct {
		Application      struct{ ID string }
		ServicePrincipal struct{ ID string }
	}
	if err := json.Unmarshal(app.Body.Bytes(), &created); err != nil || created.Application.ID == "" {
		f.Fatalf("instantiate: %d %s", app.Code, app.Body)
	}
	ids["{app}"], ids["{sp}"] = created.Application.ID, created.ServicePrincipal.ID
	job := serve(http.MethodPost, "/servicePrincipals/"+ids["{sp}"]+"/synchronization/jobs", []byte(`{"templateId":"scim"}`), "application/json")
	var createdJob struct{ ID string }
	if err := json.Unmarshal(job.Body.Bytes(), &createdJob); err != nil || createdJob.ID == "" {
		f.Fatalf("create job: %d %s", job.Code, job.Body)
	}
	ids["{job}"] = createdJob.ID
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete, http.MethodDelete, http.MethodHead, "BREW"}

	f.Fuzz(func(t *testing.T, method uint8, target string, body []byte, contentType string) {
		for placeholder, id := range ids {
			target = strings.ReplaceAll(target, placeholder, id)
			body = bytes.ReplaceAll(body, []byte(placeholder), []byte(id))
		}
		start := time.Now()
		w := serve(methods[int(method)%len(methods)], target, body, contentType)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("the answer took %v", d)
		}
		if w == nil {
			t.Skip()
		}
		if w.Code < 100 || w.Code > 599 {
			t.Fatalf("status %d", w.Code)
		}
		if w.Code >= 400 && w.Body.Len() > 0 {
			var env struct {
				Error *struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Error == nil || env.Error.Code == "" {
				t.Fatalf("%d answer is not Graph's error envelope: %s", w.Code, w.Body)
			}
		}
		tenant.ResetRequests()
	})
}
