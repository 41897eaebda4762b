package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/idpctl/idpctl/clock"
)

func TestErrorFromGraphEnvelope(t *testing.T) {
	f := newFakeGraph(t, stub{
		method: "GET", path: "/applications/" + appObjectID, status: http.StatusNotFound,
		respHeader: http.Header{"Request-Id": {"5e0bc6a1-4d0f-4d3c-9d3e-7d1c2b3a4f5e"}, "Date": {"Sun, 29 Nov 2026 10:15:03 GMT"}},
		resp: graphError("Request_ResourceNotFound",
			"Resource '"+appObjectID+"' does not exist or one of its queried reference-property objects are not present.",
			"5e0bc6a1-4d0f-4d3c-9d3e-7d1c2b3a4f5e"),
	})
	c, _ := newTestClient(t, f)
	_, err := c.GetApplication(context.Background(), appObjectID)
	e := mustGraphError(t, err)
	want := Error{
		Status: 404, Code: "Request_ResourceNotFound",
		Message:   "Resource '" + appObjectID + "' does not exist or one of its queried reference-property objects are not present.",
		RequestID: "5e0bc6a1-4d0f-4d3c-9d3e-7d1c2b3a4f5e",
		// innerError.date is UTC without a zone; the SDK would read it in the local zone.
		Date: time.Date(2026, 11, 29, 10, 15, 2, 0, time.UTC),
		Op:   "GET /applications/{id}", Attempts: 1,
	}
	diff(t, "error", *e, want)
	if msg := err.Error(); !strings.HasPrefix(msg, "GET /applications/{id}: Resource '") ||
		!strings.Contains(msg, "(HTTP 404 Request_ResourceNotFound, request-id 5e0bc6a1-4d0f-4d3c-9d3e-7d1c2b3a4f5e)") {
		t.Errorf("Error() = %q", msg)
	}
	if !IsNotFound(err) || IsConflict(err) || IsForbidden(err) || Code(err) != "Request_ResourceNotFound" {
		t.Error("classifiers disagree with a 404")
	}
}

func TestErrorWithoutUsableBody(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		wantCode   string
		wantInText string
	}{
		{"HTML from a gateway", 502, http.Header{"Content-Type": {"text/html"}}, "<html><body>Bad Gateway</body></html>", "", "GET /me: Bad Gateway (HTTP 502, request-id req-1)"},
		{"no body", 401, nil, "", "", "Unauthorized (HTTP 401, request-id req-1): the access token was refused"},
		{"error without message", 403, nil, `{"error":{"code":"Authorization_RequestDenied"}}`, "Authorization_RequestDenied", "Forbidden (HTTP 403 Authorization_RequestDenied, request-id req-1): the signed-in account lacks"},
		{"error is null", 400, nil, `{"error":null}`, "", "Bad Request (HTTP 400, request-id req-1)"},
		{"empty object", 400, nil, `{}`, "", "Bad Request (HTTP 400, request-id req-1)"},
		{"not JSON at all", 400, http.Header{"Content-Type": {"application/json"}}, `{"error":`, "", "(HTTP 400, request-id req-1)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t, stub{method: "GET", path: "/me", query: q("$select", userSelect), status: tc.status, respHeader: tc.header, resp: tc.body})
			c, _ := newTestClient(t, f)
			_, err := c.Me(context.Background())
			e := mustGraphError(t, err)
			if e.Status != tc.status || e.Code != tc.wantCode || e.RequestID != "req-1" {
				t.Errorf("error = %+v, want status %d code %q request-id from the header", e, tc.status, tc.wantCode)
			}
			if !strings.Contains(err.Error(), tc.wantInText) {
				t.Errorf("Error() = %q, want it to contain %q", err.Error(), tc.wantInText)
			}
		})
	}
}

func TestNewErrorIsNilSafe(t *testing.T) {
	c := &Client{clock: clock.System{}}
	cl := call{op: "GET /x"}
	withStatus := func(e *odataerrors.ODataError) *odataerrors.ODataError {
		e.ResponseStatusCode = 409
		return e
	}
	noMessage := odataerrors.NewODataError()
	main := odataerrors.NewMainError()
	code := "Conflict"
	main.SetCode(&code)
	noMessage.SetErrorEscaped(main) // message pointer nil: the SDK's own Error() would panic here
	for name, err := range map[string]error{
		"zero ODataError":      withStatus(&odataerrors.ODataError{}),
		"no main error":        withStatus(odataerrors.NewODataError()),
		"no message":           withStatus(noMessage),
		"ApiError, no headers": &abstractions.ApiError{ResponseStatusCode: 409},
		"wrapped ODataError":   fmt.Errorf("wrapped: %w", withStatus(noMessage)),
	} {
		t.Run(name, func(t *testing.T) {
			got := c.newError(cl, err, nil, 1)
			e := mustGraphError(t, got)
			if e.Status != 409 || !IsConflict(got) || got.Error() == "" {
				t.Errorf("got %+v", e)
			}
		})
	}
	// Not an HTTP answer at all: the operation is named and the cause kept.
	cause := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	got := c.newError(cl, cause, &exchange{}, 1)
	if asError(got) != nil || got.Error() != "GET /x: "+cause.Error() || !errors.Is(got, cause) {
		t.Errorf("transport error = %v", got)
	}
	got = c.newError(cl, fmt.Errorf("send: %w", context.DeadlineExceeded), &exchange{}, 1)
	if !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("deadline error lost its cause: %v", got)
	}
}

func TestClassifiers(t *testing.T) {
	e := func(status int, code, msg string) error {
		return &Error{Status: status, Code: code, Message: msg, Op: "op"}
	}
	wrapped := func(err error) error { return fmt.Errorf("step failed: %w", err) }
	cases := []struct {
		err                                                      error
		notFound, throttled, conflict, forbidden, unauth, badReq bool
	}{
		{err: e(404, "Request_ResourceNotFound", ""), notFound: true},
		{err: wrapped(e(404, "", "")), notFound: true},
		{err: fmt.Errorf("user x: %w", ErrNotFound), notFound: true},
		{err: e(429, "TooManyRequests", ""), throttled: true},
		{err: e(503, "", ""), throttled: true},
		{err: e(504, "", ""), throttled: true},
		{err: e(409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists."), conflict: true},
		{err: e(400, "Request_BadRequest", "Permission being assigned already exists on the object."), conflict: true, badReq: true},
		{err: e(400, "Request_BadRequest", "Invalid value specified for property 'resourceId'."), badReq: true},
		{err: e(403, "Authorization_RequestDenied", ""), forbidden: true},
		{err: wrapped(e(401, "InvalidAuthenticationToken", "")), unauth: true},
		{err: errors.New("plain")},
		{err: nil},
	}
	for _, tc := range cases {
		got := [6]bool{IsNotFound(tc.err), IsThrottled(tc.err), IsConflict(tc.err), IsForbidden(tc.err), IsUnauthorized(tc.err), IsBadRequest(tc.err)}
		want := [6]bool{tc.notFound, tc.throttled, tc.conflict, tc.forbidden, tc.unauth, tc.badReq}
		if got != want {
			t.Errorf("%v: [notFound throttled conflict forbidden unauthorized badRequest] = %v, want %v", tc.err, got, want)
		}
	}
	if Code(wrapped(e(400, "Request_BadRequest", ""))) != "Request_BadRequest" || Code(errors.New("x")) != "" {
		t.Error("Code does not unwrap")
	}
}
