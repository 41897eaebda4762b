package entra

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Faults are the knobs that make the tenant misbehave the way Entra does. All of them can be changed while the
// tenant serves (SetFaults, AddFaultRule).
type Faults struct {
	// Latency is added to every request before it is handled (benchmarks use 100 ms).
	Latency time.Duration
	// ReplicationLag is how many reads and writes each newly created application, service principal,
	// app role assignment and provisioning job answers 404 Request_ResourceNotFound before it is seen;
	// until then lists and filters leave it out too (each list that would have shown it counts as one read).
	ReplicationLag int
	// SyncReplicationLag is how many synchronization calls on a newly created service principal are refused
	// while the provisioning service has not caught up, with SyncReplicationStatus (403 or 409; default 403).
	SyncReplicationLag    int
	SyncReplicationStatus int
	// Rules inject throttling, server errors and lost responses into matching requests.
	Rules []FaultRule
}

// FaultKind is what a FaultRule does to a matching request.
type FaultKind int

const (
	// Throttle answers 429 TooManyRequests with Retry-After without handling the request.
	Throttle FaultKind = iota + 1
	// ServerError answers Status (500, 503 or 504; default 503) without handling the request, with
	// Retry-After when RetryAfter is set.
	ServerError
	// LoseResponse handles the request (the write happens) and then answers Status instead (e.g. 404, as
	// instantiate is known to do), or with Status 0 aborts the connection without an answer.
	LoseResponse
	// HangResponse handles the request and then never answers: the connection stays open until the client
	// gives up, as a timed-out call does.
	HangResponse
)

// FaultRule applies a fault to requests matching Method and Path.
type FaultRule struct {
	Kind FaultKind
	// Method matches the HTTP method; empty matches any.
	Method string
	// Path matches the path after /v1.0, segment by segment: "*" is one segment, a trailing "**" any rest,
	// other segments compare case-insensitively; e.g. "/applicationTemplates/*/instantiate".
	Path string
	// Times is how many matching requests are affected; 0 means all of them.
	Times int
	// Status is the answer for ServerError and LoseResponse.
	Status int
	// RetryAfter is sent as Retry-After in seconds (fractions allowed); Throttle defaults to 1 s.
	RetryAfter time.Duration
	// OnlyAfterSuccess makes a LoseResponse rule skip requests the handler refused, so the rule fires on
	// the first write that really happened.
	OnlyAfterSuccess bool
}

type faultState struct {
	mu     sync.Mutex
	faults Faults
	hits   []int // per rule, how many requests it has affected
}

func newFaultState(f Faults) *faultState {
	s := &faultState{}
	s.set(f)
	return s
}

func (s *faultState) set(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.Rules = append([]FaultRule(nil), f.Rules...)
	s.faults = f
	s.hits = make([]int, len(f.Rules))
}

func (s *faultState) get() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	f.Rules = append([]FaultRule(nil), f.Rules...)
	return f
}

func (s *faultState) addRule(r FaultRule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.Rules = append(s.faults.Rules, r)
	s.hits = append(s.hits, 0)
}

func (s *faultState) latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.Latency
}

func (s *faultState) replicationLag() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.ReplicationLag
}

func (s *faultState) syncLag() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	status := s.faults.SyncReplicationStatus
	if status == 0 {
		status = http.StatusForbidden
	}
	return s.faults.SyncReplicationLag, status
}

// take finds the first rule of one of kinds that matches and still has uses left, and uses it up once.
func (s *faultState) take(method, path string, accept func(FaultRule) bool) (FaultRule, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.faults.Rules {
		if !accept(r) || !r.matches(method, path) {
			continue
		}
		if r.Times > 0 && s.hits[i] >= r.Times {
			continue
		}
		s.hits[i]++
		return r, true
	}
	return FaultRule{}, false
}

// before returns the error a Throttle or ServerError rule injects instead of handling the request.
func (s *faultState) before(method, path string) *graphError {
	r, ok := s.take(method, path, func(r FaultRule) bool { return r.Kind == Throttle || r.Kind == ServerError })
	if !ok {
		return nil
	}
	if r.Kind == Throttle {
		retry := r.RetryAfter
		if retry == 0 {
			retry = time.Second
		}
		return errTooManyRequests().withHeader("Retry-After", seconds(retry))
	}
	status := r.Status
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	// Codes and texts from the code table of DOCS concepts/errors.md.
	var e *graphError
	switch status {
	case http.StatusGatewayTimeout:
		e = newError(status, "timeout", "The operation timed out before it could be completed.")
	case http.StatusInternalServerError:
		e = newError(status, "generalException", "An unspecified error has occurred.")
	default:
		e = newError(status, "serviceNotAvailable", "The service isn't available. Try the request again after a delay.")
	}
	if r.RetryAfter > 0 {
		e.withHeader("Retry-After", seconds(r.RetryAfter))
	}
	return e
}

// after returns the LoseResponse or HangResponse rule that applies to a handled request.
func (s *faultState) after(method, path string, status int) (FaultRule, bool) {
	return s.take(method, path, func(r FaultRule) bool {
		if r.Kind != LoseResponse && r.Kind != HangResponse {
			return false
		}
		return !r.OnlyAfterSuccess || status < 300
	})
}

func (r FaultRule) matches(method, path string) bool {
	if r.Method != "" && !strings.EqualFold(r.Method, method) {
		return false
	}
	want := strings.Split(strings.Trim(r.Path, "/"), "/")
	got := strings.Split(strings.Trim(path, "/"), "/")
	for i, w := range want {
		if w == "**" {
			return true
		}
		if i >= len(got) {
			return false
		}
		if w != "*" && !strings.EqualFold(w, got[i]) {
			return false
		}
	}
	return len(got) == len(want)
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// SetFaults replaces every fault knob; rules start with no uses counted.
func (t *Tenant) SetFaults(f Faults) { t.faults.set(f) }

// CurrentFaults returns the knobs in force.
func (t *Tenant) CurrentFaults() Faults { return t.faults.get() }

// AddFaultRule adds one rule to those in force.
func (t *Tenant) AddFaultRule(r FaultRule) { t.faults.addRule(r) }
