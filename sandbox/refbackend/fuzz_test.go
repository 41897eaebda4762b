package refbackend

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/secret"
)

// FuzzServer: any request to the SCIM API or the backend contract (with the ids of a real user and group
// spliced in) is answered without a panic: a status, and a SCIM error or a JSON body when it is an error. PATCH
// bodies exercise the PATCH parser, list queries the filter parser.
func FuzzServer(f *testing.F) {
	for _, s := range []struct {
		method uint8
		target string
		body   string
		token  bool
	}{
		{0, "/scim/v2/Users?filter=userName eq \"ada@contoso.com\"", "", true},
		{0, "/scim/v2/Groups?excludedAttributes=members&filter=displayName eq \"x\\\" or \\\"1\"", "", true},
		{0, "/scim/v2/Users?startIndex=-5&count=99999999999", "", true},
		{1, "/scim/v2/Users", fuzzUser, true},
		{2, "/scim/v2/Users/{user}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`, true},
		{2, "/scim/v2/Users/{user}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"x@y"}]}`, true},
		{2, "/scim/v2/Users/{user}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"name.givenName":"A","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":{"value":"{user}"}}}]}`, true},
		{2, "/scim/v2/Groups/{group}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"value":"{user}"}]},{"op":"Remove","path":"members[value eq \"{user}\"]"}]}`, true},
		{2, "/scim/v2/Groups/{group}", `{"Operations":[{"op":"remove","path":"members[value eq"}]}`, true},
		{3, "/scim/v2/Users/{user}", fuzzUser, true},
		{4, "/scim/v2/Users/{user}", "", true},
		{0, "/scim/v2/ServiceProviderConfig", "", false},
		{0, "/scim/v2//Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "", true},
		{1, "/v1/identity-providers/entra", `{"tenantId":"t","clientId":"c","clientSecret":"s","discoveryUrl":"https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration"}`, true},
		{3, "/v1/roles/ada@contoso.com", `{"role":"owner"}`, true},
		{3, "/v1/roles/%2e%2e", `{"role":1}`, true},
		{0, "/v1/roles", "", false},
	} {
		f.Add(s.method, s.target, []byte(s.body), s.token)
	}
	s, u, g := seededServer(f)
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete, http.MethodHead, "BREW"}

	f.Fuzz(func(t *testing.T, method uint8, target string, body []byte, withToken bool) {
		target = strings.NewReplacer("{user}", u, "{group}", g).Replace(target)
		body = bytes.ReplaceAll(bytes.ReplaceAll(body, []byte("{user}"), []byte(u)), []byte("{group}"), []byte(g))
		token := ""
		if withToken {
			token = testSCIMToken
			if strings.HasPrefix(target, "/v1/") {
				token = testBackendToken
			}
		}
		w := serve(s, methods[int(method)%len(methods)], target, body, token)
		if w == nil {
			t.Skip()
		}
		if w.Code < 100 || w.Code > 599 {
			t.Fatalf("status %d", w.Code)
		}
		if w.Code >= 400 && w.Code != http.StatusMethodNotAllowed && w.Code != http.StatusNotFound && w.Body.Len() > 0 && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%d answer is not JSON: %q", w.Code, w.Body)
		}
		s.ClearRequests()
	})
}

const fuzzUser = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@contoso.com","externalId":"e1","active":true,` +
	`"name":{"givenName":"Ada","familyName":"L"},"emails":[{"type":"work","value":"ada@contoso.com","primary":true}]}`

// seededServer is a server holding one user and one group, whose ids it returns.
func seededServer(f *testing.F) (s *Server, userID, groupID string) {
	s = New(Options{SCIMToken: secret.New(testSCIMToken), BackendToken: secret.New(testBackendToken), PublicBaseURL: "http://backend.local"})
	created := serve(s, http.MethodPost, "/scim/v2/Users", []byte(fuzzUser), testSCIMToken)
	group := serve(s, http.MethodPost, "/scim/v2/Groups", []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Smallstep Users"}`), testSCIMToken)
	var u, g struct{ ID string }
	if json.Unmarshal(created.Body.Bytes(), &u) != nil || json.Unmarshal(group.Body.Bytes(), &g) != nil || u.ID == "" || g.ID == "" {
		f.Fatalf("seeding: %d %s, %d %s", created.Code, created.Body, group.Code, group.Body)
	}
	return s, u.ID, g.ID
}

// serve sends one request to s; nil when the target is not a URL at all.
func serve(s *Server, method, target string, body []byte, token string) *httptest.ResponseRecorder {
	req, err := http.NewRequest(method, "http://backend.local"+target, bytes.NewReader(body))
	if err != nil {
		return nil
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/scim+json")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w
}

// FuzzPatch: any PATCH body on a user and on a group is applied or refused (400 with a SCIM error) without a
// panic, and the resource still reads back as JSON afterwards.
func FuzzPatch(f *testing.F) {
	op := func(ops string) []byte {
		return []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`)
	}
	for _, b := range [][]byte{
		op(`{"op":"Replace","path":"active","value":"False"}`),
		op(`{"op":"replace","value":{"active":false,"displayName":"x","name.familyName":"y"}}`),
		op(`{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@b"}`),
		op(`{"op":"Remove","path":"emails[type eq \"work\"]"}`),
		op(`{"op":"Add","path":"members","value":[{"value":"{user}"},{"value":"nobody"}]}`),
		op(`{"op":"Remove","path":"members[value eq \"{user}\"]"}`),
		op(`{"op":"Replace","path":"members","value":[]}`),
		op(`{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"{user}"}`),
		op(`{"op":"replace","path":"name","value":{"givenName":null}}`),
		op(`{"op":"replace","path":"emails[primary eq true and type eq \"work\"].value","value":1}`),
		op(`{"op":"copy","path":"x"}`), op(``), []byte(`{}`), []byte(`[`),
	} {
		f.Add(b)
	}
	s, userID, groupID := seededServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		body = bytes.ReplaceAll(body, []byte("{user}"), []byte(userID))
		for _, target := range []string{"/scim/v2/Users/" + userID, "/scim/v2/Groups/" + groupID} {
			w := serve(s, http.MethodPatch, target, body, testSCIMToken)
			if w.Code >= 400 && !json.Valid(w.Body.Bytes()) {
				t.Fatalf("PATCH %s answered %d without a SCIM error: %q", target, w.Code, w.Body)
			}
			if r := serve(s, http.MethodGet, target, nil, testSCIMToken); r.Code != http.StatusOK || !json.Valid(r.Body.Bytes()) {
				t.Fatalf("after PATCH %s, GET answered %d %q", target, r.Code, r.Body)
			}
		}
		s.ClearRequests()
	})
}
