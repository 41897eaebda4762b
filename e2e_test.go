//go:build e2e

// Tests of the built binary as separate processes, the way people and scripts run it: killed with SIGKILL at any
// moment, interrupted, stopped by SIGTERM, started twice. Each runs against a simulated tenant in the test
// process, behind a proxy that answers some requests with 429, 503, slowly or not at all, and that can kill the
// run at a chosen request. CI runs them with `go test -tags e2e .` (.ci/run); they take about two minutes.
// IDPCTL_E2E_KILLS=300 go test -tags e2e -run TestFaultMatrix -timeout 60m . runs the fault matrix ten times
// as long as CI does (at least 300 kills instead of 30).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/steps"
)

// binary is idpctl, built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "idpctl-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "idpctl")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building idpctl: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// seed makes a run of the fault matrix repeatable: IDPCTL_E2E_SEED=<n> runs it again with the faults and kill
// moments of a failed run (the log says which seed it used). Requests of concurrent steps still interleave as
// they will.
func seed(t *testing.T) uint64 {
	t.Helper()
	s := uint64(time.Now().UnixNano())
	if v := os.Getenv("IDPCTL_E2E_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("IDPCTL_E2E_SEED=%q: %v", v, err)
		}
		s = n
	}
	t.Logf("seed %d (IDPCTL_E2E_SEED=%d repeats it)", s, s)
	return s
}

// world is one simulated tenant and SaaS, reached through a chaos proxy, and a state directory.
type world struct {
	t        *testing.T
	sb       *sandbox.Sandbox
	proxy    *chaos
	graphURL string
	stateDir string
}

// replicationLag is the lag of every world: each new object answers 404 to its first reads, is missing from
// lists for as long, and a new service principal is refused by the provisioning service for its first calls.
const replicationLag = 2

func newWorld(t *testing.T, rng *rand.Rand) *world { return newLaggedWorld(t, rng, replicationLag) }

// newLaggedWorld is a world whose new objects replicate after lag reads.
func newLaggedWorld(t *testing.T, rng *rand.Rand, lag int) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Options{
		ManualCycles: true, // users arrive through on-demand provisioning, as in a first setup
		Faults:       entra.Faults{ReplicationLag: lag, SyncReplicationLag: lag},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	proxy := &chaos{next: sb.Tenant, rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))} // its own: requests come concurrently
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return &world{t: t, sb: sb, proxy: proxy, graphURL: srv.URL + "/v1.0", stateDir: t.TempDir()}
}

// run is one idpctl process.
type run struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	err            error
}

// start starts `idpctl setup entra` against the world, with the backend API taking the registration, JSON out.
func (w *world) start(stateDir string, extra ...string) *run {
	w.t.Helper()
	args := append([]string{"setup", "entra", "--auth", "token", "--graph-url", w.graphURL, "--tenant-id", w.sb.TenantID,
		"--state-dir", stateDir, "--assign-group", "Smallstep Users", "--backend", "http", "--backend-url", w.sb.BackendURL,
		"--non-interactive", "--yes", "--output", "json", "--timeout", "2m", "--lookup-window", "5s"}, extra...)
	r := &run{cmd: exec.Command(binary, args...), done: make(chan struct{})}
	r.cmd.Env = append(os.Environ(),
		"IDPCTL_ACCESS_TOKEN="+w.sb.AccessToken.Reveal(),
		"IDPCTL_BACKEND_TOKEN="+w.sb.BackendToken.Reveal(),
		"IDPCTL_SCIM_TOKEN=", "XDG_STATE_HOME="+w.t.TempDir(),
	)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	return r
}

// wait waits for the process to end, failing the test if it does not within d.
func (r *run) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("idpctl did not end within %v:\n%s", d, r.stderr.String())
	}
	var exit *exec.ExitError
	switch {
	case r.err == nil:
		return 0
	case errors.As(r.err, &exit) && exit.Exited():
		return exit.ExitCode()
	default:
		return -1 // killed by a signal
	}
}

func (r *run) String() string {
	return fmt.Sprintf("--- stdout\n%s--- stderr\n%s", r.stdout.String(), r.stderr.String())
}

