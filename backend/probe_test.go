package backend

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idpctl/idpctl/secret"
)

const guid = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`

func TestProbeSendsWhatEntraSends(t *testing.T) {
	fake := &fakeSCIM{prefix: "/scim/v2"}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	// The trailing slash and Entra's feature flag are how admins paste tenant URLs.
	report, err := Probe(context.Background(), srv.Client(), nil, scimOf(srv.URL+"/scim/v2/?aadOptscim062020"))
	if err != nil {
		t.Fatalf("Probe: %v", errText(t, err))
	}

	got := fake.received()
	want := []struct{ path, query string }{
		{"/scim/v2/Users", `^filter=userName\+eq\+%22` + guid + `%22$`},
		{"/scim/v2/ServiceProviderConfig", `^$`},
		{"/scim/v2/Groups", `^excludedAttributes=members&filter=displayName\+eq\+%22` + guid + `%22$`},
		// Not Entra's: whether the server is strict about booleans (this fake takes no "and" at all).
		{"/scim/v2/Users", `^filter=userName\+eq\+%22` + guid + `%22\+and\+active\+eq\+%22False%22$`},
		{"/scim/v2/Users", `^filter=userName\+eq\+%22` + guid + `%22\+and\+active\+eq\+false$`},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d requests, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		r := got[i]
		if r.Method != http.MethodGet || r.Path != w.path || !regexp.MustCompile(w.query).MatchString(r.RawQuery) {
			t.Errorf("request %d = %s %s?%s, want GET %s?%s", i, r.Method, r.Path, r.RawQuery, w.path, w.query)
		}
		if a := r.Header.Get("Authorization"); a != "Bearer "+scimToken {
			t.Errorf("request %d: Authorization header is not the bearer token (len %d)", i, len(a))
		}
		if !strings.Contains(r.Header.Get("Accept"), "application/scim+json") {
			t.Errorf("request %d: Accept = %q", i, r.Header.Get("Accept"))
		}
	}

	if len(report.Checks) != 3 || report.RefusesStringBooleans {
		t.Fatalf("checks = %+v (a server that takes neither boolean filter is not strict)", report.Checks)
	}
	for _, c := range report.Checks {
		if c.Result != CheckOK || c.Status != http.StatusOK || c.Problem != "" {
			t.Errorf("check %+v, want ok", c)
		}
		if strings.Contains(c.Request, "aadOptscim062020") {
			t.Errorf("Entra's flag was sent to the endpoint: %s", c.Request)
		}
	}
	if len(report.Warnings) != 0 {
		t.Errorf("warnings = %q", report.Warnings)
	}
	if sp := report.ServiceProvider; sp == nil || !sp.PatchSupported || !sp.FilterSupported || sp.FilterMaxResults != 200 || sp.BulkSupported ||
		len(sp.AuthenticationSchemes) != 1 || sp.AuthenticationSchemes[0] != "oauthbearertoken" {
		t.Errorf("ServiceProvider = %+v", sp)
	}
	if report.TLSVersion != "" {
		t.Errorf("TLSVersion = %q over plain http", report.TLSVersion)
	}
	js, _ := json.Marshal(report)
	assertNoSecret(t, report.String(), string(js), fmt.Sprintf("%+v", report))
	// Each request is shown under the base URL the first line names, its filter as a person writes it.
	if s := report.String(); !strings.HasPrefix(s, "SCIM endpoint "+srv.URL+"/scim/v2") || !strings.Contains(s, "\n  ok      user filter: GET /Users?filter=userName eq \"") {
		t.Errorf("String() =\n%s", report.String())
	}
}

func TestProbeOverTLS(t *testing.T) {
	srv := httptest.NewTLSServer(&fakeSCIM{prefix: "/scim"})
	defer srv.Close()
	report, err := Probe(context.Background(), srv.Client(), nil, scimOf(srv.URL+"/scim"))
	if err != nil {
		t.Fatalf("Probe: %v", errText(t, err))
	}
	if report.TLSVersion != "TLS 1.3" {
		t.Errorf("TLSVersion = %q", report.TLSVersion)
	}
}

// neverAnswers accepts connections and keeps them open without a word.
func neverAnswers(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close(); close(done) })
	return l.Addr().String()
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func answer(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

// usersOK answers the user filter correctly and hands everything else to rest.
func usersOK(rest http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Users") {
			scimJSON(w, http.StatusOK, map[string]any{"schemas": []string{listResponseSchema}, "totalResults": 0, "Resources": []any{}})
			return
		}
		if strings.HasSuffix(r.URL.Path, "/ServiceProviderConfig") {
			http.NotFound(w, r)
			return
		}
		rest(w, r)
	}
}

func TestProbeFailures(t *testing.T) {
	ca := newTestCA(t)
	now := time.Now()
	tests := []struct {
		name  string
		setup func(t *testing.T) (baseURL string, client *http.Client)
		kind  ErrorKind
		check string   // the ProbeCheck that failed
		want  []string // parts of the error message
	}{
		{
			name:  "not https",
			setup: func(*testing.T) (string, *http.Client) { return "http://scim.example.com/scim", nil },
			kind:  KindInvalidURL,
			want:  []string{"must use https", "only loopback may use http"},
		},
		{
			name:  "host not found",
			setup: func(*testing.T) (string, *http.Client) { return "https://scim.idpctl-probe.invalid/scim", nil },
			kind:  KindDNS, check: "user filter",
			want: []string{"host scim.idpctl-probe.invalid not found", "check the host name"},
		},
		{
			name:  "connection refused",
			setup: func(t *testing.T) (string, *http.Client) { return "http://" + closedPort(t) + "/scim", nil },
			kind:  KindConnectionRefused, check: "user filter",
			want: []string{"refused the connection", "check the port"},
		},
		{
			name: "timeout",
			setup: func(t *testing.T) (string, *http.Client) {
				return "http://" + neverAnswers(t) + "/scim", &http.Client{Timeout: 200 * time.Millisecond}
			},
			kind: KindTimeout, check: "user filter",
			want: []string{"did not answer in time"},
		},
		{
			name: "self-signed certificate",
			setup: func(t *testing.T) (string, *http.Client) {
				srv := tlsServer(t, &fakeSCIM{}, nil)
				return srv.URL, &http.Client{}
			},
			kind: KindTLSUnknownAuthority, check: "user filter",
			want: []string{"not signed by a trusted certificate authority", "public CA", "TLS 1.2"},
		},
		{
			name: "certificate for another host",
			setup: func(t *testing.T) (string, *http.Client) {
				cert := ca.leaf(t, []string{"scim.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
				srv := tlsServer(t, &fakeSCIM{}, &tls.Config{Certificates: []tls.Certificate{cert}})
				return srv.URL, ca.client()
			},
			kind: KindTLSHostname, check: "user filter",
			want: []string{"not valid for 127.0.0.1", "issued for scim.example.com"},
		},
		{
			name: "expired certificate",
			setup: func(t *testing.T) (string, *http.Client) {
				cert := ca.leaf(t, []string{"127.0.0.1"}, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
				srv := tlsServer(t, &fakeSCIM{}, &tls.Config{Certificates: []tls.Certificate{cert}})
				return srv.URL, ca.client()
			},
			kind: KindTLSExpired, check: "user filter",
			want: []string{"has expired", "renew"},
		},
		{
			name: "only TLS 1.1",
			setup: func(t *testing.T) (string, *http.Client) {
				cert := ca.leaf(t, []string{"127.0.0.1"}, now.Add(-time.Hour), now.Add(time.Hour))
				srv := tlsServer(t, &fakeSCIM{}, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
				return srv.URL, ca.client()
			},
			kind: KindTLSVersion, check: "user filter",
			want: []string{"TLS 1.2 or later", "enable TLS 1.2"},
		},
		{
			name: "https to a plain http port",
			setup: func(t *testing.T) (string, *http.Client) {
				srv := httptest.NewServer(&fakeSCIM{})
				t.Cleanup(srv.Close)
				return strings.Replace(srv.URL, "http://", "https://", 1), nil
			},
			kind: KindTLS, check: "user filter",
			want: []string{"did not answer with TLS"},
		},
		{
			name:  "token rejected",
			setup: serve(answer(401, "application/scim+json", `{"status":"401","detail":"token `+scimToken+` is unknown"}`)),
			kind:  KindUnauthorized, check: "user filter",
			want: []string{"rejected the SCIM token", "401 Unauthorized", "token [redacted] is unknown", "copy the secret token"},
		},
		{
			name:  "token forbidden",
			setup: serve(answer(403, "application/json", `{"message":"scope scim:read missing"}`)),
			kind:  KindUnauthorized, check: "user filter",
			want: []string{"refused access", "403 Forbidden: scope scim:read missing"},
		},
		{
			name:  "filter answers 404",
			setup: serve(answer(404, "text/plain", "404 page not found")),
			kind:  KindNotFound, check: "user filter",
			want: []string{"404 Not Found", "base path is probably wrong", "quarantines"},
		},
		{
			name: "redirect",
			setup: serve(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/new") {
					t.Errorf("the redirect was followed to %s", r.URL)
				}
				http.Redirect(w, r, "/new/scim/Users", http.StatusMovedPermanently)
			}),
			kind: KindRedirect, check: "user filter",
			want: []string{"301 Moved Permanently, a redirect to /new/scim/Users", "not documented to follow redirects"},
		},
		{
			name:  "HTML page",
			setup: serve(answer(200, "text/html; charset=utf-8", "<!doctype html><html><head><title>Sign in – Contoso</title></head><body></body></html>")),
			kind:  KindNotSCIM, check: "user filter",
			want: []string{`HTML page titled "Sign in – Contoso"`, "not a SCIM endpoint"},
		},
		{
			name:  "plain text",
			setup: serve(answer(200, "text/plain", "OK")),
			kind:  KindNotSCIM, check: "user filter",
			want: []string{`not JSON (Content-Type text/plain) but "OK"`, "not a SCIM endpoint"},
		},
		{
			name:  "JSON that is no ListResponse",
			setup: serve(answer(200, "application/json", `{"users":[]}`)),
			kind:  KindNotListResponse, check: "user filter",
			want: []string{"not a SCIM ListResponse"},
		},
		{
			name:  "filter ignored",
			setup: serve(answer(200, "application/scim+json", `{"schemas":["`+listResponseSchema+`"],"totalResults":3,"Resources":[{"id":"1"},{"id":"2"},{"id":"3"}]}`)),
			kind:  KindFilterIgnored, check: "user filter",
			want: []string{"returned 3 Users", "ignores or mishandles filters", `userName eq "..."`},
		},
		{
			name:  "server error",
			setup: serve(answer(500, "application/scim+json", `{"status":"500","detail":"database unavailable"}`)),
			kind:  KindServerError, check: "user filter",
			want: []string{"500 Internal Server Error: database unavailable"},
		},
		{
			name: "groups missing",
			setup: serve(usersOK(func(w http.ResponseWriter, r *http.Request) {
				http.NotFound(w, r)
			})),
			kind: KindNotFound, check: "group filter",
			want: []string{"/Groups?excludedAttributes=members&filter=displayName+eq+%22", "no /Groups", "quarantines"},
		},
		{
			name: "groups ignore the filter",
			setup: serve(usersOK(answer(200, "application/scim+json",
				`{"schemas":["`+listResponseSchema+`"],"totalResults":1,"Resources":[{"id":"g","displayName":"Staff"}]}`))),
			kind: KindFilterIgnored, check: "group filter",
			want: []string{"returned 1 Groups"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, client := tt.setup(t)
			report, err := Probe(context.Background(), client, nil, scimOf(base))
			var se *SCIMError
			if !errors.As(err, &se) {
				t.Fatalf("Probe error = %v (%T), want a *SCIMError", err, err)
			}
			msg := errText(t, err)
			if se.Kind != tt.kind {
				t.Errorf("kind = %s, want %s (%s)", se.Kind, tt.kind, msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\n does not contain %q", msg, w)
				}
			}
			js, _ := json.Marshal(report)
			assertNoSecret(t, report.String(), string(js))
			if tt.check == "" {
				if len(report.Checks) != 0 {
					t.Errorf("checks = %+v, want none", report.Checks)
				}
				return
			}
			last := report.Checks[len(report.Checks)-1]
			if last.Name != tt.check || last.Result != CheckFailed || last.Problem != se.Cause {
				t.Errorf("last check = %+v, want %s failed with the error's cause", last, tt.check)
			}
		})
	}
}

// serve starts a plain server with h and returns its URL with a /scim base path.
func serve(h http.HandlerFunc) func(t *testing.T) (string, *http.Client) {
	return func(t *testing.T) (string, *http.Client) {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL + "/scim", srv.Client()
	}
}

func TestProbeWarnings(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{
			name:    "no ServiceProviderConfig",
			handler: usersOK(answer(200, "application/scim+json", `{"schemas":["`+listResponseSchema+`"],"totalResults":0,"Resources":[]}`)),
			want:    "service provider config: the endpoint has no /ServiceProviderConfig (404); Entra does not need it, but it would tell what the server supports",
		},
		{
			name: "application/json",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/ServiceProviderConfig") {
					scimJSON(w, 200, map[string]any{"patch": map[string]any{"supported": true}, "filter": map[string]any{"supported": true}})
					return
				}
				answer(200, "application/json", `{"schemas":["`+listResponseSchema+`"],"totalResults":0}`)(w, r)
			},
			want: "user filter: the answer's Content-Type is application/json; SCIM servers should send application/scim+json",
		},
		{
			name: "no ListResponse schema and no PATCH",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/ServiceProviderConfig") {
					scimJSON(w, 200, map[string]any{"patch": map[string]any{"supported": false}, "filter": map[string]any{"supported": true}})
					return
				}
				scimJSON(w, 200, map[string]any{"totalResults": 0, "Resources": []any{}})
			},
			want: "group filter: the answer does not list the schema urn:ietf:params:scim:api:messages:2.0:ListResponse",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			report, err := Probe(context.Background(), srv.Client(), nil, scimOf(srv.URL))
			if err != nil {
				t.Fatalf("Probe: %v", errText(t, err))
			}
			if !containsLine(report.Warnings, tt.want) {
				t.Errorf("warnings = %q\nwant %q", report.Warnings, tt.want)
			}
			if !strings.Contains(report.String(), "warning: "+tt.want) {
				t.Errorf("String() =\n%s", report.String())
			}
		})
	}
	t.Run("PATCH unsupported", func(t *testing.T) {
		srv := httptest.NewServer(func() http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/ServiceProviderConfig") {
					scimJSON(w, 200, map[string]any{"patch": map[string]any{"supported": false}, "filter": map[string]any{"supported": true}})
					return
				}
				scimJSON(w, 200, map[string]any{"schemas": []string{listResponseSchema}, "totalResults": 0})
			}
		}())
		defer srv.Close()
		report, err := Probe(context.Background(), srv.Client(), nil, scimOf(srv.URL))
		if err != nil {
			t.Fatal(errText(t, err))
		}
		if len(report.Warnings) != 1 || !strings.Contains(report.Warnings[0], "does not support PATCH") {
			t.Errorf("warnings = %q", report.Warnings)
		}
	})
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func TestProbeRetriesThrottling(t *testing.T) {
	var calls atomic.Int32
	fake := &fakeSCIM{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Users") && !strings.Contains(r.URL.RawQuery, "active") && calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	if _, err := Probe(context.Background(), srv.Client(), nil, scimOf(srv.URL)); err != nil {
		t.Fatalf("Probe: %v", errText(t, err))
	}
	if calls.Load() != 2 {
		t.Errorf("user filter sent %d times, want 2 (one 429, one retry)", calls.Load())
	}

	t.Run("gives up", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		_, err := Probe(context.Background(), srv.Client(), nil, scimOf(srv.URL))
		var se *SCIMError
		if !errors.As(err, &se) || se.Kind != KindThrottled {
			t.Fatalf("err = %v, want throttled", err)
		}
		if calls.Load() != maxAttempts {
			t.Errorf("%d attempts, want %d", calls.Load(), maxAttempts)
		}
	})
}

func TestProbeCancelled(t *testing.T) {
	srv := httptest.NewServer(&fakeSCIM{})
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Probe(ctx, srv.Client(), nil, scimOf(srv.URL))
	var se *SCIMError
	if !errors.As(err, &se) || se.Kind != KindCanceled || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want a cancellation", err)
	}
}

func TestProbeRefusesBadToken(t *testing.T) {
	_, err := Probe(context.Background(), nil, nil, SCIM{BaseURL: "https://scim.example.com", Token: secret.New(scimToken + "\n")})
	if msg := errText(t, err); !strings.Contains(msg, "the SCIM token starts or ends with a space or line break") {
		t.Errorf("err = %q", msg)
	}
}
