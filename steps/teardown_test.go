package steps_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/steps"
)

// A teardown stopped after any of its steps, with the tenant's replication lag on, finishes when run again:
// nothing of the setup is left, in the tenant or in the SaaS, and the state file forgets it. In particular a
// run stopped once the application is gone still removes the registration (the client id is in the state).
func TestTeardownStoppedAnywhereConverges(t *testing.T) {
	for _, stop := range []string{"provisioning job", "backend registration", "assignments and consent", "application"} {
		t.Run(stop, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Faults: entra.Faults{ReplicationLag: 3, SyncReplicationLag: 3}})
			in := h.viaAPI()
			h.mustRun(in)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			env := h.env(in)
			runner := &steps.Runner{Steps: steps.Teardown(false), AfterApply: func(s steps.Step) error {
				if s.String() == stop {
					return errStopped
				}
				return nil
			}}
			plan, err := runner.Plan(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := runner.Apply(ctx, env, plan); !errors.Is(err, errStopped) {
				t.Fatalf("the stopped teardown: %v", err)
			}
			if err := h.runDay2(h.env(in), steps.Teardown(false)); err != nil {
				t.Fatalf("teardown again: %v", err)
			}
			h.nothingLeft()
		})
	}
}

// nothingLeft fails the test if anything setup made is still in the tenant, the SaaS or the state file.
func (h *harness) nothingLeft() {
	h.t.Helper()
	if apps := h.sb.Tenant.Applications(); len(apps) != 0 {
		h.t.Errorf("applications left: %d", len(apps))
	}
	for _, sp := range h.sb.Tenant.ServicePrincipals() {
		if len(h.sb.Tenant.SyncJobs(sp.ID)) != 0 || len(h.sb.Tenant.AppRoleAssignments(sp.ID)) != 0 {
			h.t.Errorf("service principal %s keeps jobs or assignments", sp.DisplayName)
		}
		if sp.DisplayName == "Smallstep" {
			h.t.Errorf("the enterprise application is left: %s", sp.ID)
		}
	}
	if regs := h.sb.Backend.Registrations(); len(regs) != 0 {
		h.t.Errorf("registrations left in the SaaS: %d", len(regs))
	}
	st, err := steps.OpenState(h.stateDir, h.sb.TenantID, "Smallstep")
	if err != nil {
		h.t.Fatal(err)
	}
	if d := st.Get(); d.AppID != "" || d.Setup != nil {
		h.t.Errorf("the state still records the setup: %+v", d)
	}
}
