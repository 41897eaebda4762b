package steps_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
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
