package steps_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/steps"
)

// lagged is a tenant where every new object is missing from reads and lists for its first reads, and a new
// service principal is refused by the provisioning service for its first calls: what makes a killed run's
// objects invisible to the next run's list queries.
var lagged = sandbox.Options{Faults: entra.Faults{ReplicationLag: 3, SyncReplicationLag: 3}}

// noChanges fails the test unless a fresh plan has nothing to do.
func (h *harness) noChanges(in steps.Inputs) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	plan, err := (&steps.Runner{Steps: steps.Flow()}).Plan(ctx, h.env(in))
	if err != nil {
		h.t.Fatalf("plan after the setup: %v", err)
	}
	for _, s := range plan.Steps {
		if s.Change.Pending() {
			h.t.Errorf("the plan after the setup still %s", s.Change.Summary())
		}
	}
}

// Issue 10 item 1: under replication lag, a run killed after any Graph request, the last one cut off in flight
// (done or not), then started again, leaves one application, one service principal, one job, one secret, and
// a plan with no changes. The ids the killed run saved are read back by id, not looked up by a lagging list.
func TestKilledAtAnyRequestUnderReplicationLag(t *testing.T) {
	killedAtEveryRequest(t, lagged, (*harness).viaAPI)
}

// A run on another machine (its own state directory) finds the application a killed run created, under its
// temporary name, and finishes the setup with it: no second application.
func TestOtherMachineAdoptsAKilledRunsApplication(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.viaAPI()
	ctx, kill := context.WithCancel(context.Background())
	defer kill()
	h.httpClient = &http.Client{Transport: &killOnTransport{next: http.DefaultTransport, path: "/instantiate", kill: kill}}
	env := h.env(in)
	runner := &steps.Runner{Steps: steps.Flow()}
	if plan, err := runner.Plan(ctx, env); err == nil {
		if _, err := runner.Apply(ctx, env, plan); err == nil {
			t.Fatal("the run was not killed")
		}
	}
	h.httpClient = nil

	other := *h
	other.stateDir = filepath.Join(t.TempDir(), "state")
	other.mustRun(in)
	other.configured(in)
	h.mustRun(in) // and the first machine converges on the same application
	h.configured(in)
}

// killOnTransport kills the run once a request whose path ends in path has been carried out, before its answer.
type killOnTransport struct {
	next   http.RoundTripper
	method string // "": any
	path   string
	kill   context.CancelFunc
	died   func() // as killingTransport's
	// done kills only at a request Graph carried out (answered below 300), not at one it refused.
	done bool
}

func (k *killOnTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := k.next.RoundTrip(r)
	if !strings.HasSuffix(r.URL.Path, k.path) || (k.method != "" && r.Method != k.method) || (k.done && (err != nil || resp.StatusCode >= 300)) {
		return resp, err
	}
	if k.died != nil {
		k.died()
	}
	k.kill()
	if err == nil {
		resp.Body.Close()
	}
	return nil, context.Canceled
}

// Under replication lag: a run killed as its application was created (the answer never read), then a run that
// adopts that application killed as soon as it has sent the job's create (its state file as it was then), then
// a run to the end: one job. The second run's state names the service principal before the job step may
// create, so the third looks for the job its list does not show yet instead of making another.
func TestJobCreateOfAnAdoptingRunKilled(t *testing.T) {
	h := newHarness(t, lagged)
	in := h.manual()
	for _, path := range []string{"/instantiate", "/synchronization/jobs"} {
		ctx, kill := context.WithCancel(context.Background())
		killed := &stateAtKill{dir: h.stateDir}
		h.httpClient = &http.Client{Transport: &killOnTransport{next: http.DefaultTransport, method: http.MethodPost, path: path, kill: kill, died: killed.keep, done: true}}
		env := h.env(in)
		runner := &steps.Runner{Steps: steps.Flow()}
		if plan, err := runner.Plan(ctx, env); err == nil {
			if _, err := runner.Apply(ctx, env, plan); err == nil {
				t.Fatalf("the run was not killed at %s", path)
			}
		}
		kill()
		killed.restore(t)
		h.graphIdle()
	}
	h.httpClient = nil
	h.mustRun(in)
	h.configured(in)
	h.noChanges(in)
	created := 0
	for _, r := range h.sb.Tenant.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/synchronization/jobs") && r.Status == http.StatusCreated {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d jobs created, want the killed run's one only", created)
	}
}

