package wizard_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idpctl/idpctl/steps"
	"github.com/idpctl/idpctl/wizard"
)

// step is a step whose Apply the test decides.
type step struct {
	name   string
	change steps.Change
	apply  func(ctx context.Context) error
}

func (s *step) String() string                                         { return s.name }
func (s *step) Sets(steps.Phase, *steps.Outputs) []steps.Slot          { return nil }
func (s *step) Plan(context.Context, *steps.Env) (steps.Change, error) { return s.change, nil }
func (s *step) Apply(ctx context.Context, _ *steps.Env, _ steps.Change) error {
	if s.apply == nil {
		return nil
	}
	return s.apply(ctx)
}

func creates(typ, name string) steps.Change {
	return steps.Change{Resources: []steps.Resource{{Action: steps.Create, Type: typ, Name: name}}}
}

// applyWithLines plans and applies the steps through a real runner with Lines as its reporter and returns
// what Lines wrote on stderr, sorted (the steps run concurrently).
func applyWithLines(t *testing.T, color bool, list ...steps.Step) []string {
	t.Helper()
	ios, _, out, errOut := wizard.Test()
	ios.SetColor(color)
	lines := wizard.NewLines(ios)
	env := &steps.Env{Reporter: lines}
	runner := &steps.Runner{Steps: list}
	plan, err := runner.Plan(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	if errOut.Len() != 0 {
		t.Errorf("planning printed %q; Lines reports applying only", errOut)
	}
	lines.SetPlan(plan)
	_, _ = runner.Apply(t.Context(), env, plan)
	if out.Len() != 0 {
		t.Errorf("progress went to stdout: %q", out)
	}
	got := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
	slices.Sort(got)
	return got
}

func TestLinesAppliedFailedStopped(t *testing.T) {
	failing := &step{name: "client secret", change: creates("client secret", "idpctl 2026-11-29"),
		apply: func(context.Context) error {
			return errors.New("adding the client secret:\n  Graph answered 409 Directory_ConcurrencyViolation")
		}}
	waiting := &step{name: "provisioning job", change: creates("provisioning job", "scim template"),
		apply: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	done := &step{name: "application", change: creates("enterprise application", "Smallstep")}
	unchanged := &step{name: "admin consent"}

	for _, c := range []struct {
		color bool
		want  []string
	}{
		{false, []string{
			`- provisioning job           stopped`,
			`✓ admin consent              unchanged`,
			`✓ application                created enterprise application "Smallstep"`,
			`✗ client secret              adding the client secret: Graph answered 409 Directory_ConcurrencyViolation`,
		}},
		{true, []string{
			"\x1b[2m-\x1b[0m provisioning job           stopped",
			"\x1b[31m✗\x1b[0m client secret              adding the client secret: Graph answered 409 Directory_ConcurrencyViolation",
			"\x1b[32m✓\x1b[0m admin consent              unchanged",
			"\x1b[32m✓\x1b[0m application                created enterprise application \"Smallstep\"",
		}},
	} {
		got := applyWithLines(t, c.color, unchanged, done, failing, waiting)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("colour %v: lines\n%s\nwant\n%s", c.color, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func TestLinesCancelledRunShowsStopped(t *testing.T) {
	ios, _, _, errOut := wizard.Test()
	lines := wizard.NewLines(ios)
	lines.SetPlan(&steps.Plan{Steps: []steps.PlannedStep{{Step: "application", Change: creates("enterprise application", "Smallstep")}}})
	// The person pressed Ctrl-C: the step ends with the context's error, which is no failure of the step.
	lines.StepFinished(steps.Applying, "application", context.Canceled)
	if got, want := errOut.String(), "- application                stopped\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLinesProgress(t *testing.T) {
	for _, c := range []struct {
		color bool
		want  string
	}{
		{false, "  application: created \"Smallstep\"; waiting until Graph serves it\n"},
		{true, "  \x1b[2mapplication: created \"Smallstep\"; waiting until Graph serves it\x1b[0m\n"},
	} {
		ios, _, out, errOut := wizard.Test()
		ios.SetColor(c.color)
		lines := wizard.NewLines(ios)
		lines.Progress("application", "created \"Smallstep\";\n   waiting until Graph serves it")
		lines.StepStarted(steps.Applying, "application")
		lines.StepFinished(steps.Planning, "application", nil)
		if errOut.String() != c.want {
			t.Errorf("colour %v: %q, want %q", c.color, errOut, c.want)
		}
		if out.Len() != 0 {
			t.Errorf("progress on stdout: %q", out)
		}
	}
}

// Progress lines and the --debug request log write to stderr from concurrent steps: through ErrWriter every
// line arrives whole (and `go test -race` sees no unsynchronised write to the buffer).
func TestErrWriterSerialisesConcurrentWriters(t *testing.T) {
	ios, _, _, errOut := wizard.Test()
	lines := wizard.NewLines(ios)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				fmt.Fprintf(ios.ErrWriter(), "debug %d %d\n", i, j)
				lines.Progress("step", fmt.Sprintf("%d %d", i, j))
			}
		})
	}
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
	if len(got) != 400 {
		t.Fatalf("%d lines, want 400", len(got))
	}
	for _, line := range got {
		if !regexp.MustCompile(`^(debug \d+ \d+|  step: \d+ \d+)$`).MatchString(line) {
			t.Errorf("mangled line %q", line)
		}
	}
}

// A wait is one line when it starts, whatever its retries; a wait that ended and starts again is said again.
func TestLinesWaiting(t *testing.T) {
	ios, _, out, errOut := wizard.Test()
	lines := wizard.NewLines(ios)
	replication := steps.Wait{Reason: steps.WaitReplication, Object: "the new application", RetryIn: time.Second}
	lines.Waiting("application", replication)
	replication.RetryIn = 2 * time.Second
	lines.Waiting("application", replication)
	lines.Waiting("assignments", steps.Wait{Reason: steps.WaitThrottled, RetryIn: 3500 * time.Millisecond})
	lines.Waiting("assignments", steps.Wait{Reason: steps.WaitThrottled, RetryIn: 8 * time.Second})
	lines.Waiting("application", steps.Wait{Reason: steps.WaitReplication, Object: "the new application", Over: true})
	lines.Waiting("application", replication)
	lines.Waiting("confirm users arrived", steps.Wait{Reason: steps.WaitRateLimit, Object: "on-demand provisioning", RetryIn: 2 * time.Second})
	want := "  application: waiting for Entra to replicate the new application\n" +
		"  assignments: Graph is throttling: retrying in 4 s\n" +
		"  application: waiting for Entra to replicate the new application\n" +
		"  confirm users arrived: keeping to Graph's rate limit for on-demand provisioning: next call in 2 s\n"
	if got := errOut.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if out.Len() != 0 {
		t.Errorf("waits on stdout: %q", out)
	}
}

// A step that did less than its plan said finishes with what it did.
func TestLinesSayWhatAStepDid(t *testing.T) {
	ios, _, _, errOut := wizard.Test()
	lines := wizard.NewLines(ios)
	lines.SetPlan(&steps.Plan{Steps: []steps.PlannedStep{{Step: "owners and admins", Change: steps.Change{
		Resources: []steps.Resource{{Action: steps.Update, Type: "SaaS role", Name: "admin@contoso.com"}}}}}})
	var r steps.Reporter = lines
	r.(steps.DidReporter).StepDid("owners and admins", `left SaaS role "admin@contoso.com" for later`)
	lines.StepFinished(steps.Applying, "owners and admins", nil)
	if got, want := errOut.String(), "✓ owners and admins          left SaaS role \"admin@contoso.com\" for later\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
