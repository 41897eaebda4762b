// Package entra is a simulated Microsoft Entra tenant: it serves over HTTP the Microsoft Graph v1.0 operations
// idpctl uses, with Graph's JSON shapes, error envelope, permission checks, OData query options, eventual
// consistency and throttling. It is what `idpctl sandbox` runs and what end-to-end tests run against, so where it
// and Microsoft's documentation disagree the documentation is right and this package is wrong.
//
// Mount a Tenant at the server root: it answers paths that start with /v1.0, as graph.microsoft.com does.
//
//	tenant := entra.New(entra.Options{})
//	defer tenant.Close()                  // stops the provisioning engine's timers
//	demo, _ := tenant.SeedDemo()          // Contoso, an admin, five users, two groups, Entra ID P1
//	srv := httptest.NewServer(tenant)     // Graph base URL: srv.URL + "/v1.0"
//	// call it with "Authorization: Bearer " + demo.AdminToken
//
// Layout: tenant.go (options, request pipeline), router.go and routes.go (operations), permissions.go (the scope
// and role table), auth.go (tokens), odata.go and filter.go (query options), one file per resource family,
// faults.go (throttling, replication lag, lost answers, latency), requestlog.go, seed.go and views.go (seeding
// and read accessors for tests), engine.go (the seam for the provisioning engine, which lives in
// provisioning*.go: scheduling in provisioning.go, cycles in provisioning_cycle.go, the SCIM wire format in
// provisioning_scim.go, mapping expressions in provisioning_expr.go).
//
// Started jobs provision to their BaseAddress as Entra's provisioning service does, on timers
// (ProvisioningOptions) or, with ManualCycles and a fake clock, when a test calls RunDueCycles.
package entra

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Options configure a Tenant. The zero value gives a tenant named Contoso with a random id.
type Options struct {
	// TenantID is the directory (tenant) id; default a random GUID.
	TenantID string
	// DisplayName is the organization's name; default "Contoso".
	DisplayName string
	// Domain is the initial verified domain; default "contoso.onmicrosoft.com".
	Domain string
	// Now is the clock; default time.Now. Tests pass a fake clock to drive rate limits and token expiry.
	Now func() time.Time
	// HTTPClient makes the outbound SCIM calls of validateCredentials (and of the provisioning engine);
	// default a client with a 30 s timeout.
	HTTPClient *http.Client
	// PageSize is the page size of collections when the request has no $top; default 100 as in Graph.
	PageSize int
	// BaseURL is the absolute URL the tenant is served at, without the "/v1.0" suffix, used in @odata.nextLink
	// and @odata.context; default scheme and Host of each request.
	BaseURL string
	// Validator checks request bodies against Graph's schema; default the OpenAPI subset (sandbox/openapi).
	Validator RequestValidator
	// Faults are the initial fault knobs; change them at run time with SetFaults and AddFaultRule.
	Faults Faults
	// Provisioning configures the simulated provisioning service (cycle timing, on-demand lag).
	Provisioning ProvisioningOptions
}

// RequestValidator checks request bodies the way Graph's OData layer does (see sandbox/openapi).
// A returned error is turned into a 400 answer; errors that carry a Graph error code keep it.
type RequestValidator interface {
	ValidateRequest(method, path string, body []byte) error
	ValidateEntity(schemaName string, body []byte, partial bool) error
}

// Tenant is one simulated directory. It is safe for concurrent use.
type Tenant struct {
	id          string
	displayName string
	domain      string
	now         func() time.Time
	client      *http.Client
	pageSize    int
	baseURL     string
	signingKey  []byte
	validator   RequestValidator
	routes      []route

	mu sync.Mutex // guards st
	st *store

	faults *faultState
	log    *requestLog
	engine provisioner
	prov   *engine // the provisioning engine; engine is prov unless a test replaced the seam

	handling atomic.Int64 // requests ServeHTTP has begun and not finished (see WaitIdle)
}

const (
	defaultPageSize = 100
	maxPageSize     = 999
	maxBodyBytes    = 8 << 20
)

