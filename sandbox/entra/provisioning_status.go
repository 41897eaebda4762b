package entra

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// This file is what a cycle leaves in the job's status (DOCS resources/synchronization-synchronizationstatus.md,
// synchronization-synchronizationquarantine.md, synchronization-synchronizationtaskexecution.md) and when the
// provisioning service puts a job in quarantine (ENTRA application-provisioning-quarantine-status.md): "If most, or
// all, of the calls made against the target system consistently fail then the provisioning job is marked as in
// quarantine."

const (
	// quarantineMaxInterval: while quarantined, "the frequency of incremental cycles is gradually reduced to
	// once per day" (ENTRA application-provisioning-quarantine-status.md).
	quarantineMaxInterval = 24 * time.Hour
	// quarantineDisableAfter: "If the provisioning job stays in quarantine for more than four weeks, the
	// provisioning job is disabled (stops running)" (ENTRA application-provisioning-quarantine-status.md).
	quarantineDisableAfter = 28 * 24 * time.Hour
	// escrowLifetime: escrow retries "go on for 28 days after the first failure after which the escrow entry
	// is removed and the job is disabled" (ENTRA application-provisioning-quarantine-status.md "Retry duration").
	escrowLifetime = 28 * 24 * time.Hour
	// quarantineAfterFailedCycles is how many cycles in a row must fail for want of a target (unreachable,
	// throttling, 5xx on the run's first request) before the job is quarantined. Microsoft documents only
	// "consistently fail"; three cycles (two hours at the 40-minute interval) is our reading, UNVERIFIED.
	// Invalid credentials and SCIM compliance failures quarantine at once ("A job can go into quarantine
	// regardless of failure counts for issues such as admin credentials or SCIM compliance", ENTRA
	// application-provisioning-quarantine-status.md).
	quarantineAfterFailedCycles = 3
)

// Quarantine reasons (the quarantineReason enum of synchronizationQuarantine).
const (
	reasonQuarantineException = "EncounteredQuarantineException"
	reasonEscrowProportion    = "EncounteredEscrowProportionThreshold"
	reasonBaseEscrow          = "EncounteredBaseEscrowThreshold"
	reasonTotalEscrow         = "EncounteredTotalEscrowThreshold"
	reasonTooManyDeletes      = "TooManyDeletes"
)

// quarantineSeries is a job's quarantine, from when it was imposed until it is lifted.
type quarantineSeries struct {
	seriesBegan  time.Time // "when the quarantine was first imposed in this series"
	currentBegan time.Time // "when the quarantine was last evaluated and imposed"
	// count is seriesCount: "Number of times in this series the quarantine was re-evaluated and left in
	// effect", so 0 when it is first imposed.
	count  int
	reason string
	err    map[string]any // synchronizationError
}

// quarantine imposes the quarantine, or records that a re-evaluation left it in effect (the reason may change:
// "If the quarantine reason changes, an updated email is sent showing the new reason", ENTRA
// application-provisioning-quarantine-status.md).
func (j *jobRun) quarantine(now time.Time, reason string, err map[string]any) {
	if j.q == nil {
		j.q = &quarantineSeries{seriesBegan: now}
	} else {
		j.q.count++
	}
	j.q.currentBegan, j.q.reason, j.q.err = now, reason, err
}

// quarantineInterval is the wait before the next attempt of a quarantined job: 40 minutes, doubling with each
// attempt that leaves it in effect, up to once a day.
func quarantineInterval(q *quarantineSeries) time.Duration {
	return min(cycleInterval<<min(q.count, 6), quarantineMaxInterval)
}

// render is the synchronizationQuarantine Graph shows.
func (q *quarantineSeries) render(next time.Time) map[string]any {
	return map[string]any{
		"currentBegan": q.currentBegan.UTC().Format(graphTime),
		"nextAttempt":  next.UTC().Format(graphTime),
		"reason":       q.reason,
		"seriesBegan":  q.seriesBegan.UTC().Format(graphTime),
		"seriesCount":  q.count,
		"error":        q.err,
	}
}

