package refbackend

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idpctl/idpctl/secret"
)

const (
	testSCIMToken    = "scim-token-0123456789abcdef"
	testBackendToken = "backend-token-0123456789abcdef"
)

// fakeClock moves only when told; After channels fire when Advance passes their deadline.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	return ch
}

func (c *fakeClock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
			continue
		}
		kept = append(kept, w)
	}
	c.waiters = kept
}

// testServer is a Server behind a real HTTP listener.
type testServer struct {
	*Server
	t     *testing.T
	http  *httptest.Server
	clock *fakeClock
}

func newTestServer(t *testing.T, change ...func(*Options)) *testServer {
	t.Helper()
	clock := newFakeClock()
	opts := Options{
		BackendToken: secret.New(testBackendToken),
		SCIMToken:    secret.New(testSCIMToken),
		Clock:        clock,
	}
	for _, ch := range change {
		ch(&opts)
	}
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	s.SetPublicBaseURL(ts.URL)
	return &testServer{Server: s, t: t, http: ts, clock: clock}
}

// response is an HTTP answer with its body read.
type response struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body into a generic map, failing the test if it is not a JSON object.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// do sends a request to the server; path is absolute ("/scim/v2/Users?...").
func (ts *testServer) do(method, path, token, body string) response {
	ts.t.Helper()
	return ts.doContext(context.Background(), method, path, token, body)
}

func (ts *testServer) doContext(ctx context.Context, method, path, token, body string) response {
	ts.t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, ts.http.URL+path, reader)
	if err != nil {
		ts.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := ts.http.Client().Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(raw)}
}

// scim sends an authenticated SCIM request; path is relative to the SCIM base ("/Users").
func (ts *testServer) scim(method, path, body string) response {
	ts.t.Helper()
	return ts.do(method, DefaultSCIMPath+path, testSCIMToken, body)
}

// mustSCIM sends a SCIM request and fails the test unless the status is want.
func (ts *testServer) mustSCIM(want int, method, path, body string) response {
	ts.t.Helper()
	r := ts.scim(method, path, body)
	if r.Status != want {
		ts.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, r.Status, want, r.Body)
	}
	return r
}

func (ts *testServer) user(id string) Resource {
	ts.t.Helper()
	u, ok := ts.User(id)
	if !ok {
		ts.t.Fatalf("no stored user %s", id)
	}
	return u
}

func (ts *testServer) group(id string) Resource {
	ts.t.Helper()
	g, ok := ts.Group(id)
	if !ok {
		ts.t.Fatalf("no stored group %s", id)
	}
	return g
}

func wantEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
