package wizard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/steps"
)

// testClock is a clock the test moves.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time          { return c.t }
func (c *testClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestClock() *testClock { return &testClock{t: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)} }

func applying(step string) stepMsg { return stepMsg{phase: steps.Applying, step: step, started: true} }
func finished(step string, err error) stepMsg {
	return stepMsg{phase: steps.Applying, step: step, finished: true, err: err}
}
func waiting(step string, w steps.Wait) stepMsg {
	return stepMsg{phase: steps.Applying, step: step, wait: &w}
}

// midRun brings a view to the middle of a first setup: the application exists and waits for replication,
// Graph throttles the assignments, other steps wait for their inputs.
func midRun(v *progressView, clock *testClock) {
	for _, s := range firstRunPlan().Steps {
		v.Update(applying(s.Step))
	}
	v.Update(stepMsg{phase: steps.Applying, step: "application", detail: `created "Smallstep" (client id 563458bd-edc9-4eaf-93db-e0f02059a2b4)`})
	v.Update(waiting("application", steps.Wait{Reason: steps.WaitReplication, Object: "the new application", RetryIn: time.Second}))
	clock.advance(2 * time.Second)
	v.Update(finished("admin consent", nil))
	v.Update(finished("attribute mappings", nil))
	v.Update(waiting("application", steps.Wait{Reason: steps.WaitReplication, Object: "the new application", RetryIn: 2 * time.Second}))
	v.Update(waiting("assignments", steps.Wait{Reason: steps.WaitThrottled, RetryIn: 8 * time.Second}))
	for _, s := range []string{"client secret", "provisioning job"} {
		v.Update(waiting(s, steps.Wait{Reason: steps.WaitStep, Object: "application"}))
	}
	v.Update(waiting("start provisioning", steps.Wait{Reason: steps.WaitStep, Object: "provisioning credentials"}))
	clock.advance(4 * time.Second)
}

// A step that only waits for another's output shows a quiet marker and what it waits for, not a spinner; once
// its input is there it runs like any other. At 40 columns a long line wraps under the step's name.
func TestProgressViewWaitingForSteps(t *testing.T) {
	clock := newTestClock()
	v := newProgressView(firstRunPlan(), theme{}, 40, clock.now)
	midRun(v, clock)
	out := v.View().Content
	for _, want := range []string{"    ◦ client secret: waiting for\n      application\n", "    ◦ provisioning job: waiting for\n      application\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasSuffix(line, "…") {
			t.Errorf("a line cut with …: %q", line)
		}
	}
	if !strings.Contains(out, "563458bd-edc9-4eaf-93db-e0f02059a2b4") {
		t.Errorf("the client id is broken:\n%s", out)
	}
	v.Update(waiting("client secret", steps.Wait{Reason: steps.WaitStep, Object: "application", Over: true}))
	if out := v.View().Content; strings.Contains(out, "client secret: waiting") || strings.Contains(out, "◦ client secret") {
		t.Errorf("the step still waits once its input is there:\n%s", out)
	}
}

