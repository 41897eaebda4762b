package steps_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/steps"
)

// assignmentFlow is the setup up to the assignments: the application, then its users and groups.
func assignmentFlow() []steps.Step { return steps.Flow()[:2] }

// runSteps plans and applies the given steps once.
func (h *harness) runSteps(in steps.Inputs, flow []steps.Step) error {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := h.env(in)
	runner := &steps.Runner{Steps: flow}
	plan, err := runner.Plan(ctx, env)
	if err != nil {
		return err
	}
	_, err = runner.Apply(ctx, env, plan)
	return err
}

// assignmentRequests counts the Graph requests of the assignments: the lookups of the principals, the reads of
// existing assignments and the assignments themselves (a JSON batch is one request).
func assignmentRequests(sb *sandbox.Sandbox) int {
	n := 0
	for _, r := range sb.Tenant.Requests() {
		if !r.InBatch && (r.Path == "/$batch" || r.Path == "/users" || r.Path == "/groups" || strings.HasSuffix(r.Path, "/appRoleAssignedTo")) {
			n++
		}
	}
	return n
}

// A thousand principals are assigned in at most 60 Graph requests (issue 12): their names are looked up 15 to a
// request, the assignments made 20 to a JSON batch.
func TestAssignThousandPrincipals(t *testing.T) {
	h := newHarness(t, sandbox.Options{Population: entra.Population{Users: 1000, GroupSize: 1000}})
	in := h.manual()
	in.AssignGroups, in.AssignUsers = nil, nil
	for _, u := range h.sb.Tenant.Users() {
		if u.UserPrincipalName != h.sb.Demo.Admin.UserPrincipalName && len(in.AssignUsers) < 1000 {
			in.AssignUsers = append(in.AssignUsers, u.UserPrincipalName)
		}
	}
	if err := h.runSteps(in, assignmentFlow()); err != nil {
		t.Fatal(err)
	}
	if n := assignmentRequests(h.sb); n > 60 {
		t.Errorf("%d Graph requests to assign %d principals, want at most 60", n, len(in.AssignUsers))
	}
	sp := h.servicePrincipal()
	assigned := map[string]int{}
	for _, a := range h.sb.Tenant.AppRoleAssignments(sp.ID) {
		assigned[a.PrincipalID]++
	}
	if len(assigned) != 1000 {
		t.Errorf("%d principals assigned, want 1,000", len(assigned))
	}
	for id, n := range assigned {
		if n != 1 {
			t.Errorf("%s assigned %d times", id, n)
		}
	}
}

// Graph refuses assignments one by one inside a batch: an answer lost after the write is sent again and found
// done; a refusal fails the step with an error that names each principal refused, once per cause.
func TestAssignmentFailuresNameThePrincipals(t *testing.T) {
	h := newHarness(t, sandbox.Options{Population: entra.Population{Users: 45, GroupSize: 45}})
	in := h.manual()
	in.AssignGroups, in.AssignUsers = nil, nil
	for _, u := range h.sb.Tenant.Users() {
		if u.UserPrincipalName != h.sb.Demo.Admin.UserPrincipalName {
			in.AssignUsers = append(in.AssignUsers, u.UserPrincipalName)
		}
	}
	const path = "/servicePrincipals/*/appRoleAssignedTo"
	h.sb.Tenant.AddFaultRule(entra.FaultRule{Kind: entra.LoseResponse, Method: http.MethodPost, Path: path, Status: http.StatusServiceUnavailable, OnlyAfterSuccess: true, Times: 1})
	h.sb.Tenant.AddFaultRule(entra.FaultRule{Kind: entra.ServerError, Method: http.MethodPost, Path: path, Status: http.StatusInternalServerError, Times: 2})
	err := h.runSteps(in, assignmentFlow())
	var assignErr *steps.AssignError
	if !errors.As(err, &assignErr) {
		t.Fatalf("err = %v, want the principals that could not be assigned", err)
	}
	sp := h.servicePrincipal()
	assigned := map[string]bool{}
	for _, a := range h.sb.Tenant.AppRoleAssignments(sp.ID) {
		assigned[a.PrincipalID] = true
	}
	var refused []string
	for _, u := range h.sb.Tenant.Users() {
		if u.UserPrincipalName != h.sb.Demo.Admin.UserPrincipalName && !assigned[u.ID] {
			refused = append(refused, u.UserPrincipalName)
		}
	}
	if len(refused) != 2 {
		t.Fatalf("%d principals unassigned, want the 2 refused: %v", len(refused), refused)
	}
	msg := err.Error()
	if !strings.Contains(msg, "2 users and groups could not be assigned:\n  ") || strings.Count(msg, "\n") != 1 {
		t.Errorf("error %q: want both principals on one line, under their one cause", msg)
	}
	for _, upn := range refused {
		if !strings.Contains(msg, "user "+upn) {
			t.Errorf("error %q does not name %s", msg, upn)
		}
	}
}

// servicePrincipal is the one service principal the run made (under its temporary name while the steps that
// rename it have not run).
func (h *harness) servicePrincipal() entra.ServicePrincipal {
	h.t.Helper()
	for _, sp := range h.sb.Tenant.ServicePrincipals() {
		if strings.HasPrefix(sp.DisplayName, steps.DefaultAppName) {
			return sp
		}
	}
	h.t.Fatal("no service principal named " + steps.DefaultAppName)
	return entra.ServicePrincipal{}
}
