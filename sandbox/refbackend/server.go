// Package refbackend is the sandbox's reference SaaS backend, standing in for Smallstep: a SCIM 2.0 server
// (RFC 7643/7644) that accepts what Entra's provisioning service sends, plus the backend contract that
// `idpctl setup entra --backend http` uses to register the OIDC app and receive SCIM credentials.
//
// The SCIM side uses github.com/elimity-com/scim for routing, schema validation and PATCH/filter parsing; this
// package stores users and groups in memory, applies PATCH operations, evaluates filters, and adapts what Entra
// sends that the library would reject (see compat.go). Tests inspect the stored state and the exact SCIM requests
// through the Server's methods, and inject target faults with SetFaults.
//
// Decisions a client may notice: PATCH answers 204 No Content for users and groups; every registration gets its
// own SCIM token and all tokens reach the one directory; inactive users stay visible and keep their group
// memberships; deleting a user removes it from its groups and drops its role.
package refbackend

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"

	"github.com/idpctl/idpctl/secret"
)

// DefaultSCIMPath is where the SCIM API is mounted unless Options.SCIMPath says otherwise.
const DefaultSCIMPath = "/scim/v2"

// maxBodyBytes bounds request bodies; Entra's largest requests (group member batches) are far smaller.
const maxBodyBytes = 1 << 20

// Clock is the server's time source: resource timestamps and the Latency fault. A fake clock makes both
// deterministic in tests.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options configure a Server. All fields are optional.
type Options struct {
	// BackendToken is the bearer token the backend contract requires (idpctl's IDPCTL_BACKEND_TOKEN). Without one
	// every contract request is refused, so only the SCIM API with SCIMToken is usable.
	BackendToken secret.Value
	// SCIMToken is a SCIM bearer token accepted from the start, for `--backend manual` runs where the SCIM URL and
	// token are known before any registration. Each registration adds its own token as well.
	SCIMToken secret.Value
	// PublicBaseURL is how clients reach this server, e.g. "http://127.0.0.1:8080"; the SCIM base URL handed out
	// by the contract and resource locations derive from it. Empty means: derive it from each request's Host.
	PublicBaseURL string
	// SCIMPath is where the SCIM API is mounted; default DefaultSCIMPath.
	SCIMPath string
	// MaxResults caps a list page (the ServiceProviderConfig filter.maxResults); default 100.
	MaxResults int
	// Clock defaults to the real clock.
	Clock Clock
	// Strict makes the SCIM API a strict RFC 7643 target: a boolean attribute sent as a string ("active":
	// "False", as Entra's default PATCH dialect disables a user) is refused with 400 invalidValue instead of
	// being read as a boolean, as a third-party SCIM server tried with idpctl does. Entra then needs the tenant
	// URL flag aadOptscim062020 (idpctl setup entra --scim-compliant) to deactivate users there.
	Strict bool
}

// Server is the reference backend. It is an http.Handler serving the SCIM API under Options.SCIMPath and the
// backend contract under /v1/. All methods are safe for concurrent use.
type Server struct {
	backendToken secret.Value
	strict       bool
	scimPath     string
	maxResults   int
	clock        Clock
	users        resourceSchema
	groups       resourceSchema
	contract     *http.ServeMux

	mu            sync.Mutex
	publicBaseURL string
	directory     directory
	scimTokens    []scimToken
	registrations []*Registration
	roles         map[string]Role // by SCIM user id, so a renamed user keeps the role
	requests      []SCIMRequest
	loggedBytes   int // of the bodies in requests
	requestSeq    uint64
	faults        Faults
	ruleHits      []int
}

// scimToken is an accepted SCIM bearer token and the registration that issued it ("" for Options.SCIMToken).
type scimToken struct {
	token          secret.Value
	registrationID string
}

// New returns a Server with an empty directory.
func New(opts Options) *Server {
	s := &Server{
		backendToken:  opts.BackendToken,
		strict:        opts.Strict,
		scimPath:      "/" + strings.Trim(opts.SCIMPath, "/"),
		maxResults:    opts.MaxResults,
		clock:         opts.Clock,
		users:         userSchema(),
		groups:        groupSchema(),
		publicBaseURL: strings.TrimRight(opts.PublicBaseURL, "/"),
		directory:     newDirectory(),
		roles:         map[string]Role{},
	}
	if opts.SCIMPath == "" {
		s.scimPath = DefaultSCIMPath
	}
	if s.maxResults <= 0 {
		s.maxResults = 100
	}
	if s.clock == nil {
		s.clock = realClock{}
	}
	if !opts.SCIMToken.IsZero() {
		s.scimTokens = append(s.scimTokens, scimToken{token: opts.SCIMToken})
	}
	s.contract = s.contractMux()
	return s
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s }

