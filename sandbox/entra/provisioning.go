package entra

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// The provisioning engine simulates Entra's provisioning service for the jobs of this tenant: when a job is
// started it waits InitialCycleDelay, runs an initial cycle (every in-scope user and group is matched in the
// target and created or updated), then an incremental cycle every 40 minutes that sends only what changed.
// What it sends follows Microsoft's provisioning pages (ENTRA use-scim-to-provision-users-and-groups.md,
// how-provisioning-works.md, application-provisioning-config-problem-scim-compatibility.md); provisioning_cycle.go
// has the per-object logic, provisioning_scim.go the wire format, provisioning_ondemand.go provisionOnDemand.

// ProvisioningOptions configure the simulated provisioning service. The zero value behaves like Entra.
type ProvisioningOptions struct {
	// InitialCycleDelay is the wait between starting a job and its first (initial) cycle; default 40 minutes,
	// as long as Entra can take.
	InitialCycleDelay time.Duration
	// TimeScale speeds provisioning up: every wait of the service (initial delay, the 40-minute interval,
	// quarantine back-off, escrow retries, OnDemandAssignmentLag) is divided by it. Default 1; 1000 turns 40
	// minutes into 2.4 seconds.
	TimeScale float64
	// OnDemandAssignmentLag is how long provisionOnDemand does not yet see a new app role assignment (Entra
	// documents "a replication delay of a few minutes"); the subject is then reported out of scope
	// (NotEffectivelyEntitled), as a fresh assignment is in Entra. Default 0.
	OnDemandAssignmentLag time.Duration
	// ManualCycles turns the timers off: cycles run only when RunDueCycles or RunCycleNow is called. Tests
	// that drive the tenant with a fake clock (Options.Now) set it, so no cycle runs behind their back.
	ManualCycles bool
	// EscrowThresholdScale divides the failure counts of the escrow thresholds that quarantine a job (5,000 to
	// start evaluating, 40,000, 60,000 with references; the 40% proportion stays), for tests that trip them
	// with a few failing users instead of thousands. Default 1: Microsoft's numbers.
	EscrowThresholdScale float64
}

const (
	// cycleInterval is Entra's fixed interval between incremental cycles (ENTRA known-issues.md: "The provisioning
	// interval is fixed").
	cycleInterval = 40 * time.Minute
)

// engine implements provisioner.
type engine struct {
	t    *Tenant
	opts ProvisioningOptions

	ctx    context.Context // cancelled by close: stops the timer loop and aborts SCIM calls in flight
	cancel context.CancelFunc
	wake   chan struct{}
	loops  sync.WaitGroup

	mu      sync.Mutex // guards jobs, closed, looping and each jobRun's schedule fields
	jobs    map[string]*jobRun
	closed  bool
	looping bool
}

// jobRun is the provisioning service's state of one job.
type jobRun struct {
	spID, jobID string
	// lock is held by the cycle or on-demand run working on the job; a channel so that waiting for it
	// respects a context.
	lock chan struct{}

	// Schedule, guarded by engine.mu. Hooks only set these; the next run applies the resets.
	active          bool      // the schedule is Active (started, not paused)
	due             time.Time // when the next cycle runs; zero: none planned
	initialNext     bool      // the next cycle is an initial one
	resetEscrows    bool
	resetQuarantine bool
	resetLinks      bool
	// forceDeletes: restart with ForceDeletes lets the next cycle send the disables and deletes that
	// accidental deletions prevention staged (DOCS synchronization-synchronizationjobrestartcriteria.md).
	forceDeletes bool
	cyclesRun    int
	quarantined  bool
	deleted      bool

	// Sync state, guarded by lock.
	users   map[string]*linkedObject // source object id → the target object it is linked to (the connector data store)
	groups  map[string]*linkedObject
	seen    map[string]string // source object id → state fingerprint when last processed (the watermark)
	escrows map[string]*escrowEntry
	q       *quarantineSeries
}

// linkedObject is a target object the service created or matched, with what it last exported to it.
type linkedObject struct {
	targetID string
	exported map[string]string // target attribute → value
	members  []string          // groups: target ids of the members exported
	// references are a user's reference attributes (the manager) in the target: target attribute → the target
	// id of the referenced user, as last read from the target or exported to it.
	references map[string]string
	// outOfScope: the user was disabled because it left the scope; the service stops managing it then, and
	// sends no DELETE when it is later deleted (ENTRA how-provisioning-works.md, known limitations).
	outOfScope bool
}

// active reports whether the target object was last left active (no exported active attribute counts as
// active: a job without the active mapping never deactivates).
func (l *linkedObject) active() bool {
	v, ok := l.exported["active"]
	return !ok || !sameValue(targetAttrDef{boolean: true}, v, "False")
}

