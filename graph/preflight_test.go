package graph

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/secret"
)

// simulatedTenant serves a tenant over loopback; handler may wrap it.
func simulatedTenant(t *testing.T, tenant *entra.Tenant, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = tenant
	if wrap != nil {
		h = wrap(tenant)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { tenant.Close() })
	return srv.URL + "/v1.0"
}

// tokenSession signs in with an access token, as --auth token does, and builds the client.
func tokenSession(t *testing.T, graphURL, token string) (*Client, *Credential) {
	t.Helper()
	cred, err := SignIn(context.Background(), SignInOptions{Method: MethodToken, AccessToken: secret.New(token)})
	if err != nil {
		t.Fatal(err)
	}
	client, err := New(Config{BaseURL: graphURL, Credential: cred, Scopes: cred.Scopes()})
	if err != nil {
		t.Fatal(err)
	}
	return client, cred
}

func runPreflight(t *testing.T, client *Client, cred *Credential, req PreflightRequest) *PreflightReport {
	t.Helper()
	claims, readable, err := cred.Claims(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if readable {
		req.Claims = &claims
	}
	req.Method = cred.Method()
	report, err := client.Preflight(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return report
}

func problemChecks(r *PreflightReport) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, p.Check)
	}
	return out
}

func TestPreflightAgainstSimulatedTenant(t *testing.T) {
	scopesWithout := func(drop string) []string {
		var out []string
		for _, s := range entra.FlowScopes() {
			if s != drop {
				out = append(out, s)
			}
		}
		return out
	}
	tests := []struct {
		name    string
		noP1    bool
		prepare func(t *testing.T, tenant *entra.Tenant, admin entra.User) string // returns the token
		groups  bool
		tenant  string // --tenant-id; "" for the signed-in one
		checks  []string
		says    []string // in the error, or in the summary when it passes
	}{
		{name: "seeded admin passes", groups: true,
			prepare: func(t *testing.T, tenant *entra.Tenant, admin entra.User) string {
				return mustToken(t, tenant, entra.TokenRequest{UserID: admin.ID, Scopes: entra.FlowScopes()})
			},
			says: []string{"Signed in as admin@contoso.onmicrosoft.com (Alex Wilber) in tenant Contoso (", "role Global Administrator", "licence Microsoft Entra ID P1"}},
		{name: "admin without a role", groups: true,
			prepare: func(t *testing.T, tenant *entra.Tenant, admin entra.User) string {
				// The token still lists Global Administrator in wids, as one issued before the role was removed would:
				// Graph (and preflight) go by the live membership.
				tok := mustToken(t, tenant, entra.TokenRequest{UserID: admin.ID, Scopes: entra.FlowScopes()})
				tenant.RemoveDirectoryRole(admin.ID, entra.RoleGlobalAdministrator)
				return tok
			},
			checks: []string{"role"},
			says:   []string{"admin@contoso.onmicrosoft.com holds none of the directory roles", "Cloud Application Administrator"}},
		{name: "cloud application administrator is enough", groups: true,
			prepare: func(t *testing.T, tenant *entra.Tenant, admin entra.User) string {
				tenant.RemoveDirectoryRole(admin.ID, entra.RoleGlobalAdministrator)
				if err := tenant.AssignDirectoryRole(admin.ID, entra.RoleCloudApplicationAdministrator); err != nil {
					t.Fatal(err)
				}
				return mustToken(t, tenant, entra.TokenRequest{UserID: admin.ID, Scopes: entra.FlowScopes()})
			},
			says: []string{"role Cloud Application Administrator"}},
		{name: "no P1 while a group is assigned", noP1: true, groups: true,
			prepare: func(t *testing.T, tenant *entra.Tenant, admin entra.User) string {
				return mustToken(t, tenant, entra.TokenRequest{UserID: admin.ID, Scopes: entra.FlowScopes()})
			},
			checks: []string{"licence"}, says: []string{"no Microsoft Entra ID P1 or P2 plan", "--assign-user"}},
		{name: "no P1 with users only is a warning", noP1: true,
			prepare: func(t *testing.T, tenant *entra.Tenant, admin entra.User) string {
				return mustToken(t, tenant, entra.TokenRequest{UserID: admin.ID, Scopes: entra.FlowScopes()})
			},
			says: []string{"Warning: the tenant has no Microsoft Entra ID P1 or P2 plan: assigning users works"}},
		{name: "missing consent", groups: true,
			prepare: func(t *testing.T, tenant *entra.Tenant, admin entra.User) string {
				return mustToken(t, tenant, entra.TokenRequest{UserID: admin.ID, Scopes: scopesWithout("Synchronization.ReadWrite.All")})
			},
			checks: []string{"consent"}, says: []string{"not granted the Microsoft Graph delegated permissions (scopes) Synchronization.ReadWrite.All", "set up, start and test provisioning"}},
		{name: "tenant mismatch", tenant: "7f3c2b1a-0e9d-4c8b-a7f6-e5d4c3b2a190",
			prepare: func(t *testing.T, tenant *entra.Tenant, admin entra.User) string {
				return mustToken(t, tenant, entra.TokenRequest{UserID: admin.ID, Scopes: entra.FlowScopes()})
			},
			checks: []string{"tenant"}, says: []string{"but --tenant-id is 7f3c2b1a-0e9d-4c8b-a7f6-e5d4c3b2a190", "get an access token issued by tenant 7f3c2b1a"}},
		{name: "app-only with the application permissions", groups: true,
			prepare: func(t *testing.T, tenant *entra.Tenant, _ entra.User) string {
				return mustToken(t, tenant, entra.TokenRequest{AppID: "5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f", Roles: ApplicationPermissions()})
			},
			says: []string{"Signed in as application 5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f in tenant Contoso", "app-only"}},
		{name: "app-only without permissions", groups: true,
			prepare: func(t *testing.T, tenant *entra.Tenant, _ entra.User) string {
				return mustToken(t, tenant, entra.TokenRequest{AppID: "5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f", Roles: []string{"Organization.Read.All"}})
			},
			checks: []string{"consent"}, says: []string{"application permissions (roles) Application.ReadWrite.All", "Grant admin consent"}},
		{name: "several problems are reported together", noP1: true, groups: true, tenant: "7f3c2b1a-0e9d-4c8b-a7f6-e5d4c3b2a190",
			prepare: func(t *testing.T, tenant *entra.Tenant, admin entra.User) string {
				tenant.RemoveDirectoryRole(admin.ID, entra.RoleGlobalAdministrator)
				return mustToken(t, tenant, entra.TokenRequest{UserID: admin.ID, Scopes: scopesWithout("Synchronization.ReadWrite.All")})
			},
			checks: []string{"tenant", "role", "consent", "licence"}, says: []string{"4 preflight checks failed, nothing was changed:\n  - signed in to tenant"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant := entra.New(entra.Options{})
			admin := seedAdmin(t, tenant, !tt.noP1)
			graphURL := simulatedTenant(t, tenant, nil)
			client, cred := tokenSession(t, graphURL, tt.prepare(t, tenant, admin))
			report := runPreflight(t, client, cred, PreflightRequest{TenantID: tt.tenant, AssignGroups: tt.groups})
			diff(t, "failed checks", problemChecks(report), tt.checks)
			text := strings.Join(report.Summary(), "\n")
			if err := report.Err(); err != nil {
				text = err.Error()
				if !IsPreflightFailure(err) {
					t.Errorf("%v is not a preflight failure", err)
				}
			}
			for _, s := range tt.says {
				if !strings.Contains(text, s) {
					t.Errorf("%q not in:\n%s", s, text)
				}
			}
			if n := tenant.WriteCount(); n != 0 {
				t.Errorf("preflight sent %d writes", n)
			}
		})
	}
}

