package steps_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/steps"
)

// The plan is the contract: Apply works from the change it is given, not from anything Plan left in the step.
// The step values that made the plan are planned a second time, and the first plan, read back from its JSON,
// is applied by other step values: on a first setup and on a re-run that finds everything in place.
func TestApplyWorksFromThePlanAlone(t *testing.T) {
	for name, inputs := range map[string]func(*harness) steps.Inputs{
		"manual": (*harness).manual,
		"http":   (*harness).viaAPI,
	} {
		for _, rerun := range []bool{false, true} {
			label := name + "/first setup"
			if rerun {
				label = name + "/re-run"
			}
			t.Run(label, func(t *testing.T) {
				h := newHarness(t, sandbox.Options{})
				in := inputs(h)
				if rerun {
					h.mustRun(in)
				}
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				defer cancel()
				env := h.env(in)
				planner := &steps.Runner{Steps: steps.Flow()}
				plan, err := planner.Plan(ctx, env)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := json.Marshal(plan)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := planner.Plan(ctx, env); err != nil {
					t.Fatal(err)
				}
				saved := &steps.Plan{}
				if err := json.Unmarshal(raw, saved); err != nil {
					t.Fatal(err)
				}
				h.sb.Tenant.ResetRequests()
				if _, err := (&steps.Runner{Steps: steps.Flow()}).Apply(ctx, env, saved); err != nil {
					t.Fatal(err)
				}
				h.configured(in)
				if n := h.sb.Tenant.WriteCount(); rerun && n != 0 {
					t.Errorf("applying a plan without changes sent %d writes", n)
				}
			})
		}
	}
}

// A plan holds no secret: not the SCIM token, the backend token or a client secret.
func TestPlanJSONHoldsNoSecret(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.manual()
	h.mustRun(in)
	// A second plan, with a secret to keep and credentials saved, has the most in its payloads.
	plan, err := (&steps.Runner{Steps: steps.Flow()}).Plan(t.Context(), h.env(in))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	secretFile, err := os.ReadFile(in.SecretOut)
	if err != nil {
		t.Fatal(err)
	}
	for what, s := range map[string]string{"SCIM token": in.SCIMToken.Reveal(), "access token": h.sb.AccessToken.Reveal(), "client secret": strings.TrimSpace(string(secretFile))} {
		if s == "" || strings.Contains(string(raw), s) {
			t.Errorf("the plan's JSON holds the %s (or the test lacks it)", what)
		}
	}
}
