package graph

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/idpctl/idpctl/secret"
)

func TestNewRefuses(t *testing.T) {
	cred := StaticToken(secret.New(testToken))
	for name, cfg := range map[string]Config{
		"no credential":           {BaseURL: DefaultBaseURL},
		"http to a remote host":   {BaseURL: "http://graph.example.com/v1.0", Credential: cred},
		"relative URL":            {BaseURL: "/v1.0", Credential: cred},
		"another scheme":          {BaseURL: "ftp://graph.microsoft.com/v1.0", Credential: cred},
		"http to a private range": {BaseURL: "http://10.0.0.5:8080/v1.0", Credential: cred},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	for _, base := range []string{"", "http://127.0.0.1:8080/v1.0", "http://localhost:8080/v1.0/", "http://[::1]:8080/v1.0", "https://sandbox.example.com/v1.0"} {
		if _, err := New(Config{BaseURL: base, Credential: cred}); err != nil {
			t.Errorf("New(%q): %v", base, err)
		}
	}
}

// recordingCredential remembers the scopes it was asked for.
type recordingCredential struct {
	mu     sync.Mutex
	scopes [][]string
}

func (r *recordingCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scopes = append(r.scopes, o.Scopes)
	return azcore.AccessToken{Token: testToken, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// cannedTransport answers every request with an empty organization list and records it.
type cannedTransport struct {
	mu       sync.Mutex
	requests []*http.Request
}

func (c *cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.requests = append(c.requests, r)
	c.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, ContentLength: -1,
		Body: io.NopCloser(strings.NewReader(`{"value":[{"id":"` + tenantID + `"}]}`)), Request: r}, nil
}

func TestTokenScopeAndHostPerCloud(t *testing.T) {
	for _, tc := range []struct{ base, scope string }{
		{DefaultBaseURL, "https://graph.microsoft.com/.default"},
		{"https://graph.microsoft.us/v1.0", "https://graph.microsoft.us/.default"},
		{"https://microsoftgraph.chinacloudapi.cn/v1.0", "https://microsoftgraph.chinacloudapi.cn/.default"},
		// --graph-url pointing elsewhere (a proxy, a simulated tenant): the token still is for Graph, and
		// it is attached although the SDK's allow-list does not know the host.
		{"https://graph-proxy.contoso.com/v1.0", "https://graph.microsoft.com/.default"},
	} {
		cred := &recordingCredential{}
		transport := &cannedTransport{}
		c, err := New(Config{BaseURL: tc.base, Credential: cred, HTTPClient: &http.Client{Transport: transport}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Organization(context.Background()); err != nil {
			t.Fatalf("%s: %v", tc.base, err)
		}
		if len(cred.scopes) != 1 || len(cred.scopes[0]) != 1 || cred.scopes[0][0] != tc.scope {
			t.Errorf("%s: scopes asked = %v, want [%s]", tc.base, cred.scopes, tc.scope)
		}
		r := transport.requests[0]
		if got := r.URL.String(); got != tc.base+"/organization" {
			t.Errorf("%s: request URL %s", tc.base, got)
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			t.Errorf("%s: no token attached", tc.base)
		}
	}
	// Explicit scopes win.
	cred := &recordingCredential{}
	c, err := New(Config{Credential: cred, Scopes: []string{"api://custom/.default"}, HTTPClient: &http.Client{Transport: &cannedTransport{}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Organization(context.Background()); err != nil || cred.scopes[0][0] != "api://custom/.default" {
		t.Errorf("scopes = %v, err %v", cred.scopes, err)
	}
}

func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"typ":"JWT","alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".c2lnbmF0dXJl"
}

func TestStaticToken(t *testing.T) {
	ctx := context.Background()
	exp := time.Now().Add(30 * time.Minute).Truncate(time.Second)
	live := jwt(fmt.Sprintf(`{"aud":"https://graph.microsoft.com","exp":%d,"tid":"%s"}`, exp.Unix(), tenantID))
	tok, err := StaticToken(secret.New(live)).GetToken(ctx, policy.TokenRequestOptions{})
	if err != nil || tok.Token != live || !tok.ExpiresOn.Equal(exp) {
		t.Errorf("live JWT: %v, expires %v, want %v", err, tok.ExpiresOn, exp)
	}

	expired := jwt(`{"aud":"https://graph.microsoft.com","exp":1700000000}`)
	_, err = StaticToken(secret.New(expired)).GetToken(ctx, policy.TokenRequestOptions{})
	if err == nil || !strings.Contains(err.Error(), "expired at 2023-11-14T22:13:20Z") || strings.Contains(err.Error(), expired) {
		t.Errorf("expired JWT: err = %v", err)
	}

	tok, err = StaticToken(secret.New("opaque-sandbox-token")).GetToken(ctx, policy.TokenRequestOptions{})
	if err != nil || tok.Token != "opaque-sandbox-token" || tok.ExpiresOn.Before(time.Now()) {
		t.Errorf("opaque token: %+v, %v", tok, err)
	}
	if _, err := StaticToken(secret.Value{}).GetToken(ctx, policy.TokenRequestOptions{}); err == nil ||
		!strings.Contains(err.Error(), "IDPCTL_ACCESS_TOKEN") {
		t.Errorf("no token: err = %v", err)
	}
	if s := fmt.Sprintf("%+v %#v", StaticToken(secret.New(live)), StaticToken(secret.New(live))); strings.Contains(s, live) {
		t.Errorf("the credential prints its token: %s", s)
	}
}

// TestDebugLogCarriesNoSecret runs calls that send or receive every kind of secret with a debug logger and
// checks the log: request lines are there, secrets are not.
func TestDebugLogCarriesNoSecret(t *testing.T) {
	const secretText = "Qx98Q~sEcReTtExTvAlUe0123456789abcdefghij"
	f := newFakeGraph(t,
		stub{method: "POST", path: "/applications/" + appObjectID + "/addPassword", status: http.StatusTooManyRequests,
			respHeader: http.Header{"Retry-After": {"1"}}, body: `{"passwordCredential":{"displayName":"idpctl"}}`,
			resp: graphError("TooManyRequests", "Please retry again later.", "r1")},
		stub{method: "POST", path: "/applications/" + appObjectID + "/addPassword", body: `{"passwordCredential":{"displayName":"idpctl"}}`,
			resp: `{"displayName":"idpctl","hint":"Qx9","keyId":"f47ac10b-58cc-4372-a567-0e02b2c3d479","secretText":"` + secretText + `",
			  "startDateTime":"2026-11-29T10:00:00Z","endDateTime":"2028-11-29T10:00:00Z"}`},
		stub{method: "PUT", path: syncPath + "/secrets", status: http.StatusBadRequest,
			body: `{"value":[{"key":"BaseAddress","value":"` + scimURL + `"},{"key":"SecretToken","value":"` + scimToken + `"}]}`,
			resp: graphError("BadRequest", "Token "+scimToken+" rejected", "r3")},
	)
	var logged bytes.Buffer
	c, _ := newTestClient(t, f, func(cfg *Config) {
		cfg.Logger = slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()
	p, err := c.AddPassword(ctx, appObjectID, "idpctl", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	err = c.SaveSyncSecrets(ctx, spObjectID, []SyncSecret{{Key: "BaseAddress", Value: secret.New(scimURL)}, {Key: "SecretToken", Value: secret.New(scimToken)}})
	if err == nil {
		t.Fatal("want the 400")
	}
	c.log.Debug("result", "password", p, "error", err)

	out := logged.String()
	for _, s := range []string{testToken, "Bearer", secretText, scimToken} {
		if strings.Contains(out, s) {
			t.Errorf("the debug log contains %q:\n%s", s, out)
		}
	}
	for _, s := range []string{`"msg":"graph request"`, `"status":429`, `"request-id":"req-1"`, `"msg":"graph retry"`, `"reason":"throttled"`,
		`"method":"PUT"`, "/synchronization/secrets"} {
		if !strings.Contains(out, s) {
			t.Errorf("the debug log lacks %s:\n%s", s, out)
		}
	}
}

type failingCredential struct{ err error }

func (f failingCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, f.err
}

func TestSignInFailureKeepsItsCause(t *testing.T) {
	cause := errors.New("AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication")
	transport := &cannedTransport{}
	c, err := New(Config{Credential: failingCredential{cause}, HTTPClient: &http.Client{Transport: transport}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Me(context.Background())
	if !errors.Is(err, cause) || asError(err) != nil || !strings.HasPrefix(err.Error(), "GET /me: AADSTS50076") {
		t.Errorf("err = %v, want the credential's error, named by operation", err)
	}
	if len(transport.requests) != 0 {
		t.Errorf("%d requests were sent without a token", len(transport.requests))
	}
}