// seedAdmin is SeedDemo's admin and Smallstep Users group, with or without the P1 subscription.
func seedAdmin(t *testing.T, tenant *entra.Tenant, p1 bool) entra.User {
	t.Helper()
	if p1 {
		demo, err := tenant.SeedDemo()
		if err != nil {
			t.Fatal(err)
		}
		return demo.Admin
	}
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
	return admin
}

func mustToken(t *testing.T, tenant *entra.Tenant, req entra.TokenRequest) string {
	t.Helper()
	tok, err := tenant.IssueToken(req)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestPreflightReadsConcurrently holds every request until the three reads of a delegated preflight are in
// flight at once; read one after another, they would never all arrive and the test's deadline would end it.
func TestPreflightReadsConcurrently(t *testing.T) {
	tenant := entra.New(entra.Options{})
	demo, err := tenant.SeedDemo()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	inFlight, all := 0, make(chan struct{})
	graphURL := simulatedTenant(t, tenant, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			inFlight++
			if inFlight == 3 {
				close(all)
			}
			mu.Unlock()
			select {
			case <-all:
				next.ServeHTTP(w, r)
			case <-ctx.Done():
				http.Error(w, "reads were not concurrent", http.StatusGatewayTimeout)
			}
		})
	})
	client, cred := tokenSession(t, graphURL, demo.AdminToken)
	claims, _, err := cred.Claims(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client.maxAttempts = 1
	report, err := client.Preflight(ctx, PreflightRequest{TenantID: demo.TenantID, Claims: &claims, AssignGroups: true, Method: MethodToken})
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil || report.Err() != nil {
		t.Fatalf("preflight did not read concurrently: %v", report.Err())
	}
}

