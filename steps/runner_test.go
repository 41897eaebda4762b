package steps

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// fakeStep records what the runner does with it.
type fakeStep struct {
	name    string
	change  Change
	planErr error
	apply   func(ctx context.Context, env *Env) error
}

func (f *fakeStep) String() string                             { return f.name }
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
