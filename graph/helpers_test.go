package graph

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox/openapi"
	"github.com/idpctl/idpctl/secret"
)

const testToken = "eyJ0eXAiOiJKV1QifQ.test-access-token-9f8e7d6c5b4a.sig"

// loadSpec compiles the OpenAPI subset once for the whole test binary (it takes tens of milliseconds).
var loadSpec = sync.OnceValues(openapi.Load)

// stub is one request the fake Graph expects, in order, and its answer.
type stub struct {
	method string
	path   string     // after /v1.0, decoded
	query  url.Values // exact; nil means no query at all
	header http.Header
	body   string // expected JSON body, compared as JSON; "" means no body

	status     int
	respHeader http.Header
	resp       string // answer body; JSON unless respHeader says otherwise
	// lost drops the connection after reading the request, without an answer: Graph may have done it.
	lost bool
}

// fakeGraph is an httptest server that answers a script of stubs and fails the test on any request that
// differs from the next stub (method, path, query, headers, body), on any body Microsoft's OpenAPI description
// rejects, and on stubs left unused when the test ends.
type fakeGraph struct {
	t    *testing.T
	srv  *httptest.Server
	mu   sync.Mutex
	plan []stub
	next int
	seen []*http.Request
	// bodies holds each request body as sent (after gunzip, if it was gzipped).
	bodies [][]byte
}

func newFakeGraph(t *testing.T, plan ...stub) *fakeGraph {
	t.Helper()
	f := &fakeGraph{t: t, plan: plan}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.next != len(f.plan) {
			t.Errorf("fake Graph: %d of %d expected requests were never sent; the first missing: %s %s",
				len(f.plan)-f.next, len(f.plan), f.plan[f.next].method, f.plan[f.next].path)
		}
	})
	return f
}

func (f *fakeGraph) baseURL() string { return f.srv.URL + "/v1.0" }

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	t := f.t
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("read body: %v", err)
	}
	body := raw
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			// What Graph does with a body that does not match its Content-Encoding (kiota-http-go#183).
			t.Errorf("%s %s: body is not gzip although Content-Encoding says so", r.Method, r.URL.Path)
			writeError(w, 400, "BadRequest", "Unable to read JSON request payload.")
			return
		}
		body, _ = io.ReadAll(zr)
	}
	f.mu.Lock()
	f.seen = append(f.seen, r)
	f.bodies = append(f.bodies, body)
	if f.next >= len(f.plan) {
		f.mu.Unlock()
		t.Errorf("fake Graph: unexpected request %s %s (no more stubs)", r.Method, r.URL.String())
		writeError(w, 500, "UnexpectedRequest", "no stub")
		return
	}
	s := f.plan[f.next]
	f.next++
	f.mu.Unlock()

	path := strings.TrimPrefix(r.URL.Path, "/v1.0")
	where := fmt.Sprintf("request %d (%s %s)", f.next, s.method, s.path)
	if r.Method != s.method || path != s.path {
		t.Errorf("%s: got %s %s", where, r.Method, path)
	}
	q := r.URL.Query()
	if len(q) == 0 {
		q = nil
	}
	if !reflect.DeepEqual(q, s.query) {
		t.Errorf("%s: query = %v, want %v", where, q, s.query)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("%s: Authorization = %q, want the bearer token", where, got)
	}
	for k, vs := range s.header {
		if got := r.Header.Values(k); !reflect.DeepEqual(got, vs) {
			t.Errorf("%s: header %s = %q, want %q", where, k, got, vs)
		}
	}
	if s.header.Get("ConsistencyLevel") == "" && r.Header.Get("ConsistencyLevel") != "" {
		t.Errorf("%s: unexpected ConsistencyLevel header %q", where, r.Header.Get("ConsistencyLevel"))
	}
	switch {
	case s.body == "" && len(bytes.TrimSpace(body)) > 0:
		t.Errorf("%s: unexpected body %s", where, body)
	case s.body != "":
		if !jsonEqual(body, []byte(s.body)) {
			t.Errorf("%s: body\n got %s\nwant %s", where, body, s.body)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type = %q", where, ct)
		}
	}
	if len(bytes.TrimSpace(body)) > 0 {
		validateBody(t, where, r.Method, path, body)
	}

	if s.lost {
		panic(http.ErrAbortHandler)
	}
	for k, vs := range s.respHeader {
		w.Header()[k] = vs
	}
	if s.resp != "" && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	if w.Header().Get("request-id") == "" {
		w.Header().Set("request-id", fmt.Sprintf("req-%d", f.next))
	}
	status := s.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, s.resp)
}

// validateBody checks a request body against Microsoft's OpenAPI description; a JSON batch's own requests are
// checked one by one, as the batch envelope is not in the description.
func validateBody(t *testing.T, where, method, path string, body []byte) {
	t.Helper()
	spec, err := loadSpec()
	if err != nil {
		t.Fatalf("load OpenAPI subset: %v", err)
	}
	if method == http.MethodPost && path == "/$batch" {
		var batch struct {
			Requests []struct {
				ID     string          `json:"id"`
				Method string          `json:"method"`
				URL    string          `json:"url"`
				Body   json.RawMessage `json:"body"`
			} `json:"requests"`
		}
		if err := json.Unmarshal(body, &batch); err != nil || len(batch.Requests) == 0 || len(batch.Requests) > 20 {
			t.Errorf("%s: not a JSON batch of 1 to 20 requests (%v): %s", where, err, body)
		}
		for _, r := range batch.Requests {
			if len(r.Body) > 0 {
				inner, _, _ := strings.Cut(r.URL, "?")
				validateBody(t, fmt.Sprintf("%s, batched request %s", where, r.ID), r.Method, inner, r.Body)
			}
		}
		return
	}
	if err := spec.ValidateRequest(method, path, body); err != nil {
		t.Errorf("%s: Microsoft's OpenAPI description rejects the body: %v\n%s", where, err, body)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, message)
}

// graphError is Graph's error envelope (DOCS concepts/errors.md).
func graphError(code, message, requestID string) string {
	return fmt.Sprintf(`{"error":{"code":%q,"message":%q,"innerError":{"date":"2026-11-29T10:15:02","request-id":%q,"client-request-id":%q}}}`,
		code, message, requestID, requestID)
}

// fakeClock is the client's clock: sleeping records the wait and moves the clock, at once.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// newTestClient returns a client of f with a fake clock.
func newTestClient(t *testing.T, f *fakeGraph, change ...func(*Config)) (*Client, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	cfg := Config{
		BaseURL:    f.baseURL(),
		Credential: StaticToken(secret.New(testToken)),
		Clock:      clock,
		Logger:     slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, ch := range change {
		ch(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, clock
}

// testWriter sends the client's debug log to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func mustGraphError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *graph.Error", err, err)
	}
	return e
}

func diff(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// assignOne assigns one principal, which AssignAppRoles sends as a request of its own.
func assignOne(ctx context.Context, c *Client, spID, principalID, roleID string) (AppRoleAssignment, error) {
	made, errs := c.AssignAppRoles(ctx, spID, roleID, []string{principalID})
	return made[0], errs[0]
}
