package backend

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/idpctl/idpctl/clock"
)

// ErrorKind says what went wrong when talking to a SCIM endpoint or the backend, so callers (and tests) can
// act on the kind while people read the sentence.
type ErrorKind string

// Error kinds. The TLS kinds are separate because each has a different fix.
const (
	KindInvalidURL          ErrorKind = "invalid-url"           // the URL itself is unusable
	KindDNS                 ErrorKind = "dns"                   // the host name does not resolve
	KindConnectionRefused   ErrorKind = "connection-refused"    // nothing listens on that host and port
	KindTimeout             ErrorKind = "timeout"               // no answer in time
	KindNetwork             ErrorKind = "network"               // any other failure to connect
	KindTLSUnknownAuthority ErrorKind = "tls-unknown-authority" // certificate not signed by a trusted CA
	KindTLSHostname         ErrorKind = "tls-hostname-mismatch" // certificate for another name
	KindTLSExpired          ErrorKind = "tls-expired"           // certificate expired or not yet valid
	KindTLSVersion          ErrorKind = "tls-version"           // the server offers no TLS 1.2 or later
	KindTLS                 ErrorKind = "tls"                   // any other TLS failure, e.g. plain http on an https port
	KindUnauthorized        ErrorKind = "unauthorized"          // 401 or 403: the token was rejected
	KindNotFound            ErrorKind = "not-found"             // 404 where a resource collection was expected
	KindRedirect            ErrorKind = "redirect"              // a 3xx answer
	KindThrottled           ErrorKind = "throttled"             // 429 or 503 that outlasted the retries
	KindServerError         ErrorKind = "server-error"          // other 5xx
	KindUnexpectedStatus    ErrorKind = "unexpected-status"     // any other status
	KindNotSCIM             ErrorKind = "not-scim"              // an answer that is not JSON (e.g. an HTML page)
	KindNotListResponse     ErrorKind = "not-list-response"     // JSON, but not a SCIM ListResponse
	KindFilterIgnored       ErrorKind = "filter-ignored"        // a filter for a random GUID returned resources
	KindDuplicate           ErrorKind = "duplicate"             // a filter that must match once matched several
	KindCanceled            ErrorKind = "canceled"              // the run was cancelled
)

// SCIMError is a failure of a request to a SCIM endpoint, with one sentence of cause and one of fix. It never
// holds a secret: texts that came from the server are scrubbed of the token before they get here.
type SCIMError struct {
	Kind    ErrorKind
	Request string // method and URL, e.g. GET https://scim.example.com/scim/Users?filter=...
	Status  int    // the HTTP status, 0 when there was no answer
	Cause   string
	Fix     string
	Err     error // the underlying transport error, if any (no secrets: it only names the URL)
}

func (e *SCIMError) Error() string {
	msg := e.Request + ": " + e.Cause
	if e.Fix != "" {
		msg += "; " + e.Fix
	}
	return msg
}

func (e *SCIMError) Unwrap() error { return e.Err }

// maxBody bounds what is read of an answer; a SCIM page of users is far smaller.
const maxBody = 4 << 20

// response is an answer read in full.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	TLS    *tls.ConnectionState
}

