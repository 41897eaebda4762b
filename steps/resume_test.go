package steps_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/steps"
)

// A run stopped after any step, then run again, ends in the same tenant as one clean run: no duplicate
// application, job, grant, assignment or secret, and no client secret idpctl made left behind.
func TestResumeAfterStopBetweenSteps(t *testing.T) {
	for _, s := range steps.Flow() {
		for _, lostState := range []bool{false, true} {
			name := s.String()
			if lostState {
				name += "/state file lost"
			}
			t.Run(name, func(t *testing.T) {
				h := newHarness(t, sandbox.Options{})
				in := h.manual()
				if _, _, _, err := h.run(in, s.String()); !errors.Is(err, errStopped) {
					t.Fatalf("first run: %v, want the test's stop", err)
				}
				if lostState {
					if err := os.RemoveAll(h.stateDir); err != nil {
						t.Fatal(err)
					}
				}
				h.mustRun(in)
				h.configured(in)
			})
		}
	}
}

// Instantiate is known to answer 404 and still create the application: the run finds it by its unique
// temporary name instead of creating a second one.
func TestInstantiateAnswerLost(t *testing.T) {
	for _, status := range []int{404, 0} { // 0: the connection drops without an answer
		h := newHarness(t, sandbox.Options{Faults: entra.Faults{Rules: []entra.FaultRule{{
			Kind: entra.LoseResponse, Method: "POST", Path: "/applicationTemplates/*/instantiate", Times: 1, Status: status, OnlyAfterSuccess: true,
		}}}})
		in := h.manual()
		h.mustRun(in)
		h.configured(in)
	}
}

// Answers lost on the way back (the connection drops after Graph did the request) to reads, PATCHes and PUTs
// are sent again by the client, and the run ends as one clean run does: one application, one service
// principal, one job, each principal assigned once, nothing left to plan. Each dropped request was sent again.
func TestLostAnswersToIdempotentRequests(t *testing.T) {
	lose := func(method, path string) entra.FaultRule {
		return entra.FaultRule{Kind: entra.LoseResponse, Method: method, Path: path, Times: 1}
	}
	jobPath := "/servicePrincipals/*/synchronization/jobs/*"
	opts := lagged
	opts.Faults.Rules = []entra.FaultRule{
		lose("GET", "/applications/*"),
		lose("GET", "/servicePrincipals/*"),
		lose("PATCH", "/applications/*"),
		lose("PATCH", "/servicePrincipals/*"),
		lose("GET", "/groups/*/members/graph.user"),
		lose("PUT", "/servicePrincipals/*/synchronization/secrets"),
		lose("GET", jobPath+"/schema"),
		lose("PUT", jobPath+"/schema"),
		lose("GET", "/auditLogs/provisioning"),
	}
	h := newHarness(t, opts)
	in := h.manual()
	h.mustRun(in)
	h.configured(in)
	h.noChanges(in)
	for _, rule := range opts.Faults.Rules {
		dropped, sent := 0, 0
		for _, r := range h.sb.Tenant.Requests() {
			if r.Method == rule.Method && !r.InBatch && pathMatches(rule.Path, r.Path) {
				sent++
				if r.Dropped {
					dropped++
				}
			}
		}
		if dropped != 1 || sent < 2 {
			t.Errorf("%s %s: %d answers lost of %d requests, want one lost and the request sent again", rule.Method, rule.Path, dropped, sent)
		}
	}
}

// pathMatches matches a path against a fault rule's pattern, "*" standing for one segment.
func pathMatches(pattern, path string) bool {
	want, got := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if want[i] != "*" && !strings.EqualFold(want[i], got[i]) {
			return false
		}
	}
	return true
}

