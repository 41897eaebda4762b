package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/secret"
)

const registerPath = "/api/v1/identity-providers/entra"

// sleeper is a clock that records the waits a pacer asks for instead of waiting.
type sleeper struct {
	waits []time.Duration
	err   error
	now   time.Time // zero: the real time
}

func (s *sleeper) Now() time.Time {
	if s.now.IsZero() {
		return time.Now()
	}
	return s.now
}

func (s *sleeper) Sleep(_ context.Context, d time.Duration) error {
	s.waits = append(s.waits, d)
	return s.err
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestHTTP(t *testing.T, s *stub) (*HTTP, *sleeper) {
	t.Helper()
	sl := &sleeper{now: testNow}
	h, err := NewHTTP(s.URL+"/api/", secret.New(backendToken), s.Client(), sl)
	if err != nil {
		t.Fatal(err)
	}
	return h, sl
}

func registered(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"id":"idp-1","scim":{"baseUrl":"https://scim.example.com/scim/v2","token":%q}}`, scimToken)
}

func TestHTTPRegister(t *testing.T) {
	s := newStub(t)
	s.on(http.MethodPost, registerPath, registered)
	h, sl := newTestHTTP(t, s)

	got, err := h.Register(context.Background(), registration())
	if err != nil {
		t.Fatal(errText(t, err))
	}
	if got.BaseURL != "https://scim.example.com/scim/v2" || got.Token.Reveal() != scimToken {
		t.Errorf("Register = %s, token of %d characters", got.BaseURL, len(got.Token.Reveal()))
	}
	if h.Name() != "http" || len(sl.waits) != 0 {
		t.Errorf("Name = %q, waits = %v", h.Name(), sl.waits)
	}

	reqs := s.received()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Header.Get("Authorization") != "Bearer "+backendToken {
		t.Error("the backend token was not sent as a bearer token")
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatal(err)
	}
	reg := registration()
	want := map[string]any{"tenantId": reg.TenantID, "clientId": reg.ClientID, "clientSecret": clientSecret, "discoveryUrl": reg.DiscoveryURL}
	if fmt.Sprint(body) != fmt.Sprint(want) {
		t.Errorf("body has keys %v, want exactly tenantId, clientId, clientSecret, discoveryUrl with the registration's values", keys(body))
	}
	assertNoSecret(t, fmt.Sprintf("%+v %v %+v %#v", got, h, h, h))
}

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	return k
}

func TestHTTPRegisterErrors(t *testing.T) {
	const op = "registering the application with the backend: "
	tests := []struct {
		name    string
		handler http.HandlerFunc
		kind    ErrorKind // "" when the error is not a *BackendError
		field   string
		want    string // the whole message; %s is the stub's URL
	}{
		{"401", answer(401, "application/json", `{"error":"invalid token `+backendToken+`"}`), KindUnauthorized, "",
			op + "the backend rejected IDPCTL_BACKEND_TOKEN (401 Unauthorized); set IDPCTL_BACKEND_TOKEN to a valid API token of this backend"},
		{"403", answer(403, "application/json", `{"message":"token lacks idp:write"}`), KindUnauthorized, "",
			op + "the backend accepted IDPCTL_BACKEND_TOKEN but refused this request (403 Forbidden: token lacks idp:write); use a token allowed to manage identity providers"},
		{"400 nested field", answer(400, "application/json", `{"error":{"field":"discoveryUrl","message":"must be an https URL"}}`), KindUnexpectedStatus, "discoveryUrl",
			op + "the backend rejected discoveryUrl (400 Bad Request: must be an https URL); check the value idpctl sent for it"},
		{"400 flat field echoing the secret", answer(400, "application/json", `{"field":"clientSecret","message":"`+clientSecret+` is too short"}`), KindUnexpectedStatus, "clientSecret",
			op + "the backend rejected clientSecret (400 Bad Request: [redacted] is too short); check the value idpctl sent for it"},
		{"422 errors list", answer(422, "application/problem+json", `{"title":"invalid","errors":[{"param":"tenantId","detail":"unknown tenant"}]}`), KindUnexpectedStatus, "tenantId",
			op + "the backend rejected tenantId (422 Unprocessable Entity: invalid); check the value idpctl sent for it"},
		{"400 without field", answer(400, "text/plain", "bad request\n"), KindUnexpectedStatus, "",
			op + "the backend rejected the request (400 Bad Request: bad request)"},
		{"500", answer(500, "application/json", `{"detail":"database unavailable"}`), KindServerError, "",
			op + "the backend failed with 500 Internal Server Error: database unavailable; run again later, or ask the SaaS's support if it persists"},
		{"502 HTML", answer(502, "text/html", "<html><head><title>502 Bad Gateway</title></head></html>"), KindServerError, "",
			op + `the backend failed with 502 Bad Gateway: an HTML page titled "502 Bad Gateway"; run again later, or ask the SaaS's support if it persists`},
		{"404", answer(404, "text/plain", "not found"), KindNotFound, "",
			op + "POST %s/api/v1/identity-providers/entra answered 404 Not Found: --backend-url must be the base URL of an API that implements /v1/identity-providers/entra"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://api.example.com/v2/idp", http.StatusPermanentRedirect)
		}, KindRedirect, "",
			op + "POST %s/api/v1/identity-providers/entra answered 308 Permanent Redirect, a redirect to https://api.example.com/v2/idp; set --backend-url to the address it points to (idpctl does not send the token on)"},
		{"not JSON", answer(200, "text/html", "<html>welcome</html>"), "", "",
			op + `POST %s/api/v1/identity-providers/entra answered 200 but its body is not JSON ("<html>welcome</html>"): is --backend-url the API base URL?`},
		{"no scim", answer(201, "application/json", `{"id":"idp-1"}`), "", "",
			op + "POST %s/api/v1/identity-providers/entra answered without scim.baseUrl and scim.token; the backend does not follow the contract (ask its maintainers)"},
		{"plain http SCIM URL", answer(201, "application/json", `{"id":"x","scim":{"baseUrl":"http://scim.example.com/scim","token":"`+scimToken+`"}}`), "", "",
			op + `the backend's scim.baseUrl "http://scim.example.com/scim": must use https (only loopback may use http); use the https URL your SaaS gave you (the backend must answer with the URL Entra can reach)`},
		{"token with newline", answer(201, "application/json", `{"id":"x","scim":{"baseUrl":"https://scim.example.com","token":"`+scimToken+`\n"}}`), "", "",
			op + "the backend's scim.token starts or ends with a space or line break (a typical copy-paste mistake): remove it (the backend must answer with a usable bearer token)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t)
			s.on(http.MethodPost, registerPath, tt.handler)
			h, _ := newTestHTTP(t, s)
			_, err := h.Register(context.Background(), registration())
			want := tt.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, s.URL)
			}
			if got := errText(t, err); got != want {
				t.Errorf("error\n got %q\nwant %q", got, want)
			}
			var be *BackendError
			if tt.kind == "" {
				return
			}
			if !errors.As(err, &be) || be.Kind != tt.kind || be.Field != tt.field {
				t.Errorf("error = %#v, want kind %s field %q", be, tt.kind, tt.field)
			}
		})
	}
}

