package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/steps"
	"github.com/idpctl/idpctl/wizard"
	"github.com/idpctl/idpctl/wizard/wizardtest"
)

// invocation is how a test runs idpctl: its environment, what is typed on stdin, whether stdin and stderr
// are terminals.
type invocation struct {
	env   map[string]string
	stdin string
	tty   bool
	color bool
	width int // the terminal's columns, when not the streams' 80
	// ctx, when set, is the run's parent context, as newInterrupts gives it to Execute.
	ctx context.Context
	// answers, when set, answer the day-2 commands' plan screens in turn (true: apply); the plan each was
	// asked about is appended to asked.
	answers []bool
	asked   *[]*steps.Plan
	// prompter, when set, stands in for the forms; enter, when set, answers the real forms by pressing Enter.
	prompter wizard.Prompter
	enter    *wizardtest.Enter
	// choose, when set, answers provision's picker.
	choose func(ctx context.Context, ios *wizard.IOStreams, dir wizard.Directory, in steps.Inputs) (groups, users []string, err error)
}

// outcome is what a person or script sees of one run.
type outcome struct {
	code           int
	err            error
	stdout, stderr string
}

func (o outcome) String() string {
	return fmt.Sprintf("exit %d, error %v\n--- stdout\n%s\n--- stderr\n%s", o.code, o.err, o.stdout, o.stderr)
}

// execute runs the whole command tree as main does, with test streams, and maps the error to the exit code.
func execute(t *testing.T, inv invocation, args ...string) outcome {
	t.Helper()
	ios, in, out, errOut := wizard.Test()
	in.WriteString(inv.stdin)
	if inv.tty {
		ios.SetTTY(true, false, true)
	}
	ios.SetColor(inv.color)
	if inv.width > 0 {
		ios.SetWidth(inv.width)
	}
	f := &factory{IO: ios, Getenv: getenvFrom(inv.env), Prompter: inv.prompter, ChooseToProvision: inv.choose}
	if inv.answers != nil {
		answers := inv.answers
		f.ConfirmPlan = func(_ context.Context, _ *wizard.IOStreams, plan *steps.Plan) (bool, error) {
			if inv.asked != nil {
				*inv.asked = append(*inv.asked, plan)
			}
			if len(answers) == 0 {
				t.Fatal("a plan screen more than the test answers")
			}
			yes := answers[0]
			answers = answers[1:]
			return yes, nil
		}
	}
	if inv.enter != nil {
		forms := wizard.NewForms(ios)
		forms.RunForm = inv.enter.Run
		f.Prompter = forms
	}
	root := NewRootCmd(f)
	root.SetArgs(append([]string{}, args...)) // never nil: cobra would parse the test binary's own flags
	parent := inv.ctx
	if parent == nil {
		parent = t.Context()
	}
	ctx, cancel := context.WithTimeout(parent, 2*time.Minute)
	defer cancel()
	err := whyStopped(ctx, root.ExecuteContext(ctx))
	return outcome{code: exitCode(err), err: err, stdout: out.String(), stderr: errOut.String()}
}

func getenvFrom(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"done", nil, 0},
		{"failed", errors.New("Graph answered 500"), 1},
		{"bad usage", usageErrorf("--output %q: use text or json", "yaml"), 2},
		{"bad input", fmt.Errorf("planning application: %w", &steps.InputError{Problems: []string{"--app-id: ..."}}), 2},
		{"cancelled", errCancelled, 2},
		{"interrupted", fmt.Errorf("application: %w", context.Canceled), 2},
		{"pending changes", errPendingChanges, 8},
	}
	for _, c := range cases {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("%s: exit code %d, want %d", c.name, got, c.want)
		}
	}
}

func TestVersion(t *testing.T) {
	o := execute(t, invocation{}, "version")
	// A test binary carries no module version, link flags or VCS stamp: the version is "dev", nothing else known.
	if o.code != 0 || o.stdout != "idpctl dev\n" {
		t.Errorf("version: %v", o)
	}
}

func TestUnknownFlagOrArgumentIsBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"setup", "entra", "--tenant", "x"},
		{"setup", "entra", "--timeout", "soon"},
		{"setup", "entra", "extra-argument"},
		{"sandbox", "--latency", "slow"},
		{"sandbox", "extra-argument"},
	} {
		o := execute(t, invocation{}, args...)
		if o.code != exitUsage {
			t.Errorf("%q: %v; want exit 2", args, o)
		}
	}
}

func TestCommandsHaveHelp(t *testing.T) {
	for _, args := range [][]string{{"setup", "entra", "--help"}, {"sandbox", "--help"}} {
		o := execute(t, invocation{}, args...)
		if o.code != 0 || !strings.Contains(o.stdout, "Usage:") || !strings.Contains(o.stdout, "Examples:") {
			t.Errorf("%q: %v", args, o)
		}
	}
}

func TestMistypedSubcommand(t *testing.T) {
	o := execute(t, invocation{}, "setup", "entar")
	if o.code != exitUsage || !strings.Contains(o.err.Error(), `"entar"`) || !strings.Contains(o.err.Error(), "did you mean entra?") {
		t.Errorf("setup entar: %v; want exit 2 suggesting entra", o)
	}
	if o := execute(t, invocation{}, "setup"); o.code != 0 || !strings.Contains(o.stdout, "entra") {
		t.Errorf("setup alone: %v; want its help", o)
	}
}
