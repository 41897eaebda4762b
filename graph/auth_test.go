package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/idpctl/idpctl/secret"
)

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func b64(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// TestSelectMethod covers every --auth value against the environments that change its answer.
func TestSelectMethod(t *testing.T) {
	secretEnv := []string{"AZURE_TENANT_ID", "t", "AZURE_CLIENT_ID", "c", "AZURE_CLIENT_SECRET", "s"}
	certEnv := []string{"AZURE_TENANT_ID", "t", "AZURE_CLIENT_ID", "c", "AZURE_CLIENT_CERTIFICATE_PATH", "/c.pem"}
	fedEnv := []string{"AZURE_TENANT_ID", "t", "AZURE_CLIENT_ID", "c", "AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"}
	with := func(a []string, kv ...string) []string { return append(append([]string(nil), a...), kv...) }
	tests := []struct {
		name     string
		auth     string
		env      []string
		goos     string
		attended bool
		want     Method
		wantErr  []string // substrings of the error
	}{
		// auto, in its order of preference
		{name: "auto token first", auth: "auto", env: with(secretEnv, "IDPCTL_ACCESS_TOKEN", "x"), goos: "linux", want: MethodToken},
		{name: "auto empty value is auto", auth: "", env: []string{"IDPCTL_ACCESS_TOKEN", "x"}, goos: "linux", want: MethodToken},
		{name: "auto client secret", auth: "auto", env: secretEnv, goos: "linux", attended: true, want: MethodEnvironment},
		{name: "auto certificate", auth: "auto", env: certEnv, goos: "darwin", attended: true, want: MethodEnvironment},
		{name: "auto secret before federated token", auth: "auto", env: with(fedEnv, "AZURE_CLIENT_SECRET", "s"), goos: "linux", want: MethodEnvironment},
		{name: "auto incomplete secret names what is missing", auth: "auto", env: []string{"AZURE_CLIENT_SECRET", "s", "AZURE_CLIENT_ID", "c"},
			goos: "darwin", attended: true, wantErr: []string{"AZURE_TENANT_ID is not set"}},
		{name: "auto workload identity", auth: "auto", env: fedEnv, goos: "linux", want: MethodWorkloadIdentity},
		{name: "auto incomplete workload identity", auth: "auto", env: []string{"AZURE_FEDERATED_TOKEN_FILE", "/f"}, goos: "linux",
			wantErr: []string{"AZURE_TENANT_ID and AZURE_CLIENT_ID are not set"}},
		{name: "auto client id alone is no intent", auth: "auto", env: []string{"AZURE_CLIENT_ID", "c"}, goos: "darwin", attended: true, want: MethodBrowser},
		{name: "auto linux X11 desktop", auth: "auto", env: []string{"DISPLAY", ":0"}, goos: "linux", attended: true, want: MethodBrowser},
		{name: "auto linux wayland desktop", auth: "auto", env: []string{"WAYLAND_DISPLAY", "wayland-0"}, goos: "linux", attended: true, want: MethodBrowser},
		{name: "auto linux console", auth: "auto", goos: "linux", attended: true, want: MethodDeviceCode},
		{name: "auto macOS", auth: "auto", goos: "darwin", attended: true, want: MethodBrowser},
		{name: "auto windows", auth: "auto", goos: "windows", attended: true, want: MethodBrowser},
		{name: "auto macOS over SSH", auth: "auto", env: []string{"SSH_CONNECTION", "10.0.0.1 22 10.0.0.2 22"}, goos: "darwin", attended: true, want: MethodDeviceCode},
		{name: "auto linux desktop over SSH with forwarding", auth: "auto", env: []string{"SSH_TTY", "/dev/pts/1", "DISPLAY", "localhost:10.0"},
			goos: "linux", attended: true, want: MethodDeviceCode},
		{name: "auto nobody there", auth: "auto", goos: "darwin",
			wantErr: []string{"nobody is here", "IDPCTL_ACCESS_TOKEN", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "--auth managed-identity", "--auth device-code"}},

		{name: "token", auth: "token", env: []string{"IDPCTL_ACCESS_TOKEN", "x"}, want: MethodToken},
		{name: "token missing", auth: "token", env: secretEnv, wantErr: []string{"--auth token: IDPCTL_ACCESS_TOKEN is not set"}},

		{name: "environment secret", auth: "environment", env: secretEnv, want: MethodEnvironment},
		{name: "environment certificate", auth: "environment", env: certEnv, want: MethodEnvironment},
		{name: "environment nothing set", auth: "environment",
			wantErr: []string{"AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH are not set"}},
		{name: "environment without secret", auth: "environment", env: []string{"AZURE_TENANT_ID", "t", "AZURE_CLIENT_ID", "c"},
			wantErr: []string{"AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH is not set"}},

		{name: "workload identity", auth: "workload-identity", env: fedEnv, want: MethodWorkloadIdentity},
		{name: "workload identity without file", auth: "workload-identity", env: secretEnv,
			wantErr: []string{"AZURE_FEDERATED_TOKEN_FILE is not set"}},

		{name: "managed identity needs nothing", auth: "managed-identity", want: MethodManagedIdentity},
		{name: "managed identity user-assigned", auth: "managed-identity", env: []string{"AZURE_CLIENT_ID", "c"}, want: MethodManagedIdentity},

		{name: "browser on a desktop", auth: "browser", env: []string{"DISPLAY", ":0"}, goos: "linux", want: MethodBrowser},
		{name: "browser explicit even unattended", auth: "browser", goos: "windows", want: MethodBrowser},
		{name: "browser without desktop", auth: "browser", goos: "linux", wantErr: []string{"no browser can open here", "DISPLAY", "--auth device-code"}},
		{name: "browser over SSH", auth: "browser", env: []string{"SSH_CLIENT", "10.0.0.1 5000 22"}, goos: "darwin", wantErr: []string{"SSH session"}},

		{name: "device code", auth: "device-code", goos: "linux", want: MethodDeviceCode},
		{name: "device code unattended", auth: "device-code", goos: "darwin", want: MethodDeviceCode},
		{name: "case and spaces", auth: " Device-Code ", goos: "linux", want: MethodDeviceCode},

		{name: "unknown", auth: "password", wantErr: []string{`--auth "password": not a sign-in method`, "auto, browser, device-code, environment, managed-identity, workload-identity, token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SelectMethod(tt.auth, SignInFacts{Getenv: envOf(tt.env...), GOOS: tt.goos, Attended: tt.attended})
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("SelectMethod = %q, want an error", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("SelectMethod = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestScopeLists(t *testing.T) {
	wantDelegated := []string{"openid", "profile", "offline_access", "User.Read", "Application.ReadWrite.All",
		"AppRoleAssignment.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All", "Synchronization.ReadWrite.All",
		"Directory.Read.All", "AuditLog.Read.All"}
	if got := DelegatedScopes(); !reflect.DeepEqual(got, wantDelegated) {
		t.Errorf("DelegatedScopes = %v\nwant %v", got, wantDelegated)
	}
	wantApp := []string{"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All",
		"Synchronization.ReadWrite.All", "Directory.Read.All", "AuditLog.Read.All"}
	if got := ApplicationPermissions(); !reflect.DeepEqual(got, wantApp) {
		t.Errorf("ApplicationPermissions = %v\nwant %v", got, wantApp)
	}
	for _, c := range Clouds() {
		got := signInScopes(c)
		if len(got) != len(wantDelegated)-3 {
			t.Errorf("%s: %d sign-in scopes, want %d (the OpenID Connect ones are MSAL's): %v", c.Name, len(got), len(wantDelegated)-3, got)
		}
		for i, s := range got {
			if want := "https://" + c.GraphHost + "/" + wantDelegated[i+3]; s != want {
				t.Errorf("%s: scope %d = %q, want %q", c.Name, i, s, want)
			}
		}
	}
}

func TestMissingAccess(t *testing.T) {
	all := DelegatedScopes()
	without := func(drop ...string) []string {
		var out []string
		for _, s := range all {
			if !strings.Contains(strings.Join(drop, " "), s) {
				out = append(out, s)
			}
		}
		return out
	}
	names := func(gaps []accessGap) []string {
		var out []string
		for _, g := range gaps {
			out = append(out, g.missing...)
		}
		return out
	}
	tests := []struct {
		name               string
		granted            []string
		appOnly, groups    bool
		required, optional []string
	}{
		{name: "everything idpctl asks for", granted: all, groups: true},
		{name: "no synchronization", granted: without("Synchronization.ReadWrite.All"), groups: true, required: []string{"Synchronization.ReadWrite.All"}},
		{name: "narrower reads instead of Directory.Read.All, users only",
			granted:  append(without("Directory.Read.All"), "User.Read.All", "Organization.Read.All"),
			optional: []string{"Directory.Read.All"}},
		{name: "narrower reads but groups need a group scope",
			granted: append(without("Directory.Read.All"), "User.Read.All", "Organization.Read.All"), groups: true,
			required: []string{"Directory.Read.All"}, optional: []string{"Directory.Read.All"}},
		{name: "Azure CLI's token (no synchronization, no audit log)",
			granted: []string{"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "AuditLog.Read.All", "DelegatedPermissionGrant.ReadWrite.All",
				"Directory.AccessAsUser.All", "email", "Group.ReadWrite.All", "openid", "profile", "User.Read.All", "User.ReadWrite.All"},
			groups: true, required: []string{"Synchronization.ReadWrite.All", "Directory.Read.All"}, optional: []string{"Directory.Read.All"}},
		{name: "scope names are case-insensitive", granted: []string{"user.read", "directory.readwrite.all", "synchronization.readwrite.all", "auditlog.read.all"}, groups: true},
		{name: "app-only needs no User.Read", granted: ApplicationPermissions(), appOnly: true, groups: true},
		{name: "app-only without roles", appOnly: true, groups: true,
			required: []string{"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All",
				"Synchronization.ReadWrite.All", "Directory.Read.All", "Directory.Read.All", "Directory.Read.All"},
			optional: []string{"AuditLog.Read.All", "Directory.Read.All"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			required, optional := missingAccess(tt.granted, tt.appOnly, tt.groups)
			if got := names(required); !reflect.DeepEqual(got, tt.required) {
				t.Errorf("required gaps = %v, want %v", got, tt.required)
			}
			if got := names(optional); !reflect.DeepEqual(got, tt.optional) {
				t.Errorf("optional gaps = %v, want %v", got, tt.optional)
			}
		})
	}
}

func TestCloudEndpoints(t *testing.T) {
	tests := []struct {
		name, authority, graph string
	}{
		{"public", "login.microsoftonline.com", "graph.microsoft.com"},
		{"usgov", "login.microsoftonline.us", "graph.microsoft.us"},
		{"china", "login.chinacloudapi.cn", "microsoftgraph.chinacloudapi.cn"},
	}
	for _, tt := range tests {
		c, err := CloudByName(strings.ToUpper(tt.name))
		if err != nil {
			t.Fatal(err)
		}
		const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		got := []string{c.Name, c.AuthorityHost, c.GraphHost, c.AuthorityURL(), c.GraphBaseURL(), c.GraphScope(), c.OIDCMetadataURL(tenant),
			c.azcoreConfig().ActiveDirectoryAuthorityHost}
		want := []string{tt.name, tt.authority, tt.graph, "https://" + tt.authority + "/", "https://" + tt.graph + "/v1.0",
			"https://" + tt.graph + "/.default", "https://" + tt.authority + "/" + tenant + "/v2.0/.well-known/openid-configuration",
			"https://" + tt.authority + "/"}
		diff(t, tt.name, got, want)
		if !c.wellKnown() {
			t.Errorf("%s: not well known", tt.name)
		}

		// The client's defaults follow the cloud; --graph-url overrides the base URL but keeps the cloud's scope.
		client, err := New(Config{Cloud: c, Credential: StaticToken(secret.New("x"))})
		if err != nil {
			t.Fatal(err)
		}
		if client.baseURL != "https://"+tt.graph+"/v1.0" {
			t.Errorf("%s: default base URL %q", tt.name, client.baseURL)
		}
		if got := defaultScope("127.0.0.1", c); got != "https://"+tt.graph+"/.default" {
			t.Errorf("%s: scope for a simulated tenant = %q", tt.name, got)
		}
	}
	if c, err := CloudByName(""); err != nil || c.Name != "public" {
		t.Errorf(`CloudByName("") = %v, %v; want public`, c, err)
	}
	if _, err := CloudByName("germany"); err == nil || !strings.Contains(err.Error(), "public, usgov, china") {
		t.Errorf("CloudByName(germany) = %v, want an error listing the clouds", err)
	}
	if (Cloud{}).GraphBaseURL() != DefaultBaseURL {
		t.Errorf("the zero Cloud is not the public cloud")
	}
	if (Cloud{Name: "test", AuthorityHost: "127.0.0.1:8443", GraphHost: "graph.microsoft.com"}).wellKnown() {
		t.Errorf("a loopback authority counts as well known: instance discovery would be asked about it")
	}
}

// writeRecord stores an account record as a previous run would have.
func writeRecord(t *testing.T, dir string, c Cloud, r azidentity.AuthenticationRecord) {
	t.Helper()
	if err := saveRecord(filepath.Join(dir, recordFileName(c)), r); err != nil {
		t.Fatal(err)
	}
}

// TestPlanSignIn checks, without any network, how each method would sign in: authority, client, tenant,
// scopes and the remembered account. Browser and device-code sign-ins cannot reach Entra from tests.
func TestPlanSignIn(t *testing.T) {
	usgov, _ := CloudByName("usgov")
	const tenant = "0b0a9f1e-8d7c-4b6a-9e5d-4c3b2a1f0e9d"
	record := azidentity.AuthenticationRecord{Authority: "https://login.microsoftonline.com", ClientID: GraphCommandLineToolsClientID,
		HomeAccountID: "oid.tid", TenantID: tenant, Username: "admin@contoso.onmicrosoft.com", Version: "1.0"}

	t.Run("browser defaults", func(t *testing.T) {
		dir := t.TempDir()
		p, err := planSignIn(SignInOptions{Method: MethodBrowser, StateDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "plan", []any{p.cloud.AuthorityHost, p.clientID, p.tenantID, p.scopes[0], len(p.scopes), p.recordPath, p.delegated},
			[]any{"login.microsoftonline.com", GraphCommandLineToolsClientID, "organizations", "https://graph.microsoft.com/User.Read", 7,
				filepath.Join(dir, "signin-public.json"), true})
	})
	t.Run("device code in usgov with a client and tenant", func(t *testing.T) {
		p, err := planSignIn(SignInOptions{Method: MethodDeviceCode, Cloud: usgov, ClientID: "11111111-2222-3333-4444-555555555555", TenantID: tenant})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "plan", []any{p.cloud.AuthorityURL(), p.clientID, p.tenantID, p.scopes[1], p.recordPath},
			[]any{"https://login.microsoftonline.us/", "11111111-2222-3333-4444-555555555555", tenant, "https://graph.microsoft.us/Application.ReadWrite.All", ""})
	})
	t.Run("remembered account", func(t *testing.T) {
		dir := t.TempDir()
		writeRecord(t, dir, PublicCloud(), record)
		p, err := planSignIn(SignInOptions{Method: MethodBrowser, StateDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if p.record != record || p.tenantID != tenant {
			t.Errorf("record %+v tenant %q; want the remembered account and its tenant", p.record, p.tenantID)
		}
		// The same tenant asked for explicitly keeps it; another tenant, another client or another cloud does not.
		for _, o := range []SignInOptions{
			{Method: MethodDeviceCode, StateDir: dir, TenantID: strings.ToUpper(tenant)},
		} {
			if p, _ := planSignIn(o); p.record != record {
				t.Errorf("%+v: the remembered account was not used", o)
			}
		}
		for _, o := range []SignInOptions{
			{Method: MethodBrowser, StateDir: dir, TenantID: "7f3c2b1a-0e9d-4c8b-a7f6-e5d4c3b2a190"},
			{Method: MethodBrowser, StateDir: dir, ClientID: "11111111-2222-3333-4444-555555555555"},
			{Method: MethodBrowser, StateDir: dir, Cloud: usgov},
		} {
			if p, _ := planSignIn(o); p.record != (azidentity.AuthenticationRecord{}) {
				t.Errorf("%+v: used the account remembered for another sign-in", o)
			}
		}
	})
	t.Run("environment secret", func(t *testing.T) {
		p, err := planSignIn(SignInOptions{Method: MethodEnvironment, Getenv: envOf("AZURE_TENANT_ID", tenant, "AZURE_CLIENT_ID", "app", "AZURE_CLIENT_SECRET", "s3cr3t-value")})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "plan", []any{p.tenantID, p.clientID, p.secret.Reveal(), p.scopes, p.delegated},
			[]any{tenant, "app", "s3cr3t-value", []string{"https://graph.microsoft.com/.default"}, false})
	})
	t.Run("workload identity and managed identity", func(t *testing.T) {
		p, err := planSignIn(SignInOptions{Method: MethodWorkloadIdentity, Cloud: usgov,
			Getenv: envOf("AZURE_TENANT_ID", tenant, "AZURE_CLIENT_ID", "app", "AZURE_FEDERATED_TOKEN_FILE", "/var/run/token")})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "workload", []any{p.tenantID, p.clientID, p.tokenFile, p.scopes}, []any{tenant, "app", "/var/run/token", []string{"https://graph.microsoft.us/.default"}})
		p, err = planSignIn(SignInOptions{Method: MethodManagedIdentity, Getenv: envOf("AZURE_CLIENT_ID", "mi")})
		if err != nil || p.clientID != "mi" {
			t.Errorf("managed identity plan = %+v, %v", p, err)
		}
	})
	t.Run("inputs missing", func(t *testing.T) {
		for _, o := range []SignInOptions{{Method: MethodToken}, {Method: MethodEnvironment}, {Method: MethodWorkloadIdentity}, {Method: MethodAuto}} {
			if _, err := planSignIn(o); err == nil {
				t.Errorf("%s: no error without its inputs", o.Method)
			}
		}
	})
}

// selfSignedPEM writes a certificate and its key, as AZURE_CLIENT_CERTIFICATE_PATH holds them.
func selfSignedPEM(t *testing.T) string {
	t.Helper()
	// Entra accepts RSA certificates only, and so does azidentity.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idpctl test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sp.pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCredentialConstruction builds each method's azidentity credential (no request is made).
func TestCredentialConstruction(t *testing.T) {
	const tenant = "0b0a9f1e-8d7c-4b6a-9e5d-4c3b2a1f0e9d"
	tests := []struct {
		o    SignInOptions
		want string
	}{
		{SignInOptions{Method: MethodBrowser}, "*azidentity.InteractiveBrowserCredential"},
		{SignInOptions{Method: MethodDeviceCode, TenantID: tenant}, "*azidentity.DeviceCodeCredential"},
		{SignInOptions{Method: MethodEnvironment, Getenv: envOf("AZURE_TENANT_ID", tenant, "AZURE_CLIENT_ID", "app", "AZURE_CLIENT_SECRET", "s")}, "*azidentity.ClientSecretCredential"},
		{SignInOptions{Method: MethodEnvironment, Getenv: envOf("AZURE_TENANT_ID", tenant, "AZURE_CLIENT_ID", "app", "AZURE_CLIENT_CERTIFICATE_PATH", selfSignedPEM(t))}, "*azidentity.ClientCertificateCredential"},
		{SignInOptions{Method: MethodWorkloadIdentity, Getenv: envOf("AZURE_TENANT_ID", tenant, "AZURE_CLIENT_ID", "app", "AZURE_FEDERATED_TOKEN_FILE", "/var/run/token")}, "*azidentity.WorkloadIdentityCredential"},
		{SignInOptions{Method: MethodManagedIdentity}, "*azidentity.ManagedIdentityCredential"},
		{SignInOptions{Method: MethodToken, AccessToken: secret.New("x.y.z")}, "*graph.staticToken"},
	}
	for _, tt := range tests {
		p, err := planSignIn(tt.o)
		if err != nil {
			t.Fatalf("%s: %v", tt.o.Method, err)
		}
		cred, err := p.credential(tt.o, nil, azidentity.Cache{})
		if err != nil {
			t.Fatalf("%s: %v", tt.o.Method, err)
		}
		if got := reflect.TypeOf(cred).String(); got != tt.want {
			t.Errorf("%s: credential %s, want %s", tt.o.Method, got, tt.want)
		}
	}
	// A certificate file that is not one names the variable.
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := SignInOptions{Method: MethodEnvironment, Getenv: envOf("AZURE_TENANT_ID", tenant, "AZURE_CLIENT_ID", "app", "AZURE_CLIENT_CERTIFICATE_PATH", bad)}
	p, _ := planSignIn(o)
	if _, err := p.credential(o, nil, azidentity.Cache{}); err == nil || !strings.Contains(err.Error(), "AZURE_CLIENT_CERTIFICATE_PATH") {
		t.Errorf("bad certificate: %v", err)
	}
}

func TestRecordFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	r := azidentity.AuthenticationRecord{Authority: "https://login.microsoftonline.us", ClientID: GraphCommandLineToolsClientID,
		HomeAccountID: "a.b", TenantID: "t", Username: "admin@contoso.us", Version: "1.0"}
	usgov, _ := CloudByName("usgov")
	writeRecord(t, dir, usgov, r)
	path := filepath.Join(dir, "signin-usgov.json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("record mode %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	var back azidentity.AuthenticationRecord
	if err := json.Unmarshal(raw, &back); err != nil || back != r {
		t.Errorf("record read back %+v, %v", back, err)
	}
	if got := loadRecord(path, usgov, GraphCommandLineToolsClientID, ""); got != r {
		t.Errorf("loadRecord = %+v", got)
	}
	if err := os.WriteFile(path, []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := loadRecord(path, usgov, GraphCommandLineToolsClientID, ""); got != (azidentity.AuthenticationRecord{}) {
		t.Errorf("a damaged record was used: %+v", got)
	}
}

func TestParseTokenClaims(t *testing.T) {
	enc := func(claims map[string]any) string {
		raw, _ := json.Marshal(claims)
		return "eyJhbGciOiJub25lIn0." + strings.TrimRight(b64(raw), "=") + ".sig"
	}
	user, ok := ParseTokenClaims(enc(map[string]any{"aud": "https://graph.microsoft.com", "tid": "t", "oid": "o", "upn": "a@b",
		"name": "A B", "appid": "c", "scp": "User.Read Directory.Read.All", "wids": []string{RoleGlobalAdministrator}, "exp": 2000000000}))
	if !ok {
		t.Fatal("a JWT was not readable")
	}
	diff(t, "user claims", user, TokenClaims{Audience: "https://graph.microsoft.com", TenantID: "t", ObjectID: "o", UserPrincipalName: "a@b",
		Name: "A B", AppID: "c", Scopes: []string{"User.Read", "Directory.Read.All"}, DirectoryRoleIDs: []string{RoleGlobalAdministrator},
		Expires: time.Unix(2000000000, 0)})
	app, _ := ParseTokenClaims(enc(map[string]any{"aud": MicrosoftGraphAppID, "azp": "app", "roles": []string{"Application.ReadWrite.All"}}))
	if !app.AppOnly || app.AppID != "app" || !app.ForGraph() {
		t.Errorf("app-only claims without idtyp = %+v", app)
	}
	arm, _ := ParseTokenClaims(enc(map[string]any{"aud": "https://management.core.windows.net/", "idtyp": "user", "preferred_username": "x@y"}))
	if arm.ForGraph() || arm.AppOnly || arm.UserPrincipalName != "x@y" {
		t.Errorf("ARM token claims = %+v", arm)
	}
	for _, opaque := range []string{"", "opaque-token", "a.b", "a.!!!.c", "a." + b64([]byte("[1]")) + ".c"} {
		if _, ok := ParseTokenClaims(opaque); ok {
			t.Errorf("%q read as a JWT", opaque)
		}
	}
}

// A device-code sign-in says what it is doing before it asks Entra for the code, so a slow or unreachable
// network is not a blank screen.
func TestDeviceCodeSaysItAsksForACode(t *testing.T) {
	var prompt strings.Builder
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second) // azcore retries a closed port for 10 s
	defer cancel()
	_, err := SignIn(ctx, SignInOptions{
		Method: MethodDeviceCode, Cloud: Cloud{Name: "test", AuthorityHost: "127.0.0.1:1", GraphHost: "graph.invalid"},
		TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", StateDir: t.TempDir(), Prompt: &prompt,
	})
	if err == nil {
		t.Fatal("signed in at a closed port")
	}
	if want := "Asking Microsoft Entra ID (127.0.0.1:1) for a sign-in code...\n"; prompt.String() != want {
		t.Errorf("prompt %q, want %q", prompt.String(), want)
	}
}