func TestHTTPRegisterUnreachable(t *testing.T) {
	addr := closedPort(t)
	h, err := NewHTTP("http://"+addr, secret.New(backendToken), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Register(context.Background(), registration())
	want := fmt.Sprintf("registering the application with the backend: cannot reach the backend at --backend-url http://%s: %s refused the connection (nothing listens on that port); check the port in the URL and that the server is running", addr, addr)
	if got := errText(t, err); got != want {
		t.Errorf("error\n got %q\nwant %q", got, want)
	}
	var be *BackendError
	if !errors.As(err, &be) || be.Kind != KindConnectionRefused {
		t.Errorf("kind = %v", be)
	}

	h, _ = NewHTTP("https://api.idpctl-backend.invalid", secret.New(backendToken), nil, nil)
	_, err = h.Register(context.Background(), registration())
	if got := errText(t, err); !strings.Contains(got, "host api.idpctl-backend.invalid not found") {
		t.Errorf("error = %q", got)
	}
}

func TestHTTPRetries(t *testing.T) {
	t.Run("honours Retry-After in seconds and as a date", func(t *testing.T) {
		s := newStub(t)
		calls := 0
		s.on(http.MethodPost, registerPath, func(w http.ResponseWriter, r *http.Request) {
			calls++
			switch calls {
			case 1:
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
			case 2:
				w.Header().Set("Retry-After", testNow.Add(30*time.Second).Format(http.TimeFormat))
				w.WriteHeader(http.StatusServiceUnavailable)
			default:
				registered(w, r)
			}
		})
		h, sl := newTestHTTP(t, s)
		if _, err := h.Register(context.Background(), registration()); err != nil {
			t.Fatal(errText(t, err))
		}
		if fmt.Sprint(sl.waits) != "[7s 30s]" {
			t.Errorf("waits = %v, want [7s 30s]", sl.waits)
		}
		reqs := s.received()
		for _, r := range reqs[1:] {
			if r.Body != reqs[0].Body || r.Header.Get("Authorization") != reqs[0].Header.Get("Authorization") {
				t.Error("a retry did not resend the same request")
			}
		}
	})

	t.Run("backs off without Retry-After and gives up", func(t *testing.T) {
		s := newStub(t)
		s.on(http.MethodPost, registerPath, answer(503, "text/plain", "maintenance"))
		h, sl := newTestHTTP(t, s)
		_, err := h.Register(context.Background(), registration())
		if got := errText(t, err); got != "registering the application with the backend: the backend is busy and kept answering 503 Service Unavailable: maintenance; run again in a few minutes" {
			t.Errorf("error = %q", got)
		}
		if fmt.Sprint(sl.waits) != "[1s 2s 4s 8s]" || len(s.received()) != maxAttempts {
			t.Errorf("waits = %v, %d requests; want 1s 2s 4s 8s and %d requests", sl.waits, len(s.received()), maxAttempts)
		}
	})

	t.Run("does not wait past the deadline", func(t *testing.T) {
		s := newStub(t)
		s.on(http.MethodPost, registerPath, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		})
		h, sl := newTestHTTP(t, s)
		sl.now = time.Time{} // the context's deadline is on the real clock
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := h.Register(ctx, registration())
		var be *BackendError
		if !errors.As(err, &be) || be.Kind != KindThrottled {
			t.Errorf("err = %v, want throttled", err)
		}
		if len(sl.waits) != 0 || len(s.received()) != 1 {
			t.Errorf("waited %v over %d requests; want no wait", sl.waits, len(s.received()))
		}
	})

	t.Run("stops when cancelled while waiting", func(t *testing.T) {
		s := newStub(t)
		s.on(http.MethodPost, registerPath, answer(429, "", ""))
		h, sl := newTestHTTP(t, s)
		sl.err = context.Canceled
		_, err := h.Register(context.Background(), registration())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
		errText(t, err)
	})
}

