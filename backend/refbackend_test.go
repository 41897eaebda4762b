package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/sandbox/refbackend"
	"github.com/idpctl/idpctl/secret"
)

// TestAgainstReferenceBackend runs the whole hand-off against the sandbox's reference SaaS: register over the
// backend contract, probe the SCIM endpoint it hands out, provision the way Entra does, then read everything
// back with the Reader and set a role.
func TestAgainstReferenceBackend(t *testing.T) {
	ref := refbackend.New(refbackend.Options{BackendToken: secret.New(backendToken), MaxResults: 2})
	srv := httptest.NewServer(ref.Handler())
	defer srv.Close()
	ctx := context.Background()

	h, err := NewHTTP(srv.URL, secret.New(backendToken), srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	scim, err := h.Register(ctx, registration())
	if err != nil {
		t.Fatalf("Register: %v", errText(t, err))
	}
	if scim.BaseURL != srv.URL+refbackend.DefaultSCIMPath {
		t.Errorf("SCIM base URL = %q", scim.BaseURL)
	}
	regs := ref.Registrations()
	if len(regs) != 1 || regs[0].ClientID != registration().ClientID || regs[0].ClientSecret.Reveal() != clientSecret || !regs[0].SCIMToken.Equal(scim.Token) {
		t.Fatalf("the backend holds %d registrations, not the one sent", len(regs))
	}
	again, err := h.Register(ctx, registration())
	if err != nil || !again.Token.Equal(scim.Token) || len(ref.Registrations()) != 1 {
		t.Errorf("registering again was not idempotent (%v)", errText(t, err))
	}

	report, err := Probe(ctx, srv.Client(), nil, scim)
	if err != nil {
		t.Fatalf("Probe: %v\n%s", errText(t, err), report)
	}
	if len(report.Warnings) != 0 || report.ServiceProvider == nil || !report.ServiceProvider.PatchSupported {
		t.Errorf("probe report:\n%s", report)
	}
	assertNoSecret(t, report.String())

	// Provision two users and a group as Entra does: POST with boolean active, then the legacy PATCH forms.
	entra := entraClient{t: t, client: srv.Client(), scim: scim}
	ada := entra.post("Users", map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "userName": "ada@contoso.com", "active": true, "displayName": "Ada Lovelace",
		"emails": []any{map[string]any{"primary": true, "type": "work", "value": "ada@contoso.com"}},
		"name":   map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
	})
	grace := entra.post("Users", map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"externalId": "7d3b9c1e-0f4a-4a55-9d7e-1c2b3a4d5e6f", "userName": "grace@contoso.com", "active": true,
	})
	alan := entra.post("Users", map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"externalId": "c8e2f1a0-1111-4222-8333-944455556666", "userName": "alan@contoso.com", "active": true,
	})
	entra.patch("Users/"+grace, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
	group := entra.post("Groups", map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
		"externalId": "5e4d3c2b-aaaa-4bbb-8ccc-123456789abc", "displayName": "Smallstep Users",
	})
	entra.patch("Groups/"+group, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":%q},{"$ref":null,"value":%q}]}]}`, ada, grace))

	r, err := NewReader(srv.Client(), nil, scim)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.FindUserByExternalID(ctx, "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")
	want := SCIMUser{ID: ada, UserName: "ada@contoso.com", ExternalID: "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", Active: true,
		DisplayName: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace", WorkEmail: "ada@contoso.com"}
	if err != nil || got == nil || *got != want {
		t.Errorf("FindUserByExternalID = %+v, %v\nwant %+v", got, err, want)
	}
	if got, err := r.FindUserByUserName(ctx, "grace@contoso.com"); err != nil || got == nil || got.ID != grace || got.Active {
		t.Errorf("deactivated user = %+v, %v; want %s inactive", got, err, grace)
	}
	if got, err := r.FindUserByUserName(ctx, "nobody@contoso.com"); err != nil || got != nil {
		t.Errorf("unknown user = %+v, %v", got, err)
	}
	users, err := r.Users(ctx)
	if err != nil || len(users) != 3 {
		t.Errorf("Users over pages of 2 = %d users, %v", len(users), err)
	}
	for name, find := range map[string]func(context.Context, string) (*SCIMGroup, error){
		"Smallstep Users":                      r.FindGroupByDisplayName,
		"5e4d3c2b-aaaa-4bbb-8ccc-123456789abc": r.FindGroupByExternalID,
	} {
		if g, err := find(ctx, name); err != nil || g == nil || g.ID != group {
			t.Errorf("finding the group by %q = %+v, %v", name, g, err)
		}
	}
	members, err := r.GroupMembers(ctx, group)
	if err != nil || len(members) != 2 || !hasMember(members, ada) || !hasMember(members, grace) || hasMember(members, alan) {
		t.Errorf("GroupMembers = %+v, %v", members, err)
	}

	if err := h.SetRole(ctx, "ada@contoso.com", RoleOwner); err != nil {
		t.Fatal(errText(t, err))
	}
	if roles := ref.Roles(); roles["ada@contoso.com"] != refbackend.RoleOwner {
		t.Errorf("roles = %v", roles)
	}
	err = h.SetRole(ctx, "nobody@contoso.com", RoleAdmin)
	if msg := errText(t, err); !strings.Contains(msg, "the backend does not know nobody@contoso.com yet (404)") || !errors.Is(err, ErrUnknownUser) {
		t.Errorf("unknown user: %q", msg)
	}
	if roles, err := h.Roles(ctx); err != nil || len(roles) != 1 || roles["ada@contoso.com"] != RoleOwner {
		t.Errorf("Roles = %v, %v", roles, errText(t, err))
	}
}

func TestReferenceBackendRefusals(t *testing.T) {
	ref := refbackend.New(refbackend.Options{BackendToken: secret.New(backendToken)})
	srv := httptest.NewServer(ref.Handler())
	defer srv.Close()
	ctx := context.Background()

	wrong, _ := NewHTTP(srv.URL, secret.New("not-the-backend-token-000"), srv.Client(), nil)
	_, err := wrong.Register(ctx, registration())
	var be *BackendError
	if !errors.As(err, &be) || be.Kind != KindUnauthorized || !strings.Contains(err.Error(), "the backend rejected IDPCTL_BACKEND_TOKEN (401 Unauthorized)") {
		t.Errorf("wrong token: %v", err)
	}

	h, _ := NewHTTP(srv.URL, secret.New(backendToken), srv.Client(), nil)
	reg := registration()
	reg.DiscoveryURL = "https://login.example.com/.well-known/openid-configuration"
	_, err = h.Register(ctx, reg)
	if !errors.As(err, &be) || be.Field != "discoveryUrl" || !strings.HasPrefix(be.Error(), "the backend rejected discoveryUrl (400 Bad Request: discoveryUrl must be the tenant's OpenID configuration") {
		t.Errorf("bad discovery URL: %v", err)
	}
	errText(t, err)

	// A token the backend never issued is what Entra's Test Connection would be refused with.
	_, err = Probe(ctx, srv.Client(), nil, SCIM{BaseURL: srv.URL + refbackend.DefaultSCIMPath, Token: secret.New(scimToken)})
	var se *SCIMError
	if !errors.As(err, &se) || se.Kind != KindUnauthorized {
		t.Errorf("probe with an unknown token: %v", err)
	}
	errText(t, err)
}

func hasMember(members []GroupMember, id string) bool {
	for _, m := range members {
		if m.ID == id {
			return true
		}
	}
	return false
}

// entraClient writes to a SCIM endpoint the way Entra's provisioning service does, for setting up tests.
type entraClient struct {
	t      *testing.T
	client *http.Client
	scim   SCIM
}

func (e entraClient) send(method, path string, body []byte) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.scim.BaseURL+"/"+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.scim.Token.Reveal())
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// post creates a resource and returns its id.
func (e entraClient) post(path string, doc map[string]any) string {
	e.t.Helper()
	body, _ := json.Marshal(doc)
	resp := e.send(http.MethodPost, path, body)
	defer resp.Body.Close()
	var created struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != http.StatusCreated || created.ID == "" {
		e.t.Fatalf("POST /%s: %d, %v", path, resp.StatusCode, err)
	}
	return created.ID
}