// TestPreflightWithoutReadableToken learns who signed in from Graph when the token is not a JWT idpctl can read.
func TestPreflightWithoutReadableToken(t *testing.T) {
	tenant := entra.New(entra.Options{})
	demo, err := tenant.SeedDemo()
	if err != nil {
		t.Fatal(err)
	}
	client, _ := tokenSession(t, simulatedTenant(t, tenant, nil), demo.AdminToken)
	report, err := client.Preflight(context.Background(), PreflightRequest{TenantID: demo.TenantID, Method: MethodToken})
	if err != nil || report.Err() != nil {
		t.Fatalf("preflight = %v, %v", err, report.Err())
	}
	summary := strings.Join(report.Summary(), "\n")
	for _, s := range []string{"Signed in as admin@contoso.onmicrosoft.com (Alex Wilber)", "Warning: the access token could not be read"} {
		if !strings.Contains(summary, s) {
			t.Errorf("%q not in:\n%s", s, summary)
		}
	}
}

// TestPreflightRefusedTokenIsAnError: a token Graph refuses (401) is a sign-in problem, returned as the error.
func TestPreflightRefusedTokenIsAnError(t *testing.T) {
	tenant := entra.New(entra.Options{})
	demo, err := tenant.SeedDemo()
	if err != nil {
		t.Fatal(err)
	}
	arm := mustToken(t, tenant, entra.TokenRequest{UserID: demo.Admin.ID, Scopes: entra.FlowScopes(), Audience: "https://management.azure.com"})
	client, cred := tokenSession(t, simulatedTenant(t, tenant, nil), arm)
	claims, _, _ := cred.Claims(context.Background())
	if claims.ForGraph() {
		t.Fatalf("an ARM token reads as a Graph token: %+v", claims)
	}
	_, err = client.Preflight(context.Background(), PreflightRequest{Claims: &claims, Method: MethodToken})
	if !IsUnauthorized(err) {
		t.Errorf("Preflight with a token for another resource = %v, want Graph's 401", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("unexpected cancellation")
	}
}

func TestPremiumPlan(t *testing.T) {
	p1 := ServicePlan{ID: ServicePlanEntraIDP1, Name: "AAD_PREMIUM", ProvisioningStatus: "Success"}
	p2 := ServicePlan{ID: ServicePlanEntraIDP2, Name: "AAD_PREMIUM_P2", ProvisioningStatus: "Success"}
	tests := []struct {
		skus []Sku
		want string
	}{
		{nil, ""},
		{[]Sku{{CapabilityStatus: "Enabled", ServicePlans: []ServicePlan{p1}}}, "Microsoft Entra ID P1"},
		{[]Sku{{CapabilityStatus: "Enabled", ServicePlans: []ServicePlan{p1}}, {CapabilityStatus: "Enabled", ServicePlans: []ServicePlan{p2}}}, "Microsoft Entra ID P2"},
		{[]Sku{{CapabilityStatus: "Suspended", ServicePlans: []ServicePlan{p2}}}, ""},
		{[]Sku{{CapabilityStatus: "Enabled", ServicePlans: []ServicePlan{{ID: ServicePlanEntraIDP1, ProvisioningStatus: "Disabled"}}}}, ""},
		{[]Sku{{CapabilityStatus: "Enabled", ServicePlans: []ServicePlan{{ID: "8a256a2b-b617-496d-b51b-e76466e88db0", ProvisioningStatus: "Success"}}}}, ""},
	}
	for i, tt := range tests {
		if got := premiumPlan(tt.skus); got != tt.want {
			t.Errorf("%d: premiumPlan = %q, want %q", i, got, tt.want)
		}
	}
}
