package graph_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/secret"
)

// Assigning many principals goes in JSON batches of 20 (DOCS concepts/json-batching.md). Requests Graph refuses
// inside a batch are classified one by one: throttled (429) and unavailable (503) ones are sent again after
// their Retry-After, and only they; a duplicate is a conflict; a principal that does not exist is an error of
// its own; the others are assigned.
func TestAssignAppRolesInBatches(t *testing.T) {
	tenant := entra.New(entra.Options{Provisioning: entra.ProvisioningOptions{ManualCycles: true}})
	defer tenant.Close()
	demo, err := tenant.SeedDemo()
	if err != nil {
		t.Fatal(err)
	}
	pop, err := tenant.SeedPopulation(entra.Population{Users: 45, GroupSize: 45})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	newClient := func() (*graph.Client, *clock) {
		clk := &clock{now: time.Now()}
		c, err := graph.New(graph.Config{BaseURL: srv.URL + "/v1.0", Credential: graph.StaticToken(secret.New(demo.AdminToken)), Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		return c, clk
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	setup, _ := newClient()
	_, sp, err := setup.InstantiateTemplate(ctx, graph.NonGalleryTemplateID, "Batched")
	if err != nil {
		t.Fatal(err)
	}
	if sp, err = setup.WaitForServicePrincipal(ctx, sp.ID); err != nil {
		t.Fatal(err)
	}
	role := ""
	for _, r := range sp.AppRoles {
		if r.DisplayName == "User" {
			role = r.ID
		}
	}
	var principals []string
	for _, u := range tenant.Users() {
		principals = append(principals, u.ID)
	}
	principals = append(principals, pop.Groups[0].ID)
	if _, errs := setup.AssignAppRoles(ctx, sp.ID, role, principals[:1]); errs[0] != nil {
		t.Fatal(errs[0])
	}
	const missing = "00000000-0000-4000-8000-00000000beef"
	principals = append(principals, missing)

	// A client that did not create the service principal: no answer is taken for replication lag.
	c, clk := newClient()
	tenant.ResetRequests()
	tenant.AddFaultRule(entra.FaultRule{Kind: entra.Throttle, Method: http.MethodPost, Path: "/servicePrincipals/*/appRoleAssignedTo", Times: 2, RetryAfter: 3 * time.Second})
	tenant.AddFaultRule(entra.FaultRule{Kind: entra.ServerError, Status: http.StatusServiceUnavailable, Method: http.MethodPost, Path: "/servicePrincipals/*/appRoleAssignedTo", Times: 1, RetryAfter: 5 * time.Second})
	made, errs := c.AssignAppRoles(ctx, sp.ID, role, principals)

	for i, p := range principals {
		switch {
		case i == 0:
			if !graph.IsConflict(errs[i]) {
				t.Errorf("the principal assigned before: err = %v, want a conflict", errs[i])
			}
		case p == missing:
			if errs[i] == nil || graph.IsConflict(errs[i]) || graph.IsThrottled(errs[i]) {
				t.Errorf("a principal that does not exist: err = %v, want Graph's refusal", errs[i])
			}
		case errs[i] != nil:
			t.Errorf("principal %d: %v", i, errs[i])
		case made[i].PrincipalID != p || made[i].ID == "":
			t.Errorf("principal %d: assignment %+v", i, made[i])
		}
	}
	assigned := map[string]int{}
	for _, a := range tenant.AppRoleAssignments(sp.ID) {
		assigned[a.PrincipalID]++
	}
	for _, p := range principals[:len(principals)-1] {
		if assigned[p] != 1 {
			t.Errorf("%s assigned %d times", p, assigned[p])
		}
	}

	envelopes, inner := 0, 0
	for _, r := range tenant.Requests() {
		switch {
		case !r.InBatch && r.Path == "/$batch":
			envelopes++
		case !r.InBatch:
			t.Errorf("request outside a batch: %s %s", r.Method, r.Path)
		case strings.HasSuffix(r.Path, "/appRoleAssignedTo"):
			inner++
		}
	}
	n := len(principals)
	if first := (n + 19) / 20; envelopes < first+1 || envelopes > first+3 {
		t.Errorf("%d batches for %d principals, want %d and at most 3 more for the 3 refused requests", envelopes, n, first)
	}
	if inner != n+3 {
		t.Errorf("%d assignment requests, want %d: each principal once and the 3 refused again", inner, n+3)
	}
	slept := map[time.Duration]bool{}
	for _, d := range clk.sleepsList() {
		slept[d] = true
	}
	if !slept[5*time.Second] || clk.sleeps > 3 {
		t.Errorf("slept %v, want the longest Retry-After of each retried batch (5s among them)", clk.sleepsList())
	}
	if got := c.Stats(); got.Requests != int64(envelopes) || got.Throttled != 3 || got.Retries != 3 {
		t.Errorf("Stats = %+v, want %d requests, 3 throttled answers, 3 requests sent again", got, envelopes)
	}
}
