package refbackend

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// endless is a request body that never ends: a server that reads it before answering never answers.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// Issue 10 item 10: the SCIM API checks the token before it reads a body, refuses a body over its limit, and
// keeps no unauthenticated body in its request log.
func TestSCIMChecksTheTokenBeforeReadingTheBody(t *testing.T) {
	ts := newTestServer(t)
	send := func(token string, body io.Reader) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "POST", ts.http.URL+"/scim/v2/Users", body)
		req.Header.Set("Content-Type", "application/scim+json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		status := make(chan int, 1)
		go func() {
			resp, err := ts.http.Client().Do(req)
			if err != nil {
				status <- 0
				return
			}
			resp.Body.Close()
			status <- resp.StatusCode
		}()
		select {
		case s := <-status:
			return s
		case <-time.After(20 * time.Second):
			t.Fatal("the SCIM API did not answer: it is reading an endless body")
			return 0
		}
	}
	for _, token := range []string{"", "wrong"} {
		if s := send(token, endless{}); s != http.StatusUnauthorized {
			t.Errorf("endless body with token %q: status %d, want 401", token, s)
		}
		if s := send(token, strings.NewReader(`{"userName":"mallory@contoso.com"}`)); s != http.StatusUnauthorized {
			t.Errorf("token %q: status %d, want 401", token, s)
		}
	}
	if s := send(testSCIMToken, endless{}); s != http.StatusRequestEntityTooLarge && s != 0 {
		t.Errorf("endless body with the token: status %d, want 413", s)
	}
	for _, r := range ts.Requests() {
		if r.Body != "" {
			t.Errorf("%s %s (status %d) kept a %d-byte body in the log", r.Method, r.Path, r.Status, len(r.Body))
		}
	}
}

// The SCIM request log keeps the most recent requests within its bounds.
func TestSCIMRequestLogIsBounded(t *testing.T) {
	s := New(Options{})
	for range maxLoggedRequests + 50 {
		seq := s.logRequest(SCIMRequest{Method: "GET", Path: "/Users", Body: "{}"})
		s.logResponse(seq, 200, `{"Resources":[]}`)
	}
	if n := len(s.Requests()); n != maxLoggedRequests {
		t.Errorf("%d requests kept, want %d", n, maxLoggedRequests)
	}
	big := strings.Repeat("x", 1<<20)
	for range 2 * maxLoggedBytes / len(big) {
		seq := s.logRequest(SCIMRequest{Method: "POST", Path: "/Users", Body: big})
		s.logResponse(seq, 201, big)
	}
	total := 0
	for _, r := range s.Requests() {
		total += len(r.Body) + len(r.ResponseBody)
	}
	if total > maxLoggedBytes+len(big) {
		t.Errorf("the log holds %d bytes of bodies, want at most about %d", total, maxLoggedBytes)
	}
	if reqs := s.Requests(); reqs[len(reqs)-1].Status != 201 {
		t.Error("the newest request lost its answer")
	}
}