// SetPublicBaseURL sets the URL clients reach the server at, for servers whose address is known only once they
// listen (httptest).
func (s *Server) SetPublicBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publicBaseURL = strings.TrimRight(u, "/")
}

// SCIMBaseURL is the SCIM base URL ("Tenant URL" in Entra), e.g. "http://127.0.0.1:8080/scim/v2"; "" while no
// public base URL is known (see Options.PublicBaseURL).
func (s *Server) SCIMBaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publicBaseURL == "" {
		return ""
	}
	return s.publicBaseURL + s.scimPath
}

// scimBaseURLFor is the SCIM base URL as seen by the client of r.
func (s *Server) scimBaseURLFor(r *http.Request) string {
	if base := s.SCIMBaseURL(); base != "" {
		return base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.scimPath
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rel, ok := s.scimRelative(r.URL.Path); ok {
		s.serveSCIM(w, r, rel)
		return
	}
	s.contract.ServeHTTP(w, r)
}

// scimRelative returns path relative to the SCIM base ("/Users/42"), collapsing the doubled slash a Tenant URL
// entered with a trailing slash produces.
func (s *Server) scimRelative(path string) (string, bool) {
	if path != s.scimPath && !strings.HasPrefix(path, s.scimPath+"/") {
		return "", false
	}
	return "/" + strings.TrimLeft(strings.TrimPrefix(path, s.scimPath), "/"), true
}

// SCIMRequest is one SCIM request as received, for comparing the simulated Entra's traffic with Microsoft's
// documented samples.
type SCIMRequest struct {
	Time time.Time
	// Method is the HTTP method.
	Method string
	// Path is relative to the SCIM base: "/Users", "/Groups/<id>".
	Path string
	// RawQuery is the query as sent, e.g. "filter=userName+eq+%22x%22".
	RawQuery string
	// Header holds the request headers with Authorization redacted.
	Header http.Header
	// Body is the request body as sent.
	Body string
	// Status is the answer's status code; 0 while the request is still being served, or when the client gave up
	// during injected latency and got no answer.
	Status int
	// ResponseBody is the answer's body.
	ResponseBody string

	seq uint64
}

// Query returns the parsed query parameters.
func (r SCIMRequest) Query() url.Values {
	q, _ := url.ParseQuery(r.RawQuery)
	return q
}

// Requests returns the SCIM requests received so far, in arrival order.
func (s *Server) Requests() []SCIMRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SCIMRequest, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		out[i] = r
	}
	return out
}

// ClearRequests forgets the requests received so far.
func (s *Server) ClearRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.loggedBytes = nil, 0
}

// The request log keeps the most recent SCIM requests only: a sandbox left running provisions every cycle,
// for days, and must not grow without bound. The oldest go first.
const (
	maxLoggedRequests = 10000
	maxLoggedBytes    = 32 << 20 // request and response bodies together
)

func (s *Server) logRequest(r SCIMRequest) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requestSeq++
	r.seq = s.requestSeq
	s.requests = append(s.requests, r)
	s.loggedBytes += len(r.Body)
	s.trimLog()
	return r.seq
}

// trimLog drops the oldest requests beyond the log's bounds. Call with s.mu held.
func (s *Server) trimLog() {
	drop := 0
	for len(s.requests)-drop > maxLoggedRequests || (s.loggedBytes > maxLoggedBytes && drop < len(s.requests)-1) {
		s.loggedBytes -= len(s.requests[drop].Body) + len(s.requests[drop].ResponseBody)
		drop++
	}
	if drop > 0 {
		s.requests = slices.Delete(s.requests, 0, drop)
	}
}

func (s *Server) logResponse(seq uint64, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Search from the end: the entry is usually recent, and ClearRequests may have dropped it meanwhile.
	for i := len(s.requests) - 1; i >= 0; i-- {
		if s.requests[i].seq == seq {
			s.requests[i].Status = status
			s.loggedBytes += len(body) - len(s.requests[i].ResponseBody)
			s.requests[i].ResponseBody = body
			s.trimLog()
			return
		}
	}
}

func redactedHeader(h http.Header) http.Header {
	out := h.Clone()
	if out.Get("Authorization") != "" {
		out.Set("Authorization", "[redacted]")
	}
	return out
}