// New creates a tenant holding only what every Entra tenant has: the organization, its directory role
// definitions and the Microsoft Graph service principal. Seed users and groups with the Add* methods or SeedDemo.
// It panics only if the embedded Graph OpenAPI subset cannot be loaded, which is a defect of the build.
func New(opts Options) *Tenant {
	t := &Tenant{
		id:          opts.TenantID,
		displayName: opts.DisplayName,
		domain:      opts.Domain,
		now:         opts.Now,
		client:      opts.HTTPClient,
		pageSize:    opts.PageSize,
		baseURL:     strings.TrimSuffix(opts.BaseURL, "/"),
		validator:   opts.Validator,
		faults:      newFaultState(opts.Faults),
		log:         &requestLog{},
	}
	if t.id == "" {
		t.id = uuid.NewString()
	}
	if t.displayName == "" {
		t.displayName = "Contoso"
	}
	if t.domain == "" {
		t.domain = "contoso.onmicrosoft.com"
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.client == nil {
		t.client = &http.Client{Timeout: 30 * time.Second}
	}
	if t.pageSize <= 0 {
		t.pageSize = defaultPageSize
	}
	if t.validator == nil {
		v, err := defaultValidator()
		if err != nil {
			panic("sandbox/entra: load the embedded Graph OpenAPI subset: " + err.Error())
		}
		t.validator = v
	}
	t.signingKey = make([]byte, 32)
	_, _ = rand.Read(t.signingKey) // crypto/rand.Read never fails (it crashes the program instead)
	t.routes = t.routeTable()
	t.prov = newEngine(t, opts.Provisioning)
	t.engine = t.prov
	t.st = newStore()
	t.seedBuiltins()
	return t
}

// ID returns the tenant id.
func (t *Tenant) ID() string { return t.id }

// Domain returns the initial verified domain.
func (t *Tenant) Domain() string { return t.domain }

// call is one Graph request as the handlers see it, whether it came over HTTP or inside a $batch.
type call struct {
	ctx             context.Context
	method          string
	path            string // after /v1.0, e.g. /applications/{id}
	query           url.Values
	header          http.Header
	body            []byte // decompressed
	params          map[string]string
	caller          *principal
	serviceRoot     string // absolute URL ending in /v1.0
	requestID       string
	clientRequestID string
	inBatch         bool
	// drop is set by $batch when an inner request's answer is lost: the whole batch's answer is lost with it.
	drop delivery
	// lost is set when a fault rule replaced the handler's answer.
	lost bool
}

func (c *call) param(name string) string { return c.params[name] }

// response is a handler's answer before it is written, so $batch can embed it and fault rules can drop it.
type response struct {
	status int
	header http.Header
	body   []byte
}

// delivery says how the HTTP layer hands a response back: normally, or (fault rules) not at all.
type delivery int

const (
	deliver delivery = iota
	abortConnection
	hangConnection
)

const jsonContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

func jsonResponse(status int, v any) response {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // Graph writes & and < as they are, e.g. in @odata.nextLink
	if err := enc.Encode(v); err != nil {
		// Handlers only encode maps and slices built from JSON values; failing here is a programming error.
		panic(err)
	}
	return response{status: status, header: http.Header{"Content-Type": {jsonContentType}}, body: bytes.TrimSuffix(buf.Bytes(), []byte("\n"))}
}

func noContent() response { return response{status: http.StatusNoContent, header: http.Header{}} }

// fail renders err in Graph's error envelope.
func (c *call) fail(err *graphError, now time.Time) response {
	envelope := map[string]any{"error": map[string]any{
		"code":    err.code,
		"message": err.message,
		"innerError": map[string]any{
			"date":              now.UTC().Format("2006-01-02T15:04:05"),
			"request-id":        c.requestID,
			"client-request-id": c.clientRequestID,
		},
	}}
	resp := jsonResponse(err.status, envelope)
	resp.header.Set("Content-Type", "application/json")
	for k, vs := range err.header {
		resp.header[k] = vs
	}
	return resp
}

// WaitIdle returns once no request is being handled, or when ctx ends. A killed client's requests already
// sent are carried out by Graph all the same; a test that starts the next run at once waits here for them, as a
// person restarting a command would by the time it starts.
func (t *Tenant) WaitIdle(ctx context.Context) error {
	for t.handling.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// ServeHTTP answers one Graph request.
func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.handling.Add(1)
	defer t.handling.Add(-1)
	received := t.now()
	c := &call{
		ctx:         r.Context(),
		method:      r.Method,
		query:       r.URL.Query(),
		header:      r.Header,
		requestID:   uuid.NewString(),
		serviceRoot: t.serviceRoot(r),
	}
	c.clientRequestID = r.Header.Get("client-request-id")
	if c.clientRequestID == "" {
		c.clientRequestID = c.requestID
	}
	if latency := t.faults.latency(); latency > 0 {
		timer := time.NewTimer(latency)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return
		}
	}

	var (
		raw  []byte
		resp response
		how  = deliver
	)
	path, versioned := strings.CutPrefix(r.URL.Path, "/v1.0")
	// The body is read only once the caller is known, and only up to the limit: an anonymous client must not be
	// able to make the tenant hold megabytes, in memory or in its request log.
	_, authErr := t.authenticate(r.Header.Get("Authorization"))
	switch {
	case !versioned || (path != "" && !strings.HasPrefix(path, "/")):
		resp = c.fail(newError(http.StatusBadRequest, "BadRequest", "Invalid version."), t.now())
	case authErr != nil:
		c.path = path
		resp = c.fail(authErr, t.now())
		// Closing the connection spares the server reading the unread body to keep the connection open.
		resp.header.Set("Connection", "close")
	default:
		c.path = path
		var readErr *graphError
		if raw, readErr = readBody(r.Body); readErr != nil {
			resp = c.fail(readErr, t.now())
			resp.header.Set("Connection", "close")
			break
		}
		resp, how = t.handle(c, raw, r.Header.Get("Content-Encoding"))
	}

	t.log.add(RequestRecord{
		Time:    received,
		Method:  r.Method,
		Path:    c.path,
		Query:   r.URL.RawQuery,
		Header:  redactedHeader(r.Header),
		Body:    c.loggedBody(raw),
		Status:  resp.status,
		Dropped: how != deliver || c.lost,
	})

	switch how {
	case abortConnection:
		panic(http.ErrAbortHandler)
	case hangConnection:
		<-r.Context().Done()
		panic(http.ErrAbortHandler)
	}
	t.writeResponse(w, c, resp)
}

