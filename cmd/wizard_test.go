package cmd

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/steps"
	"github.com/idpctl/idpctl/wizard"
	"github.com/idpctl/idpctl/wizard/wizardtest"
)

// arrived lists the users the result says arrived.
func textArrived(stdout string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^  arrived  (\S+)`).FindAllStringSubmatch(stdout, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return out
}

// `idpctl setup entra --sandbox </dev/null`: no terminal, no flags, no questions; the defaults complete the
// setup, in plain lines, and no state file is left in the user's state directory.
func TestSandboxWithoutTerminalCompletesWithDefaults(t *testing.T) {
	state := t.TempDir()
	o := execute(t, invocation{env: map[string]string{"XDG_STATE_HOME": state}}, "setup", "entra", "--sandbox")
	if o.code != 0 {
		t.Fatalf("%v", o)
	}
	if got := textArrived(o.stdout); !slices.Equal(got, []string{"adele.vance@contoso.onmicrosoft.com", "lee.gu@contoso.onmicrosoft.com", "megan.bowen@contoso.onmicrosoft.com"}) {
		t.Errorf("arrived %v\n%s", got, o.stdout)
	}
	if strings.Contains(o.stderr+o.stdout, "\x1b") {
		t.Errorf("escape codes without a terminal:\n%s", o.stderr)
	}
	if entries, _ := os.ReadDir(filepath.Join(state, "idpctl")); len(entries) != 0 {
		t.Errorf("the sandbox left state in the user's state directory: %v", entries)
	}
}

// `idpctl setup entra --sandbox` in a terminal needs no flags: Enter on every screen (each takes its default;
// the picker has "Smallstep Users" preselected) and y to the plan end with the users arrived.
func TestSandboxEnterThroughEveryScreen(t *testing.T) {
	state := t.TempDir()
	enter := &wizardtest.Enter{}
	o := execute(t, invocation{tty: true, stdin: "y", enter: enter, env: map[string]string{"XDG_STATE_HOME": state}}, "setup", "entra", "--sandbox")
	for i, s := range enter.Screens {
		t.Logf("screen %d:\n%s", i+1, s)
	}
	if o.code != 0 {
		t.Fatalf("%v", o)
	}
	if got := textArrived(o.stdout); !slices.Equal(got, []string{"adele.vance@contoso.onmicrosoft.com", "lee.gu@contoso.onmicrosoft.com", "megan.bowen@contoso.onmicrosoft.com"}) {
		t.Errorf("arrived %v\n%s", got, o.stdout)
	}
	if len(enter.Screens) < 3 || !strings.Contains(enter.Screens[1], "[x] Smallstep Users") {
		t.Errorf("the picker did not show Smallstep Users preselected: %q", enter.Screens)
	}
	if !strings.Contains(o.stderr, "Apply these changes? Yes") || !strings.Contains(o.stderr, "idpctl setup entra --sandbox") {
		t.Errorf("stderr lacks the confirmed plan or the command to repeat the run:\n%s", o.stderr)
	}
	if entries, _ := os.ReadDir(filepath.Join(state, "idpctl")); len(entries) != 0 {
		t.Errorf("the sandbox left state in the user's state directory: %v", entries)
	}
}

// Accessible mode completes a whole setup on the sandbox from answers piped on stdin: searched and chosen in the
// picker, the backend and secret lifetime by their defaults.
func TestAccessibleSandboxFromPipedAnswers(t *testing.T) {
	answers := strings.Join([]string{
		"",      // application name: Smallstep
		"grady", // search
		"1",     // Grady Archie, besides the preselected Smallstep Users
		"",      // continue
		"",      // backend: the sandbox's registration API
		"",      // its URL
		"", "",  // no Owners, no Admins
		"", // secret lifetime: 180 days
	}, "\n") + "\n"
	for _, inv := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"--accessible", nil, []string{"--accessible"}},
		{"ACCESSIBLE=1", map[string]string{"ACCESSIBLE": "1"}, nil},
	} {
		t.Run(inv.name, func(t *testing.T) {
			o := execute(t, invocation{stdin: answers, env: inv.env}, append([]string{"setup", "entra", "--sandbox"}, inv.args...)...)
			if o.code != 0 {
				t.Fatalf("%v", o)
			}
			want := []string{"adele.vance@contoso.onmicrosoft.com", "grady.archie@contoso.onmicrosoft.com", "lee.gu@contoso.onmicrosoft.com", "megan.bowen@contoso.onmicrosoft.com"}
			if got := textArrived(o.stdout); !slices.Equal(got, want) {
				t.Errorf("arrived %v, want %v\n%s", got, want, o)
			}
			for _, s := range []string{
				"Selected: Smallstep Users (group)\n",
				"Search for a group or user (Enter to continue): grady\n1. [ ] Grady Archie (grady.archie@contoso.onmicrosoft.com)\n",
				"idpctl setup entra --sandbox --assign-group 'Smallstep Users' --assign-user grady.archie@contoso.onmicrosoft.com",
			} {
				if !strings.Contains(strings.ReplaceAll(o.stderr, " \\\n    ", " "), s) {
					t.Errorf("stderr lacks %q:\n%s", s, o.stderr)
				}
			}
			if strings.Contains(o.stderr, "\x1b") || strings.Contains(o.stdout, "Type to search") {
				t.Errorf("escape codes or questions out of place:\n%s", o)
			}
		})
	}
}

// Flags that make a whole setup are not questioned, even on a terminal: the prompter is asked for nothing.
func TestCompleteFlagsAreNotQuestioned(t *testing.T) {
	tn := newTenant(t)
	asked := &recordingPrompter{}
	o := executeWith(t, invocation{env: tn.env()}, asked, tn.manual("--accessible", "--yes")...)
	if o.code != 0 {
		t.Fatalf("%v", o)
	}
	if len(asked.fills) != 1 || !asked.fills[0].Complete {
		t.Errorf("fill requests %+v; want one, marked complete", asked.fills)
	}
}

// A sign-in that fails offers the other methods; the one chosen is used, and the command to repeat the run names
// it.
func TestSignInFailureOffersMethods(t *testing.T) {
	tn := newTenant(t)
	p := &recordingPrompter{method: graph.MethodToken}
	args := slices.DeleteFunc(tn.manual("--accessible", "--yes", "--auth", "environment"), func(s string) bool { return s == "token" })
	args = slices.Delete(args, slices.Index(args, "--auth"), slices.Index(args, "--auth")+1)
	o := executeWith(t, invocation{env: tn.env()}, p, args...)
	if o.code != 0 {
		t.Fatalf("%v", o)
	}
	if len(p.failures) != 1 || !strings.Contains(p.failures[0], "AZURE_") {
		t.Errorf("sign-in failures shown: %q", p.failures)
	}
	_, sp, _ := tn.app()
	if n := len(tn.sb.Tenant.AppRoleAssignments(sp.ID)); n != 1 {
		t.Errorf("%d assignments after signing in the second way", n)
	}
}

// recordingPrompter stands in for the forms: it records what it is asked and answers sign-in failures with
// method.
type recordingPrompter struct {
	method   graph.Method
	failures []string
	fills    []wizard.FillRequest
}

func (r *recordingPrompter) Precheck(in steps.Inputs) error { return in.CheckGiven() }

func (r *recordingPrompter) SignInFailed(_ context.Context, failure error) (graph.Method, error) {
	r.failures = append(r.failures, failure.Error())
	if r.method == "" || len(r.failures) > 1 {
		return "", failure
	}
	return r.method, nil
}

func (r *recordingPrompter) Fill(_ context.Context, req wizard.FillRequest) error {
	r.fills = append(r.fills, req)
	return nil
}

func executeWith(t *testing.T, inv invocation, p wizard.Prompter, args ...string) outcome {
	t.Helper()
	inv.prompter = p
	return execute(t, inv, args...)
}

// Accessible mode against a tenant: the SCIM URL and token are asked for, the token read without echo and
// tested at once, and the run sets up exactly what was answered.
func TestAccessibleManualSetup(t *testing.T) {
	tn := newTenant(t)
	token := tn.sb.SCIMToken.Reveal()
	answers := strings.Join([]string{
		"",            // application name: Smallstep
		"lee",         // search
		"1",           // Lee Gu
		"",            // continue
		"",            // backend: manual
		"2",           // the SCIM URL and token: I have them
		tn.sb.SCIMURL, // URL
		token,         // token, tested at once
		tn.secretOut,  // where the client secret goes
		"1",           // lifetime: 90 days
	}, "\n") + "\n"
	args := []string{"setup", "entra", "--accessible", "--yes", "--graph-url", tn.sb.GraphURL, "--auth", "token", "--state-dir", tn.stateDir}
	o := tn.run(invocation{stdin: answers, env: map[string]string{"IDPCTL_ACCESS_TOKEN": tn.sb.AccessToken.Reveal()}}, args...)
	if o.code != 0 {
		t.Fatalf("%v", o)
	}
	if strings.Contains(o.stderr+o.stdout, token) {
		t.Error("the SCIM token was echoed")
	}
	for _, s := range []string{"Testing the SCIM endpoint as Entra will use it", "ok      user filter", "SCIM endpoint " + tn.sb.SCIMURL} {
		if !strings.Contains(o.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, o.stderr)
		}
	}
	app, sp, _ := tn.app()
	assigned := tn.sb.Tenant.AppRoleAssignments(sp.ID)
	if len(assigned) != 1 || assigned[0].PrincipalDisplayName != "Lee Gu" {
		t.Errorf("assignments %+v", assigned)
	}
	if p := app.PasswordCredentials; len(p) != 1 || p[0].EndDateTime.Sub(p[0].StartDateTime).Hours() != 90*24 {
		t.Errorf("client secret %+v, want one of 90 days", app.PasswordCredentials)
	}
	if _, err := os.Stat(tn.secretOut); err != nil {
		t.Errorf("secret file: %v", err)
	}
}

// A --sandbox run handed over by hand prints a command to repeat it that names none of this run's simulated
// values (its SCIM URL's port is another in the next run), and that command, run as printed, sets up a new
// sandbox the same way.
func TestSandboxManualRunRepeats(t *testing.T) {
	answers := strings.Join([]string{
		"",  // application name: Smallstep
		"",  // continue with the preselected Smallstep Users
		"1", // backend: I paste them into the SaaS myself
		"",  // the sandbox's SCIM URL
		"",  // and its token
		"",  // secret lifetime: 180 days
	}, "\n") + "\n"
	secretOut := filepath.Join(t.TempDir(), "client-secret")
	o := execute(t, invocation{stdin: answers}, "setup", "entra", "--sandbox", "--accessible", "--secret-out", secretOut)
	if o.code != 0 {
		t.Fatalf("%v", o)
	}
	_, after, _ := strings.Cut(o.stderr, "To run this setup again without questions:\n")
	printed, _, _ := strings.Cut(after, "\n\n")
	if strings.Contains(printed, "127.0.0.1") || strings.Contains(printed, "--scim-url") || strings.Contains(printed, "IDPCTL_SCIM_TOKEN") {
		t.Errorf("the command names this run's simulated SCIM endpoint:\n%s", printed)
	}
	command, _, _ := strings.Cut(printed, "\nwith ") // the secrets' variables, if any
	argv := posixWords(t, strings.ReplaceAll(command, "\\\n", " "))
	if len(argv) < 3 || argv[0] != "idpctl" || !slices.Contains(argv, "--backend") {
		t.Fatalf("printed command %q", argv)
	}
	again := execute(t, invocation{}, argv[1:]...)
	if again.code != 0 {
		t.Fatalf("the printed command failed: %v", again)
	}
	if got := textArrived(again.stdout); len(got) != 3 {
		t.Errorf("arrived %v after the printed command", got)
	}
}

// posixWords splits a command line as a POSIX shell does for what idpctl prints: words and 'single-quoted'
// strings.
func posixWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	for _, field := range regexp.MustCompile(`'[^']*'|[^\s']+`).FindAllString(line, -1) {
		words = append(words, strings.Trim(field, "'"))
	}
	return words
}

// On a 40-column terminal the sandbox's plain line wraps at spaces like the others, its URL whole.
func TestSandboxLineWraps(t *testing.T) {
	o := execute(t, invocation{tty: true, width: 40}, "setup", "entra", "--sandbox", "--non-interactive", "--dry-run")
	if o.code != 0 {
		t.Fatalf("%v", o)
	}
	head, _, _ := strings.Cut(o.stderr, "/v1.0\n")
	lines := strings.Split(head+"/v1.0", "\n")
	if !strings.HasPrefix(lines[0], "Sandbox: simulated tenant") || !regexp.MustCompile(`^  at http://127\.0\.0\.1:\d+/v1\.0$`).MatchString(lines[len(lines)-1]) {
		t.Errorf("the sandbox line, wrapped:\n%s", o.stderr)
	}
	for _, l := range lines {
		if len(l) > 40 {
			t.Errorf("a line of %d columns at 40: %q", len(l), l)
		}
	}
}
