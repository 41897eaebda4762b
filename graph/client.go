// Package graph is idpctl's only door to Microsoft Graph: a narrow client over msgraph-sdk-go for every call of
// the setup flow (docs/architecture.md), returning plain Go types. No SDK or kiota type appears in its API,
// so the rest of idpctl compiles without the SDK and tests against small fakes.
//
// Every method takes a context and returns *Error for answers Graph refused (classify them with IsNotFound,
// IsThrottled, IsConflict, IsForbidden, IsUnauthorized, IsBadRequest and Code). The client retries what Entra
// asks to be retried (429, 503, 504 with Retry-After, 409 Directory_ConcurrencyViolation) and, for objects it
// created itself, the 404/403/409/400 answers that directory replication causes (see retry.go). Use
// WaitForApplication and WaitForServicePrincipal after InstantiateTemplate.
//
// Layout: client.go (construction, the HTTP pipeline), retry.go (the retry loop: what is retried and how long),
// errors.go, token.go (StaticToken), types.go, convert.go (SDK models to our types), one file per resource
// family (directory.go, applications.go, serviceprincipals.go, synchronization.go, provisioning.go),
// replication.go (the waits after creating).
package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	kiotaauth "github.com/microsoftgraph/msgraph-sdk-go-core/authentication"

	"github.com/idpctl/idpctl/clock"
)

// DefaultBaseURL is the Graph v1.0 endpoint of the public cloud.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0"

// graphHosts are the national-cloud Graph hosts the SDK attaches tokens for by default; a token for one of
// them is asked for with that host's own .default scope.
func graphHosts() []string {
	return []string{
		"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "graph.microsoft.de",
		"microsoftgraph.chinacloudapi.cn", "canary.graph.microsoft.com",
	}
}

// Config configures a Client. Credential is required; everything else has a default.
type Config struct {
	// BaseURL is the Graph endpoint including the version, e.g. "https://graph.microsoft.us/v1.0" or a
	// simulated tenant's "http://127.0.0.1:8080/v1.0" (--graph-url). Default Cloud's GraphBaseURL. http is
	// accepted only for loopback hosts.
	BaseURL string
	// Cloud picks the default BaseURL and the default token scope for a Graph host that is not a national
	// cloud's own (a proxy or simulated tenant). The zero Cloud is the public cloud.
	Cloud Cloud
	// Credential signs requests: any azcore credential (azidentity's, or StaticToken).
	Credential azcore.TokenCredential
	// Scopes asked of Credential; default "https://<Graph host>/.default" for the national-cloud Graph hosts
	// and Cloud's GraphScope for any other host (a simulated tenant or a proxy).
	Scopes []string
	// HTTPClient supplies the transport (tests, proxies) and the per-request timeout (default 100 s). Its
	// CheckRedirect is not used: redirects go through the SDK, which drops the token on a change of host.
	HTTPClient *http.Client
	// UserAgent names the program in every request's User-Agent header, ahead of the SDK's own product token
	// ("idpctl/v1.2.3 (go1.26.8; linux/amd64) kiota-go/1.5.6"); empty leaves the SDK's alone.
	UserAgent string
	// Logger receives one debug line per HTTP request (method, URL, status, duration, request-id) and per
	// retry. It never receives headers, bodies, tokens or secrets.
	Logger *slog.Logger
	// ReplicationReads is how many successful reads in a row WaitForApplication and WaitForServicePrincipal
	// need before they call an object replicated (default 2).
	ReplicationReads int
	// ReplicationWindow is how long after creating an object the client retries the 404/403/409 answers that
	// replication causes on calls referencing it (default 5 minutes).
	ReplicationWindow time.Duration
	// MaxAttempts bounds the attempts of one call answered 429/503/504 or 409 Directory_ConcurrencyViolation
	// (default 6).
	MaxAttempts int
	// Clock tells the time and waits between retries; tests inject one so that nothing sleeps. Default: the
	// system clock.
	Clock clock.Clock
}

