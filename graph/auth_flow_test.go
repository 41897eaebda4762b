package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/idpctl/idpctl/sandbox/entra"
)

// fakeAuthority answers what MSAL asks of an Entra authority for a client credentials sign-in: the tenant's
// OpenID configuration and its token endpoint, which checks the client secret and hands out token.
func fakeAuthority(t *testing.T, tenantID, clientID, clientSecret, token string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var tokenRequests atomic.Int64
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := srv.URL + "/" + tenantID
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
			json.NewEncoder(w).Encode(map[string]any{
				"issuer":                        base + "/v2.0",
				"authorization_endpoint":        base + "/oauth2/v2.0/authorize",
				"token_endpoint":                base + "/oauth2/v2.0/token",
				"device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
				"jwks_uri":                      srv.URL + "/common/discovery/v2.0/keys",
			})
		case r.Method == http.MethodPost && r.URL.Path == "/"+tenantID+"/oauth2/v2.0/token":
			tokenRequests.Add(1)
			if err := r.ParseForm(); err != nil {
				t.Errorf("token request: %v", err)
			}
			if r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != clientSecret {
				w.WriteHeader(http.StatusUnauthorized)
				json.NewEncoder(w).Encode(map[string]any{
					"error":             "invalid_client",
					"error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + clientID + "'.\r\nTrace ID: 0000aaaa-11bb-cccc-dd33-eeeeee333333\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2026-01-09 02:02:12Z",
					"error_codes":       []int{7000215},
					"trace_id":          "0000aaaa-11bb-cccc-dd33-eeeeee333333",
				})
				return
			}
			// MSAL appends the OpenID Connect scopes to every request.
			if scope := strings.Fields(r.PostForm.Get("scope")); len(scope) == 0 || scope[0] != "https://graph.microsoft.com/.default" {
				t.Errorf("token request for scope %q", scope)
			}
			json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})
		default:
			t.Errorf("fake authority: unexpected %s %s", r.Method, r.URL)
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &tokenRequests
}

// TestEnvironmentSignInFlowLogsNoSecret signs in with a client secret through azidentity against a fake
// authority, then runs preflight against the simulated tenant with the token it issued, with every debug line
// captured: the log shows the sign-in and Graph requests, never the secret or the token. A wrong secret is
// explained (AADSTS7000215), with Entra's raw answer in the debug log only.
func TestEnvironmentSignInFlowLogsNoSecret(t *testing.T) {
	const (
		clientID     = "5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f"
		clientSecret = "Qz8~client.secret-value-never-printed"
	)
	tenant := entra.New(entra.Options{})
	demo, err := tenant.SeedDemo()
	if err != nil {
		t.Fatal(err)
	}
	token := mustToken(t, tenant, entra.TokenRequest{AppID: clientID, Roles: ApplicationPermissions()})
	graphURL := simulatedTenant(t, tenant, nil)
	authority, tokenRequests := fakeAuthority(t, demo.TenantID, clientID, clientSecret, token)
	testCloud := Cloud{Name: "test", AuthorityHost: strings.TrimPrefix(authority.URL, "https://"), GraphHost: "graph.microsoft.com"}

	signIn := func(secretValue string, log *syncBuffer) (*Credential, error) {
		return SignIn(context.Background(), SignInOptions{
			Method: MethodEnvironment, Cloud: testCloud, HTTPClient: authority.Client(), Logger: debugLogger(log),
			Getenv: envOf("AZURE_TENANT_ID", demo.TenantID, "AZURE_CLIENT_ID", clientID, "AZURE_CLIENT_SECRET", secretValue),
		})
	}

	var log syncBuffer
	cred, err := signIn(clientSecret, &log)
	if err != nil {
		t.Fatal(err)
	}
	client, err := New(Config{BaseURL: graphURL, Cloud: testCloud, Credential: cred, Scopes: cred.Scopes(), Logger: debugLogger(&log)})
	if err != nil {
		t.Fatal(err)
	}
	claims, readable, err := cred.Claims(context.Background())
	if err != nil || !readable {
		t.Fatalf("claims: %v (readable %v)", err, readable)
	}
	report, err := client.Preflight(context.Background(), PreflightRequest{TenantID: demo.TenantID, Claims: &claims, AssignGroups: true, Method: cred.Method()})
	if err != nil || report.Err() != nil {
		t.Fatalf("preflight = %v, %v", err, report.Err())
	}
	if n := tokenRequests.Load(); n != 1 {
		t.Errorf("%d token requests, want 1 (later ones are served from the credential's cache)", n)
	}
	out := log.String()
	for _, want := range []string{`msg="sign-in request" method=POST url=` + authority.URL + "/" + demo.TenantID + "/oauth2/v2.0/token status=200",
		`msg="graph request" method=GET`, "/subscribedSkus"} {
		if !strings.Contains(out, want) {
			t.Errorf("the debug log lacks %q:\n%s", want, out)
		}
	}
	assertNoSecrets(t, out, clientSecret, token)

	var failed syncBuffer
	_, err = signIn("wrong-"+clientSecret, &failed)
	var se *SignInError
	if !errors.As(err, &se) || se.Code != 7000215 || !strings.Contains(err.Error(), "AZURE_CLIENT_SECRET is not a valid secret of application "+clientID) {
		t.Fatalf("wrong secret: %v", err)
	}
	if strings.Contains(err.Error(), "Trace ID") {
		t.Errorf("the error carries Entra's raw answer: %v", err)
	}
	if !strings.Contains(failed.String(), "Trace ID: 0000aaaa-11bb-cccc-dd33-eeeeee333333") {
		t.Errorf("the raw answer is not in the debug log:\n%s", failed.String())
	}
	assertNoSecrets(t, failed.String()+err.Error(), clientSecret, token)
}

// assertNoSecrets fails when text holds any secret, or a long piece of one (a token cut by a log line).
func assertNoSecrets(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for i := 0; i+16 <= len(s); i += 8 {
			if strings.Contains(text, s[i:i+16]) {
				t.Errorf("a secret leaked (%q…):\n%s", s[i:i+16], text)
				break
			}
		}
	}
}
