package steps

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeStep records what the runner does with it.
type fakeStep struct {
	name    string
	change  Change
	planErr error
	apply   func(ctx context.Context, env *Env) error
	sets    func(out *Outputs) []Slot // in apply; nothing in plan
}

func (f *fakeStep) String() string { return f.name }
func (f *fakeStep) Sets(phase Phase, out *Outputs) []Slot {
	if phase == Applying && f.sets != nil {
		return f.sets(out)
	}
	return nil
}
func (f *fakeStep) Plan(context.Context, *Env) (Change, error) { return f.change, f.planErr }
func (f *fakeStep) Apply(ctx context.Context, env *Env, _ Change) error {
	if f.apply == nil {
		return nil
	}
	return f.apply(ctx, env)
}

type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) StepStarted(p Phase, s string) {}
func (r *recorder) StepFinished(p Phase, s string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, string(p)+" "+s+" "+errString(err))
}
func (r *recorder) StepDid(s, summary string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "did "+s+": "+summary)
}
func (r *recorder) Progress(string, string) {}
func (r *recorder) Waiting(string, Wait)    {}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func pending(name string) Change {
	return Change{Resources: []Resource{{Action: Create, Type: "thing", Name: name}}}
}

func TestRunnerStepsWaitOnOutputs(t *testing.T) {
	// "second" reads what "first" writes; listed first, it still runs after its input exists.
	second := &fakeStep{name: "second", change: pending("b"), apply: func(ctx context.Context, env *Env) error {
		app, err := env.Out().App.Wait(ctx)
		if err != nil {
			return err
		}
		if app.App.AppID != "app-1" {
			return errors.New("wrong input")
		}
		env.Out().Started.Set(struct{}{})
		return nil
	}}
	first := &fakeStep{name: "first", change: pending("a"), apply: func(ctx context.Context, env *Env) error {
		ref := AppRef{Exists: true}
		ref.App.AppID = "app-1"
		env.Out().App.Set(ref)
		return nil
	}}
	r := &Runner{Steps: []Step{second, first}}
	env := &Env{State: &State{}}
	plan, err := r.Plan(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	report, err := r.Apply(t.Context(), env, plan)
	if err != nil {
		t.Fatal(err)
	}
	if report[0].Step != "second" || report[0].Status != StatusApplied || report[0].Summary != `created thing "b"` {
		t.Errorf("report = %+v", report)
	}
}

func TestRunnerFirstFailureStopsTheOthers(t *testing.T) {
	boom := errors.New("boom")
	waiting := &fakeStep{name: "waiting", change: pending("w"), apply: func(ctx context.Context, env *Env) error {
		_, err := env.Out().Job.Wait(ctx) // never set: only the failure ends this wait
		return err
	}}
	failing := &fakeStep{name: "failing", change: pending("f"), apply: func(context.Context, *Env) error { return boom }}
	quiet := &fakeStep{name: "quiet", change: Change{Resources: []Resource{{Action: NoOp, Type: "thing", Name: "q"}}}}
	rec := &recorder{}
	r := &Runner{Steps: []Step{waiting, failing, quiet}}
	env := &Env{State: &State{}, Reporter: rec}
	plan, err := r.Plan(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	report, err := r.Apply(t.Context(), env, plan)
	var se *StepError
	if !errors.As(err, &se) || se.Step != "failing" || !errors.Is(err, boom) {
		t.Fatalf("Apply error = %v, want failing's boom", err)
	}
	got := map[string]string{}
	for _, s := range report {
		got[s.Step] = s.Status
	}
	want := map[string]string{"waiting": StatusStopped, "failing": StatusFailed, "quiet": StatusUnchanged}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s (report %+v)", k, got[k], v, report)
		}
	}
	if !strings.Contains(strings.Join(rec.events, "\n"), "apply waiting stopped: another step failed") {
		t.Errorf("reporter saw %v", rec.events)
	}
}

