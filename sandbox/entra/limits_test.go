package entra

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// endless is a request body that never ends: a server that reads it before answering never answers.
type endless struct{ read int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	e.read += int64(len(p))
	return len(p), nil
}

// post sends body to the tenant with the given Authorization header and returns the status, in bounded time.
func (f *fixture) postRaw(path, authorization string, body io.Reader, header ...string) int {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), http.MethodPost, f.srv.URL+"/v1.0"+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	status := make(chan int, 1)
	go func() {
		resp, err := f.srv.Client().Do(req)
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
		f.t.Fatalf("POST %s did not answer: the server is reading an endless body", path)
		return 0
	}
}

// Issue 10 item 10: the Graph server checks the token before it reads a body, refuses a body over its limit
// with 413 instead of reading on, and keeps neither body in its request log.
func TestBodiesAreReadOnlyFromKnownCallersAndWithinTheLimit(t *testing.T) {
	f := newFixture(t, Options{})
	f.tenant.ResetRequests()

	for _, auth := range []string{"", "Bearer not-a-token", "Bearer a.b.c"} {
		if s := f.postRaw("/applications", auth, &endless{}); s != http.StatusUnauthorized {
			t.Errorf("anonymous endless body with %q: status %d, want 401", auth, s)
		}
	}
	if s := f.postRaw("/applications", "Bearer "+f.token, &endless{}); s != http.StatusRequestEntityTooLarge && s != 0 {
		t.Errorf("endless body: status %d, want 413 (or the connection closed)", s)
	}
	big := bytes.Repeat([]byte("a"), maxBodyBytes+1)
	if s := f.postRaw("/applications", "Bearer "+f.token, bytes.NewReader(big)); s != http.StatusRequestEntityTooLarge {
		t.Errorf("a body one byte over the limit: status %d, want 413", s)
	}
	// A small gzip body that inflates past the limit.
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write(bytes.Repeat([]byte(" "), 2*maxBodyBytes))
	zw.Close()
	if s := f.postRaw("/applications", "Bearer "+f.token, bytes.NewReader(bomb.Bytes()), "Content-Encoding", "gzip"); s != http.StatusRequestEntityTooLarge {
		t.Errorf("a gzip body inflating past the limit: status %d, want 413", s)
	}
	for _, r := range f.tenant.Requests() {
		if len(r.Body) > 0 {
			t.Errorf("%s %s (status %d) kept a %d-byte body in the request log", r.Method, r.Path, r.Status, len(r.Body))
		}
	}
	if n := len(f.tenant.Requests()); n != 6 {
		t.Errorf("%d requests logged, want the 6 sent", n)
	}
}

// The request log keeps the most recent requests within its bounds, however many arrive.
func TestRequestLogIsBounded(t *testing.T) {
	var l requestLog
	for range maxLoggedRequests + 100 {
		l.add(RequestRecord{Method: "PATCH", Path: "/applications/x", Body: []byte(`{"tags":["idpctl"]}`)})
	}
	if len(l.records) != maxLoggedRequests {
		t.Errorf("%d records kept, want %d", len(l.records), maxLoggedRequests)
	}
	body := bytes.Repeat([]byte("x"), 1<<20)
	for range 2 * maxLoggedBodyBytes / len(body) {
		l.add(RequestRecord{Method: "POST", Path: "/applications", Body: body})
	}
	total := 0
	for _, r := range l.records {
		total += len(r.Body)
	}
	if total > maxLoggedBodyBytes || total != l.bodyBytes {
		t.Errorf("bodies of %d bytes kept (counted %d), want at most %d", total, l.bodyBytes, maxLoggedBodyBytes)
	}
	if last := l.records[len(l.records)-1]; last.Path != "/applications" {
		t.Errorf("the newest record was dropped: %+v", last.Path)
	}
}

// Graph refuses a $batch inside a $batch; a deeply nested one is refused at the first level, cheaply.
func TestNestedBatchIsRefused(t *testing.T) {
	f := newFixture(t, Options{})
	nested := map[string]any{"requests": []map[string]any{{"id": "1", "method": "GET", "url": "/me"}}}
	for depth := range 200 {
		raw, _ := json.Marshal(nested)
		nested = map[string]any{"requests": []map[string]any{{
			"id": "1", "method": "POST", "url": "/$batch", "headers": map[string]string{"Content-Type": "application/json"}, "body": json.RawMessage(raw),
		}}}
		if depth == 0 {
			r := f.request(http.MethodPost, "/$batch", nested)
			wantError(t, r, http.StatusBadRequest, "BadRequest", "Request id 1: a batch request cannot contain another batch request.")
		}
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	f.tenant.ResetRequests()
	r := f.request(http.MethodPost, "/$batch", nested)
	wantError(t, r, http.StatusBadRequest, "BadRequest", "")
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<20 {
		t.Errorf("a 200-deep nested batch cost %d MiB of allocations", grown>>20)
	}
	for _, u := range []string{"/$batch", "$batch", "/%24batch", "/$BATCH?x=1"} {
		one := map[string]any{"requests": []map[string]any{{"id": "a", "method": "POST", "url": u, "headers": map[string]string{"Content-Type": "application/json"}, "body": map[string]any{"requests": []any{}}}}}
		if r := f.request(http.MethodPost, "/$batch", one); r.status != http.StatusBadRequest || !strings.Contains(string(r.raw), "cannot contain another batch") {
			t.Errorf("inner url %q: %d %s", u, r.status, r.raw)
		}
	}
	for _, rec := range f.tenant.Requests() {
		if rec.InBatch {
			t.Errorf("an inner request of a nested batch ran: %s %s", rec.Method, rec.Path)
		}
	}
}
