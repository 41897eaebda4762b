package backend

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idpctl/idpctl/secret"
)

const testUserAgent = "idpctl/v1.2.3 (go1.26.8; linux/amd64)"

// TestEveryRequestNamesIdpctl: each kind of request idpctl sends to a SaaS (the SCIM probe, the SCIM read-back,
// the backend registration and role, a retry after 429) carries the User-Agent WithUserAgent was given.
func TestEveryRequestNamesIdpctl(t *testing.T) {
	fake := &fakeSCIM{prefix: "/scim/v2", users: []map[string]any{{"id": "u1", "userName": "ada@contoso.com", "active": true}}}
	scimSrv := httptest.NewServer(fake)
	defer scimSrv.Close()
	client := WithUserAgent(scimSrv.Client(), testUserAgent)
	ctx := context.Background()

	if _, err := Probe(ctx, client, nil, scimOf(scimSrv.URL+"/scim/v2")); err != nil {
		t.Fatal(errText(t, err))
	}
	reader, err := NewReader(client, nil, scimOf(scimSrv.URL+"/scim/v2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.FindUserByUserName(ctx, "ada@contoso.com"); err != nil {
		t.Fatal(errText(t, err))
	}
	if _, err := reader.Users(ctx); err != nil {
		t.Fatal(errText(t, err))
	}
	scimRequests := fake.received()
	if len(scimRequests) < 5 {
		t.Errorf("%d SCIM requests, want at least 5 (3 probe, 2 read-back)", len(scimRequests))
	}

	s := newStub(t)
	throttled := false
	s.on(http.MethodPost, registerPath, func(w http.ResponseWriter, r *http.Request) {
		if !throttled {
			throttled = true
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		registered(w, r)
	})
	s.on(http.MethodPut, "/api/v1/roles/ada@contoso.com", answer(204, "", ""))
	h, err := NewHTTP(s.URL+"/api/", secret.New(backendToken), WithUserAgent(s.Client(), testUserAgent), &sleeper{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Register(ctx, registration()); err != nil {
		t.Fatal(errText(t, err))
	}
	if err := h.SetRole(ctx, "ada@contoso.com", RoleOwner); err != nil {
		t.Fatal(errText(t, err))
	}
	backendRequests := s.received()
	if len(backendRequests) != 3 {
		t.Errorf("%d backend requests, want 3 (register, its retry, role)", len(backendRequests))
	}

	for _, r := range append(scimRequests, backendRequests...) {
		if got := r.Header.Get("User-Agent"); got != testUserAgent {
			t.Errorf("%s %s: User-Agent %q, want %q", r.Method, r.Path, got, testUserAgent)
		}
	}
}

// TestWithUserAgentLeavesTheClientAlone: the wrapped copy keeps the timeout and the caller's client is unchanged.
func TestWithUserAgentLeavesTheClientAlone(t *testing.T) {
	base := &http.Client{Timeout: 42}
	c := WithUserAgent(base, testUserAgent)
	if base.Transport != nil || c.Timeout != 42 || c.Transport == nil {
		t.Errorf("base transport %v, copy timeout %v", base.Transport, c.Timeout)
	}
}