func TestHTTPSetRole(t *testing.T) {
	s := newStub(t)
	s.on(http.MethodPut, "/api/v1/roles/ada@contoso.com", answer(204, "", ""))
	s.on(http.MethodPut, "/api/v1/roles/odd%2Fname", answer(200, "application/json", `{"role":"admin"}`))
	s.on(http.MethodPut, "/api/v1/roles/new@contoso.com", answer(404, "application/json", `{"message":"no such user"}`))
	s.on(http.MethodPut, "/api/v1/roles/old@contoso.com", answer(501, "", ""))
	s.on(http.MethodPut, "/api/v1/roles/grace@contoso.com", answer(401, "", ""))
	h, _ := newTestHTTP(t, s)
	ctx := context.Background()

	if err := h.SetRole(ctx, "ada@contoso.com", RoleOwner); err != nil {
		t.Fatal(errText(t, err))
	}
	if err := h.SetRole(ctx, "odd/name", RoleAdmin); err != nil {
		t.Fatal(errText(t, err))
	}
	reqs := s.received()
	if reqs[0].Body != `{"role":"owner"}` || reqs[1].Body != `{"role":"admin"}` || reqs[0].Header.Get("Authorization") != "Bearer "+backendToken {
		t.Errorf("bodies = %q, %q", reqs[0].Body, reqs[1].Body)
	}

	err := h.SetRole(ctx, "new@contoso.com", RoleMember)
	if got := errText(t, err); got != "setting the role of new@contoso.com to member: the backend does not know new@contoso.com yet (404): wait until provisioning has created the user, then run again" {
		t.Errorf("404: %q", got)
	}
	if err := h.SetRole(ctx, "old@contoso.com", RoleAdmin); !errors.Is(err, ErrUnsupported) {
		t.Errorf("501: %v, want ErrUnsupported", err)
	}
	err = h.SetRole(ctx, "grace@contoso.com", RoleAdmin)
	if got := errText(t, err); !strings.Contains(got, "the backend rejected IDPCTL_BACKEND_TOKEN (401 Unauthorized)") {
		t.Errorf("401: %q", got)
	}
	if err := h.SetRole(ctx, "ada@contoso.com", Role("root")); err == nil || len(s.received()) != 5 {
		t.Errorf("an unknown role was sent (%v)", err)
	}
}