func (e entraClient) patch(path, body string) {
	e.t.Helper()
	resp := e.send(http.MethodPatch, path, []byte(body))
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		e.t.Fatalf("PATCH /%s: %d", path, resp.StatusCode)
	}
}

// TestProbeTellsAStrictServer: the reference SaaS in its strict mode refuses "False" as a boolean and the probe
// says so without writing anything; in its default mode it takes Entra's string booleans and the probe is quiet.
func TestProbeTellsAStrictServer(t *testing.T) {
	for _, strict := range []bool{false, true} {
		ref := refbackend.New(refbackend.Options{SCIMToken: secret.New(scimToken), Strict: strict})
		srv := httptest.NewServer(ref.Handler())
		report, err := Probe(context.Background(), srv.Client(), nil, SCIM{BaseURL: srv.URL + refbackend.DefaultSCIMPath, Token: secret.New(scimToken)})
		srv.Close()
		if err != nil {
			t.Fatalf("strict=%v: Probe: %v", strict, errText(t, err))
		}
		if report.RefusesStringBooleans != strict {
			t.Errorf("strict=%v: RefusesStringBooleans = %v\n%s", strict, report.RefusesStringBooleans, report)
		}
		if strict && !strings.Contains(report.String(), `refuses "False" as a boolean`) {
			t.Errorf("the report does not say why:\n%s", report)
		}
		for _, r := range ref.Requests() {
			if r.Method != http.MethodGet {
				t.Errorf("the probe sent %s %s", r.Method, r.Path)
			}
		}
		if len(ref.Users()) != 0 {
			t.Error("the probe created users")
		}
	}
}

