package refbackend

import (
	"net/http"
	"strings"
	"time"
)

// Faults make the SCIM API misbehave the way real targets do, so the simulated provisioning engine's reactions
// (quarantine, escrow, retries) can be tested. The zero value is a well-behaved target. Faults apply to the SCIM
// API only, never to the backend contract.
type Faults struct {
	// RejectAllTokens answers every SCIM request 401, even with a valid token (revoked or rotated credentials).
	RejectAllTokens bool
	// FilterNotFound answers a filter query that matches nothing with 404 instead of an empty ListResponse: the
	// classic non-compliance that Entra quarantines a job for ("An HTTP/404 Not Found response was returned rather
	// than the expected HTTP/200 OK", application-provisioning-quarantine-status.md).
	FilterNotFound bool
	// Latency delays every SCIM answer (on the server's Clock), for timeout handling. A request whose client gives
	// up first gets no answer.
	Latency time.Duration
	// Rules answer matching SCIM requests with an error status before they reach the directory. The first rule
	// that matches and has answers left wins.
	Rules []FaultRule
}

// FaultRule answers matching SCIM requests with Status.
type FaultRule struct {
	// Method matches the HTTP method ("" matches any).
	Method string
	// Path matches paths relative to the SCIM base that start with it, e.g. "/Users", "/Groups/" or "/Users/<id>"
	// ("" matches any).
	Path string
	// Status is the answer, e.g. 429, 500, 503 (or 401, 403, 404); 0 means 500.
	Status int
	// RetryAfter, when set, is sent as a Retry-After header in whole seconds.
	RetryAfter time.Duration
	// Times limits how many requests the rule answers; 0 means every matching request.
	Times int
}

func (r FaultRule) matches(req *http.Request, rel string) bool {
	if r.Method != "" && !strings.EqualFold(r.Method, req.Method) {
		return false
	}
	return strings.HasPrefix(rel, r.Path)
}

// SetFaults replaces the active faults; rule counters start again from zero.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.Rules = append([]FaultRule(nil), f.Rules...)
	for i := range f.Rules {
		if f.Rules[i].Status < 100 || f.Rules[i].Status > 599 {
			f.Rules[i].Status = http.StatusInternalServerError
		}
	}
	s.faults = f
	s.ruleHits = make([]int, len(f.Rules))
}

// Faults returns the active faults.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	f.Rules = append([]FaultRule(nil), f.Rules...)
	return f
}

// takeRule finds the first matching rule with answers left and counts the answer.
func (s *Server) takeRule(req *http.Request, rel string) (FaultRule, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, rule := range s.faults.Rules {
		if !rule.matches(req, rel) {
			continue
		}
		if rule.Times > 0 && s.ruleHits[i] >= rule.Times {
			continue
		}
		s.ruleHits[i]++
		return rule, true
	}
	return FaultRule{}, false
}
