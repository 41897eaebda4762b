package refbackend

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	tenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	clientID = "0f9a8c52-3d1b-4c8e-9a6f-1b2c3d4e5f60"
)

func registrationBody(tenant, client, clientSecret, discovery string) string {
	b, _ := json.Marshal(map[string]string{
		"tenantId": tenant, "clientId": client, "clientSecret": clientSecret, "discoveryUrl": discovery,
	})
	return string(b)
}

func publicDiscovery(tenant string) string {
	return "https://login.microsoftonline.com/" + tenant + "/v2.0/.well-known/openid-configuration"
}

type registered struct {
	ID   string `json:"id"`
	SCIM struct {
		BaseURL string `json:"baseUrl"`
		Token   string `json:"token"`
	} `json:"scim"`
}

func (ts *testServer) register(t *testing.T, wantStatus int, body string) registered {
	t.Helper()
	r := ts.do("POST", "/v1/identity-providers/entra", testBackendToken, body)
	if r.Status != wantStatus {
		t.Fatalf("register: status %d, want %d\n%s", r.Status, wantStatus, r.Body)
	}
	var out registered
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRegistrationIssuesWorkingSCIMCredentials(t *testing.T) {
	ts := newTestServer(t)
	first := ts.register(t, 201, registrationBody(tenantID, clientID, "secret-one~abcdefghijkl", publicDiscovery(tenantID)))
	if first.ID == "" || len(first.SCIM.Token) < 40 {
		t.Fatalf("registration answered id %q and a %d-character token", first.ID, len(first.SCIM.Token))
	}
	wantEqual(t, "scim.baseUrl", first.SCIM.BaseURL, ts.SCIMBaseURL())
	wantEqual(t, "SCIMBaseURL", ts.SCIMBaseURL(), ts.http.URL+"/scim/v2")

	// The issued token works against the SCIM base URL handed out.
	r := ts.do("GET", strings.TrimPrefix(first.SCIM.BaseURL, ts.http.URL)+"/ServiceProviderConfig", first.SCIM.Token, "")
	wantEqual(t, "ServiceProviderConfig with issued token", r.Status, 200)

	// Same tenant and client again: same id and token, 200. A new secret replaces the old one.
	again := ts.register(t, 200, registrationBody(tenantID, strings.ToUpper(clientID), "secret-one~abcdefghijkl", publicDiscovery(tenantID)))
	wantEqual(t, "id on repeat", again.ID, first.ID)
	wantEqual(t, "token on repeat", again.SCIM.Token, first.SCIM.Token)
	rotated := ts.register(t, 200, registrationBody(tenantID, clientID, "secret-two~abcdefghijkl", publicDiscovery(tenantID)))
	wantEqual(t, "id on rotation", rotated.ID, first.ID)
	wantEqual(t, "token on rotation", rotated.SCIM.Token, first.SCIM.Token)
	regs := ts.Registrations()
	if len(regs) != 1 {
		t.Fatalf("%d registrations, want 1", len(regs))
	}
	wantEqual(t, "stored secret after rotation", regs[0].ClientSecret.Reveal(), "secret-two~abcdefghijkl")
	wantEqual(t, "rotations", regs[0].SecretRotations, 1)

	// Another app gets its own token; both stay valid (tokens are per registration).
	otherClient := "11111111-2222-3333-4444-555555555555"
	usgov := "https://login.microsoftonline.us/" + tenantID + "/v2.0/.well-known/openid-configuration"
	second := ts.register(t, 201, registrationBody(tenantID, otherClient, "secret-three~abcdefgh", usgov))
	if second.ID == first.ID || second.SCIM.Token == first.SCIM.Token {
		t.Errorf("second app shares the first's id or token")
	}
	for _, tok := range []string{first.SCIM.Token, second.SCIM.Token, testSCIMToken} {
		wantEqual(t, "GET /Users with a registered token", ts.do("GET", "/scim/v2/Users", tok, "").Status, 200)
	}
	china := "https://login.chinacloudapi.cn/" + tenantID + "/v2.0/.well-known/openid-configuration"
	ts.register(t, 201, registrationBody(tenantID, "22222222-2222-3333-4444-555555555555", "secret-four~abcdefgh", china))

	// Secrets appear in no printed or encoded form of a registration.
	for _, reg := range ts.Registrations() {
		js, _ := json.Marshal(reg)
		for _, form := range []string{fmt.Sprintf("%v", reg), fmt.Sprintf("%+v", reg), fmt.Sprintf("%#v", reg), string(js)} {
			if strings.Contains(form, reg.ClientSecret.Reveal()) || strings.Contains(form, reg.SCIMToken.Reveal()) {
				t.Errorf("a registration printed a secret: %s", form)
			}
		}
	}
}

func TestRegistrationValidationNamesTheField(t *testing.T) {
	ts := newTestServer(t)
	good := publicDiscovery(tenantID)
	cases := []struct {
		name, body, field string
	}{
		{"tenant not a GUID", registrationBody("contoso.onmicrosoft.com", clientID, "s", good), "tenantId"},
		{"tenant in braces", registrationBody("{"+tenantID+"}", clientID, "s", good), "tenantId"},
		{"client missing", registrationBody(tenantID, "", "s", good), "clientId"},
		{"secret empty", registrationBody(tenantID, clientID, "  ", good), "clientSecret"},
		{"discovery over http", registrationBody(tenantID, clientID, "s", strings.Replace(good, "https:", "http:", 1)), "discoveryUrl"},
		{"discovery of another tenant", registrationBody(tenantID, clientID, "s", publicDiscovery(clientID)), "discoveryUrl"},
		{"discovery v1 endpoint", registrationBody(tenantID, clientID, "s", "https://login.microsoftonline.com/"+tenantID+"/.well-known/openid-configuration"), "discoveryUrl"},
		{"discovery foreign host", registrationBody(tenantID, clientID, "s", "https://login.example.com/"+tenantID+"/v2.0/.well-known/openid-configuration"), "discoveryUrl"},
		{"discovery with query", registrationBody(tenantID, clientID, "s", good+"?appid=x"), "discoveryUrl"},
		{"wrong type", `{"tenantId":42}`, "tenantId"},
		{"unknown field", `{"tenantId":"` + tenantID + `","clientSecrett":"x"}`, ""},
		{"not JSON", `tenantId=x`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do("POST", "/v1/identity-providers/entra", testBackendToken, c.body)
			wantEqual(t, "status", r.Status, 400)
			e, _ := r.JSON(t)["error"].(map[string]any)
			if c.field == "" {
				if e["field"] != nil {
					t.Errorf("error names field %v", e["field"])
				}
			} else {
				wantEqual(t, "error.field", e["field"], any(c.field))
			}
			if msg, _ := e["message"].(string); msg == "" || (c.field != "" && !strings.Contains(msg, c.field)) {
				t.Errorf("message %q does not name %s", msg, c.field)
			}
		})
	}
	if len(ts.Registrations()) != 0 {
		t.Errorf("an invalid request registered something")
	}
}