func TestRunnerPlanErrorNamesTheStep(t *testing.T) {
	r := &Runner{Steps: []Step{&fakeStep{name: "reader", planErr: errors.New("no access")}}}
	_, err := r.Plan(t.Context(), &Env{State: &State{}})
	if err == nil || !strings.Contains(err.Error(), "planning reader: no access") {
		t.Errorf("err = %v", err)
	}
}

func TestRunnerAfterApplyStops(t *testing.T) {
	stop := errors.New("stop")
	r := &Runner{Steps: []Step{&fakeStep{name: "one", change: pending("1")}}, AfterApply: func(Step) error { return stop }}
	env := &Env{State: &State{}}
	plan, _ := r.Plan(t.Context(), env)
	if _, err := r.Apply(t.Context(), env, plan); !errors.Is(err, stop) {
		t.Errorf("err = %v", err)
	}
}

// A step that returns without setting an output it declares fails at once, named, and the steps waiting for
// that output stop instead of hanging until the run's timeout.
func TestRunnerStepThatForgetsAnOutputFails(t *testing.T) {
	waiting := &fakeStep{name: "waiting", change: pending("w"), apply: func(ctx context.Context, env *Env) error {
		_, err := env.Out().Job.Wait(ctx)
		return err
	}}
	forgetful := &fakeStep{name: "forgetful", change: pending("f"), sets: func(out *Outputs) []Slot { return []Slot{&out.Job} }}
	r := &Runner{Steps: []Step{waiting, forgetful}}
	env := &Env{State: &State{}}
	plan, err := r.Plan(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	// A guard, not a measurement: without the check the wait below ends only with this deadline.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	report, err := r.Apply(ctx, env, plan)
	var se *StepError
	if !errors.As(err, &se) || se.Step != "forgetful" || !strings.Contains(err.Error(), "without setting its output Job") {
		t.Fatalf("Apply error = %v, want forgetful failing for its output Job", err)
	}
	if report[0].Status != StatusStopped || report[1].Status != StatusFailed {
		t.Errorf("report = %+v, want waiting stopped and forgetful failed", report)
	}
}

// A panic in a step is that step's failure, in either phase; the run ends normally.
func TestRunnerPanicFailsTheStep(t *testing.T) {
	for _, phase := range []Phase{Planning, Applying} {
		panicky := &panickyStep{fakeStep: fakeStep{name: "panicky", change: pending("p")}, phase: phase}
		r := &Runner{Steps: []Step{&fakeStep{name: "other", change: pending("o")}, panicky}}
		env := &Env{State: &State{}}
		plan, err := r.Plan(t.Context(), env)
		if phase == Applying {
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Apply(t.Context(), env, plan)
		}
		var se *StepError
		var pe *PanicError
		if !errors.As(err, &se) || se.Step != "panicky" || se.Phase != phase || !errors.As(err, &pe) ||
			!strings.Contains(err.Error(), "nil pointer dereference") || !strings.Contains(string(pe.Stack), "(*panickyStep).explode") {
			t.Errorf("%s: error = %v, want panicky's panic as its failure", phase, err)
		}
	}
}

// panickyStep dereferences a nil pointer in one phase.
type panickyStep struct {
	fakeStep
	phase Phase
}

func (p *panickyStep) Plan(ctx context.Context, env *Env) (Change, error) {
	if p.phase == Planning {
		p.explode()
	}
	return p.fakeStep.Plan(ctx, env)
}

func (p *panickyStep) Apply(ctx context.Context, env *Env, c Change) error {
	if p.phase == Applying {
		p.explode()
	}
	return p.fakeStep.Apply(ctx, env, c)
}

func (p *panickyStep) explode() {
	var env *Env
	_ = env.Inputs
}

// Every output has exactly one step that declares it when applying, in setup's flow or (the outputs only
// teardown uses) in teardown's, so a forgotten Set is always caught.
func TestFlowDeclaresEveryOutputOnce(t *testing.T) {
	out := &Outputs{}
	seen := map[string]bool{}
	for flow, list := range map[string][]Step{"setup": Flow(), "teardown": Teardown(false)} {
		declared := map[string][]string{}
		for _, s := range list {
			for _, slot := range s.Sets(Applying, out) {
				declared[out.nameOf(slot)] = append(declared[out.nameOf(slot)], s.String())
				seen[out.nameOf(slot)] = true
			}
		}
		for name, by := range declared {
			if len(by) != 1 {
				t.Errorf("%s: output %s is declared by %v, want exactly one step", flow, name, by)
			}
		}
	}
	v := reflect.TypeOf(out).Elem()
	for i := range v.NumField() {
		if name := v.Field(i).Name; !seen[name] {
			t.Errorf("output %s is declared by no step", name)
		}
	}
}

// waitLog records the waits reported, as "step reason object[ over]".
type waitLog struct {
	recorder
	mu     sync.Mutex
	waits  []string
	onWait func(Wait)
}

func (l *waitLog) Waiting(step string, w Wait) {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := step + " " + string(w.Reason) + " " + w.Object
	if w.Over {
		line += " over"
	}
	l.waits = append(l.waits, line)
	if l.onWait != nil {
		l.onWait(w)
	}
}

// A step that has to wait for another step's output is reported as waiting for that step, until it is set.
func TestRunnerReportsWaitsForOtherSteps(t *testing.T) {
	release := make(chan struct{})
	second := &fakeStep{name: "second", change: pending("b"), apply: func(ctx context.Context, env *Env) error {
		_, err := env.Out().App.Wait(ctx)
		return err
	}}
	first := &fakeStep{name: "first", change: pending("a"), sets: func(out *Outputs) []Slot { return []Slot{&out.App} },
		apply: func(ctx context.Context, env *Env) error {
			<-release // set only once the other step waits for it
			env.Out().App.Set(AppRef{Exists: true})
			return nil
		}}
	rec := &waitLog{onWait: func(w Wait) {
		if !w.Over {
			close(release)
		}
	}}
	r := &Runner{Steps: []Step{second, first}}
	env := &Env{State: &State{}, Reporter: rec}
	plan, err := r.Plan(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Apply(t.Context(), env, plan); err != nil {
		t.Fatal(err)
	}
	if want := []string{"second step first", "second step first over"}; !reflect.DeepEqual(rec.waits, want) {
		t.Errorf("waits %q, want %q", rec.waits, want)
	}
}

// A step that did less than its plan said (Env.Did) is reported with what it did, to the reporter before the
// step finishes and in the report; the other steps keep their plan's words.
func TestRunnerReportsWhatAStepDid(t *testing.T) {
	var partial *fakeStep
	partial = &fakeStep{name: "partial", change: pending("a"), apply: func(ctx context.Context, env *Env) error {
		env.Did(partial, `left thing "a" for later`)
		return nil
	}}
	whole := &fakeStep{name: "whole", change: pending("b")}
	rec := &recorder{}
	env := &Env{Reporter: rec}
	r := &Runner{Steps: []Step{partial, whole}}
	plan, err := r.Plan(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	report, err := r.Apply(t.Context(), env, plan)
	if err != nil {
		t.Fatal(err)
	}
	want := Report{
		{Step: "partial", Status: StatusApplied, Summary: `left thing "a" for later`},
		{Step: "whole", Status: StatusApplied, Summary: `created thing "b"`},
	}
	if !reflect.DeepEqual(report, want) {
		t.Errorf("report %+v\nwant %+v", report, want)
	}
	var events []string
	for _, e := range rec.events {
		if strings.Contains(e, "partial") && !strings.HasPrefix(e, "plan ") {
			events = append(events, e)
		}
	}
	if want := []string{`did partial: left thing "a" for later`, "apply partial ok"}; !reflect.DeepEqual(events, want) {
		t.Errorf("reporter heard %q, want %q", events, want)
	}
	// A new apply forgets what the last one did.
	partial.apply = nil
	if report, _ := r.Apply(t.Context(), env, plan); report[0].Summary != `created thing "a"` {
		t.Errorf("second apply reported %q", report[0].Summary)
	}
}
