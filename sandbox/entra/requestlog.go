package entra

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// RequestRecord is one request the tenant received, for tests to assert what a client sent.
type RequestRecord struct {
	Time   time.Time
	Method string
	// Path is the path after /v1.0; Query the raw query string.
	Path  string
	Query string
	// Header has Authorization redacted.
	Header http.Header
	// Body is the request body after Content-Encoding was undone, as sent: it holds whatever secrets the client
	// sent (a PUT of synchronization secrets carries the SCIM token), so never print it outside a test.
	Body   []byte
	Status int
	// Dropped is set when a fault rule kept the handler's answer from the client (replaced, aborted or hung);
	// Status is then the handler's status, or the replacement's.
	Dropped bool
	// InBatch is set for a request that arrived inside a $batch (the $batch itself is logged too).
	InBatch bool
}

// IsWrite reports whether the request could change the tenant.
func (r RequestRecord) IsWrite() bool {
	switch r.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// The request log keeps the most recent requests only, so a sandbox left running (or flooded) does not grow
// without bound: at most maxLoggedRequests records holding at most maxLoggedBodyBytes of bodies in all; the
// oldest go first. A whole setup sends a few dozen requests.
const (
	maxLoggedRequests  = 10000
	maxLoggedBodyBytes = 32 << 20
)

type requestLog struct {
	mu        sync.Mutex
	records   []RequestRecord
	bodyBytes int
}

func (l *requestLog) add(r RequestRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
	l.bodyBytes += len(r.Body)
	drop := 0
	for len(l.records)-drop > maxLoggedRequests || (l.bodyBytes > maxLoggedBodyBytes && drop < len(l.records)-1) {
		l.bodyBytes -= len(l.records[drop].Body)
		drop++
	}
	if drop > 0 {
		l.records = slices.Delete(l.records, 0, drop)
	}
}

func redactedHeader(h http.Header) http.Header {
	out := h.Clone()
	if out == nil {
		return http.Header{}
	}
	if out.Get("Authorization") != "" {
		out.Set("Authorization", "[redacted]")
	}
	return out
}

// Requests returns every request received since the last ResetRequests, oldest first.
func (t *Tenant) Requests() []RequestRecord {
	t.log.mu.Lock()
	defer t.log.mu.Unlock()
	return slices.Clone(t.log.records)
}

// WriteCount counts POST, PATCH, PUT and DELETE requests received, so a dry run can be asserted to send none.
// A $batch envelope is not counted (it is a POST even when it only reads); its inner writes are.
func (t *Tenant) WriteCount() int {
	n := 0
	for _, r := range t.Requests() {
		if r.IsWrite() && !strings.EqualFold(r.Path, "/$batch") {
			n++
		}
	}
	return n
}

// ResetRequests forgets the recorded requests.
func (t *Tenant) ResetRequests() {
	t.log.mu.Lock()
	defer t.log.mu.Unlock()
	t.log.records, t.log.bodyBytes = nil, 0
}
