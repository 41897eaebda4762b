package steps

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/idpctl/idpctl/graph"
)

// Reporter receives progress as steps run. The wizard implements it (a progress view on a terminal, plain
// lines otherwise, nothing for JSON output).
type Reporter interface {
	StepStarted(phase Phase, step string)
	StepFinished(phase Phase, step string, err error)
	// Progress is a detail inside a running step: "created \"Smallstep\" (client id ...)".
	Progress(step, message string)
	// Waiting says that a running step waits, and why (see Wait); the Graph client's waits arrive here too.
	Waiting(step string, w Wait)
}

// DidReporter is a Reporter that shows what a finished step did: it hears Env.Did before the step's
// StepFinished, when a step did less than its plan said.
type DidReporter interface {
	StepDid(step, summary string)
}

// Phase says whether steps are planning (reads only) or applying.
type Phase string

const (
	Planning Phase = "plan"
	Applying Phase = "apply"
)

// Runner plans and applies steps. Steps run concurrently and wait on each other's outputs, so independent
// Graph calls overlap; the order of Steps is the order in which they are shown.
type Runner struct {
	Steps []Step
	// AfterApply, if set, runs after each step applies successfully; an error stops the run. Tests use it to
	// stop a run between any two steps and check that the next run converges.
	AfterApply func(step Step) error
}

// Plan runs every step's Plan. It sends no write to the tenant or the backend.
func (r *Runner) Plan(ctx context.Context, env *Env) (*Plan, error) {
	env.resetOutputs()
	changes := make([]Change, len(r.Steps))
	_, err := r.each(ctx, env, Planning, func(ctx context.Context, i int, s Step) error {
		c, err := s.Plan(ctx, env)
		changes[i] = c
		return err
	})
	if err != nil {
		return nil, err
	}
	plan := &Plan{TenantID: env.TenantID, Inputs: env.Inputs.withoutSecrets(), CreatedAt: env.clock().Now().UTC()}
	for i, s := range r.Steps {
		plan.Steps = append(plan.Steps, PlannedStep{Step: s.String(), Change: changes[i]})
	}
	return plan, nil
}

// Apply applies plan, which comes from Plan with the same steps and inputs (in this process, or read back
// from its JSON). Each step works from its planned change alone. The report says what happened to each step,
// also when the run failed.
func (r *Runner) Apply(ctx context.Context, env *Env, plan *Plan) (Report, error) {
	if len(plan.Steps) != len(r.Steps) {
		return nil, errors.New("steps: plan does not match the runner's steps")
	}
	for i, s := range r.Steps {
		if plan.Steps[i].Step != s.String() {
			return nil, fmt.Errorf("steps: the plan's step %d is %q, not %q", i+1, plan.Steps[i].Step, s.String())
		}
	}
	env.resetOutputs()
	env.resetNotes()
	errs, err := r.each(ctx, env, Applying, func(ctx context.Context, i int, s Step) error {
		if err := s.Apply(ctx, env, plan.Steps[i].Change); err != nil {
			return err
		}
		if r.AfterApply != nil {
			return r.AfterApply(s)
		}
		return nil
	})
	report := make(Report, len(r.Steps))
	for i, s := range plan.Steps {
		// Done says what happened; a step that did not finish keeps what it was about to do.
		report[i] = StepReport{Step: s.Step, Summary: s.Change.Summary()}
		switch {
		case errs[i] == nil && s.Change.Pending():
			report[i].Status, report[i].Summary = StatusApplied, cmp.Or(env.didFor(s.Step), s.Change.Done())
		case errs[i] == nil:
			report[i].Status = StatusUnchanged
		case ErrStoppedByOther(errs[i]) || errors.Is(errs[i], context.Canceled):
			report[i].Status = StatusStopped
		default:
			report[i].Status, report[i].Error = StatusFailed, errs[i].Error()
		}
	}
	return report, err
}

// Report is what an apply did, step by step, in display order.
type Report []StepReport

// StepReport is one step's outcome.
type StepReport struct {
	Step    string `json:"step"`
	Status  string `json:"status"`
	Summary string `json:"summary"`
	Error   string `json:"error,omitempty"`
}

// Step outcomes.
const (
	StatusApplied   = "applied"
	StatusUnchanged = "unchanged"
	StatusFailed    = "failed"
	StatusStopped   = "stopped" // not finished because another step failed or the run was cancelled
)

// StepError says which step failed.
type StepError struct {
	Phase Phase
	Step  string
	Err   error
}

func (e *StepError) Error() string {
	if e.Phase == Planning {
		return fmt.Sprintf("planning %s: %v", e.Step, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Step, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// each runs fn for every step at once and returns each step's error. The first failure cancels the others; it
// is the error returned, not the cancellations it caused.
func (r *Runner) each(ctx context.Context, env *Env, phase Phase, fn func(ctx context.Context, i int, s Step) error) ([]error, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		errs  = make([]error, len(r.Steps))
	)
	setBy := map[Slot]string{} // which step sets each output, for "waiting for <step>"
	for _, s := range r.Steps {
		for _, slot := range s.Sets(phase, env.Out()) {
			setBy[slot] = s.String()
		}
	}
	for i, s := range r.Steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env.report().StepStarted(phase, s.String())
			stepCtx := graph.WithWaits(ctx, func(w graph.Wait) { env.report().Waiting(s.String(), graphWait(w)) })
			stepCtx = context.WithValue(stepCtx, blockedKey{}, blockedOn(func(slot Slot) func() {
				w := Wait{Reason: WaitStep, Object: setBy[slot]}
				env.report().Waiting(s.String(), w)
				return func() { w.Over = true; env.report().Waiting(s.String(), w) }
			}))
			err := run(func() error { return fn(stepCtx, i, s) })
			if err == nil {
				err = unset(phase, env.Out(), s)
			}
			var other *StepError
			if err != nil && errors.As(context.Cause(ctx), &other) && errors.Is(err, context.Canceled) {
				// Stopped because another step failed: not this step's failure.
				errs[i] = errCancelledByOther
				env.report().StepFinished(phase, s.String(), errCancelledByOther)
				return
			}
			errs[i] = err
			env.report().StepFinished(phase, s.String(), err)
			if err != nil {
				mu.Lock()
				if first == nil {
					first = &StepError{Phase: phase, Step: s.String(), Err: err}
					cancel(first)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return errs, first
	}
	return errs, ctx.Err()
}

// run calls fn and turns a panic into an error: a bug in one step fails that step, and the run reports it
// like any other failure instead of crashing with the terminal in whatever state the progress view left it.
func run(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn()
}

// PanicError is a step's panic, recovered.
type PanicError struct {
	Value any
	Stack []byte // the goroutine's stack when it panicked, for a bug report
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error (a bug in idpctl, please report it): %v", e.Value)
}

// unset names the declared outputs a step returned without writing.
func unset(phase Phase, out *Outputs, s Step) error {
	var missing []string
	for _, slot := range s.Sets(phase, out) {
		if !slot.isSet() {
			missing = append(missing, out.nameOf(slot))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("internal error (a bug in idpctl, please report it): the step finished without setting its output %s", strings.Join(missing, ", "))
}

// errCancelledByOther is reported for steps stopped because another step failed.
var errCancelledByOther = errors.New("stopped: another step failed")

// ErrStoppedByOther reports whether err means a step was stopped because another one failed.
func ErrStoppedByOther(err error) bool { return errors.Is(err, errCancelledByOther) }