// The progress view at the three widths, with and without colour: mid-run with waits, a failure with its
// fix, a run stopped by Ctrl-C, and a finished run.
func TestProgressViewGolden(t *testing.T) {
	for _, width := range []int{40, 80, 120} {
		for _, color := range []bool{false, true} {
			t.Run(fmt.Sprintf("w%d-color-%v", width, color), func(t *testing.T) {
				var b strings.Builder
				frame := func(title string, v *progressView) {
					out := v.View().Content
					b.WriteString("=== " + title + "\n" + out)
					for _, line := range strings.Split(out, "\n") {
						if w := lipgloss.Width(line); w > width {
							t.Errorf("%s: line of %d columns at width %d: %q", title, w, width, line)
						}
					}
				}
				th := theme{color: color}

				clock := newTestClock()
				v := newProgressView(firstRunPlan(), th, width, clock.now)
				v.cancel = func() {}
				v.Update(tea.WindowSizeMsg{Width: width, Height: 40})
				midRun(v, clock)
				frame("mid-run", v)

				v.Update(finished("application", nil))
				v.Update(finished("assignments", nil))
				v.Update(finished("single sign-on settings", nil))
				v.Update(finished("client secret", &graph.Error{Op: "POST /applications/{id}/addPassword", Status: 403,
					Code: "Authorization_RequestDenied", Message: "Insufficient privileges to complete the operation."}))
				for _, s := range []string{"backend hand-off", "provisioning job", "provisioning credentials", "start provisioning", "confirm users arrived"} {
					v.Update(finished(s, context.Canceled)) // the runner cancels the others
				}
				v.Update(applyDoneMsg{err: errors.New("client secret: failed")})
				frame("failed", v)

				clock = newTestClock()
				v = newProgressView(firstRunPlan(), th, width, clock.now)
				v.cancel = func() {}
				v.Update(tea.WindowSizeMsg{Width: width, Height: 40})
				midRun(v, clock)
				v.Update(press("ctrl+c"))
				frame("stopping", v)
				// The application was created, then its wait for replication stopped: it is listed as made.
				for _, s := range firstRunPlan().Steps {
					if s.Step != "admin consent" && s.Step != "attribute mappings" {
						v.Update(finished(s.Step, context.Canceled))
					}
				}
				v.Update(applyDoneMsg{report: steps.Report{
					{Step: "application", Status: steps.StatusStopped},
					{Step: "admin consent", Status: steps.StatusApplied, Summary: `created admin consent "Microsoft Graph: openid profile email"`},
				}, err: context.Canceled})
				frame("stopped", v)

				clock = newTestClock()
				v = newProgressView(firstRunPlan(), th, width, clock.now)
				v.Update(tea.WindowSizeMsg{Width: width, Height: 40})
				for _, s := range firstRunPlan().Steps {
					v.Update(applying(s.Step))
					clock.advance(time.Second)
					v.Update(finished(s.Step, nil))
				}
				v.Update(applyDoneMsg{})
				frame("done", v)

				golden.RequireEqual(t, b.String())
				if strings.Contains(b.String(), "\x1b") != color {
					t.Errorf("colour %v, escape codes present: %v", color, !color)
				}
			})
		}
	}
}

// Waits read as waits: replication counts up from its start, throttling counts down to the retry, and a wait
// that ended is gone.
func TestProgressViewWaits(t *testing.T) {
	clock := newTestClock()
	v := newProgressView(firstRunPlan(), theme{}, 120, clock.now)
	midRun(v, clock)
	out := v.View().Content
	for _, want := range []string{
		"waiting for Entra to replicate the new application… 6 s",
		"Graph is throttling: retrying in 4 s",
		"✓ admin consent: unchanged",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	clock.advance(3 * time.Second)
	if out := v.View().Content; !strings.Contains(out, "retrying in 1 s") || !strings.Contains(out, "the new application… 9 s") {
		t.Errorf("after 3 s:\n%s", out)
	}
	v.Update(waiting("application", steps.Wait{Reason: steps.WaitReplication, Object: "the new application", Over: true}))
	if out := v.View().Content; strings.Contains(out, "replicate") {
		t.Errorf("an ended wait is still shown:\n%s", out)
	}
}

// Every engine step belongs to one of the documented steps.
func TestGuideCoversTheFlow(t *testing.T) {
	mapped := map[string]int{}
	for _, g := range guide() {
		for _, s := range g.steps {
			mapped[s]++
		}
	}
	for _, s := range steps.Flow() {
		if mapped[s.String()] != 1 {
			t.Errorf("step %q is under %d documented steps, want 1", s, mapped[s.String()])
		}
	}
	v := newProgressView(&steps.Plan{Steps: []steps.PlannedStep{{Step: "application"}, {Step: "something new"}}}, theme{}, 80, time.Now)
	// A step outside the procedure is a day-2 command's: the steps are listed as they are, none hidden.
	if out := v.View().Content; !strings.Contains(out, "something new") || !strings.Contains(out, "application") || strings.Contains(out, "Create the enterprise application") {
		t.Errorf("a plan with an unknown step:\n%s", out)
	}
}

// fakeRun is an apply that reports like the runner: every step starts, the quick ones finish, the slow one
// waits for replication until the run's context ends.
func fakeRun(release <-chan struct{}) func(ctx context.Context, r steps.Reporter) (steps.Report, error) {
	return func(ctx context.Context, r steps.Reporter) (steps.Report, error) {
		var report steps.Report
		for _, s := range firstRunPlan().Steps {
			r.StepStarted(steps.Applying, s.Step)
		}
		for _, s := range firstRunPlan().Steps {
			if s.Step == "application" {
				continue
			}
			r.StepFinished(steps.Applying, s.Step, nil)
			status := steps.StatusUnchanged
			if s.Change.Pending() {
				status = steps.StatusApplied
			}
			report = append(report, steps.StepReport{Step: s.Step, Status: status, Summary: s.Change.Done()})
		}
		r.Waiting("application", steps.Wait{Reason: steps.WaitReplication, Object: "the new application", RetryIn: time.Second})
		select {
		case <-ctx.Done():
			r.StepFinished(steps.Applying, "application", ctx.Err())
			return append(report, steps.StepReport{Step: "application", Status: steps.StatusStopped}), ctx.Err()
		case <-release:
			r.StepFinished(steps.Applying, "application", nil)
			return append(report, steps.StepReport{Step: "application", Status: steps.StatusApplied}), nil
		}
	}
}

// runView drives the view as ShowProgress does, under teatest. interrupts counts the Ctrl-Cs passed on to the
// process's interrupt handling.
func runView(t *testing.T, apply func(ctx context.Context, r steps.Reporter) (steps.Report, error)) (tm *teatest.TestModel, returned <-chan struct{}, interrupts *atomic.Int32) {
	ctx, cancel := context.WithCancel(t.Context())
	v := newProgressView(firstRunPlan(), theme{}, 80, time.Now)
	interrupts = &atomic.Int32{}
	v.cancel, v.interrupt = cancel, func() { interrupts.Add(1) }
	tm = teatest.NewTestModel(t, v, teatest.WithInitialTermSize(80, 40), teatest.WithProgramOptions(tea.WithFilter(signalsStop)))
	done := make(chan struct{})
	go func() {
		report, err := apply(ctx, programReporter{tm.GetProgram()})
		close(done)
		tm.Send(applyDoneMsg{report: report, err: err})
	}()
	return tm, done, interrupts
}

func waitForScreen(t *testing.T, tm *teatest.TestModel, text string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(text)) },
		teatest.WithDuration(5*time.Second))
}