// A plan a person took a while to confirm is not trusted for the create: a run on another machine created the
// application meanwhile, and apply finds it instead of making a second one.
func TestStalePlanLooksAgainBeforeCreating(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.viaAPI()
	ctx := context.Background()
	env := h.env(in)
	runner := &steps.Runner{Steps: steps.Flow()}
	plan, err := runner.Plan(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	other := *h
	other.stateDir = filepath.Join(t.TempDir(), "state")
	other.mustRun(in) // on another machine, while the plan waits for its confirmation
	h.clock.Sleep(ctx, time.Minute)
	if _, err := runner.Apply(ctx, env, plan); err != nil {
		t.Fatal(err)
	}
	h.configured(in)
}

// Applications idpctl left under a temporary name on this machine are in the plan and removed; the one the
// state file names is adopted; another machine's, which may be in the middle of its create, is left alone.
func TestPendingApplicationsAdoptedOrRemoved(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.viaAPI()
	made := map[string]string{} // display name -> object id
	for _, suffix := range []string{"aaaaaaaa", "bbbbbbbb", "cccccccc"} {
		name := in.AppName + " [idpctl " + suffix + "]"
		raw := h.graphPOST("/applicationTemplates/"+steps.NonGalleryTemplateID+"/instantiate", `{"displayName":"`+name+`"}`)
		var created struct{ Application struct{ ID string } }
		json.Unmarshal(raw, &created)
		made[name] = created.Application.ID
	}
	state, err := steps.OpenState(h.stateDir, in.TenantID, in.AppName)
	if err != nil {
		t.Fatal(err)
	}
	state.Update(h.clock.Now(), func(d *steps.StateData) {
		d.PendingDisplayName, d.PendingSince = in.AppName+" [idpctl bbbbbbbb]", h.clock.Now()
		d.AbandonedDisplayNames = []string{in.AppName + " [idpctl aaaaaaaa]"}
	})
	plan, _ := h.mustRun(in)
	var deleted []string
	for _, s := range plan.Steps {
		for _, r := range s.Change.Resources {
			if r.Action == steps.Delete && r.Type == "enterprise application" {
				deleted = append(deleted, r.Name)
			}
		}
	}
	if len(deleted) != 1 || deleted[0] != in.AppName+" [idpctl aaaaaaaa]" {
		t.Errorf("the plan removes %q, want only this machine's abandoned application", deleted)
	}
	var names []string
	for _, a := range h.sb.Tenant.Applications() {
		names = append(names, a.DisplayName)
		if a.DisplayName == in.AppName && a.ID != made[in.AppName+" [idpctl bbbbbbbb]"] {
			t.Errorf("the setup's application is not the one the state file named")
		}
	}
	slices.Sort(names)
	if strings.Join(names, "|") != in.AppName+"|"+in.AppName+" [idpctl cccccccc]" {
		t.Errorf("applications after the run: %q; want another machine's pending one and the setup's", names)
	}

	// Once it is older than the lookup window, no run is creating it any more: it is an orphan too.
	h.clock.Sleep(context.Background(), steps.DefaultLookupWindow+time.Minute)
	h.mustRun(in)
	if apps := h.sb.Tenant.Applications(); len(apps) != 1 || apps[0].DisplayName != in.AppName {
		t.Errorf("applications after the window: %+v, want only the setup's", apps)
	}
}

// Issue 10 item 6: instantiate answered 503 and created nothing. The run looks for the application for the
// lookup window, no longer, says what happened, and the next run creates it once.
func TestInstantiateFailedAndCreatedNothing(t *testing.T) {
	h := newHarness(t, sandbox.Options{Faults: entra.Faults{Rules: []entra.FaultRule{
		{Kind: entra.ServerError, Method: "POST", Path: "/applicationTemplates/*/instantiate", Times: 1, Status: 503},
	}}})
	in := h.viaAPI()
	began := h.clock.Now()
	_, _, _, err := h.run(in, "")
	if err == nil || !strings.Contains(err.Error(), "most likely none was created") || !strings.Contains(err.Error(), "503") ||
		!strings.Contains(err.Error(), "Run again") {
		t.Fatalf("error %v; want what happened and what to do", err)
	}
	if waited := h.clock.Now().Sub(began); waited < steps.DefaultLookupWindow || waited > steps.DefaultLookupWindow+time.Minute {
		t.Errorf("looked for the application for %v, want the lookup window, %v", waited, steps.DefaultLookupWindow)
	}
	h.mustRun(in)
	h.configured(in)
}

// Issue 10 item 7: the provisioning service's 403 on a service principal an earlier, killed run created is
// replication, waited out as the creating run would have, not "lacks a permission" (exit 4).
func TestReplicationOfAKilledRunsObjectsIsWaitedOut(t *testing.T) {
	h := newHarness(t, sandbox.Options{Faults: entra.Faults{SyncReplicationLag: 4}})
	in := h.viaAPI()
	if _, _, _, err := h.run(in, "application"); !errors.Is(err, errStopped) {
		t.Fatalf("first run: %v", err)
	}
	if _, _, _, err := h.run(in, ""); err != nil {
		t.Fatalf("the run after the kill: %v", err)
	}
	h.configured(in)
}

// Issue 10 item 7: an application whose service principal does not show up is not a reason to delete
// anything. The run waits for it within the lookup window, then advises waiting or creating the service
// principal, never deleting the app registration.
func TestLaggingServicePrincipalAdvice(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.viaAPI()
	// An app registration idpctl tagged, whose service principal has not replicated (or was never made).
	h.graphPOST("/applications", `{"displayName":"`+in.AppName+`","tags":["`+steps.Tag+`"]}`)
	began := h.clock.Now()
	_, _, _, err := h.run(in, "")
	if err == nil || !strings.Contains(err.Error(), "run again in a few minutes") || !strings.Contains(err.Error(), "Create Service Principal") {
		t.Fatalf("error %v; want the advice to wait or to create the service principal", err)
	}
	if strings.Contains(strings.ToLower(err.Error()), "delete") {
		t.Errorf("destructive advice: %v", err)
	}
	// The window counts from the application's creation, which Graph gives to the second.
	if waited := h.clock.Now().Sub(began); waited < steps.DefaultLookupWindow-time.Second || waited > steps.DefaultLookupWindow+time.Minute {
		t.Errorf("waited %v for the service principal, want the lookup window, %v", waited, steps.DefaultLookupWindow)
	}
	if len(h.sb.Tenant.Applications()) != 1 {
		t.Errorf("%d applications; the run must neither create nor delete one", len(h.sb.Tenant.Applications()))
	}
}

// Issue 10 item 3: a client secret that did not reach its secret file is removed at once: it has nowhere to go.
func TestUndeliveredSecretIsRemoved(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.manual()
	env := h.env(in)
	env.Backend = failingRegistration{env.Backend} // fails before it writes the file
	runner := &steps.Runner{Steps: steps.Flow()}
	ctx := context.Background()
	plan, err := runner.Plan(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runner.Apply(ctx, env, plan); err == nil {
		t.Fatal("the hand-off did not fail")
	}
	for _, a := range h.sb.Tenant.Applications() {
		for _, p := range a.PasswordCredentials {
			if strings.HasPrefix(p.DisplayName, "idpctl") {
				t.Errorf("client secret %q stayed on %q after its hand-off failed", p.DisplayName, a.DisplayName)
			}
		}
	}
	if st := env.State.Get(); st.Secret != nil {
		t.Errorf("the state still records the removed secret: %+v", st.Secret)
	}
	h.mustRun(in)
	h.configured(in)
}

// A second scim job on the service principal (from a run killed before it saved the first job's id, under
// replication lag) is in the plan and removed; the job the state file names stays.
func TestDuplicateJobIsRemoved(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.viaAPI()
	h.mustRun(in)
	_, sp, _ := h.appSPJob(in)
	h.graphPOST("/servicePrincipals/"+sp+"/synchronization/jobs", `{"templateId":"scim"}`)
	plan, _ := h.mustRun(in)
	removes := 0
	for _, s := range plan.Steps {
		for _, r := range s.Change.Resources {
			if r.Action == steps.Delete && r.Type == "provisioning job" {
				removes++
			}
		}
	}
	if removes != 1 {
		t.Errorf("the plan removes %d provisioning jobs, want the duplicate", removes)
	}
	h.configured(in)
}

// appSPJob returns the ids of the setup's application, service principal and job.
func (h *harness) appSPJob(in steps.Inputs) (app, sp, job string) {
	h.t.Helper()
	for _, a := range h.sb.Tenant.Applications() {
		if a.DisplayName == in.AppName {
			app = a.AppID
		}
	}
	for _, s := range h.sb.Tenant.ServicePrincipals() {
		if s.AppID == app {
			sp = s.ID
		}
	}
	if jobs := h.sb.Tenant.SyncJobs(sp); len(jobs) > 0 {
		job = jobs[0].ID
	}
	return app, sp, job
}
