package cmd

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/wizard"
)

// simulated is a bare simulated tenant on loopback, seeded by the test (SeedDemo always adds Entra ID P1).
type simulated struct {
	t        *testing.T
	tenant   *entra.Tenant
	admin    entra.User
	graphURL string
}

func newSimulated(t *testing.T, p1 bool) *simulated {
	t.Helper()
	tenant := entra.New(entra.Options{})
	t.Cleanup(func() { tenant.Close() })
	s := &simulated{t: t, tenant: tenant}
	if p1 {
		demo, err := tenant.SeedDemo()
		if err != nil {
			t.Fatal(err)
		}
		s.admin = demo.Admin
	} else {
		admin, err := tenant.AddUser(entra.NewUser{UserPrincipalName: "admin@contoso.onmicrosoft.com", DisplayName: "Alex Wilber"})
		if err != nil {
			t.Fatal(err)
		}
		if err := tenant.AssignDirectoryRole(admin.ID, entra.RoleGlobalAdministrator); err != nil {
			t.Fatal(err)
		}
		if _, err := tenant.AddGroup(entra.NewGroup{DisplayName: "Smallstep Users"}); err != nil {
			t.Fatal(err)
		}
		s.admin = admin
	}
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	s.graphURL = srv.URL + "/v1.0"
	return s
}