// chaos forwards Graph requests to the simulated tenant, answering some of them the way Graph does under load:
// 429 with Retry-After, 503, slowly, or (for a write) by doing it and then dropping the connection. A hook can
// act on the n-th request of a run, before or after the tenant handled it.
type chaos struct {
	next http.Handler
	mu   sync.Mutex
	rng  *rand.Rand
	// rate is the share of requests that get a fault; 0 forwards everything untouched.
	rate float64
	// hook, when set, is called for every request: its number since the hook was set (from 1), and whether the
	// tenant has already handled it.
	hook func(n int, r *http.Request, handled bool)
	n    int
}

func (c *chaos) set(rate float64, hook func(n int, r *http.Request, handled bool)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rate, c.hook, c.n = rate, hook, 0
}

func isWrite(r *http.Request) bool {
	return r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut || r.Method == http.MethodDelete
}

func (c *chaos) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.n++
	n, hook := c.n, c.hook
	fault := -1
	if c.rng.Float64() < c.rate {
		fault = c.rng.IntN(4)
	}
	slow := time.Duration(c.rng.IntN(150)) * time.Millisecond
	c.mu.Unlock()
	if hook != nil {
		hook(n, r, false)
	}
	graphError := func(status int, code, message string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "0.2")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%q,"message":%q,"innerError":{"date":"2026-01-01T00:00:00","request-id":"chaos","client-request-id":"chaos"}}}`, code, message)
	}
	switch fault {
	case 0:
		graphError(http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
		return
	case 1:
		graphError(http.StatusServiceUnavailable, "serviceNotAvailable", "The service is temporarily unavailable.")
		return
	case 2:
		time.Sleep(slow)
	case 3:
		if isWrite(r) {
			// Done, but the answer never arrives: the client cannot tell whether it happened.
			c.next.ServeHTTP(httptest.NewRecorder(), r)
			if hook != nil {
				hook(n, r, true)
			}
			panic(http.ErrAbortHandler)
		}
	}
	rec := httptest.NewRecorder()
	c.next.ServeHTTP(rec, r)
	if hook != nil {
		hook(n, r, true)
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// snapshot is what a setup leaves in the tenant and the SaaS, without the ids and times that differ between
// two setups, so that two worlds can be compared.
type snapshot struct {
	Applications      []string // display names of the applications named like the setup's, pending ones too
	Tags              []string
	SignInAudience    string
	RedirectURIs      []string
	IDTokenClaims     []string
	ServicePrincipals int // of all applications: an orphan's would count
	Assigned          []string
	Grants            []string
	Jobs              []string // template and schedule state of each provisioning job of the application
	UserMappings      []string
	SyncSecretKeys    []string
	IdpctlSecrets     int
	SecretInSaaS      bool // the SaaS holds the application's idpctl secret
	Registrations     int
	SaaSUsers         []string
	SaaSGroups        []string
}

func (w *world) snapshot() snapshot {
	w.t.Helper()
	tn := w.sb.Tenant
	var s snapshot
	var app entra.Application
	for _, a := range tn.Applications() {
		if strings.HasPrefix(a.DisplayName, steps.DefaultAppName) {
			s.Applications = append(s.Applications, a.DisplayName)
			app = a
		}
	}
	slices.Sort(s.Applications)
	s.Tags, s.SignInAudience, s.RedirectURIs = app.Tags, app.SignInAudience, app.RedirectURIs
	if claims, ok := app.Raw["optionalClaims"].(map[string]any); ok {
		list, _ := claims["idToken"].([]any)
		for _, c := range list {
			m, _ := c.(map[string]any)
			s.IDTokenClaims = append(s.IDTokenClaims, fmt.Sprint(m["name"]))
		}
	}
	var sp entra.ServicePrincipal
	for _, x := range tn.ServicePrincipals() {
		s.ServicePrincipals++
		if x.AppID == app.AppID {
			sp = x
		}
	}
	for _, a := range tn.AppRoleAssignments(sp.ID) {
		s.Assigned = append(s.Assigned, a.PrincipalDisplayName)
	}
	slices.Sort(s.Assigned)
	for _, g := range tn.PermissionGrants() {
		if g.ClientID == sp.ID {
			scope := strings.Fields(g.Scope)
			slices.Sort(scope)
			s.Grants = append(s.Grants, g.ConsentType+" "+strings.Join(scope, " "))
		}
	}
	for _, j := range tn.SyncJobs(sp.ID) {
		s.Jobs = append(s.Jobs, j.TemplateID+" "+j.ScheduleState)
		s.UserMappings = userMappings(w.t, j.Schema)
	}
	s.SyncSecretKeys = tn.SecretKeys(sp.ID)
	slices.Sort(s.SyncSecretKeys)
	hint := ""
	for _, p := range app.PasswordCredentials {
		if strings.HasPrefix(p.DisplayName, "idpctl") {
			s.IdpctlSecrets++
			hint = p.Hint
		}
	}
	for _, r := range w.sb.Backend.Registrations() {
		s.Registrations++
		if r.ClientID == app.AppID && hint != "" && r.ClientSecret.Hint() == hint {
			s.SecretInSaaS = true
		}
	}
	for _, u := range w.sb.Backend.Users() {
		s.SaaSUsers = append(s.SaaSUsers, fmt.Sprint(u.Attributes["userName"]))
	}
	slices.Sort(s.SaaSUsers)
	for _, g := range w.sb.Backend.Groups() {
		s.SaaSGroups = append(s.SaaSGroups, fmt.Sprint(g.Attributes["displayName"]))
	}
	slices.Sort(s.SaaSGroups)
	return s
}

// userMappings lists the user object mapping of a job's schema as "target <- source", sorted.
func userMappings(t *testing.T, schema json.RawMessage) []string {
	t.Helper()
	var doc struct {
		SynchronizationRules []struct {
			ObjectMappings []struct {
				SourceObjectName  string
				AttributeMappings []struct {
					TargetAttributeName string
					Source              struct{ Expression string }
				}
			}
		}
	}
	if err := json.Unmarshal(schema, &doc); err != nil {
		t.Fatalf("job schema: %v", err)
	}
	var out []string
	for _, r := range doc.SynchronizationRules {
		for _, m := range r.ObjectMappings {
			if m.SourceObjectName != "User" {
				continue
			}
			for _, a := range m.AttributeMappings {
				out = append(out, a.TargetAttributeName+" <- "+a.Source.Expression)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (s snapshot) String() string {
	raw, _ := json.MarshalIndent(s, "", "  ")
	return string(raw)
}

// settled runs idpctl without faults until it succeeds, then checks that the next plan has no changes.
func (w *world) settled(stateDir string) {
	w.t.Helper()
	w.proxy.set(0, nil)
	r := w.start(stateDir)
	if code := r.wait(w.t, 2*time.Minute); code != 0 {
		w.t.Fatalf("the run after the faults: exit %d\n%s", code, r)
	}
	plan := w.start(stateDir, "--dry-run", "--detailed-exitcode", "--output", "text")
	if code := plan.wait(w.t, time.Minute); code != 0 {
		w.t.Errorf("the plan after the faults has changes (exit %d)\n%s", code, plan)
	}
}

// reference is the state an uninterrupted run without faults leaves.
func reference(t *testing.T, rng *rand.Rand) snapshot {
	t.Helper()
	w := newWorld(t, rng)
	w.settled(w.stateDir)
	s := w.snapshot()
	if len(s.Applications) != 1 || s.IdpctlSecrets != 1 || len(s.Jobs) != 1 || !s.SecretInSaaS || len(s.SaaSUsers) == 0 {
		t.Fatalf("the uninterrupted run did not set everything up:\n%s", s)
	}
	return s
}

// Issue 10 acceptance: SIGKILL at random moments over a setup's whole life (at least 30 kills, many of them
// with a request in flight that the tenant did or did not carry out), Ctrl-C at random moments, throttling,
// server errors, slow and lost answers and replication lag; then a run to the end. The tenant and the SaaS
// hold exactly what an uninterrupted run leaves: one application, one service principal, one job, one idpctl
// secret, no orphans; and the next plan has no changes.
func TestFaultMatrix(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 0))
	began := time.Now()
	want := reference(t, rng)
	t.Logf("the uninterrupted run took %v", time.Since(began).Round(time.Millisecond))

	minKills := 30 // CI's share; IDPCTL_E2E_KILLS=300 is the long run (about ten times as long)
	if v := os.Getenv("IDPCTL_E2E_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("IDPCTL_E2E_KILLS=%q: want a number of kills, e.g. 300", v)
		}
		minKills = n
	}
	kills, interrupts, worlds := 0, 0, 0
	for kills < minKills {
		worlds++
		w := newWorld(t, rng)
		// One world: a setup interrupted again and again until it got through, then finished without faults.
		for attempt := 0; ; attempt++ {
			began := time.Now()
			r, how := w.chaosRun(rng)
			code := r.wait(t, 2*time.Minute)
			t.Logf("world %d run %d: %s, exit %d after %v", worlds, attempt, how, code, time.Since(began).Round(time.Millisecond))
			if code == 1 {
				t.Logf("  %s", strings.TrimSpace(r.stdout.String()))
				// Faults and kills are transient: never a permission problem, never advice to delete.
				for _, wrong := range []string{"lacks a permission or role", "delete the app registration"} {
					if strings.Contains(r.stdout.String(), wrong) {
						t.Errorf("a run under faults advised %q:\n%s", wrong, r)
					}
				}
			}
			switch {
			case how == "kill" && code == -1:
				kills++
			case how == "interrupt" && code == 2:
				interrupts++
				if !strings.Contains(r.stdout.String(), "interrupted; run again to resume") {
					t.Errorf("an interrupted run's JSON does not say so:\n%s", r)
				}
			case how == "interrupt" && code == -1:
				t.Errorf("Ctrl-C did not stop the run cleanly:\n%s", r)
			case code == 2 || code == 4:
				t.Fatalf("a run under faults exited %d (bad usage or permissions), which faults must never cause:\n%s", code, r)
			}
			if code == 0 || attempt >= 15 || kills >= minKills {
				break
			}
		}
		w.settled(w.stateDir)
		if got := w.snapshot(); got.String() != want.String() {
			t.Fatalf("after %d kills in world %d the tenant and SaaS differ from an uninterrupted run's:\n got %s\nwant %s", kills, worlds, got, want)
		}
	}
	t.Logf("%d kills and %d interrupts over %d setups", kills, interrupts, worlds)
	if interrupts == 0 {
		t.Error("no run was interrupted by Ctrl-C")
	}
}

// chaosRun starts one run under random faults and stops it in one of three ways: SIGKILL when the tenant gets
// the n-th request (before or after carrying it out), SIGKILL or Ctrl-C a random time after its first request
// (earlier, the process may not listen for signals yet), or not at all when it ends first.
func (w *world) chaosRun(rng *rand.Rand) (*run, string) {
	var (
		once  sync.Once
		r     *run
		ready = make(chan struct{})
		mode  = rng.IntN(10)
		at    = 1 + rng.IntN(30)
		late  = time.Duration(50+rng.IntN(1500)) * time.Millisecond
	)
	stop := func(sig os.Signal) {
		once.Do(func() {
			<-ready
			r.cmd.Process.Signal(sig)
		})
	}
	how, sig := "kill", os.Signal(syscall.SIGKILL)
	if mode >= 8 {
		how, sig = "interrupt", os.Interrupt
	}
	before := rng.IntN(2) == 0
	var timer sync.Once
	w.proxy.set(0.08, func(n int, req *http.Request, handled bool) {
		switch {
		case mode < 6 && n >= at && handled != before && (isWrite(req) || n > at+5):
			stop(sig) // with this request in flight
		case mode >= 6:
			timer.Do(func() {
				go func() {
					<-ready // r is set: the first request may come before start returns
					select {
					case <-time.After(late):
						stop(sig)
					case <-r.done:
					}
				}()
			})
		}
	})
	r = w.start(w.stateDir)
	close(ready)
	return r, how
}

// Issue 10 item 2: two runs started at once against one tenant and state directory make one application, and
// both finish with it.
func TestTwoRunsAtOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 0))
	w := newWorld(t, rng)
	a, b := w.start(w.stateDir), w.start(w.stateDir)
	for _, r := range []*run{a, b} {
		if code := r.wait(t, 2*time.Minute); code != 0 {
			t.Fatalf("exit %d\n%s", code, r)
		}
	}
	var ida, idb struct{ ClientID string }
	json.Unmarshal(a.stdout.Bytes(), &ida)
	json.Unmarshal(b.stdout.Bytes(), &idb)
	s := w.snapshot()
	if len(s.Applications) != 1 || len(s.Jobs) != 1 || s.IdpctlSecrets != 1 || !s.SecretInSaaS || ida.ClientID != idb.ClientID {
		t.Errorf("two runs at once left:\n%s\nclient ids %q and %q", s, ida.ClientID, idb.ClientID)
	}
}

// Issue 10 item 8: SIGTERM, as CI and systemd stop a process, stops the run cleanly: exit 2, the JSON says so,
// and the next run finishes the setup with one secret. (A second signal ending a stopping run at once is
// TestSIGTERMIsAnInterrupt in cmd: a clean stop of this binary has nothing left to wait on.)
func TestSIGTERM(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 0))
	w := newWorld(t, rng)
	var (
		r     *run
		once  sync.Once
		ready = make(chan struct{})
	)
	w.proxy.set(0, func(_ int, req *http.Request, handled bool) {
		if isWrite(req) && handled {
			once.Do(func() {
				<-ready
				r.cmd.Process.Signal(syscall.SIGTERM)
			})
		}
	})
	r = w.start(w.stateDir)
	close(ready)
	if code := r.wait(t, time.Minute); code != 2 || !strings.Contains(r.stdout.String(), `"error": "interrupted; run again to resume"`) {
		t.Errorf("after one SIGTERM: exit %d, want 2 and the reason in the JSON\n%s", code, r)
	}
	w.settled(w.stateDir)
	if s := w.snapshot(); len(s.Applications) != 1 || s.IdpctlSecrets != 1 || !s.SecretInSaaS {
		t.Errorf("after the interrupted runs:\n%s", s)
	}
}

// Runs on two machines do not share the state directory's lock. What happens, as README describes: a run that
// sees the other machine's application, even one a killed run left under its temporary name, sets up that
// one. Under replication lag it may not see it yet and create its own; the first machine's next run then finds
// the setup's application and removes its own leftover, which its state file names. Either way the tenant
// ends with one application, service principal, job and idpctl secret, and the SaaS holds that secret (each
// machine's run replaces the secret the other made: only the machine that made a secret knows the SaaS has it).
func TestRunsOnTwoMachines(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 0))
	for _, lag := range []int{0, replicationLag} {
		t.Run(fmt.Sprintf("replication lag %d", lag), func(t *testing.T) {
			w := newLaggedWorld(t, rng, lag)
			machineA, machineB := w.stateDir, t.TempDir()
			var (
				r     *run
				ready = make(chan struct{})
				once  sync.Once
			)
			w.proxy.set(0, func(_ int, req *http.Request, handled bool) {
				if strings.HasSuffix(req.URL.Path, "/instantiate") && handled {
					once.Do(func() {
						<-ready
						r.cmd.Process.Kill() // the application exists under its temporary name; A never heard back
					})
				}
			})
			r = w.start(machineA)
			close(ready)
			if code := r.wait(t, time.Minute); code != -1 {
				t.Fatalf("machine A was not killed after its create: exit %d\n%s", code, r)
			}
			w.settled(machineB)
			if s := w.snapshot(); lag == 0 && len(s.Applications) != 1 {
				t.Fatalf("machine B, seeing machine A's application, made its own:\n%s", s)
			}
			w.settled(machineA)
			if s := w.snapshot(); len(s.Applications) != 1 || s.ServicePrincipals != w.servicePrincipalsBefore()+1 ||
				len(s.Jobs) != 1 || s.IdpctlSecrets != 1 || !s.SecretInSaaS {
				t.Errorf("after both machines:\n%s", s)
			}
		})
	}
}

// servicePrincipalsBefore counts the service principals every simulated tenant starts with.
func (w *world) servicePrincipalsBefore() int {
	n := 0
	for _, sp := range w.sb.Tenant.ServicePrincipals() {
		if !strings.HasPrefix(sp.DisplayName, steps.DefaultAppName) {
			n++
		}
	}
	return n
}