// Client calls Microsoft Graph. It is safe for concurrent use.
type Client struct {
	sdk               *msgraphsdk.GraphServiceClient
	adapter           *msgraphsdk.GraphRequestAdapter
	baseURL           string
	obs               *observer
	log               *slog.Logger
	clock             clock.Clock
	maxAttempts       int
	replicationReads  int
	replicationWindow time.Duration
	retries           atomic.Int64

	mu      sync.Mutex
	created map[string]created // by lower-case id: objects this client created, and when
}

// New builds a Client. It makes no request.
func New(cfg Config) (*Client, error) {
	if cfg.Credential == nil {
		return nil, errors.New("graph: no credential: sign in first, or pass graph.StaticToken for an access token obtained elsewhere")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = cfg.Cloud.GraphBaseURL()
	}
	// The messages name the URL by its host only: a URL given as input may carry a password or a token.
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("graph: the Graph URL is not an absolute http(s) URL; pass one like %s", DefaultBaseURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("graph: the Graph URL (host %s) holds a user name or password before the @: remove it; idpctl signs in with a token", u.Host)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("graph: the Graph URL uses http on %s, which is not loopback; tokens are sent over https only (http is accepted for localhost, 127.0.0.1 and [::1])", u.Host)
	}
	hosts := graphHosts()
	if !slices.Contains(hosts, strings.ToLower(u.Hostname())) {
		// The SDK silently sends no Authorization header to a host outside this list (kiota-abstractions-go
		// authentication/allowed_hosts_validator.go).
		hosts = append(hosts, strings.ToLower(u.Hostname()))
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{defaultScope(u.Hostname(), cfg.Cloud)}
	}
	auth, err := kiotaauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cfg.Credential, scopes, hosts)
	if err != nil {
		return nil, fmt.Errorf("graph: set up sign-in for %s: %w", u.Host, err)
	}

	c := &Client{
		baseURL:           base,
		log:               cfg.Logger,
		clock:             clock.Or(cfg.Clock),
		maxAttempts:       cfg.MaxAttempts,
		replicationReads:  cfg.ReplicationReads,
		replicationWindow: cfg.ReplicationWindow,
		created:           map[string]created{},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = 6
	}
	if c.replicationReads <= 0 {
		c.replicationReads = 2
	}
	if c.replicationWindow <= 0 {
		c.replicationWindow = 5 * time.Minute
	}

	var parent http.RoundTripper = http.DefaultTransport
	timeout := 100 * time.Second
	if cfg.HTTPClient != nil {
		if cfg.HTTPClient.Transport != nil {
			parent = cfg.HTTPClient.Transport
		}
		if cfg.HTTPClient.Timeout > 0 {
			timeout = cfg.HTTPClient.Timeout
		}
	}
	c.obs = &observer{next: parent, log: c.log, userAgent: cfg.UserAgent}
	hc := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(c.obs, middlewares()...),
		// The redirect middleware follows redirects itself (and drops the token on a change of origin).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       timeout,
	}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, hc)
	if err != nil {
		return nil, fmt.Errorf("graph: build the request adapter: %w", err)
	}
	adapter.SetBaseUrl(base)
	c.adapter = adapter
	c.sdk = msgraphsdk.NewGraphServiceClient(adapter)
	return c, nil
}

// middlewares is the SDK's default pipeline minus two handlers, in a fixed order (kiota builds its default list
// from a map, so its order changes from run to run):
//   - no compression handler: it gzips request bodies, and when a retry resends a request the body can go out
//     uncompressed under the same "Content-Encoding: gzip" header, which Graph (and the sandbox) reject with 400
//     (kiota-http-go issue 183). Our bodies are a few kilobytes, so compression saves nothing worth that risk:
//     every body is sent as plain JSON, the same bytes on every attempt, with no Content-Encoding header.
//   - no retry handler: it sleeps on real timers (untestable), truncates fractional Retry-After values and
//     does not know about replication; Client.send retries instead, re-serializing the request each time.
func middlewares() []khttp.Middleware {
	options := msgraphsdk.GetDefaultClientOptions()
	return []khttp.Middleware{
		msgraphcore.NewGraphTelemetryHandler(&options),
		khttp.NewUrlReplaceHandler(true, msgraphcore.ReplacementPairs),
		khttp.NewRedirectHandler(),
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewUserAgentHandler(),
		khttp.NewHeadersInspectionHandler(),
	}
}

