package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/idpctl/idpctl/clock"
	"github.com/idpctl/idpctl/secret"
)

// Error is an answer Graph refused a request with.
type Error struct {
	Status     int    // HTTP status, e.g. 404
	Code       string // Graph's error code, e.g. "Request_ResourceNotFound"
	Message    string // Graph's message, with any secret the request carried removed
	RequestID  string // for Microsoft support
	Date       time.Time
	Op         string        // the operation, e.g. "POST /applications/{id}/addPassword"
	RetryAfter time.Duration // the wait Graph asked for, if any
	Attempts   int           // how many times the request was sent
}

// ErrNotFound is returned (wrapped) by lookups that found nothing, such as ResolveUser; IsNotFound reports it
// as it reports Graph's 404.
var ErrNotFound = errors.New("not found")

func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s (HTTP %d", e.Op, strings.TrimSuffix(msg, "."), e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, ", after %d attempts", e.Attempts)
	}
	if e.RequestID != "" {
		b.WriteString(", request-id " + e.RequestID)
	}
	b.WriteString(")")
	if hint := e.hint(); hint != "" {
		b.WriteString(": " + hint)
	}
	return b.String()
}

// hint says what a person can do about the statuses that are about them rather than the request.
func (e *Error) hint() string {
	switch e.Status {
	case http.StatusUnauthorized:
		return "the access token was refused; sign in again (or get a fresh token for --auth token)"
	case http.StatusForbidden:
		return "the signed-in account lacks a permission or role for this; idpctl needs an Application Administrator " +
			"or Cloud Application Administrator and consent to the Graph scopes it asks for at sign-in"
	case http.StatusTooManyRequests:
		return "Microsoft Graph is throttling this tenant; wait a minute and run again"
	}
	return ""
}