func syncError(code, message string) map[string]any {
	return map[string]any{"code": code, "message": message, "tenantActionable": true}
}

// escrowThresholds are the failure counts of the escrow thresholds of ENTRA
// application-provisioning-quarantine-status.md; the 40% proportion is fixed.
type escrowThresholds struct {
	minimum  int // "In general, 5,000 failures are the minimum to start evaluating"
	failures int // "there are more than 40,000 failures" (references not counted)
	total    int // "an absolute threshold of 60,000 failures that accounts for both"
}

// documentedEscrowThresholds are Microsoft's numbers; ProvisioningOptions.EscrowThresholdScale divides them.
func documentedEscrowThresholds() escrowThresholds {
	return escrowThresholds{minimum: 5000, failures: 40000, total: 60000}
}

func (th escrowThresholds) scaled(scale float64) escrowThresholds {
	div := func(n int) int { return max(int(float64(n)/scale), 1) }
	return escrowThresholds{minimum: div(th.minimum), failures: div(th.failures), total: div(th.total)}
}

// reason applies the escrow thresholds to a job's outstanding failures: failures are objects whose own export
// failed, references failed manager or member updates, successes the objects the job provisions. From the
// minimum on, "more than 40% of provisioning events fail, or there are more than 40,000 failures" (references
// not counted) quarantines, and so does the absolute threshold that counts both. Which reason names the 40,000
// and the 60,000 rule is UNVERIFIED (the docs name only EncounteredEscrowProportionThreshold): Base for the
// non-reference count, Total for the count of both.
func (th escrowThresholds) reason(failures, references, successes int) string {
	total := failures + references
	switch {
	case total < th.minimum:
		return ""
	case total > th.total:
		return reasonTotalEscrow
	case failures > th.failures:
		return reasonBaseEscrow
	case failures*10 > (failures+successes)*4:
		return reasonEscrowProportion
	}
	return ""
}

// cycleFailure is a cycle that could not run: its first request to the target failed, or the job's
// configuration cannot be used.
type cycleFailure struct {
	err *graphError
	// now: the failure quarantines the job at once (invalid credentials, a SCIM compliance issue).
	now bool
	// transient: the target could not be reached or asked to be left alone (429, 5xx); such failures
	// quarantine after quarantineAfterFailedCycles in a row.
	transient  bool
	retryAfter time.Duration
}

// probeFailure classifies a failed first request by the target's status (0 when it could not be reached).
func probeFailure(status int, retryAfter time.Duration, gerr *graphError) cycleFailure {
	switch {
	case status == 0 || status == http.StatusTooManyRequests || status >= 500:
		return cycleFailure{err: gerr, transient: true, retryAfter: retryAfter}
	case status == http.StatusNotFound:
		return cycleFailure{err: newError(http.StatusBadRequest, "SystemForCrossDomainIdentityManagementServiceIncompatible",
			"SCIM Compliance issue: An HTTP/404 Not Found response was returned rather than the expected HTTP/200 OK response. "+
				"Check the tenant URL; a SCIM endpoint answers a query that matches nothing with 200 and an empty ListResponse."), now: true}
	}
	return cycleFailure{err: gerr, now: true}
}

// cycleOutcome tells runCycle what to plan after a cycle.
type cycleOutcome struct {
	next time.Time
	// stop: the job stopped running (disabled, or paused after pruning escrows); no cycle is planned.
	stop bool
	// unfinishedInitial: an initial cycle was cut short; the next one is initial again.
	unfinishedInitial bool
}