// responseRecorder keeps the status and body of an answer for the request log.
type responseRecorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *responseRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (s *Server) serveSCIM(w http.ResponseWriter, r *http.Request, rel string) {
	faults := s.Faults()
	// The token is checked before the body is read: an anonymous client gets its 401 without the server
	// reading, or logging, what it sent.
	authorized := !faults.RejectAllTokens && s.validSCIMToken(r.Header.Get("Authorization"))
	var body []byte
	if authorized {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
			writeSCIMError(w, http.StatusRequestEntityTooLarge, "", "The request body is larger than 1 MiB.")
			return
		} else if err != nil {
			writeSCIMError(w, http.StatusBadRequest, scimerrors.ScimTypeInvalidSyntax, "The request body could not be read.")
			return
		}
	}
	entry := s.logRequest(SCIMRequest{
		Time:     s.clock.Now(),
		Method:   r.Method,
		Path:     rel,
		RawQuery: r.URL.RawQuery,
		Header:   redactedHeader(r.Header),
		Body:     string(body),
	})
	rec := &responseRecorder{ResponseWriter: w}
	defer func() { s.logResponse(entry, rec.status, rec.body.String()) }()

	if faults.Latency > 0 && !s.wait(r.Context(), faults.Latency) {
		return
	}
	if !authorized {
		rec.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
		// Closing the connection spares the server reading the unread body to keep the connection open.
		rec.Header().Set("Connection", "close")
		writeSCIMError(rec, http.StatusUnauthorized, "", "Missing or invalid bearer token: send Authorization: Bearer <SCIM token>.")
		return
	}
	if rule, ok := s.takeRule(r, rel); ok {
		if rule.RetryAfter > 0 {
			rec.Header().Set("Retry-After", strconv.Itoa(int((rule.RetryAfter+time.Second-1)/time.Second)))
		}
		writeSCIMError(rec, rule.Status, "", fmt.Sprintf("Injected fault: %s.", http.StatusText(rule.Status)))
		return
	}

	if strings.HasPrefix(rel, "/Users") && (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
		var err error
		body, err = s.users.coerceBody(body, r.Method == http.MethodPatch, s.strict)
		if err != nil {
			writeSCIMError(rec, http.StatusBadRequest, scimerrors.ScimTypeInvalidValue, err.Error())
			return
		}
	}
	inner := r.Clone(r.Context())
	inner.URL.Path, inner.URL.RawPath = rel, ""
	if f := inner.URL.Query().Get("filter"); f != "" {
		f = rewriteValuePathComparisons(f)
		rs := s.users
		if strings.HasPrefix(rel, "/Groups") {
			rs = s.groups
		}
		if s.strict {
			if c, bad := rs.stringBooleanComparison(f); bad {
				writeSCIMError(rec, http.StatusBadRequest, scimerrors.ScimTypeInvalidFilter,
					fmt.Sprintf("The filter compares a boolean attribute with a string (%s): use true or false.", c))
				return
			}
		}
		q := inner.URL.Query()
		q.Set("filter", f)
		inner.URL.RawQuery = q.Encode()
	}
	inner.Body = io.NopCloser(bytes.NewReader(body))
	inner.ContentLength = int64(len(body))
	s.scimServer(s.scimBaseURLFor(r)).ServeHTTP(rec, inner)
}

// wait sleeps d on the server's clock, or until the client gives up (false).
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	select {
	case <-s.clock.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) validSCIMToken(authorization string) bool {
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	valid := false
	for _, t := range s.scimTokens {
		// Compare every token in constant time, so timing reveals neither a token nor which one matched.
		if subtle.ConstantTimeCompare([]byte(t.token.Reveal()), []byte(token)) == 1 {
			valid = true
		}
	}
	return valid
}

// scimServer builds the library's handler; it is a small value, and building it per request lets resource
// locations follow the address the client used.
func (s *Server) scimServer(baseURL string) scim.Server {
	server, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			DocumentationURI: optional.NewString("https://github.com/idpctl/idpctl"),
			AuthenticationSchemes: []scim.AuthenticationScheme{{
				Type:        scim.AuthenticationTypeOauthBearerToken,
				Name:        "OAuth Bearer Token",
				Description: "The SCIM token issued by POST /v1/identity-providers/entra.",
				Primary:     true,
			}},
			MaxResults:       s.maxResults,
			SupportFiltering: true,
			SupportPatch:     true,
		},
		ResourceTypes: []scim.ResourceType{
			{
				ID:          optional.NewString("User"),
				Name:        "User",
				Description: optional.NewString("User Account"),
				Endpoint:    "/Users",
				Schema:      s.users.core,
				SchemaExtensions: []scim.SchemaExtension{
					{Schema: s.users.extensions[0]},
				},
				Handler: resourceHandler{server: s, schema: s.users},
			},
			{
				ID:          optional.NewString("Group"),
				Name:        "Group",
				Description: optional.NewString("Group"),
				Endpoint:    "/Groups",
				Schema:      s.groups.core,
				Handler:     resourceHandler{server: s, schema: s.groups},
			},
		},
	}, scim.WithBaseURL(baseURL))
	if err != nil {
		panic(err) // only for nil arguments, which the literal above never has
	}
	return server
}

// writeSCIMError writes a SCIM error body (RFC 7644 §3.12).
func writeSCIMError(w http.ResponseWriter, status int, scimType scimerrors.ScimType, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(scimerrors.ScimError{ScimType: scimType, Detail: detail, Status: status})
}
