package entra

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for rate limits and token expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	t      *testing.T
	tenant *Tenant
	srv    *httptest.Server
	demo   Demo
	clock  *fakeClock
	token  string
}

// newFixture starts a demo tenant behind a real HTTP server.
func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	tenant := New(opts)
	t.Cleanup(func() { _ = tenant.Close() })
	demo, err := tenant.SeedDemo()
	if err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	return &fixture{t: t, tenant: tenant, srv: srv, demo: demo, clock: clock, token: demo.AdminToken}
}

type reply struct {
	status int
	header http.Header
	raw    []byte
}

// json decodes the reply body as an object.
func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(r.raw, &out); err != nil {
		t.Fatalf("reply %d is not a JSON object: %v\n%s", r.status, err, r.raw)
	}
	return out
}

func (r reply) values(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, v := range r.json(t)["value"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// request sends a request with the fixture's admin token unless headers set Authorization ("" removes it).
func (f *fixture) request(method, path string, body any, headers ...string) reply {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, f.srv.URL+"/v1.0"+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, raw: raw}
}

func (f *fixture) get(path string, headers ...string) reply {
	return f.request(http.MethodGet, path, nil, headers...)
}

// must checks a status and returns the reply.
func (f *fixture) must(status int, r reply) reply {
	f.t.Helper()
	if r.status != status {
		f.t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// wantError checks Graph's error envelope: status, code and, when message is not empty, the message.
func wantError(t *testing.T, r reply, status int, code, message string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	body := r.json(t)
	e, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error envelope: %s", r.raw)
	}
	if e["code"] != code {
		t.Errorf("code %q, want %q (message %q)", e["code"], code, e["message"])
	}
	if message != "" && e["message"] != message {
		t.Errorf("message %q, want %q", e["message"], message)
	}
	inner, ok := e["innerError"].(map[string]any)
	if !ok || inner["request-id"] == "" || inner["date"] == "" || inner["client-request-id"] == "" {
		t.Errorf("innerError incomplete: %v", e["innerError"])
	}
}

// instantiate creates the non-gallery app and returns application and service principal.
func (f *fixture) instantiate(name string) (app, sp map[string]any) {
	f.t.Helper()
	r := f.must(http.StatusCreated, f.request(http.MethodPost, "/applicationTemplates/"+NonGalleryTemplateID+"/instantiate", map[string]any{"displayName": name}))
	body := r.json(f.t)
	return body["application"].(map[string]any), body["servicePrincipal"].(map[string]any)
}

func roleID(t *testing.T, sp map[string]any, name string) string {
	t.Helper()
	for _, r := range sp["appRoles"].([]any) {
		role := r.(map[string]any)
		if role["displayName"] == name {
			return role["id"].(string)
		}
	}
	t.Fatalf("no app role %q", name)
	return ""
}

func newServer(t *testing.T, tenant *Tenant) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	return srv
}

func urlEscape(s string) string { return url.QueryEscape(s) }