// defaultScope is the token scope for a Graph host: its own .default for the national clouds; for any other
// host (a simulated tenant, a proxy in front of Graph) the cloud's, which is what a proxy forwards to and what
// a simulated tenant ignores.
func defaultScope(host string, c Cloud) string {
	host = strings.ToLower(host)
	if slices.Contains(graphHosts(), host) {
		return "https://" + host + "/.default"
	}
	return c.GraphScope()
}

// isLoopback matches the hosts the SDK's token provider accepts over http (kiota-authentication-azure-go
// LocalhostStrings).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}

// Stats returns how many HTTP requests the client has sent so far.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.obs.requests.Load(), Retries: c.retries.Load(), Throttled: c.obs.throttled.Load()}
}

// exchange is what the transport saw of one attempt's response: the SDK's error types lose the status of
// answers it cannot parse (an HTML 503 from a gateway) and parse innerError.date in the local time zone.
type exchange struct {
	status int
	header http.Header
	body   []byte // error answers only, at most maxErrorBody bytes
	// lost is set when the request went to the transport and no answer came back (connection reset, EOF,
	// the per-request timeout): Graph may or may not have done it. method is the request's.
	lost   bool
	method string
}

type exchangeKey struct{}

const maxErrorBody = 64 << 10

func withExchange(ctx context.Context, x *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, x)
}

// observer is the bottom of the HTTP pipeline: it counts and logs requests and records each attempt's answer.
type observer struct {
	next      http.RoundTripper
	log       *slog.Logger
	userAgent string
	requests  atomic.Int64
	throttled atomic.Int64
}

func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not change the caller's request: what is set below goes on a copy.
	req = req.Clone(req.Context())
	if o.userAgent != "" {
		// Below kiota's user-agent handler, so the product comes first and the SDK's token follows.
		req.Header.Set("User-Agent", strings.TrimSpace(o.userAgent+" "+req.Header.Get("User-Agent")))
	}
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength <= 0 {
		// The SDK hands over its serialized body without a length, which net/http would send chunked; the
		// compression handler used to set one. Send a Content-Length, as every Graph client does.
		body, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.ContentLength = int64(len(body))
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	o.requests.Add(1)
	start := time.Now()
	resp, err := o.next.RoundTrip(req)
	elapsed := time.Since(start)
	if err != nil {
		o.log.LogAttrs(req.Context(), slog.LevelDebug, "graph request failed",
			slog.String("method", req.Method), slog.String("url", req.URL.String()),
			slog.Duration("duration", elapsed), slog.String("error", err.Error()))
		if x, ok := req.Context().Value(exchangeKey{}).(*exchange); ok {
			x.lost, x.method = true, req.Method
		}
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		o.throttled.Add(1)
	}
	if x, ok := req.Context().Value(exchangeKey{}).(*exchange); ok {
		x.status = resp.StatusCode
		x.header = resp.Header.Clone()
		if resp.StatusCode >= 400 && resp.Body != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			_ = resp.Body.Close()
			x.body = body
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Del("Content-Length")
		}
	}
	o.log.LogAttrs(req.Context(), slog.LevelDebug, "graph request",
		slog.String("method", req.Method), slog.String("url", req.URL.String()),
		slog.Int("status", resp.StatusCode), slog.Duration("duration", elapsed),
		slog.String("request-id", requestID(resp.Header)))
	return resp, nil
}

func requestID(h http.Header) string {
	if id := h.Get("request-id"); id != "" {
		return id
	}
	return h.Get("client-request-id")
}