// Replication lag (404 on a new object's first reads, 403 from the provisioning service on a new service
// principal), throttling with Retry-After and 5xx answers are waited out, and the end state is the same.
func TestReplicationLagAndThrottling(t *testing.T) {
	throttle := func(method, path string) entra.FaultRule {
		return entra.FaultRule{Kind: entra.Throttle, Method: method, Path: path, Times: 2, RetryAfter: 10 * time.Millisecond}
	}
	h := newHarness(t, sandbox.Options{Faults: entra.Faults{
		ReplicationLag:     3,
		SyncReplicationLag: 3,
		Rules: []entra.FaultRule{
			throttle("POST", "/applicationTemplates/*/instantiate"),
			throttle("PATCH", "/applications/*"),
			throttle("POST", "/servicePrincipals/*/appRoleAssignedTo"),
			throttle("PUT", "/servicePrincipals/*/synchronization/jobs/*/schema"),
			throttle("POST", "/servicePrincipals/*/synchronization/jobs/*/provisionOnDemand"),
			{Kind: entra.ServerError, Method: "GET", Path: "/servicePrincipals", Times: 1, Status: 503},
			{Kind: entra.ServerError, Method: "POST", Path: "/oauth2PermissionGrants", Times: 1, Status: 504, RetryAfter: 10 * time.Millisecond},
		},
	}})
	waits := &waitRecorder{}
	h.reporter = waits
	in := h.viaAPI()
	h.mustRun(in)
	h.configured(in)
	// The waits were reported under the step they held up, each one ended.
	waits.saw(t, "application", steps.WaitReplication, "the new application")
	waits.saw(t, "application", steps.WaitThrottled, "")
	waits.saw(t, "assignments", steps.WaitThrottled, "")
	waits.allOver(t)
}

// On-demand provisioning ignores an assignment made in the last minutes; the run retries until Entra sees it.
func TestOnDemandWaitsForNewAssignments(t *testing.T) {
	// Waits move the test clock at once, so the lag costs no real time; it is long enough that the real time a
	// loaded machine takes between the assignments and the first on-demand call does not cover it.
	h := newHarness(t, sandbox.Options{OnDemandAssignmentLag: 30 * time.Second})
	waits := &waitRecorder{}
	h.reporter = waits
	in := h.manual()
	h.mustRun(in)
	h.configured(in)
	// Whichever of the two new assignments on-demand provisioning reaches first is the one it waits for.
	waits.saw(t, "confirm users arrived", steps.WaitReplication, "the assignment of ")
	waits.allOver(t)
	calls := 0
	for _, r := range h.sb.Tenant.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/provisionOnDemand") {
			calls++
		}
	}
	// One call for the group and one for the directly assigned user, and at least one of them again: the
	// test clock moves on with every wait, so the second subject may already be seen on its first call.
	if calls < 3 {
		t.Errorf("%d provisionOnDemand calls: the not-yet-assigned answers were not retried", calls)
	}
}

// killingTransport ends the run, as a kill would, once the run has sent a given number of Graph requests: the
// last one is cut off in flight, so Graph may or may not have done it.
type killingTransport struct {
	next  http.RoundTripper
	after int
	kill  context.CancelFunc
	mu    sync.Mutex
	sent  int
	// died, if set, is called at the kill, before anything else can happen: a killed process writes nothing
	// more, so the test keeps the state file as it was then.
	died func()
}

func (k *killingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	k.mu.Lock()
	k.sent++
	last := k.sent == k.after
	k.mu.Unlock()
	if !last {
		return k.next.RoundTrip(r)
	}
	// Deliver the request, then die before the answer is read.
	resp, err := k.next.RoundTrip(r)
	if k.died != nil {
		k.died()
	}
	k.kill()
	if err == nil {
		resp.Body.Close()
	}
	return nil, context.Canceled
}

// A run killed after any Graph request, the last one cut off in flight, then started again, ends in the
// same tenant as one clean run.
func TestKilledAtAnyRequest(t *testing.T) {
	killedAtEveryRequest(t, sandbox.Options{}, (*harness).manual)
}