func TestNewHTTPChecksInputs(t *testing.T) {
	if _, err := NewHTTP("http://api.example.com", secret.New(backendToken), nil, nil); err == nil || !strings.HasPrefix(err.Error(), "--backend-url") {
		t.Errorf("http URL: %v", err)
	}
	_, err := NewHTTP("https://api.example.com", secret.New(" "+backendToken), nil, nil)
	if got := errText(t, err); got != "IDPCTL_BACKEND_TOKEN starts or ends with a space or line break (a typical copy-paste mistake): remove it" {
		t.Errorf("token: %q", got)
	}
	h, _ := NewHTTP("https://api.example.com", secret.New(backendToken), nil, nil)
	reg := registration()
	reg.ClientSecret = secret.Value{}
	if _, err := h.Register(context.Background(), reg); err == nil || !strings.Contains(err.Error(), "no client secret to send") {
		t.Errorf("empty secret: %v", err)
	}
}

// Issue 10 item 3: the backend's URL and token are checked with the contract's read-only GET /v1/registration
// before anything is written; each way it can fail says what to fix and never shows the token.
func TestHTTPCheck(t *testing.T) {
	const checkPath = "/api/v1/registration"
	s := newStub(t)
	s.on(http.MethodGet, checkPath, answer(200, "application/json", `{"identityProviders":["okta","entra"]}`))
	h, _ := newTestHTTP(t, s)
	if err := h.Check(context.Background()); err != nil {
		t.Fatal(errText(t, err))
	}
	r := s.received()[0]
	if r.Header.Get("Authorization") != "Bearer "+backendToken || r.Body != "" || r.Header.Get("Content-Type") != "" {
		t.Errorf("check request: %+v", r)
	}

	for name, c := range map[string]struct {
		handler http.HandlerFunc
		want    string
		kind    ErrorKind
	}{
		"wrong token": {answer(401, "application/json", `{"error":{"code":"unauthorized","message":"no"}}`),
			"the backend rejected IDPCTL_BACKEND_TOKEN (401 Unauthorized); set IDPCTL_BACKEND_TOKEN to a valid API token of this backend", KindUnauthorized},
		"wrong URL": {answer(404, "text/html", "<html>nope</html>"),
			"answered 404 Not Found: --backend-url must be the base URL of an API that implements the backend contract", KindNotFound},
		"not JSON": {answer(200, "text/html", "<html>a login page</html>"), "its body is not JSON", ""},
		"no entra": {answer(200, "application/json", `{"identityProviders":["okta"]}`), `does not list entra among the identity providers the backend takes (it lists ["okta"])`, ""},
		"server":   {answer(500, "text/plain", "boom"), "the backend failed with 500 Internal Server Error: boom", KindServerError},
	} {
		t.Run(name, func(t *testing.T) {
			s := newStub(t)
			s.on(http.MethodGet, checkPath, c.handler)
			h, _ := newTestHTTP(t, s)
			err := h.Check(context.Background())
			if got := errText(t, err); !strings.HasPrefix(got, "checking the backend before any change: ") || !strings.Contains(got, c.want) {
				t.Errorf("error = %q, want %q", got, c.want)
			}
			var be *BackendError
			if c.kind != "" && (!errors.As(err, &be) || be.Kind != c.kind) {
				t.Errorf("kind = %v, want %s", be, c.kind)
			}
		})
	}

	addr := closedPort(t)
	h, _ = NewHTTP("http://"+addr, secret.New(backendToken), nil, nil)
	if got := errText(t, h.Check(context.Background())); !strings.Contains(got, "cannot reach the backend at --backend-url http://"+addr) {
		t.Errorf("unreachable: %q", got)
	}
}