func TestProgressViewFinishes(t *testing.T) {
	release := make(chan struct{})
	tm, _, _ := runView(t, fakeRun(release))
	waitForScreen(t, tm, "waiting for Entra to replicate the new application")
	close(release)
	v := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*progressView)
	if v.err != nil || v.quitAtOnce || len(v.report) != 11 {
		t.Errorf("err %v, quit at once %v, report %v", v.err, v.quitAtOnce, v.report)
	}
	if out := v.View().Content; !strings.Contains(out, "Applied the plan") || strings.Contains(out, "waiting") {
		t.Errorf("final screen:\n%s", out)
	}
}

// The first Ctrl-C stops the run cleanly and lists what was done; the view ends when the run has.
func TestProgressViewCtrlCStops(t *testing.T) {
	tm, returned, interrupts := runView(t, fakeRun(nil))
	waitForScreen(t, tm, "waiting for Entra to replicate the new application")
	tm.Send(press("ctrl+c"))
	v := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*progressView)
	select {
	case <-returned:
	default:
		t.Error("the view ended before the run")
	}
	if n := interrupts.Load(); n != 1 {
		t.Errorf("the process heard of %d interrupts, want the one Ctrl-C", n)
	}
	if !errors.Is(v.err, context.Canceled) || v.quitAtOnce {
		t.Errorf("err %v, quit at once %v", v.err, v.quitAtOnce)
	}
	out := v.View().Content
	for _, want := range []string{"Stopped", "- application: stopped", "Done before the run stopped:", `- created client secret "idpctl 2026-11-29"`, "Run the same command again to resume"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

// A second Ctrl-C leaves at once, without waiting for a run that does not stop.
func TestProgressViewSecondCtrlCQuits(t *testing.T) {
	stuck := func(ctx context.Context, r steps.Reporter) (steps.Report, error) {
		r.StepStarted(steps.Applying, "application")
		select {} // a run that ignores its context
	}
	tm, _, interrupts := runView(t, stuck)
	waitForScreen(t, tm, "Ctrl-C stops")
	tm.Send(press("ctrl+c"))
	waitForScreen(t, tm, "Ctrl-C again quits at once")
	tm.Send(press("ctrl+c"))
	v := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*progressView)
	if !v.quitAtOnce || interrupts.Load() != 1 {
		t.Errorf("quit at once %v after %d interrupts passed on; want the second Ctrl-C left to the caller", v.quitAtOnce, interrupts.Load())
	}
}