// killedAtEveryRequest kills a first setup after its first Graph request, then after its second, and so on up
// to the last one a whole setup sends, each in a new tenant; the request it is killed at is cut off in flight,
// done or not. Each time the next run must leave the tenant as one clean run does, with nothing left to plan.
func killedAtEveryRequest(t *testing.T, opts sandbox.Options, inputs func(*harness) steps.Inputs) {
	t.Helper()
	probe := newHarness(t, opts)
	probe.mustRun(inputs(probe))
	total := 0
	for _, r := range probe.sb.Tenant.Requests() {
		if !r.InBatch {
			total++
		}
	}
	for n := 1; n <= total; n++ {
		t.Run(fmt.Sprintf("after request %d of %d", n, total), func(t *testing.T) {
			h := newHarness(t, opts)
			in := inputs(h)
			ctx, kill := context.WithCancel(context.Background())
			defer kill()
			killed := &stateAtKill{dir: h.stateDir}
			h.httpClient = &http.Client{Transport: &killingTransport{next: http.DefaultTransport, after: n, kill: kill, died: killed.keep}}
			env := h.env(in)
			runner := &steps.Runner{Steps: steps.Flow()}
			if plan, err := runner.Plan(ctx, env); err == nil {
				runner.Apply(ctx, env, plan) // fails: killed
			}
			// What the run wrote after its kill (a cancelled context lets it finish a write) a killed process
			// would not have written; what it had sent, Graph carries out before anyone can start it again.
			killed.restore(t)
			h.graphIdle()
			h.httpClient = nil
			h.mustRun(in)
			h.configured(in)
			h.noChanges(in)
		})
	}
}

// graphIdle waits until the sandbox has carried out every request it received: a killed run's requests in
// flight still happen, and a person's next run starts long after them.
func (h *harness) graphIdle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.sb.Tenant.WaitIdle(ctx); err != nil {
		h.t.Fatalf("the sandbox still handles the killed run's requests: %v", err)
	}
}

// stateAtKill keeps the state directory's files as they were at a kill, and puts them back.
type stateAtKill struct {
	dir   string
	mu    sync.Mutex
	files map[string][]byte // nil until the kill
}

func (s *stateAtKill) keep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files = map[string][]byte{}
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue // a write in progress (its temporary file) never became the state
		}
		if raw, err := os.ReadFile(filepath.Join(s.dir, e.Name())); err == nil {
			s.files[e.Name()] = raw
		}
	}
}

func (s *stateAtKill) restore(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil {
		return // the run ended before its kill
	}
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		if _, kept := s.files[e.Name()]; !kept && !e.IsDir() {
			if err := os.Remove(filepath.Join(s.dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, raw := range s.files {
		if err := os.WriteFile(filepath.Join(s.dir, name), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// waitRecorder is a Reporter that keeps the waits reported while applying.
type waitRecorder struct {
	mu    sync.Mutex
	waits []stepWait
}

type stepWait struct {
	step string
	wait steps.Wait
}

func (r *waitRecorder) StepStarted(steps.Phase, string)         {}
func (r *waitRecorder) StepFinished(steps.Phase, string, error) {}
func (r *waitRecorder) Progress(string, string)                 {}
func (r *waitRecorder) Waiting(step string, w steps.Wait) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits = append(r.waits, stepWait{step, w})
}

// saw checks that step reported a wait for reason and object with a time to the next attempt.
// saw checks that a wait was reported for an object whose description starts with object.
func (r *waitRecorder) saw(t *testing.T, step string, reason steps.WaitReason, object string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.waits {
		if w.step == step && w.wait.Reason == reason && strings.HasPrefix(w.wait.Object, object) && !w.wait.Over && w.wait.RetryIn > 0 {
			return
		}
	}
	t.Errorf("no %s wait for %q reported under %q; waits: %+v", reason, object, step, r.waits)
}

// allOver checks that every wait reported was also reported over.
func (r *waitRecorder) allOver(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	open := map[stepWait]int{}
	for _, w := range r.waits {
		key := stepWait{w.step, steps.Wait{Reason: w.wait.Reason, Object: w.wait.Object}}
		if w.wait.Over {
			open[key] = 0
		} else {
			open[key]++
		}
	}
	for key, n := range open {
		if n > 0 {
			t.Errorf("a %s wait for %q under %q never ended", key.wait.Reason, key.wait.Object, key.step)
		}
	}
}
