package steps_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/steps"
)

// Seven on-demand calls (six users and a group) keep to Graph's documented limit of 5 per 10 seconds (DOCS
// synchronization-synchronizationjob-provisionondemand.md): the calls past the fifth wait for the window, which
// the run reports, and every user is reported.
func TestProvisionKeepsToTheOnDemandRateLimit(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.manual()
	h.mustRun(in)
	demo := h.sb.Demo
	users := []string{demo.Admin.UserPrincipalName}
	for _, u := range demo.Users {
		users = append(users, u.UserPrincipalName)
	}
	h.sb.Tenant.ResetRequests()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Setup's own on-demand calls are out of the window: Graph counts per job, not per run.
	if err := h.clock.Sleep(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	env := h.env(in)
	waits := &waitRecorder{}
	env.Reporter = waits
	runner := &steps.Runner{Steps: steps.Provision(users, []string{"Engineering"})}
	plan, err := runner.Plan(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = runner.Apply(ctx, env, plan); err != nil {
		t.Fatal(err)
	}
	waits.saw(t, "provision on demand", steps.WaitRateLimit, "on-demand provisioning")
	subjects := map[string]bool{}
	for _, r := range h.sb.Tenant.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/provisionOnDemand") {
			subjects[string(r.Body)] = true
		}
	}
	if len(subjects) != 7 {
		t.Errorf("%d subjects provisioned on demand, want 7", len(subjects))
	}
	c, ok := env.Out().Confirmation.Get()
	if !ok || len(c.Users) != 6 {
		t.Fatalf("confirmation %+v", c)
	}
	for _, u := range c.Users {
		if u.Outcome != steps.Arrived && u.Outcome != steps.Skipped {
			t.Errorf("%s: %+v", u.UserPrincipalName, u)
		}
	}
}

// A group named to idpctl provision entra goes with every member, five per call (Graph's limit for one group
// call, DOCS synchronization-synchronizationjob-provisionondemand.md): its 12 members in three calls, the group's
// first call before the others so the SaaS gets one group, and each member is reported.
func TestProvisionSendsEveryMemberOfAGroup(t *testing.T) {
	h := newHarness(t, sandbox.Options{Population: entra.Population{Users: 12, GroupSize: 12}})
	group := h.sb.Population.Groups[0]
	in := h.manual()
	in.AssignGroups = append(in.AssignGroups, group.DisplayName)
	h.mustRun(in)
	h.sb.Tenant.ResetRequests()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := h.env(in)
	runner := &steps.Runner{Steps: steps.Provision(nil, []string{group.DisplayName})}
	plan, err := runner.Plan(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	planned := ""
	for _, s := range plan.Steps {
		for _, r := range s.Change.Resources {
			for _, a := range r.Attrs {
				if a.Name == "members sent" {
					planned = a.New
				}
			}
		}
	}
	if !strings.HasPrefix(planned, "all 12 members, 5 per call: 3 calls") {
		t.Errorf("the plan says the group's members sent are %q", planned)
	}
	if _, err = runner.Apply(ctx, env, plan); err != nil {
		t.Fatal(err)
	}
	sent := map[string]int{}
	bodies := map[string]bool{} // a call Entra answered "not in scope yet" (a fresh assignment) goes again
	for _, r := range h.sb.Tenant.Requests() {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.Path, "/provisionOnDemand") || bodies[string(r.Body)] {
			continue
		}
		bodies[string(r.Body)] = true
		var body struct {
			Parameters []struct {
				Subjects []struct {
					ObjectID string `json:"objectId"`
					Links    struct {
						Members []struct {
							ObjectID string `json:"objectId"`
						} `json:"members"`
					} `json:"links"`
				} `json:"subjects"`
			} `json:"parameters"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		subject := body.Parameters[0].Subjects[0]
		if subject.ObjectID != group.ID || len(subject.Links.Members) > 5 {
			t.Errorf("call for %s with %d members", subject.ObjectID, len(subject.Links.Members))
		}
		for _, m := range subject.Links.Members {
			sent[m.ObjectID]++
		}
	}
	if len(bodies) != 3 || len(sent) != 12 {
		t.Errorf("%d calls sent %d distinct members, want 3 calls and all 12", len(bodies), len(sent))
	}
	for id, n := range sent {
		if n != 1 {
			t.Errorf("member %s sent %d times", id, n)
		}
	}
	c, ok := env.Out().Confirmation.Get()
	if !ok || len(c.Users) != 12 {
		t.Fatalf("confirmation lists %d users, want the 12 members", len(c.Users))
	}
	for _, u := range c.Users {
		if !u.OnDemand || (u.Outcome != steps.Arrived && u.Outcome != steps.Skipped) {
			t.Errorf("%s: %+v", u.UserPrincipalName, u)
		}
	}
	saas, ok := h.sb.Backend.GroupByDisplayName(group.DisplayName)
	if !ok || len(h.sb.Backend.GroupMembers(saas.ID)) != 12 {
		t.Errorf("the SaaS's group %q: found %v, members %v; want all 12", group.DisplayName, ok, h.sb.Backend.GroupMembers(saas.ID))
	}
}