func (s *simulated) token(req entra.TokenRequest) string {
	s.t.Helper()
	tok, err := s.tenant.IssueToken(req)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// setup runs a scripted, confirmed setup with token as IDPCTL_ACCESS_TOKEN: if preflight let it through, it
// would write.
func (s *simulated) setup(token string, extra ...string) outcome {
	s.t.Helper()
	args := append([]string{"setup", "entra", "--graph-url", s.graphURL, "--auth", "token", "--state-dir", s.t.TempDir(),
		"--non-interactive", "--yes", "--scim-url", "https://scim.example.com/scim/v2",
		"--secret-out", filepath.Join(s.t.TempDir(), "client-secret")}, extra...)
	return execute(s.t, invocation{env: map[string]string{"IDPCTL_ACCESS_TOKEN": token, "IDPCTL_SCIM_TOKEN": "scim-token-0123456789"}}, args...)
}

func scopesWithout(drop string) []string {
	var out []string
	for _, s := range entra.FlowScopes() {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

// TestPreflightFailuresExitWith4 runs the real command into each preflight failure: exit code 4, the message
// names what is missing and the fix, and the tenant received no write.
func TestPreflightFailuresExitWith4(t *testing.T) {
	tests := []struct {
		name string
		p1   bool
		run  func(s *simulated) (token string, extra []string)
		says []string
	}{
		{name: "admin without a role", p1: true,
			run: func(s *simulated) (string, []string) {
				tok := s.token(entra.TokenRequest{UserID: s.admin.ID, Scopes: entra.FlowScopes()})
				s.tenant.RemoveDirectoryRole(s.admin.ID, entra.RoleGlobalAdministrator)
				return tok, []string{"--assign-user", "adele.vance@contoso.onmicrosoft.com"}
			},
			says: []string{"admin@contoso.onmicrosoft.com holds none of the directory roles setup needs", "To fix: have a Privileged Role Administrator"}},
		{name: "tenant without P1 while a group is assigned", p1: false,
			run: func(s *simulated) (string, []string) {
				return s.token(entra.TokenRequest{UserID: s.admin.ID, Scopes: entra.FlowScopes()}), []string{"--assign-group", "Smallstep Users"}
			},
			says: []string{"the tenant has no Microsoft Entra ID P1 or P2 plan, which assigning groups to an application needs", "--assign-user instead of --assign-group"}},
		{name: "missing consent", p1: true,
			run: func(s *simulated) (string, []string) {
				return s.token(entra.TokenRequest{UserID: s.admin.ID, Scopes: scopesWithout("Synchronization.ReadWrite.All")}),
					[]string{"--assign-group", "Smallstep Users"}
			},
			says: []string{"not granted the Microsoft Graph delegated permissions (scopes) Synchronization.ReadWrite.All", "--auth browser or --auth device-code"}},
		{name: "tenant mismatch", p1: true,
			run: func(s *simulated) (string, []string) {
				return s.token(entra.TokenRequest{UserID: s.admin.ID, Scopes: entra.FlowScopes()}),
					[]string{"--assign-group", "Smallstep Users", "--tenant-id", "7f3c2b1a-0e9d-4c8b-a7f6-e5d4c3b2a190"}
			},
			says: []string{"signed in to tenant ", "but --tenant-id is 7f3c2b1a-0e9d-4c8b-a7f6-e5d4c3b2a190"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSimulated(t, tt.p1)
			token, extra := tt.run(s)
			o := s.setup(token, extra...)
			if o.code != exitAuth || !graph.IsPreflightFailure(o.err) {
				t.Fatalf("%v\nwant exit 4 from preflight", o)
			}
			for _, want := range append(tt.says, "nothing was changed") {
				if !strings.Contains(o.err.Error(), want) {
					t.Errorf("the error does not say %q:\n%v", want, o.err)
				}
			}
			if n := s.tenant.WriteCount(); n != 0 {
				t.Errorf("%d writes reached the tenant", n)
			}
			if o.stdout != "" {
				t.Errorf("stdout carries %q", o.stdout)
			}
			noSecret(t, "the output", o.stdout+o.stderr+o.err.Error(), map[string]string{"access token": token})
		})
	}
}

// TestPreflightPassesForSeededAdmin: the sandbox's admin passes, and the summary goes to stderr in text mode
// only.
func TestPreflightPassesForSeededAdmin(t *testing.T) {
	tn := newTenant(t)
	o := tn.run(invocation{}, tn.manual("--dry-run", "--non-interactive")...)
	if o.code != exitOK {
		t.Fatalf("%v", o)
	}
	summary := "Signed in as admin@contoso.onmicrosoft.com (Alex Wilber) in tenant Contoso (" + tn.sb.TenantID + "): role Global Administrator, licence Microsoft Entra ID P1\n"
	if !strings.Contains(o.stderr, summary) {
		t.Errorf("stderr lacks the preflight summary %q:\n%s", summary, o.stderr)
	}
	if strings.Contains(o.stdout, "Signed in as") {
		t.Errorf("the summary went to stdout:\n%s", o.stdout)
	}
	tn.noWrites("dry run")

	o = tn.run(invocation{}, tn.manual("--dry-run", "--non-interactive", "--output", "json")...)
	if o.code != exitOK || strings.Contains(o.stderr+o.stdout, "Signed in as") {
		t.Errorf("JSON mode: %v; want no summary", o)
	}
}

// TestDebugOutputHasNoToken: --debug logs each request of a real run and of a failed sign-in, never the token.
func TestDebugOutputHasNoToken(t *testing.T) {
	tn := newTenant(t)
	token := tn.sb.AccessToken.Reveal()
	o := tn.run(invocation{}, tn.manual("--dry-run", "--non-interactive", "--debug")...)
	if o.code != exitOK {
		t.Fatalf("%v", o)
	}
	if !strings.Contains(o.stderr, `msg="graph request" method=GET`) || !strings.Contains(o.stderr, "/me/transitiveMemberOf") {
		t.Errorf("--debug did not log the preflight's requests:\n%s", o.stderr)
	}
	noSecret(t, "--debug output", o.stdout+o.stderr, map[string]string{"access token": token, "token signature": token[strings.LastIndex(token, ".")+1:]})

	expired, err := tn.sb.Tenant.IssueToken(entra.TokenRequest{UserID: tn.sb.Demo.Admin.ID, Scopes: entra.FlowScopes(), Lifetime: -time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	env := tn.env()
	env["IDPCTL_ACCESS_TOKEN"] = expired
	o = tn.run(invocation{env: env}, tn.manual("--non-interactive", "--yes", "--debug")...)
	if o.code != exitAuth || !graph.IsSignInFailure(o.err) || !strings.Contains(o.err.Error(), "the access token expired at") {
		t.Fatalf("%v\nwant the expired token explained, exit 4", o)
	}
	if !strings.Contains(o.stderr, `msg="sign-in failed" method=token`) {
		t.Errorf("--debug did not log the failed sign-in:\n%s", o.stderr)
	}
	noSecret(t, "--debug output of a failed sign-in", o.stdout+o.stderr+o.err.Error(), map[string]string{"access token": expired})
	tn.noWrites("runs with --debug")
}

// TestSignInInputErrorsAreBadUsage: a sign-in method without its inputs fails before any request, exit 2,
// naming what is missing.
func TestSignInInputErrorsAreBadUsage(t *testing.T) {
	s := newSimulated(t, true)
	base := []string{"setup", "entra", "--graph-url", s.graphURL, "--state-dir", t.TempDir(), "--non-interactive", "--yes",
		"--assign-group", "Smallstep Users", "--scim-url", "https://scim.example.com/scim/v2", "--secret-out", filepath.Join(t.TempDir(), "s")}
	tests := []struct {
		env  map[string]string
		args []string
		says string
	}{
		{args: []string{"--auth", "environment"}, env: map[string]string{"AZURE_CLIENT_ID": "c"},
			says: "--auth environment: AZURE_TENANT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH are not set"},
		{args: []string{"--auth", "workload-identity"}, env: map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c"},
			says: "AZURE_FEDERATED_TOKEN_FILE is not set"},
		{args: []string{"--auth", "token"}, says: "--auth token: IDPCTL_ACCESS_TOKEN is not set"},
		{args: []string{"--auth", "browser"}, env: map[string]string{"SSH_CONNECTION": "10.0.0.1 50000 10.0.0.2 22"}, says: "no browser can open here"},
		{args: []string{"--auth", "auto"}, says: "--auth auto: nobody is here to sign in"},
		{args: []string{"--auth", "kerberos"}, says: `--auth "kerberos": not a sign-in method`},
		{args: []string{"--cloud", "germany"}, env: map[string]string{"IDPCTL_ACCESS_TOKEN": "x.y.z"}, says: `--cloud "germany"`},
		{args: []string{"--auth", "environment"}, env: map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_CERTIFICATE_PATH": filepath.Join(t.TempDir(), "missing.pem")},
			says: "AZURE_CLIENT_CERTIFICATE_PATH"},
	}
	for _, tt := range tests {
		env := map[string]string{"IDPCTL_SCIM_TOKEN": "scim-token-0123456789"}
		for k, v := range tt.env {
			env[k] = v
		}
		o := execute(t, invocation{env: env}, append(base, tt.args...)...)
		if o.code != exitUsage || !strings.Contains(o.err.Error(), tt.says) {
			t.Errorf("%v: %v\nwant exit 2 saying %q", tt.args, o, tt.says)
		}
	}
	if n := len(s.tenant.Requests()); n != 0 {
		t.Errorf("%d requests reached the tenant before sign-in could even start", n)
	}
}

// TestSignInPerCloud: --cloud picks the sign-in host the steps use for the OIDC metadata URL and the Graph
// scope; --graph-url still points Graph at the simulated tenant.
func TestSignInPerCloud(t *testing.T) {
	s := newSimulated(t, true)
	token := s.token(entra.TokenRequest{UserID: s.admin.ID, Scopes: entra.FlowScopes()})
	for _, tt := range []struct{ cloud, login, scope string }{
		{"public", "login.microsoftonline.com", "https://graph.microsoft.com/.default"},
		{"usgov", "login.microsoftonline.us", "https://graph.microsoft.us/.default"},
		{"china", "login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/.default"},
	} {
		ios, _, _, _ := wizard.Test()
		opts := &setupOptions{IO: ios, Getenv: getenvFrom(nil), Auth: "token", Cloud: tt.cloud, GraphURL: s.graphURL, Output: "text"}
		sess, err := signIn(context.Background(), opts.signInRequest(), secret.New(token), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.cloud, err)
		}
		if sess.loginHost != tt.login || strings.Join(sess.cred.Scopes(), " ") != tt.scope {
			t.Errorf("%s: login host %q, scopes %v; want %q, %q", tt.cloud, sess.loginHost, sess.cred.Scopes(), tt.login, tt.scope)
		}
		if org, err := sess.client.Organization(context.Background()); err != nil || org.DisplayName != "Contoso" {
			t.Errorf("%s: --graph-url not used: %v, %v", tt.cloud, org, err)
		}
	}
}