func (c *call) loggedBody(raw []byte) []byte {
	if c.body != nil {
		return c.body
	}
	return raw
}

func (t *Tenant) writeResponse(w http.ResponseWriter, c *call, resp response) {
	h := w.Header()
	for k, vs := range resp.header {
		h[k] = vs
	}
	h.Set("request-id", c.requestID)
	h.Set("client-request-id", c.clientRequestID)
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Sandbox","Slice":"E","Ring":"5","ScaleUnit":"000","RoleInstance":"SANDBOX01"}}`)
	h.Set("Strict-Transport-Security", "max-age=31536000")
	if resp.status != http.StatusNoContent && len(resp.body) > 0 {
		h.Set("OData-Version", "4.0")
	}
	w.WriteHeader(resp.status)
	if len(resp.body) > 0 {
		_, _ = w.Write(resp.body)
	}
}

func (t *Tenant) serviceRoot(r *http.Request) string {
	if t.baseURL != "" {
		return t.baseURL + "/v1.0"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/v1.0"
}

// handle runs one request through authentication, fault rules, body decoding, routing, permission checks and
// its handler. $batch calls it for each inner request, so inner requests get exactly the same treatment.
func (t *Tenant) handle(c *call, raw []byte, contentEncoding string) (response, delivery) {
	caller, authErr := t.authenticate(c.header.Get("Authorization"))
	if authErr != nil {
		return c.fail(authErr, t.now()), deliver
	}
	c.caller = caller

	if injected := t.faults.before(c.method, c.path); injected != nil {
		return c.fail(injected, t.now()), deliver
	}

	body, decodeErr := decodeBody(raw, contentEncoding)
	if decodeErr != nil {
		if decodeErr.status == http.StatusRequestEntityTooLarge {
			c.body = []byte{} // log nothing of a body refused for its size
		}
		return c.fail(decodeErr, t.now()), deliver
	}
	c.body = body

	rt, params, routeErr := t.match(c.method, c.path)
	if routeErr != nil {
		return c.fail(routeErr, t.now()), deliver
	}
	c.params = params
	if rt.perm.delegatedOnly && caller.appOnly {
		return c.fail(errMeNeedsUser(), t.now()), deliver
	}
	if !t.permitted(rt.perm, caller) {
		return c.fail(errInsufficientPrivileges(), t.now()), deliver
	}
	if hasBody(c.method) && !rt.rawBody {
		if invalid := t.validateBody(c, rt); invalid != nil {
			return c.fail(invalid, t.now()), deliver
		}
	}

	resp := rt.handle(t, c)
	if c.drop != deliver {
		return resp, c.drop
	}

	if rule, ok := t.faults.after(c.method, c.path, resp.status); ok {
		switch {
		case rule.Kind == HangResponse:
			return resp, hangConnection
		case rule.Status == 0:
			return resp, abortConnection
		default:
			c.lost = true
			lost := errResourceNotFound(lastSegment(c.path))
			lost.status = rule.Status
			return c.fail(lost, t.now()), deliver
		}
	}
	return resp, deliver
}

// readBody reads a request body up to maxBodyBytes; a longer one is refused with 413 rather than cut short,
// and nothing more of it is read.
func readBody(body io.Reader) ([]byte, *graphError) {
	raw, err := io.ReadAll(io.LimitReader(body, maxBodyBytes+1))
	switch {
	case err != nil:
		return nil, errUnreadableBody()
	case len(raw) > maxBodyBytes:
		return nil, errTooLarge()
	}
	return raw, nil
}

// decodeBody undoes Content-Encoding. Graph accepts gzip request bodies (the Go SDK sends them by default) and
// rejects a body whose header says gzip but which is not gzip, as happens on kiota-http-go#183's retries.
func decodeBody(raw []byte, contentEncoding string) ([]byte, *graphError) {
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
		return raw, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, errUnreadableBody()
		}
		body, err := io.ReadAll(io.LimitReader(zr, maxBodyBytes+1))
		if err != nil {
			return nil, errUnreadableBody()
		}
		if len(body) > maxBodyBytes {
			return nil, errTooLarge() // a small gzip body can inflate to gigabytes
		}
		return body, nil
	default:
		return nil, newError(http.StatusUnsupportedMediaType, "BadRequest",
			"Content-Encoding '"+contentEncoding+"' is not supported.")
	}
}

func hasBody(method string) bool {
	return method == http.MethodPost || method == http.MethodPatch || method == http.MethodPut
}

func lastSegment(path string) string {
	path = strings.TrimSuffix(path, "/")
	return path[strings.LastIndex(path, "/")+1:]
}

// referencedID reads the body of a POST or PUT on a $ref, {"@odata.id": ".../directoryObjects/{id}"}, and
// returns the id it names.
func (c *call) referencedID() (string, *graphError) {
	var body map[string]any
	if err := c.decodeJSON(&body); err != nil {
		return "", err
	}
	ref, _ := body["@odata.id"].(string)
	if ref == "" || len(body) != 1 {
		return "", newError(http.StatusBadRequest, "BadRequest", "The payload must contain exactly one '@odata.id' reference.")
	}
	return lastSegment(ref), nil
}

// decodeJSON unmarshals the request body into v, answering Graph's 400 for malformed JSON.
func (c *call) decodeJSON(v any) *graphError {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return errUnreadableBody()
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return newError(http.StatusBadRequest, "BadRequest",
				"Cannot convert the literal to the expected type of property '"+typeErr.Field+"'.")
		}
		return errUnreadableBody()
	}
	return nil
}