// escrowEntry is an object whose export failed and waits for its retry.
type escrowEntry struct {
	key     string // the object's state fingerprint when it failed
	first   time.Time
	retries int
	next    time.Time
	// reference: a failure to set a reference (a group's members, a user's manager); these count toward the
	// absolute escrow threshold only (ENTRA application-provisioning-quarantine-status.md "Escrow thresholds").
	reference bool
}

func newEngine(t *Tenant, opts ProvisioningOptions) *engine {
	if opts.InitialCycleDelay == 0 {
		opts.InitialCycleDelay = cycleInterval
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	if !(opts.EscrowThresholdScale >= 1) { // NaN too
		opts.EscrowThresholdScale = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &engine{t: t, opts: opts, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1), jobs: map[string]*jobRun{}}
}

// scaled turns one of the service's waits into tenant-clock time.
func (e *engine) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / e.opts.TimeScale)
}

// job returns the state of a job, creating it. Call with e.mu held.
func (e *engine) job(spID, jobID string) *jobRun {
	j, ok := e.jobs[jobID]
	if !ok {
		j = &jobRun{
			spID: spID, jobID: jobID, lock: make(chan struct{}, 1), initialNext: true,
			users: map[string]*linkedObject{}, groups: map[string]*linkedObject{},
			seen: map[string]string{}, escrows: map[string]*escrowEntry{},
		}
		e.jobs[jobID] = j
	}
	return j
}

// plan sets a job's next cycle and wakes the timer loop. Call with e.mu held.
func (e *engine) plan(j *jobRun, due time.Time) {
	j.due = due
	if e.closed || e.opts.ManualCycles {
		return
	}
	if !e.looping {
		e.looping = true
		e.loops.Add(1)
		go e.loop()
	}
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *engine) jobStarted(spID, jobID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j := e.job(spID, jobID)
	j.active = true
	now := e.t.now()
	switch {
	case j.quarantined:
		// Start clears quarantine (DOCS synchronization-job.md: "If job is in quarantine, quarantine status is
		// cleared") and the service tries again.
		j.resetQuarantine = true
		e.plan(j, now)
	case j.due.IsZero() && j.cyclesRun == 0:
		e.plan(j, now.Add(e.scaled(e.opts.InitialCycleDelay)))
	case j.due.IsZero():
		e.plan(j, now)
	default:
		// A paused job continues where it stopped: the cycle it was waiting for.
		e.plan(j, j.due)
	}
}

func (e *engine) jobPaused(spID, jobID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.job(spID, jobID).active = false
}

// jobRestarted: a new initial cycle soon. An empty resetScope is the portal's "Restart provisioning", which
// "clears escrows, removes the app from quarantine, and clears any watermarks" but keeps the links between
// source and target objects (ENTRA how-provisioning-works.md, application-provisioning-quarantine-status.md); Full
// also forgets the links.
func (e *engine) jobRestarted(spID, jobID string, resetScope []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j := e.job(spID, jobID)
	j.active = true
	has := func(s string) bool {
		return len(resetScope) == 0 || slices.Contains(resetScope, s) || slices.Contains(resetScope, "Full")
	}
	if has("Watermark") {
		j.initialNext = true
	}
	j.resetEscrows = j.resetEscrows || has("Escrows")
	j.resetQuarantine = j.resetQuarantine || has("QuarantineState")
	j.resetLinks = j.resetLinks || slices.Contains(resetScope, "Full") || slices.Contains(resetScope, "ConnectorDataStore")
	j.forceDeletes = j.forceDeletes || slices.Contains(resetScope, "ForceDeletes")
	e.plan(j, e.t.now())
}

// schemaReplaced: any change to the mappings makes the next cycle an initial one (ENTRA how-provisioning-works.md,
// application-provisioning-quarantine-status.md).
func (e *engine) schemaReplaced(spID, jobID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.job(spID, jobID).initialNext = true
}

func (e *engine) jobDeleted(spID, jobID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if j, ok := e.jobs[jobID]; ok {
		j.deleted = true
		delete(e.jobs, jobID)
	}
}