// failCycle records a cycle that could not run (lastExecution Failed) and decides on quarantine.
func (e *engine) failCycle(j *jobRun, began time.Time, f cycleFailure) cycleOutcome {
	now := e.t.now()
	qerr := syncError(f.err.code, f.err.message)
	var failures int
	// A job deleted meanwhile has no status to update; the error says only that.
	_ = e.t.updateJob(j.jobID, func(job map[string]any) {
		failures = asInt(jobStatusMap(job)["countSuccessiveCompleteFailures"]) + 1
	})
	switch {
	case f.now || (f.transient && failures >= quarantineAfterFailedCycles):
		j.quarantine(now, reasonQuarantineException, qerr)
	case j.q != nil:
		// Still failing: the quarantine stays, whatever imposed it.
		j.quarantine(now, j.q.reason, j.q.err)
	}
	next := now.Add(e.scaled(cycleInterval))
	if j.q != nil {
		next = now.Add(e.scaled(quarantineInterval(j.q)))
	}
	// Retry-After is the target's own wait, in real time: it is not scaled.
	next = later(next, now.Add(f.retryAfter))
	disabled := j.q != nil && now.Sub(j.q.seriesBegan) > e.scaled(quarantineDisableAfter)
	execution := taskExecution(cycleStats{}, "Failed", began, now, qerr)
	_ = e.t.updateJob(j.jobID, func(job map[string]any) {
		status := jobStatusMap(job)
		status["lastExecution"] = execution
		status["countSuccessiveCompleteFailures"] = failures
		status["progress"] = []any{}
		if j.q != nil {
			status["code"] = "Quarantine"
			status["quarantine"] = j.q.render(next)
		}
		if disabled {
			jobScheduleMap(job)["state"] = "Disabled"
		}
	})
	return cycleOutcome{next: next, stop: disabled}
}

