package graph_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/sandbox/refbackend"
	"github.com/idpctl/idpctl/secret"
)

// clock is the client's clock: waits are recorded and pass at once.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	slept  time.Duration
	sleeps int
	each   []time.Duration
}

func (c *clock) sleepsList() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.each...)
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept += d
	c.sleeps++
	c.each = append(c.each, d)
	return ctx.Err()
}

// TestSetupFlowAgainstSimulatedTenant runs setup's call sequence (docs/architecture.md) through the client
// against the simulated tenant (with replication lag on every new object and on the provisioning service) and
// the reference SCIM backend, then tears everything down.
func TestSetupFlowAgainstSimulatedTenant(t *testing.T) {
	const scimToken = "scim-bearer-5d1f0e9c8b7a6f5e4d3c2b1a"
	backend := refbackend.New(refbackend.Options{SCIMToken: secret.New(scimToken)})
	scimSrv := httptest.NewServer(backend)
	defer scimSrv.Close()
	backend.SetPublicBaseURL(scimSrv.URL)

	tenant := entra.New(entra.Options{
		Provisioning: entra.ProvisioningOptions{ManualCycles: true},
		Faults:       entra.Faults{ReplicationLag: 2, SyncReplicationLag: 2, SyncReplicationStatus: http.StatusConflict},
	})
	defer tenant.Close()
	demo, err := tenant.SeedDemo()
	if err != nil {
		t.Fatal(err)
	}
	graphSrv := httptest.NewServer(tenant)
	defer graphSrv.Close()

	clk := &clock{now: time.Now()}
	c, err := graph.New(graph.Config{
		BaseURL:    graphSrv.URL + "/v1.0",
		Credential: graph.StaticToken(secret.New(demo.AdminToken)),
		Clock:      clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// 1. Pre-flight.
	me, err := c.Me(ctx)
	must("Me", err)
	if me.UserPrincipalName != demo.Admin.UserPrincipalName {
		t.Errorf("Me = %+v", me)
	}
	roles, err := c.MyDirectoryRoles(ctx)
	must("MyDirectoryRoles", err)
	if !slices.ContainsFunc(roles, func(r graph.DirectoryRole) bool { return r.RoleTemplateID == entra.RoleGlobalAdministrator }) {
		t.Errorf("MyDirectoryRoles = %+v, want Global Administrator", roles)
	}
	skus, err := c.SubscribedSkus(ctx)
	must("SubscribedSkus", err)
	if !slices.ContainsFunc(skus, func(s graph.Sku) bool {
		return slices.ContainsFunc(s.ServicePlans, func(p graph.ServicePlan) bool { return p.Name == "AAD_PREMIUM" })
	}) {
		t.Errorf("SubscribedSkus = %+v, want an Entra ID P1 plan", skus)
	}
	org, err := c.Organization(ctx)
	must("Organization", err)
	if org.ID != tenant.ID() || org.DefaultDomain == "" {
		t.Errorf("Organization = %+v", org)
	}

	// 2-3. Create the enterprise app and wait for it.
	tempName := "Smallstep (idpctl e2e)"
	app, sp, err := c.InstantiateTemplate(ctx, graph.NonGalleryTemplateID, tempName)
	must("InstantiateTemplate", err)
	app, err = c.WaitForApplication(ctx, app.ObjectID)
	must("WaitForApplication", err)
	sp, err = c.WaitForServicePrincipal(ctx, sp.ID)
	must("WaitForServicePrincipal", err)
	found, err := c.FindApplications(ctx, graph.ApplicationQuery{DisplayName: tempName})
	must("FindApplications", err)
	if len(found) != 1 || found[0].ObjectID != app.ObjectID {
		t.Errorf("FindApplications(%q) = %+v", tempName, found)
	}

	// 4. App registration settings, with Microsoft Graph's scope ids read at run time.
	graphSP, err := c.GetServicePrincipalByAppID(ctx, graph.MicrosoftGraphAppID)
	must("GetServicePrincipalByAppID(Microsoft Graph)", err)
	var access []graph.ResourceAccess
	for _, v := range []string{"openid", "profile", "email"} {
		i := slices.IndexFunc(graphSP.Scopes, func(s graph.PermissionScope) bool { return s.Value == v })
		if i < 0 {
			t.Fatalf("Microsoft Graph exposes no %q scope", v)
		}
		access = append(access, graph.ResourceAccess{ID: graphSP.Scopes[i].ID, Type: "Scope"})
	}
	name, audience, home := "Smallstep", "AzureADMultipleOrgs", app.HomePageURL
	must("UpdateApplication", c.UpdateApplication(ctx, app.ObjectID, graph.ApplicationUpdate{
		DisplayName:    &name,
		SignInAudience: &audience,
		Tags:           append(slices.Clone(app.Tags), "idpctl"),
		RedirectURIs:   []string{"https://api.smallstep.com/auth/openid/callback"},
		HomePageURL:    &home,
		IDTokenClaims: []graph.OptionalClaim{{Name: "email"}, {Name: "preferred_username"},
			{Name: "upn", AdditionalProperties: []string{"include_externally_authenticated_upn"}}},
		RequiredResourceAccess: []graph.RequiredResourceAccess{{ResourceAppID: graph.MicrosoftGraphAppID, Access: access}},
	}))
	must("UpdateServicePrincipal", c.UpdateServicePrincipal(ctx, sp.ID, graph.ServicePrincipalUpdate{DisplayName: &name}))
	app, err = c.GetApplicationByAppID(ctx, app.AppID)
	must("GetApplicationByAppID", err)
	if app.DisplayName != name || app.SignInAudience != audience || !slices.Contains(app.Tags, "idpctl") ||
		len(app.IDTokenClaims) != 3 || len(app.RedirectURIs) != 1 || len(app.RequiredResourceAccess) != 1 {
		t.Errorf("application after PATCH = %+v", app)
	}
	if upn := app.IDTokenClaims[2]; upn.Name != "upn" || !slices.Equal(upn.AdditionalProperties, []string{"include_externally_authenticated_upn"}) {
		t.Errorf("upn claim read back as %+v", upn)
	}

	// 5. Client secret.
	password, err := c.AddPassword(ctx, app.ObjectID, "idpctl", time.Now().AddDate(1, 0, 0))
	must("AddPassword", err)
	if password.Secret.IsZero() || password.KeyID == "" {
		t.Errorf("AddPassword = %+v", password)
	}

	// 6. Admin consent, and the duplicate the caller must handle.
	grant := graph.PermissionGrant{ClientID: sp.ID, ResourceID: graphSP.ID, ConsentType: "AllPrincipals", Scope: "openid profile"}
	created, err := c.CreatePermissionGrant(ctx, grant)
	must("CreatePermissionGrant", err)
	if _, err := c.CreatePermissionGrant(ctx, grant); !graph.IsConflict(err) {
		t.Errorf("second grant: err = %v, want a conflict", err)
	}
	must("UpdatePermissionGrantScope", c.UpdatePermissionGrantScope(ctx, created.ID, "openid profile email"))
	grants, err := c.ListPermissionGrants(ctx, sp.ID)
	must("ListPermissionGrants", err)
	if len(grants) != 1 || grants[0].Scope != "openid profile email" {
		t.Errorf("grants = %+v", grants)
	}

	// 7. Assign a user and a group to the app's User role.
	i := slices.IndexFunc(sp.AppRoles, func(r graph.AppRole) bool { return r.DisplayName == "User" })
	if i < 0 {
		t.Fatalf("the enterprise app has no User role: %+v", sp.AppRoles)
	}
	userRole := sp.AppRoles[i].ID
	adele, err := c.ResolveUser(ctx, demo.Users[0].UserPrincipalName)
	must("ResolveUser", err)
	suggestions, err := c.SearchUsers(ctx, "adele", 5)
	must("SearchUsers", err)
	if !slices.ContainsFunc(suggestions, func(u graph.User) bool { return u.ID == adele.ID }) {
		t.Errorf("SearchUsers(adele) = %+v", suggestions)
	}
	groups, err := c.ResolveGroup(ctx, demo.SmallstepUsers.DisplayName)
	must("ResolveGroup", err)
	members, err := c.ListGroupMembers(ctx, groups[0].ID)
	must("ListGroupMembers", err)
	if len(members) != 3 {
		t.Errorf("members of %s = %d, want 3", groups[0].DisplayName, len(members))
	}
	// The two go in one JSON batch, each with its own answer; the service principal is still replicating.
	made, errs := c.AssignAppRoles(ctx, sp.ID, userRole, []string{adele.ID, groups[0].ID})
	must("AssignAppRoles(user)", errs[0])
	must("AssignAppRoles(group)", errs[1])
	userAssignment := made[0]
	if _, errs := c.AssignAppRoles(ctx, sp.ID, userRole, []string{adele.ID}); !graph.IsConflict(errs[0]) {
		t.Errorf("duplicate assignment: err = %v, want a conflict", errs[0])
	}
	// A list leaves out objects that are still replicating (a 200, nothing to retry): the caller reads again.
	var assigned []graph.AppRoleAssignment
	for range 5 {
		if assigned, err = c.ListAppRoleAssignedTo(ctx, sp.ID); err != nil || len(assigned) == 2 {
			break
		}
	}
	must("ListAppRoleAssignedTo", err)
	if len(assigned) != 2 {
		t.Errorf("assignments = %+v", assigned)
	}

	// 8-11. Provisioning: template, test connection, job, credentials.
	templates, err := c.ListSyncTemplates(ctx, sp.ID)
	must("ListSyncTemplates", err)
	if !slices.ContainsFunc(templates, func(t graph.SyncTemplate) bool { return t.ID == "scim" }) {
		t.Fatalf("templates = %+v, want scim", templates)
	}
	creds := []graph.SyncSecret{{Key: "BaseAddress", Value: secret.New(backend.SCIMBaseURL())}, {Key: "SecretToken", Value: secret.New(scimToken)}}
	must("ValidateCredentials", c.ValidateCredentials(ctx, sp.ID, "scim", creds))
	wrong := []graph.SyncSecret{creds[0], {Key: "SecretToken", Value: secret.New("not-the-token")}}
	if err := c.ValidateCredentials(ctx, sp.ID, "scim", wrong); err == nil || graph.Code(err) == "" {
		t.Errorf("test connection with a wrong token: err = %v", err)
	}
	job, err := c.CreateSyncJob(ctx, sp.ID, "scim")
	must("CreateSyncJob", err)
	must("SaveSyncSecrets", c.SaveSyncSecrets(ctx, sp.ID, append(creds, graph.SyncSecret{Key: "SyncAll", Value: secret.New("false")})))
	must("ValidateJobCredentials(saved)", c.ValidateJobCredentials(ctx, sp.ID, job.ID, nil))
	saved, err := c.GetSyncSecrets(ctx, sp.ID)
	must("GetSyncSecrets", err)
	if len(saved) != 3 || saved[0].Value.Reveal() != backend.SCIMBaseURL() || !saved[1].Masked() || saved[2].Value.Reveal() != "false" {
		t.Errorf("saved secrets read back as %v", saved)
	}
	coalesce, err := c.ParseExpression(ctx, sp.ID, job.ID, "Coalesce([mail], [userPrincipalName])")
	must("ParseExpression", err)
	if coalesce.Type != "Function" || len(coalesce.Parameters) != 2 || coalesce.Parameters[1].Value.Name != "userPrincipalName" {
		t.Errorf("parsed Coalesce = %+v", coalesce)
	}

	// 12. Mappings: raw GET, edit, raw PUT, read back.
	raw, err := c.GetSyncSchema(ctx, sp.ID, job.ID)
	must("GetSyncSchema", err)
	if !strings.Contains(string(raw), "[mailNickname]") {
		t.Fatal("the template schema maps externalId from mailNickname")
	}
	must("PutSyncSchema", c.PutSyncSchema(ctx, sp.ID, job.ID, editExternalID(t, raw)))
	raw, err = c.GetSyncSchema(ctx, sp.ID, job.ID)
	must("GetSyncSchema again", err)
	if strings.Contains(string(raw), "[mailNickname]") {
		t.Error("the schema PUT did not take")
	}
	ruleID := schemaRuleID(t, raw)

	// 13-14. Start, provision on demand, read status and logs, restart.
	must("StartSyncJob", c.StartSyncJob(ctx, sp.ID, job.ID))
	result, err := c.ProvisionOnDemand(ctx, sp.ID, job.ID, ruleID, graph.OnDemandSubject{ObjectID: adele.ID, ObjectTypeName: "User"})
	must("ProvisionOnDemand", err)
	if result.Result != "Success" || result.TargetID == "" {
		t.Errorf("on-demand result = %+v", result)
	}
	if u, ok := backend.UserByUserName(adele.UserPrincipalName); !ok || u.ID != result.TargetID {
		t.Errorf("the SCIM backend has %+v (found %v), want the user on-demand provisioning reported", u, ok)
	}
	status, err := c.GetSyncJob(ctx, sp.ID, job.ID)
	must("GetSyncJob", err)
	if status.ScheduleState != "Active" {
		t.Errorf("job after start = %+v", status)
	}
	jobs, err := c.ListSyncJobs(ctx, sp.ID)
	must("ListSyncJobs", err)
	if len(jobs) != 1 || jobs[0].ID != job.ID {
		t.Errorf("jobs = %+v", jobs)
	}
	events, err := c.ListProvisioningEvents(ctx, graph.ProvisioningQuery{ServicePrincipalID: sp.ID, JobID: job.ID, Since: time.Now().Add(-time.Hour)})
	must("ListProvisioningEvents", err)
	if !slices.ContainsFunc(events, func(e graph.ProvisioningEvent) bool { return e.SourceID == adele.ID && e.Status == "success" }) {
		t.Errorf("provisioning log = %+v, want Adele's success", events)
	}
	must("RestartSyncJob", c.RestartSyncJob(ctx, sp.ID, job.ID, ""))
	must("PauseSyncJob", c.PauseSyncJob(ctx, sp.ID, job.ID))

	// Teardown.
	must("RemovePassword", c.RemovePassword(ctx, app.ObjectID, password.KeyID))
	must("DeleteAppRoleAssignment", c.DeleteAppRoleAssignment(ctx, sp.ID, userAssignment.ID))
	must("DeleteSyncJob", c.DeleteSyncJob(ctx, sp.ID, job.ID))
	must("DeleteApplication", c.DeleteApplication(ctx, app.ObjectID))
	if _, err := c.GetApplication(ctx, app.ObjectID); !graph.IsNotFound(err) {
		t.Errorf("after delete: err = %v, want not found", err)
	}

	// The client's request count is the tenant's, and the replication lag cost waits, not failures.
	sent := 0
	for _, r := range tenant.Requests() {
		if !r.InBatch { // a JSON batch is one request, its own requests are logged inside it
			sent++
		}
	}
	if got, want := c.Stats().Requests, int64(sent); got != want {
		t.Errorf("Stats().Requests = %d, the tenant received %d", got, want)
	}
	if clk.sleeps == 0 {
		t.Error("no replication wait happened: the lag faults did not apply")
	}
	for _, r := range tenant.Requests() {
		if r.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s %s was sent with Content-Encoding %q", r.Method, r.Path, r.Header.Get("Content-Encoding"))
		}
	}
	t.Logf("%d requests, %d waits totalling %v", c.Stats().Requests, clk.sleeps, clk.slept)
}

// editExternalID maps externalId from objectId instead of mailNickname in the User object mapping.
func editExternalID(t *testing.T, raw []byte) []byte {
	t.Helper()
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	for _, r := range schema["synchronizationRules"].([]any) {
		for _, om := range r.(map[string]any)["objectMappings"].([]any) {
			m := om.(map[string]any)
			if m["sourceObjectName"] != "User" {
				continue
			}
			for _, am := range m["attributeMappings"].([]any) {
				a := am.(map[string]any)
				if a["targetAttributeName"] == "externalId" {
					a["source"] = map[string]any{"type": "Attribute", "name": "objectId", "expression": "[objectId]", "parameters": []any{}}
				}
			}
		}
	}
	out, err := json.Marshal(schema)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func schemaRuleID(t *testing.T, raw []byte) string {
	t.Helper()
	var schema struct {
		Rules []struct {
			ID string `json:"id"`
		} `json:"synchronizationRules"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil || len(schema.Rules) == 0 {
		t.Fatalf("schema has no rule: %v", err)
	}
	return schema.Rules[0].ID
}

// TestConcurrentCallsShareOneClient runs the independent calls of the flow at once, as the steps do, on one
// client (run with -race).
func TestConcurrentCallsShareOneClient(t *testing.T) {
	tenant := entra.New(entra.Options{
		Provisioning: entra.ProvisioningOptions{ManualCycles: true},
		Faults:       entra.Faults{ReplicationLag: 1, SyncReplicationLag: 1},
	})
	defer tenant.Close()
	demo, err := tenant.SeedDemo()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	clk := &clock{now: time.Now()}
	c, err := graph.New(graph.Config{BaseURL: srv.URL + "/v1.0", Credential: graph.StaticToken(secret.New(demo.AdminToken)), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	app, sp, err := c.InstantiateTemplate(ctx, graph.NonGalleryTemplateID, "Concurrent")
	if err != nil {
		t.Fatal(err)
	}
	role := sp.AppRoles[slices.IndexFunc(sp.AppRoles, func(r graph.AppRole) bool { return r.DisplayName == "User" })].ID

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f()
		}()
	}
	run(func() error { _, err := c.WaitForApplication(ctx, app.ObjectID); return err })
	run(func() error { _, err := c.WaitForServicePrincipal(ctx, sp.ID); return err })
	run(func() error { _, err := c.GetServicePrincipalByAppID(ctx, graph.MicrosoftGraphAppID); return err })
	run(func() error { _, err := c.ListSyncTemplates(ctx, sp.ID); return err })
	run(func() error {
		tags := []string{"idpctl"}
		return c.UpdateApplication(ctx, app.ObjectID, graph.ApplicationUpdate{Tags: tags})
	})
	for _, u := range demo.Users {
		run(func() error { _, errs := c.AssignAppRoles(ctx, sp.ID, role, []string{u.ID}); return errs[0] })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	sent := 0
	for _, r := range tenant.Requests() {
		if !r.InBatch { // a JSON batch is one request, its own requests are logged inside it
			sent++
		}
	}
	if got, want := c.Stats().Requests, int64(sent); got != want {
		t.Errorf("Stats().Requests = %d, the tenant received %d", got, want)
	}
}