// acquire takes a job's lock, giving up when ctx ends.
func (j *jobRun) acquire(ctx context.Context) error {
	select {
	case j.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (j *jobRun) release() { <-j.lock }

// loop runs cycles when they are due, until the engine closes.
func (e *engine) loop() {
	defer e.loops.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Stop()
		if next, ok := e.nextDue(); ok {
			timer.Reset(max(next.Sub(e.t.now()), 0))
		}
		select {
		case <-e.ctx.Done():
			return
		case <-e.wake:
		case <-timer.C:
			e.runDue(e.ctx)
		}
	}
}

func (e *engine) nextDue() (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var next time.Time
	for _, j := range e.jobs {
		if j.active && !j.due.IsZero() && (next.IsZero() || j.due.Before(next)) {
			next = j.due
		}
	}
	return next, !next.IsZero()
}

// runDue runs every cycle that is due now, oldest first, and returns how many ran.
func (e *engine) runDue(ctx context.Context) int {
	type dueJob struct {
		j  *jobRun
		at time.Time
	}
	now := e.t.now()
	e.mu.Lock()
	var due []dueJob
	for _, j := range e.jobs {
		if j.active && !j.due.IsZero() && !j.due.After(now) {
			due = append(due, dueJob{j, j.due})
		}
	}
	e.mu.Unlock()
	slices.SortFunc(due, func(a, b dueJob) int { return a.at.Compare(b.at) })
	ran := 0
	for _, d := range due {
		if ok, _ := e.runCycle(ctx, d.j, false); ok {
			ran++
		}
	}
	return ran
}

// runCycle runs the job's next cycle if it is (still) due, or unconditionally with force. It reports whether
// a cycle ran.
func (e *engine) runCycle(ctx context.Context, j *jobRun, force bool) (bool, error) {
	if err := j.acquire(ctx); err != nil {
		return false, err
	}
	defer j.release()
	e.mu.Lock()
	if e.closed || j.deleted || !j.active || (!force && (j.due.IsZero() || j.due.After(e.t.now()))) {
		e.mu.Unlock()
		return false, nil
	}
	initial := j.initialNext || j.cyclesRun == 0
	forceDeletes := j.forceDeletes
	wasDue := j.due
	j.initialNext, j.forceDeletes = false, false
	j.due = time.Time{}
	if j.resetLinks {
		j.users, j.groups = map[string]*linkedObject{}, map[string]*linkedObject{}
	}
	if j.resetEscrows {
		j.escrows = map[string]*escrowEntry{}
	}
	if j.resetQuarantine {
		j.q, j.quarantined = nil, false
	}
	j.resetLinks, j.resetEscrows, j.resetQuarantine = false, false, false
	e.mu.Unlock()

	out, err := e.cycle(ctx, j, initial, forceDeletes)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		// Aborted (the tenant is closing, or the caller gave up): the cycle runs again as planned.
		if j.due.IsZero() && !wasDue.IsZero() {
			e.plan(j, wasDue)
		}
		j.initialNext = j.initialNext || initial
		j.forceDeletes = j.forceDeletes || forceDeletes
		return false, err
	}
	j.cyclesRun++
	j.quarantined = j.q != nil
	// An initial cycle cut short (the target asked to wait with Retry-After) is not done yet.
	j.initialNext = j.initialNext || out.unfinishedInitial
	if out.stop {
		j.active = false
		return true, nil
	}
	// A hook (restart, start) may have planned an earlier cycle while this one ran; that one stands.
	if !out.next.IsZero() && !j.deleted && (j.due.IsZero() || out.next.Before(j.due)) {
		e.plan(j, out.next)
	}
	return true, nil
}

func (e *engine) close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.loops.Wait()
}

// errEngineClosed is returned by the cycle methods after Close.
var errEngineClosed = errors.New("the tenant is closed: its provisioning engine no longer runs")

// RunDueCycles runs now every provisioning cycle whose time has come on the tenant's clock (a job started
// InitialCycleDelay ago, the 40-minute interval since the last cycle, a restart, a quarantine retry), waits for
// them to finish, and returns how many ran. Tests with a fake clock advance it and call this instead of
// waiting.
func (t *Tenant) RunDueCycles(ctx context.Context) (int, error) {
	if t.isClosed() {
		return 0, errEngineClosed
	}
	return t.prov.runDue(ctx), ctx.Err()
}

// RunCycleNow runs the next cycle of a started job immediately, whatever its schedule: initial after a start,
// restart or schema change, incremental otherwise.
func (t *Tenant) RunCycleNow(ctx context.Context, jobID string) error {
	if t.isClosed() {
		return errEngineClosed
	}
	e := t.prov
	e.mu.Lock()
	j, ok := e.jobs[jobID]
	active := ok && j.active
	e.mu.Unlock()
	if !active {
		return fmt.Errorf("run cycle: job %q is not started (POST .../jobs/%s/start first)", jobID, jobID)
	}
	_, err := e.runCycle(ctx, j, true)
	return err
}

// NextCycle returns when the job's next cycle is due on the tenant's clock; false when none is planned (the
// job is not started, paused, or disabled).
func (t *Tenant) NextCycle(jobID string) (time.Time, bool) {
	e := t.prov
	e.mu.Lock()
	defer e.mu.Unlock()
	j, ok := e.jobs[jobID]
	if !ok || !j.active || j.due.IsZero() {
		return time.Time{}, false
	}
	return j.due, true
}

// Close stops the provisioning engine: no cycle starts afterwards, a running one is aborted, and its timer
// goroutine ends. The tenant keeps answering Graph requests.
func (t *Tenant) Close() error {
	t.prov.close()
	return nil
}

func (t *Tenant) isClosed() bool {
	t.prov.mu.Lock()
	defer t.prov.mu.Unlock()
	return t.prov.closed
}