func (r *response) contentType() string {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// Retry limits. Only 429 and 503 are retried: both mean the server did not act on the request.
const (
	maxAttempts    = 5
	firstBackoff   = time.Second // when the server gives no Retry-After
	maxRetryWait   = 2 * time.Minute
	requestTimeout = time.Minute // per request, unless the caller's client sets its own
)

// pacer sends requests, retrying 429 and 503 as the server asks, within the context's deadline.
type pacer struct {
	clock clock.Clock // nil: the system clock
}

// do sends the request that newRequest builds (once per attempt, so bodies are fresh) and reads the answer.
// After the last attempt a 429 or 503 is returned like any other answer, for the caller to report.
func (p pacer) do(ctx context.Context, client *http.Client, newRequest func(context.Context) (*http.Request, error)) (*response, error) {
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		req, err := newRequest(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if len(body) > maxBody {
			return nil, fmt.Errorf("the answer is larger than %d MiB", maxBody>>20)
		}
		r := &response{Status: resp.StatusCode, Header: resp.Header, Body: body, TLS: resp.TLS}
		if (r.Status != http.StatusTooManyRequests && r.Status != http.StatusServiceUnavailable) || attempt == maxAttempts {
			return r, nil
		}
		clk := clock.Or(p.clock)
		delay, given := clock.RetryAfter(r.Header.Get("Retry-After"), clk.Now())
		if !given {
			delay, backoff = backoff, backoff*2
		}
		if delay > maxRetryWait {
			return r, nil
		}
		if deadline, ok := ctx.Deadline(); ok && clk.Now().Add(delay).After(deadline) {
			return r, nil
		}
		if err := clk.Sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// WithUserAgent returns a copy of client whose every request, to a SCIM endpoint or to the backend, retries
// included, carries userAgent as its User-Agent header: idpctl names itself (cmd builds the value) so that a
// SaaS can tell its requests apart, instead of Go's anonymous "Go-http-client/1.1".
func WithUserAgent(client *http.Client, userAgent string) *http.Client {
	if client == nil {
		client = http.DefaultClient
	}
	c := *client
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = userAgentTransport{next: next, userAgent: userAgent}
	return &c
}

type userAgentTransport struct {
	next      http.RoundTripper
	userAgent string
}

func (t userAgentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not change the caller's request: set the header on a copy.
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", t.userAgent)
	return t.next.RoundTrip(req)
}

// withoutRedirects returns a copy of client that returns 3xx answers instead of following them: a redirect
// would carry the bearer token to wherever it points, and the caller should learn the real URL instead.
func withoutRedirects(client *http.Client) *http.Client {
	if client == nil {
		client = http.DefaultClient
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.Timeout == 0 {
		c.Timeout = requestTimeout
	}
	return &c
}

// describeTransportError turns a failure to get any answer into a kind, a cause and a fix.
func describeTransportError(err error, host string) (kind ErrorKind, cause, fix string) {
	var (
		dnsErr      *net.DNSError
		unknownCA   x509.UnknownAuthorityError
		hostnameErr x509.HostnameError
		invalidCert x509.CertificateInvalidError
		recordErr   tls.RecordHeaderError
		alert       tls.AlertError
		netErr      net.Error
	)
	const tls12 = "Entra's provisioning service connects with TLS 1.2 or later and a certificate from a publicly trusted CA"
	switch {
	case errors.Is(err, context.Canceled):
		return KindCanceled, "cancelled", ""
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return KindDNS, fmt.Sprintf("host %s not found (DNS has no such name)", host), "check the host name in the URL for typos"
		}
		return KindDNS, fmt.Sprintf("could not look up host %s (%s)", host, dnsErr.Err), "check this machine's network and DNS settings, then try again"
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindConnectionRefused, fmt.Sprintf("%s refused the connection (nothing listens on that port)", host), "check the port in the URL and that the server is running"
	case errors.As(err, &unknownCA):
		return KindTLSUnknownAuthority, fmt.Sprintf("the TLS certificate of %s is not signed by a trusted certificate authority (self-signed or a private CA)", host),
			"give the server a certificate from a public CA; " + tls12
	case errors.As(err, &hostnameErr):
		return KindTLSHostname, fmt.Sprintf("the TLS certificate is not valid for %s (%s)", host, certNames(hostnameErr.Certificate)),
			"use the host name the certificate was issued for, or fix the server's certificate"
	case errors.As(err, &invalidCert) && invalidCert.Reason == x509.Expired:
		return KindTLSExpired, fmt.Sprintf("the TLS certificate of %s has expired or is not yet valid (valid %s to %s)", host,
				invalidCert.Cert.NotBefore.UTC().Format(time.DateOnly), invalidCert.Cert.NotAfter.UTC().Format(time.DateOnly)),
			"renew the server's certificate (and check this machine's clock)"
	case errors.As(err, &invalidCert):
		return KindTLS, fmt.Sprintf("the TLS certificate of %s is not valid: %v", host, invalidCert), "fix the server's certificate; " + tls12
	case errors.As(err, &recordErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return KindTLS, fmt.Sprintf("%s did not answer with TLS (is it plain http on this port?)", host), "use the https port of the server, or an http:// URL for a server on this machine"
	case errors.As(err, &alert) && alert == 70, strings.Contains(err.Error(), "protocol version not supported"),
		strings.Contains(err.Error(), "unsupported protocol version"):
		// Alert 70 (protocol_version) comes from a server that refused our versions; the second message from a
		// server that picked an older one.
		return KindTLSVersion, fmt.Sprintf("%s offers no TLS version this client accepts (TLS 1.2 or later)", host), "enable TLS 1.2 or 1.3 on the server; " + tls12
	case strings.Contains(err.Error(), "tls:"):
		return KindTLS, fmt.Sprintf("TLS handshake with %s failed", host), "check the server's TLS setup; " + tls12
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return KindTimeout, fmt.Sprintf("%s did not answer in time", host), "check that the server is up and reachable from here (firewall, proxy), then try again"
	default:
		return KindNetwork, fmt.Sprintf("cannot connect to %s", host), "check the URL and this machine's network"
	}
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return "no certificate"
	}
	names := c.DNSNames
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "issued for " + c.Subject.CommonName
	}
	return "issued for " + strings.Join(names, ", ")
}

// withPath returns base with path segments appended, each escaped, so that a user name such as "a/b" stays one
// segment.
func withPath(base *url.URL, segments ...string) url.URL {
	u := *base
	escaped := make([]string, len(segments))
	for i, s := range segments {
		escaped[i] = url.PathEscape(s)
	}
	u.RawPath = base.EscapedPath() + "/" + strings.Join(escaped, "/")
	u.Path = base.Path + "/" + strings.Join(segments, "/")
	return u
}

func colon(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

type problem struct{ field, message string }

// readProblem reads an error body. Neither the backend contract nor SCIM servers in practice fix its shape, so
// the common ones are accepted: {"field","message"}, {"error":{"field"|"target","message"}}, {"error":"..."},
// SCIM's and RFC 7807's {"detail"} and {"errors":[{"field","message"}]}; an HTML page is named by its title and
// anything else is quoted as text.
func readProblem(body string) problem {
	type entry struct {
		Field   string `json:"field"`
		Target  string `json:"target"`
		Param   string `json:"param"`
		Message string `json:"message"`
		Detail  string `json:"detail"`
		Title   string `json:"title"`
	}
	pick := func(e entry) problem {
		return problem{field: oneLine(firstNonEmpty(e.Field, e.Target, e.Param)), message: oneLine(firstNonEmpty(e.Message, e.Detail, e.Title))}
	}
	var doc struct {
		entry
		Error  json.RawMessage `json:"error"`
		Errors []entry         `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		if htmlTitle([]byte(body)) != "" {
			return problem{message: htmlPage([]byte(body))}
		}
		return problem{message: oneLine(body)}
	}
	p := pick(doc.entry)
	var nested entry
	var text string
	switch {
	case json.Unmarshal(doc.Error, &nested) == nil:
		q := pick(nested)
		p.field, p.message = firstNonEmpty(p.field, q.field), firstNonEmpty(p.message, q.message)
	case json.Unmarshal(doc.Error, &text) == nil:
		p.message = firstNonEmpty(p.message, oneLine(text))
	}
	if len(doc.Errors) > 0 {
		q := pick(doc.Errors[0])
		p.field, p.message = firstNonEmpty(p.field, q.field), firstNonEmpty(p.message, q.message)
	}
	return p
}

func htmlPage(body []byte) string {
	if t := htmlTitle(body); t != "" {
		return fmt.Sprintf("an HTML page titled %q", t)
	}
	return "an HTML page"
}