// Unregister removes the registration and revokes its SCIM token; a second call finds nothing and succeeds, so a
// teardown can run again. A server without the endpoint is not taken for one whose registration is gone.
func TestUnregisterAgainstReferenceBackend(t *testing.T) {
	ref := refbackend.New(refbackend.Options{BackendToken: secret.New(backendToken)})
	srv := httptest.NewServer(ref.Handler())
	defer srv.Close()
	ctx := context.Background()
	h, err := NewHTTP(srv.URL, secret.New(backendToken), srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := registration()
	scim, err := h.Register(ctx, reg)
	if err != nil {
		t.Fatal(errText(t, err))
	}
	if err := h.Unregister(ctx, reg.TenantID, reg.ClientID); err != nil {
		t.Fatalf("Unregister: %v", errText(t, err))
	}
	if regs := ref.Registrations(); len(regs) != 0 {
		t.Errorf("registrations after Unregister: %d", len(regs))
	}
	if _, err := Probe(ctx, srv.Client(), nil, scim); err == nil {
		t.Error("the SCIM token of the removed registration still works")
	}
	if err := h.Unregister(ctx, reg.TenantID, reg.ClientID); err != nil {
		t.Errorf("Unregister again: %v", errText(t, err))
	}

	// A server that knows nothing of the path answers a bare 404: that is no proof the registration is gone.
	bare := httptest.NewServer(http.NotFoundHandler())
	defer bare.Close()
	other, err := NewHTTP(bare.URL, secret.New(backendToken), bare.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Unregister(ctx, reg.TenantID, reg.ClientID); err == nil || !strings.Contains(err.Error(), "does not implement DELETE") {
		t.Errorf("Unregister on a server without the endpoint: %v", err)
	}
	if _, err := other.Roles(ctx); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Roles on a server without GET /v1/roles (optional in the contract): %v, want ErrUnsupported", err)
	}
	if err := (&Manual{}).Unregister(ctx, reg.TenantID, reg.ClientID); !errors.Is(err, ErrUnsupported) {
		t.Errorf("the manual backend: %v, want ErrUnsupported", err)
	}
}

// Many users are read back with as few requests as the endpoint allows: the whole list when its pages are fewer
// than the users sought, else one filtered GET each.
func TestUsersByExternalID(t *testing.T) {
	const token = "scim-token-4b1d9e8f7a6c5b4a3d2e1f00"
	ref := refbackend.New(refbackend.Options{SCIMToken: secret.New(token), MaxResults: 4})
	srv := httptest.NewServer(ref.Handler())
	defer srv.Close()
	scim := SCIM{BaseURL: srv.URL + refbackend.DefaultSCIMPath, Token: secret.New(token)}
	entra := entraClient{t: t, client: srv.Client(), scim: scim}
	var ids []string
	for i := range 100 {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		ids = append(ids, id)
		entra.post("Users", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "externalId": id,
			"userName": fmt.Sprintf("user%d@contoso.com", i), "active": true,
		})
	}
	r, err := NewReader(srv.Client(), nil, scim)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		ids      []string
		requests int
	}{
		{"a few, one by one", ids[50:53], 3},
		{"many, listed", append(ids[:30], "unknown-1", "unknown-2"), 25}, // 24 pages after the first, for 28 users it lacked
		{"many among more pages, filtered", ids[75:96], 1 + 21},          // the first page has none of them
	} {
		ref.ClearRequests()
		found, err := r.UsersByExternalID(context.Background(), c.ids)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, id := range c.ids {
			want := 1
			if strings.HasPrefix(id, "unknown") {
				want = 0
			}
			if len(found[id]) != want || want == 1 && found[id][0].ExternalID != id {
				t.Errorf("%s: %s found %+v", c.name, id, found[id])
			}
		}
		if n := len(ref.Requests()); n != c.requests {
			t.Errorf("%s: %d requests, want %d", c.name, n, c.requests)
		}
	}
}