func TestContractRequiresBackendToken(t *testing.T) {
	ts := newTestServer(t)
	body := registrationBody(tenantID, clientID, "s", publicDiscovery(tenantID))
	for _, token := range []string{"", "wrong", testSCIMToken} {
		r := ts.do("POST", "/v1/identity-providers/entra", token, body)
		wantEqual(t, "status with token "+token, r.Status, 401)
		if e, _ := r.JSON(t)["error"].(map[string]any); e["code"] != "unauthorized" {
			t.Errorf("401 body = %s", r.Body)
		}
		wantEqual(t, "roles status with token "+token, ts.do("GET", "/v1/roles", token, "").Status, 401)
		wantEqual(t, "registration check with token "+token, ts.do("GET", "/v1/registration", token, "").Status, 401)
	}
	wantEqual(t, "roles with the right token", ts.do("GET", "/v1/roles", testBackendToken, "").Status, 200)

	// The contract's check: the token is good and the backend takes Entra registrations; nothing is written.
	r := ts.do("GET", "/v1/registration", testBackendToken, "")
	wantEqual(t, "registration check with the right token", r.Status, 200)
	wantEqual(t, "registration check body", strings.TrimSpace(r.Body), `{"identityProviders":["entra"]}`)
	wantEqual(t, "registrations after the check", len(ts.Registrations()), 0)

	// A server configured without a backend token refuses the contract altogether, even an empty bearer.
	bare := httptest.NewServer(New(Options{}))
	defer bare.Close()
	for _, auth := range []string{"", "Bearer ", "Bearer x"} {
		req, _ := http.NewRequest("GET", bare.URL+"/v1/roles", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := bare.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		wantEqual(t, "tokenless server with "+auth, resp.StatusCode, 401)
	}
}

func TestRoles(t *testing.T) {
	ts := newTestServer(t)
	created := ts.mustSCIM(201, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Adele.Vance@contoso.com"}`)
	id := created.JSON(t)["id"].(string)

	wantEqual(t, "PUT owner", ts.do("PUT", "/v1/roles/adele.vance@contoso.com", testBackendToken, `{"role":"owner"}`).Status, 204)
	wantEqual(t, "role", ts.Roles()["Adele.Vance@contoso.com"], RoleOwner)
	wantEqual(t, "PUT admin", ts.do("PUT", "/v1/roles/Adele.Vance@contoso.com", testBackendToken, `{"role":"admin"}`).Status, 204)

	bad := ts.do("PUT", "/v1/roles/Adele.Vance@contoso.com", testBackendToken, `{"role":"superuser"}`)
	wantEqual(t, "PUT superuser", bad.Status, 400)
	wantEqual(t, "bad role field", bad.JSON(t)["error"].(map[string]any)["field"], any("role"))
	missing := ts.do("PUT", "/v1/roles/nobody@contoso.com", testBackendToken, `{"role":"member"}`)
	wantEqual(t, "PUT for unknown user", missing.Status, 404)

	list := ts.do("GET", "/v1/roles", testBackendToken, "")
	wantEqual(t, "GET roles", list.Status, 200)
	wantEqual(t, "GET roles body", strings.TrimSpace(list.Body), `{"roles":[{"userName":"Adele.Vance@contoso.com","role":"admin"}]}`)

	// The role follows the user through a rename and goes away with the user.
	ts.mustSCIM(204, "PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"userName","value":"adele@contoso.com"}`))
	wantEqual(t, "role after rename", ts.Roles()["adele@contoso.com"], RoleAdmin)
	ts.mustSCIM(204, "DELETE", "/Users/"+id, "")
	wantEqual(t, "roles after delete", len(ts.Roles()), 0)
}
