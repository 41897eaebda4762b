package graph_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/secret"
)

// injection is a group name that, pasted into a $filter without quoting, would match every group.
const injection = `x' or 1 eq 1 or displayName eq 'y`

// directory is a simulated tenant with the demo directory and a client signed in to it.
type directory struct {
	tenant *entra.Tenant
	client *graph.Client
}

func newDirectory(tb testing.TB) *directory {
	tb.Helper()
	tenant := entra.New(entra.Options{Provisioning: entra.ProvisioningOptions{ManualCycles: true}})
	tb.Cleanup(func() { _ = tenant.Close() })
	demo, err := tenant.SeedDemo()
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	tb.Cleanup(srv.Close)
	c, err := graph.New(graph.Config{BaseURL: srv.URL + "/v1.0", Credential: graph.StaticToken(secret.New(demo.AdminToken))})
	if err != nil {
		tb.Fatal(err)
	}
	return &directory{tenant: tenant, client: c}
}

// displayable is what Entra accepts as a display name and idpctl looks up by name: 1 to 256 characters, no
// surrounding space (idpctl trims it), no control characters, not a GUID (looked up as an object id).
func displayable(s string) bool {
	return s != "" && utf8.ValidString(s) && utf8.RuneCountInString(s) <= 256 && strings.TrimSpace(s) == s &&
		strings.IndexFunc(s, unicode.IsControl) < 0 && uuid.Validate(s) != nil
}

// resolvesOnlyItself adds a group named name and checks that ResolveGroup(name) finds it and only groups that
// share its name (Graph compares display names without regard to case).
func (d *directory) resolvesOnlyItself(t *testing.T, name string) {
	t.Helper()
	g, err := d.tenant.AddGroup(entra.NewGroup{DisplayName: name})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	found, err := d.client.ResolveGroup(ctx, name)
	if err != nil {
		t.Fatalf("ResolveGroup(%q): %v", name, err)
	}
	var self bool
	for _, f := range found {
		if !strings.EqualFold(f.DisplayName, name) {
			t.Errorf("ResolveGroup(%q) also found the group %q", name, f.DisplayName)
		}
		self = self || f.ID == g.ID
	}
	if !self {
		t.Errorf("ResolveGroup(%q) did not find the group of that name (found %d)", name, len(found))
	}
}

// TestGroupNameIsNotAFilter: a group whose name is an OData injection matches itself alone in the simulated
// tenant, beside the demo's groups (a name pasted into $filter unquoted would match them all).
func TestGroupNameIsNotAFilter(t *testing.T) {
	d := newDirectory(t)
	for _, name := range []string{injection, "O'Brien's team", "'", "''", `a\'b`, "100% & more + less #1 ?x=y"} {
		d.resolvesOnlyItself(t, name)
	}
	if n := len(d.tenant.Groups()); n < 8 {
		t.Fatalf("the tenant has only %d groups: the decoys are missing", n)
	}
}

// FuzzResolveGroup: whatever a group is called, looking it up by name finds that group and no other.
func FuzzResolveGroup(f *testing.F) {
	for _, s := range []string{"Smallstep Users", injection, "O'Brien's team", "'", "''", "a''b", `\'`, "%27", "%", "a&b=c",
		"#x", "a+b", "ü ñ 日本語", "$filter=x", "a/b", "a?b", "(", ")", "eq", "'x' eq 'x'", "*", "\"quoted\""} {
		f.Add(s)
	}
	d := newDirectory(f)
	f.Fuzz(func(t *testing.T, name string) {
		if !displayable(name) {
			t.Skip()
		}
		d.resolvesOnlyItself(t, name)
	})
}

// FuzzResolveUser: a user found by userPrincipalName is that user, whatever characters its local part holds.
func FuzzResolveUser(f *testing.F) {
	for _, s := range []string{"adele.vance", "o'brien", "x' or 1 eq 1 or userPrincipalName eq 'y", "'", "a''b", "#_^~!", "%27", "a+b"} {
		f.Add(s)
	}
	d := newDirectory(f)
	domain := "contoso.onmicrosoft.com"
	f.Fuzz(func(t *testing.T, local string) {
		upn := local + "@" + domain
		if !displayable(upn) || strings.ContainsAny(local, "@ ") {
			t.Skip()
		}
		u, err := d.tenant.AddUser(entra.NewUser{UserPrincipalName: upn, DisplayName: "Fuzz"})
		if err != nil {
			t.Skip() // the UPN is taken, in any case
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got, err := d.client.ResolveUser(ctx, upn)
		if err != nil || got.ID != u.ID {
			t.Fatalf("ResolveUser(%q) = %q, %v; want %q", upn, got.ID, err, u.ID)
		}
	})
}