// SIGTERM reaches the program as a quit; it stops the run like the first Ctrl-C instead of dropping it.
func TestProgressViewSignalStops(t *testing.T) {
	tm, returned, _ := runView(t, fakeRun(nil))
	waitForScreen(t, tm, "waiting for Entra to replicate the new application")
	tm.Send(tea.QuitMsg{}) // what bubbletea makes of SIGTERM
	v := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*progressView)
	<-returned
	if !errors.Is(v.err, context.Canceled) || v.quitAtOnce || !strings.Contains(v.View().Content, "Run the same command again") {
		t.Errorf("err %v, quit at once %v:\n%s", v.err, v.quitAtOnce, v.View().Content)
	}
}

// ShowProgress on streams: keys from stdin, the view on stderr, nothing on stdout; the run's context ending
// stops it as a Ctrl-C does.
func TestShowProgressOnStreams(t *testing.T) {
	ios, _, out, errOut := Test()
	release := make(chan struct{})
	close(release)
	report, err := ShowProgress(t.Context(), ios, firstRunPlan(), nil, nil, fakeRun(release))
	if err != nil || len(report) != 11 {
		t.Fatalf("report %v, err %v", report, err)
	}
	// The renderer redraws only what changed, so the stream holds the first frame whole, later ones in parts.
	if out.Len() != 0 || !strings.Contains(errOut.String(), "Create the enterprise application") {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}

	ios, _, _, _ = Test()
	r, w := io.Pipe()
	defer w.Close()
	ios.In = r
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := ShowProgress(ctx, ios, firstRunPlan(), nil, nil, fakeRun(nil)); !errors.Is(err, context.Canceled) || errors.Is(err, ErrQuitAtOnce) {
		t.Errorf("context ended: %v", err)
	}

	ios, in, _, _ := Test()
	in.WriteString("\x03\x03")
	if _, err := ShowProgress(t.Context(), ios, firstRunPlan(), nil, nil, fakeRun(nil)); !errors.Is(err, ErrQuitAtOnce) {
		t.Errorf("two Ctrl-C: %v", err)
	}
}

// A step that did less than its plan said shows what it did, not the plan's words.
func TestProgressViewSaysWhatAStepDid(t *testing.T) {
	tm, _, _ := runView(t, func(ctx context.Context, r steps.Reporter) (steps.Report, error) {
		var report steps.Report
		for _, s := range firstRunPlan().Steps {
			if s.Step == "application" {
				r.(steps.DidReporter).StepDid(s.Step, "left enterprise application for later")
			}
			r.StepFinished(steps.Applying, s.Step, nil)
			report = append(report, steps.StepReport{Step: s.Step, Status: steps.StatusApplied})
		}
		return report, nil
	})
	v := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*progressView)
	out := ansi.Strip(v.View().Content)
	if !strings.Contains(out, "application: left enterprise application for later") || strings.Contains(out, `created enterprise application "Smallstep"`) {
		t.Errorf("final screen:\n%s", out)
	}
}

// A day-2 command's steps are listed as they are, without setup's procedure around them: teardown deleting the
// application is not "1 Create the enterprise application".
func TestProgressViewDayTwoIsFlat(t *testing.T) {
	del := func(typ, name string) steps.Change {
		return steps.Change{Resources: []steps.Resource{{Action: steps.Delete, Type: typ, Name: name}}}
	}
	plan := &steps.Plan{Steps: []steps.PlannedStep{
		{Step: "existing application", Change: steps.Change{Resources: []steps.Resource{{Action: steps.NoOp, Type: "enterprise application", Name: "Smallstep"}}}},
		{Step: "provisioning job", Change: del("provisioning job", "scim.1")},
		{Step: "application", Change: del("enterprise application", "Smallstep")},
	}}
	v := newProgressView(plan, theme{}, 80, time.Now)
	tm := teatest.NewTestModel(t, v, teatest.WithInitialTermSize(80, 24))
	go func() {
		var report steps.Report
		for _, s := range plan.Steps {
			tm.Send(stepMsg{phase: steps.Applying, step: s.Step, finished: true})
			report = append(report, steps.StepReport{Step: s.Step, Status: steps.StatusApplied})
		}
		tm.Send(applyDoneMsg{report: report})
	}()
	out := ansi.Strip(tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*progressView).View().Content)
	head, out, _ := strings.Cut(out, "\n\n")
	if !strings.HasPrefix(head, "Applied the plan in") {
		t.Errorf("head %q", head)
	}
	want := "  ✓ existing application: unchanged\n" +
		"  ✓ provisioning job: deleted provisioning job \"scim.1\"\n" +
		"  ✓ application: deleted enterprise application \"Smallstep\"\n"
	if out != want {
		t.Errorf("final screen:\n%s\nwant:\n%s", out, want)
	}
}