// finishCycle records a cycle that ran (lastExecution Succeeded or EntryLevelErrors), applies the escrow and
// deletion thresholds, and returns what to plan next.
func (e *engine) finishCycle(j *jobRun, r *runner, began time.Time) cycleOutcome {
	now := e.t.now()
	state := "Succeeded"
	if r.stats.escrowed > 0 {
		state = "EntryLevelErrors"
	}
	execution := taskExecution(r.stats, state, began, now, nil)
	failures, references := 0, 0
	for _, esc := range j.escrows {
		if esc.reference {
			references++
		} else {
			failures++
		}
	}
	reason := documentedEscrowThresholds().scaled(e.opts.EscrowThresholdScale).reason(failures, references, len(j.users)+len(j.groups))
	pruned := false
	switch {
	case reason != "" && r.initial:
		// "Escrows can be pruned if during the initial synchronization, you reach the threshold of errors that
		// would normally put the job in quarantine. Instead of going into quarantine, the synchronization
		// process clears the job's errors and continues until the initial synchronization is completed. When
		// the initial synchronization is completed, the job will pause and wait for the customer to clean up
		// the errors." (DOCS synchronization-synchronizationstatus.md, escrowsPruned)
		j.escrows = map[string]*escrowEntry{}
		pruned = true
	case reason != "":
		j.quarantine(now, reason, syncError(reason, fmt.Sprintf(
			"%d of the job's provisioning events failed (%d more failed to set a reference) against %d that succeeded; the job is quarantined until the errors are fixed. See the provisioning logs.",
			failures, references, len(j.users)+len(j.groups))))
	case r.stats.staged > 0:
		j.quarantine(now, reasonTooManyDeletes, syncError(reasonTooManyDeletes, fmt.Sprintf(
			"This cycle would disable or delete %d objects in the target, more than the accidental deletions threshold of %d. "+
				"The deletions are staged: allow them with restart and resetScope ForceDeletes, or undo the change that caused them and restart.",
			r.stats.staged, r.deleteThreshold)))
	default:
		// "The provisioning job is removed from quarantine after all errors are fixed and the next sync cycle
		// starts." (ENTRA application-provisioning-quarantine-status.md)
		j.q = nil
	}
	next := now.Add(e.scaled(cycleInterval))
	if j.q != nil {
		next = now.Add(e.scaled(quarantineInterval(j.q)))
	}
	next = later(next, r.holdUntil)
	disabled := r.escrowExpired || (j.q != nil && now.Sub(j.q.seriesBegan) > e.scaled(quarantineDisableAfter))
	steady := state == "Succeeded" && r.stats.staged == 0 && !r.cutShort
	users, groups := len(j.users), len(j.groups)
	// A job deleted meanwhile has no status to update; the error says only that.
	_ = e.t.updateJob(j.jobID, func(job map[string]any) {
		status, schedule := jobStatusMap(job), jobScheduleMap(job)
		status["lastExecution"] = execution
		if state == "Succeeded" {
			// "the last execution of this job, which didn't have any errors"
			status["lastSuccessfulExecution"] = execution
			if r.stats.exported > 0 {
				status["lastSuccessfulExecutionWithExports"] = execution
			}
		}
		status["countSuccessiveCompleteFailures"] = 0
		status["progress"] = []any{}
		if r.initial {
			status["escrowsPruned"] = pruned
		}
		if steady {
			// "The time when steady state (no more changes to the process) was first/last achieved."
			if first := str(status, "steadyStateFirstAchievedTime"); first == "" || first == notYet {
				status["steadyStateFirstAchievedTime"] = now.UTC().Format(graphTime)
			}
			status["steadyStateLastAchievedTime"] = now.UTC().Format(graphTime)
		}
		// UNVERIFIED key format: observed jobs show "<source object> to <target object>", e.g. "user to User".
		var counts []any
		if m := r.rule.users; m != nil {
			counts = append(counts, map[string]any{"key": strings.ToLower(m.sourceObject) + " to " + m.targetObject, "value": users})
		}
		if m := r.rule.groups; m != nil {
			counts = append(counts, map[string]any{"key": strings.ToLower(m.sourceObject) + " to " + m.targetObject, "value": groups})
		}
		status["synchronizedEntryCountByType"] = counts
		status["quarantine"] = nil
		switch {
		case j.q != nil:
			status["code"] = "Quarantine"
			status["quarantine"] = j.q.render(next)
		case pruned || r.escrowExpired:
			// A job that stopped with errors to clean up keeps its state: Paused. Whether Entra shows Paused
			// after an escrow expired is UNVERIFIED.
			status["code"] = "Paused"
		case str(schedule, "state") == "Paused":
			status["code"] = "Paused"
		default:
			status["code"] = "Active"
		}
		switch {
		case pruned:
			schedule["state"] = "Paused"
		case disabled:
			schedule["state"] = "Disabled"
		}
	})
	return cycleOutcome{next: next, stop: pruned || disabled, unfinishedInitial: r.initial && r.cutShort}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// taskExecution is a synchronizationTaskExecution.
func taskExecution(s cycleStats, state string, began, ended time.Time, errInfo map[string]any) map[string]any {
	var errValue any
	if errInfo != nil {
		errValue = errInfo
	}
	return map[string]any{
		"activityIdentifier":           uuid.NewString(),
		"countEntitled":                s.entitled,
		"countEntitledForProvisioning": s.entitledForProvisioning,
		"countEscrowed":                s.escrowed,
		"countEscrowedRaw":             s.escrowed + s.staged,
		"countExported":                s.exported,
		"countExports":                 s.exported + s.escrowed + s.staged,
		"countImported":                s.imported,
		"countImportedDeltas":          s.deltas,
		"countImportedReferenceDeltas": s.referenceDeltas,
		"state":                        state,
		"error":                        errValue,
		"timeBegan":                    began.UTC().Format(graphTime),
		"timeEnded":                    ended.UTC().Format(graphTime),
	}
}

func jobStatusMap(job map[string]any) map[string]any { return childMap(job, "status") }

func jobScheduleMap(job map[string]any) map[string]any { return childMap(job, "schedule") }

func asInt(v any) int {
	switch v := v.(type) {
	case int:
		return v
	case float64:
		return int(v)
	}
	return 0
}