// duplicate reports a refusal because the object already exists: retrying cannot help, the caller should find
// the existing object.
func (e *Error) duplicate() bool {
	if strings.EqualFold(e.Code, "Request_MultipleObjectsWithSameKeyValue") {
		return true
	}
	return (e.Status == http.StatusBadRequest || e.Status == http.StatusConflict) &&
		strings.Contains(strings.ToLower(e.Message), "already exist")
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// IsNotFound reports a 404 from Graph, or a lookup that found nothing (ErrNotFound).
func IsNotFound(err error) bool {
	if errors.Is(err, ErrNotFound) {
		return true
	}
	e := asError(err)
	return e != nil && e.Status == http.StatusNotFound
}

// IsThrottled reports an answer that asked to come back later (429, 503, 504) and was still refused after the
// client's retries.
func IsThrottled(err error) bool {
	e := asError(err)
	return e != nil && (e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable ||
		e.Status == http.StatusGatewayTimeout)
}

// IsConflict reports a 409, or any refusal because the object already exists (Graph answers a duplicate app
// role assignment with 400 "Permission being assigned already exists on the object.").
func IsConflict(err error) bool {
	e := asError(err)
	return e != nil && (e.Status == http.StatusConflict || e.duplicate())
}

// IsForbidden reports a 403: the signed-in account lacks a permission or role.
func IsForbidden(err error) bool {
	e := asError(err)
	return e != nil && e.Status == http.StatusForbidden
}

// IsUnauthorized reports a 401: the token was missing, expired or refused.
func IsUnauthorized(err error) bool {
	e := asError(err)
	return e != nil && e.Status == http.StatusUnauthorized
}

// IsBadRequest reports a 400: Graph refused the request itself.
func IsBadRequest(err error) bool {
	e := asError(err)
	return e != nil && e.Status == http.StatusBadRequest
}

// Code returns Graph's error code, or "" when err is not a Graph answer.
func Code(err error) string {
	if e := asError(err); e != nil {
		return e.Code
	}
	return ""
}

// newError turns what the SDK returned for one attempt into *Error, or wraps a transport failure (network,
// context) with the operation's name.
func (c *Client) newError(cl call, err error, x *exchange, attempt int) error {
	e := &Error{Op: cl.op, Attempts: attempt}
	var header http.Header
	var odataErr *odataerrors.ODataError
	var apiErr *abstractions.ApiError
	switch {
	case errors.As(err, &odataErr):
		e.Status = odataErr.ResponseStatusCode
		fromODataError(e, odataErr)
		header = fromResponseHeaders(odataErr.ResponseHeaders)
	case errors.As(err, &apiErr):
		e.Status = apiErr.ResponseStatusCode
		header = fromResponseHeaders(apiErr.ResponseHeaders)
	}
	if x != nil && x.status >= 400 {
		if e.Status == 0 {
			e.Status = x.status
		}
		if x.header != nil {
			header = x.header
		}
		fromEnvelope(e, x.body)
	}
	if e.Status < 400 {
		return &opError{op: cl.op, err: err, secrets: cl.secrets, attempts: attempt}
	}
	if header != nil {
		c.fromHeader(e, header)
	}
	e.Message = secret.Scrub(e.Message, cl.secrets...)
	return e
}

// fromHeader fills in what an error answer's headers say: its request id, date and Retry-After.
func (c *Client) fromHeader(e *Error, header http.Header) {
	if e.RequestID == "" {
		e.RequestID = requestID(header)
	}
	if e.Date.IsZero() {
		if t, perr := http.ParseTime(header.Get("Date")); perr == nil {
			e.Date = t.UTC()
		}
	}
	// A wait of more than a day is as good as no answer (zero): the caller backs off on its own.
	if wait, ok := clock.RetryAfter(header.Get("Retry-After"), c.clock.Now()); ok && wait <= 24*time.Hour {
		e.RetryAfter = wait
	}
}

// opError is a failure that is not Graph's answer (network, sign-in, context): it names the operation and keeps
// the cause for errors.Is and errors.As (a sign-in failure is the caller's exit code 4), with the secrets the
// call sent scrubbed from the text.
type opError struct {
	op       string
	err      error
	secrets  []secret.Value
	attempts int // how many times the request was sent (a lost answer to an idempotent call is sent again)
}

func (e *opError) Error() string {
	msg := e.op + ": " + secret.Scrub(e.err.Error(), e.secrets...)
	if e.attempts > 1 {
		msg += fmt.Sprintf(" (after %d attempts)", e.attempts)
	}
	return msg
}

func (e *opError) Unwrap() error { return e.err }

// fromODataError copies what the SDK parsed. Every level can be nil, and even the message pointer that the
// SDK's own Error() dereferences (msgraph-sdk-go #434, #313, #510).
func fromODataError(e *Error, o *odataerrors.ODataError) {
	if o.GetBackingStore() == nil {
		return // a zero ODataError{}: its getters would panic
	}
	main := o.GetErrorEscaped()
	if main == nil {
		return
	}
	e.Code = deref(main.GetCode())
	e.Message = deref(main.GetMessage())
	if inner := main.GetInnerError(); inner != nil {
		e.RequestID = deref(inner.GetRequestId())
	}
	// innerError.date is not taken from the SDK: it reads Graph's zone-less UTC time in the local zone.
}

// fromEnvelope fills what the SDK left empty from the raw error body {"error": {"code", "message",
// "innerError": {"request-id", "date"}}} (DOCS concepts/errors.md).
func fromEnvelope(e *Error, body []byte) {
	var env struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
				Date      string `json:"date"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil {
		return
	}
	if e.Code == "" {
		e.Code = env.Error.Code
	}
	if e.Message == "" {
		e.Message = env.Error.Message
	}
	if e.RequestID == "" {
		e.RequestID = env.Error.InnerError.RequestID
	}
	if d := env.Error.InnerError.Date; d != "" {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05"} {
			if t, err := time.Parse(layout, d); err == nil {
				e.Date = t.UTC()
				break
			}
		}
	}
}

func fromResponseHeaders(h *abstractions.ResponseHeaders) http.Header {
	if h == nil {
		return nil
	}
	out := http.Header{}
	for _, k := range h.ListKeys() {
		for _, v := range h.Get(k) {
			out.Add(k, v)
		}
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
