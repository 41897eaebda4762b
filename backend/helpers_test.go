package backend

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idpctl/idpctl/secret"
)

// Secrets used across the tests. Every error, report and rendering a test produces is checked against them.
const (
	scimToken    = "scim-tok-0123456789abcdefXYZ"
	backendToken = "backend-tok-9876543210fedcba"
	clientSecret = "Abc8Q~clientsecretvalue-0123456789abcdefg"
)

// assertNoSecret fails the test if any text holds one of the test secrets or a recognisable part of one.
func assertNoSecret(t *testing.T, texts ...string) {
	t.Helper()
	for _, text := range texts {
		for _, s := range []string{scimToken, backendToken, clientSecret} {
			if strings.Contains(text, s) || strings.Contains(text, s[:12]) {
				t.Errorf("a secret leaked into %q", text)
			}
		}
	}
}

// errText is err's message, or "" for nil, and asserts that it holds no secret.
func errText(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	assertNoSecret(t, err.Error())
	return err.Error()
}

// recorded is one request a stub received.
type recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
}

// stub is an HTTP server whose routes must all be called: a route the code under test never used fails the
// test, as does a request no route expects.
type stub struct {
	*httptest.Server
	t        *testing.T
	mu       sync.Mutex
	routes   []*stubRoute
	requests []recorded
}

type stubRoute struct {
	method, path string
	handle       http.HandlerFunc
	calls        int
}

func newStub(t *testing.T) *stub {
	s := &stub{t: t}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, r := range s.routes {
			if r.calls == 0 {
				t.Errorf("stub %s %s was never called", r.method, r.path)
			}
		}
	})
	return s
}

func (s *stub) on(method, path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes = append(s.routes, &stubRoute{method: method, path: path, handle: h})
}

func (s *stub) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, recorded{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)})
	var route *stubRoute
	for _, rt := range s.routes {
		if rt.method == r.Method && rt.path == r.URL.EscapedPath() {
			route = rt
			break
		}
	}
	if route != nil {
		route.calls++
	}
	s.mu.Unlock()
	if route == nil {
		s.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.Error(w, "no stub", http.StatusTeapot)
		return
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	route.handle(w, r)
}

func (s *stub) received() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.requests...)
}

// testCA issues certificates for TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "idpctl test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// leaf issues a server certificate for names (DNS names or IP addresses) valid from notBefore to notAfter.
func (ca *testCA) leaf(t *testing.T, names []string, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// client trusts only the CA.
func (ca *testCA) client() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
}

// tlsServer serves h over TLS with cfg (its certificate included).
func tlsServer(t *testing.T, h http.Handler, cfg *tls.Config) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are what these tests provoke
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func scimOf(baseURL string) SCIM { return SCIM{BaseURL: baseURL, Token: secret.New(scimToken)} }
