package wizard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/steps"
	"github.com/idpctl/idpctl/wizard/wizardtest"
)

// defaults are the inputs before any flag: what the flags' defaults give.
func defaultInputs() steps.Inputs {
	return steps.Inputs{AppName: steps.DefaultAppName, RedirectURI: steps.DefaultRedirectURI, Backend: backend.NameManual,
		SecretExpiry: steps.DefaultSecretExpiry}
}

func testCommandLine(in steps.Inputs) ([]string, []string) {
	argv := []string{"idpctl", "setup", "entra", "--app-name", in.AppName}
	for _, g := range in.AssignGroups {
		argv = append(argv, "--assign-group", g)
	}
	return append(argv, "--non-interactive", "--yes"), []string{"IDPCTL_SCIM_TOKEN"}
}

func nothingGiven(string) bool { return false }

// Accessible mode: every question is a line prompt, answered here from stdin as a pipe would; the answers fill
// the inputs, the transcript has no escape code, and the summary gives the command to run it without questions.
func TestAccessibleFillFromPipedAnswers(t *testing.T) {
	ios, in, out, errOut := Test()
	ios.SetAccessible(true)
	ios.SetColor(true) // accessible mode writes plain lines even where colour is possible
	secretFile := filepath.Join(t.TempDir(), "client-secret")
	in.WriteString(strings.Join([]string{
		"Contoso SSO", // application name
		"smalstep",    // a misspelt search: did you mean…
		"1",           // …Smallstep Users
		"adele",       // another search
		"1",           // Adele Vance
		"",            // continue with both
		"",            // backend: manual (the default)
		"",            // SCIM URL and token: not yet (the default)
		"2",           // client secret: to a file
		secretFile,    // the file
		"3",           // lifetime: 1 year
	}, "\n") + "\n")
	inputs := defaultInputs()
	f := NewForms(ios)
	err := f.Fill(t.Context(), FillRequest{Inputs: &inputs, Given: nothingGiven, Directory: demoDirectory(), CommandLine: testCommandLine, HandOff: true,
		SignedIn: func(context.Context) ([]string, error) {
			return []string{"Signed in as admin@contoso.onmicrosoft.com in tenant Contoso: role Global Administrator"}, nil
		}})
	transcript := errOut.String()
	t.Log(transcript)
	if err != nil {
		t.Fatal(err)
	}
	want := defaultInputs()
	want.AppName, want.AssignGroups, want.AssignUsers = "Contoso SSO", []string{"Smallstep Users"}, []string{"adele.vance@contoso.onmicrosoft.com"}
	want.HandOffAtTerminal, want.SecretOut, want.SecretExpiry = true, secretFile, 365*24*time.Hour
	if !reflect.DeepEqual(inputs, want) {
		t.Errorf("inputs\n%+v\nwant\n%+v", inputs, want)
	}
	for _, line := range []string{
		"Signed in as admin@contoso.onmicrosoft.com in tenant Contoso: role Global Administrator\n",
		"Name of the enterprise application (Enter for Smallstep) Contoso SSO\n",
		"Search for a group or user (Enter to continue): smalstep\n",
		"No match for \"smalstep\". Did you mean:\n1. [ ] Smallstep Users (group · 3 members)\n",
		"Selected: Smallstep Users (group), Adele Vance (user)\n",
		"How does the SaaS get the single sign-on settings? (Enter for: I paste them into the SaaS myself (Smallstep today))",
		"Owners and Admins: set them in the SaaS after the first sign-in",
		"To run this setup again without questions:\n  idpctl setup entra --app-name 'Contoso SSO' --assign-group 'Smallstep Users' \\\n    --non-interactive --yes\n",
		"with the secrets in the environment: IDPCTL_SCIM_TOKEN\n",
	} {
		if !strings.Contains(transcript, line) {
			t.Errorf("transcript lacks %q", line)
		}
	}
	if strings.Contains(transcript, "\x1b") {
		t.Error("escape codes in accessible mode")
	}
	if out.Len() != 0 {
		t.Errorf("questions on stdout: %q", out)
	}
}

// Stdin that ends before a required answer is an error naming the question, not a run with a made-up answer.
func TestAccessibleFillStdinEnds(t *testing.T) {
	ios, in, _, _ := Test()
	ios.SetAccessible(true)
	in.WriteString("\n") // the name's default, then nothing
	inputs := defaultInputs()
	err := NewForms(ios).Fill(t.Context(), FillRequest{Inputs: &inputs, Given: nothingGiven, Directory: demoDirectory()})
	if err == nil || !strings.Contains(err.Error(), "stdin ended") || !strings.Contains(err.Error(), "choose at least one group or user") {
		t.Errorf("err = %v", err)
	}
}

// A SCIM token pasted in accessible mode is tested at once and never echoed; a failing probe's diagnosis is
// shown and the admin may enter the values again.
func TestAccessibleSCIMProbe(t *testing.T) {
	ios, in, _, errOut := Test()
	ios.SetAccessible(true)
	const token = "scim-token-9f8e7d6c5b4a"
	in.WriteString(strings.Join([]string{
		"https://scim.example.com/scim/v2/", // URL (no hand-off at this terminal: asked at once)
		"wrong-token",                       // token
		"n",                                 // enter them again? no: keep… (Confirm: n is "Keep them")
	}, "\n") + "\n")
	_ = token
	inputs := defaultInputs()
	inputs.AssignGroups = []string{"Smallstep Users"}
	probes := 0
	given := func(flag string) bool { return flag == "backend" || flag == "secret-out" || flag == "secret-expiry" }
	inputs.SecretOut = "client-secret"
	err := NewForms(ios).Fill(t.Context(), FillRequest{Inputs: &inputs, Given: func(flag string) bool {
		return given(flag) || flag == "app-name" || flag == "assign-group"
	}, Directory: demoDirectory(),
		ProbeSCIM: func(_ context.Context, scim backend.SCIM) (backend.ProbeReport, error) {
			probes++
			if scim.Token.Reveal() != "wrong-token" || scim.BaseURL != "https://scim.example.com/scim/v2/" {
				t.Errorf("probed %s with another token", scim.BaseURL)
			}
			return backend.ProbeReport{BaseURL: scim.BaseURL, Checks: []backend.ProbeCheck{{Name: "user filter", Request: "GET " + scim.BaseURL + "Users?filter=...", Status: 401, Result: backend.CheckFailed, Problem: "the token was refused"}}},
				fmt.Errorf("the SCIM endpoint refused the token (401): copy the token again from the SaaS")
		}})
	transcript := errOut.String()
	t.Log(transcript)
	if err != nil {
		t.Fatal(err)
	}
	if probes != 1 || inputs.SCIMToken.Reveal() != "wrong-token" || inputs.SCIMURL != "https://scim.example.com/scim/v2/" {
		t.Errorf("probes %d, inputs %+v", probes, inputs)
	}
	for _, s := range []string{"Testing the SCIM endpoint", "failed  user filter", "the token was refused", "copy the token again"} {
		if !strings.Contains(transcript, s) {
			t.Errorf("transcript lacks %q", s)
		}
	}
	if strings.Contains(transcript, "wrong-token") {
		t.Error("the token was echoed")
	}
	_ = secret.Value{}
}

// key presses as a terminal sends them.
func keyEnter() tea.Msg { return tea.KeyPressMsg{Code: tea.KeyEnter} }
func keyTab() tea.Msg   { return tea.KeyPressMsg{Code: tea.KeyTab} }
func keyDown() tea.Msg  { return tea.KeyPressMsg{Code: tea.KeyDown} }

func typedKeys(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		out = append(out, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return out
}

// formScreen is what a test does on one form: the keys before the snapshot, then the keys that answer it.
type formScreen struct {
	keys   []tea.Msg
	answer []tea.Msg
}

// scriptedForms runs each form of Fill from a script, at a width and colour, and collects each formScreen as a
// terminal would show it just before it is answered.
func scriptedForms(t *testing.T, f *Forms, width int, color bool, script []formScreen, shots *strings.Builder) {
	n := 0
	f.RunForm = func(ctx context.Context, form *huh.Form) error {
		if n >= len(script) {
			t.Fatalf("screen %d was not expected", n+1)
		}
		s := script[n]
		n++
		var m huh.Model = form
		m, cmd := m.Update(tea.WindowSizeMsg{Width: width, Height: 24})
		m = wizardtest.Drive(m, cmd)
		m = wizardtest.Drive(m, form.Init())
		for _, k := range s.keys {
			next, cmd := m.Update(k)
			m = wizardtest.Drive(next, cmd)
		}
		profile := colorprofile.NoTTY
		if color {
			profile = colorprofile.ANSI256
		}
		var b strings.Builder
		w := &colorprofile.Writer{Forward: &b, Profile: profile}
		fmt.Fprint(w, form.View())
		fmt.Fprintf(shots, "=== screen %d\n%s\n", n, strings.TrimRight(b.String(), " \n"))
		for _, line := range strings.Split(b.String(), "\n") {
			if lipgloss.Width(line) > width {
				t.Errorf("screen %d: a line of %d columns at width %d: %q", n, lipgloss.Width(line), width, line)
			}
		}
		for _, k := range s.answer {
			next, cmd := m.Update(k)
			m = wizardtest.Drive(next, cmd)
		}
		if form.State != huh.StateCompleted {
			return fmt.Errorf("screen %d was not answered:\n%s", n, form.View())
		}
		return nil
	}
	t.Cleanup(func() {
		if n != len(script) {
			t.Errorf("%d screens shown, the script has %d", n, len(script))
		}
	})
}

// atEachSize runs a form test at 40, 80 and 120 columns, with and without colour, on forms that search at
// once (no pause after a keystroke).
func atEachSize(t *testing.T, test func(t *testing.T, f *Forms, errOut *bytes.Buffer, width int, color bool)) {
	for _, width := range []int{40, 80, 120} {
		for _, color := range []bool{false, true} {
			t.Run(fmt.Sprintf("w%d-color-%v", width, color), func(t *testing.T) {
				ios, _, _, errOut := Test()
				ios.SetWidth(width)
				ios.SetColor(color)
				f := NewForms(ios)
				f.Debounce = 0
				test(t, f, errOut, width, color)
			})
		}
	}
}

// The forms on a terminal, driven by key presses without one, at 40, 80 and 120 columns with and without
// colour: the application name, the picker searching as the admin types (a group preselected, member counts,
// UPNs), the backend, the SCIM question, where the secret goes and its lifetime.
func TestFormScreensGolden(t *testing.T) {
	atEachSize(t, func(t *testing.T, f *Forms, errOut *bytes.Buffer, width int, color bool) {
		dir := demoDirectory()
		var shots strings.Builder
		scriptedForms(t, f, width, color, []formScreen{
			{answer: []tea.Msg{keyEnter()}},                                             // the name: Smallstep
			{keys: typedKeys("sm"), answer: []tea.Msg{keyDown(), keyTab(), keyEnter()}}, // + Smallstep Admins
			{answer: []tea.Msg{keyEnter()}},                                             // backend: manual
			{answer: []tea.Msg{keyEnter()}},                                             // SCIM: not yet
			{answer: []tea.Msg{keyEnter()}},                                             // secret: on formScreen
			{keys: []tea.Msg{keyDown()}, answer: []tea.Msg{keyEnter()}},                 // lifetime: 1 year
		}, &shots)
		inputs := defaultInputs()
		inputs.AssignGroups = []string{"Smallstep Users"} // the sandbox's default, preselected
		err := f.Fill(t.Context(), FillRequest{Inputs: &inputs, Given: nothingGiven, Directory: dir, CommandLine: testCommandLine, HandOff: true})
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		golden.RequireEqual(t, shots.String()+"=== after\n"+errOut.String())
		if got := strings.Join(inputs.AssignGroups, ","); got != "Smallstep Users,Smallstep Admins" {
			t.Errorf("groups %q", got)
		}
		if !inputs.HandOffAtTerminal || inputs.SecretOut != "" || inputs.SecretExpiry != 365*24*time.Hour {
			t.Errorf("inputs %+v", inputs)
		}
		if hasEscapes := strings.Contains(shots.String()+errOut.String(), "\x1b"); hasEscapes != color {
			t.Errorf("colour %v, escape codes %v", color, hasEscapes)
		}
	})
}

// Answers given as flags are not asked again: with everything given, Fill asks nothing and prints nothing.
func TestFillAsksOnlyWhatIsMissing(t *testing.T) {
	ios, _, _, errOut := Test()
	f := NewForms(ios)
	f.RunForm = func(context.Context, *huh.Form) error {
		t.Error("a form was shown although every input was given")
		return nil
	}
	inputs := defaultInputs()
	inputs.AssignGroups, inputs.SCIMURL, inputs.SCIMToken, inputs.SecretOut = []string{"Engineering"}, "https://scim.example.com/v2", secret.New("tok-123456"), "s.txt"
	err := f.Fill(t.Context(), FillRequest{Inputs: &inputs, Given: func(string) bool { return true }, Directory: demoDirectory(), CommandLine: testCommandLine})
	if err != nil {
		t.Fatal(err)
	}
	if errOut.Len() != 0 {
		t.Errorf("printed %q", errOut)
	}
}

// Several applications share the name: the admin chooses one, which becomes --app-id.
func TestFillSameNameApplications(t *testing.T) {
	ios, in, _, _ := Test()
	ios.SetAccessible(true)
	dir := demoDirectory()
	dir.apps = []graph.Application{
		{DisplayName: "Smallstep", AppID: "aaaaaaaa-0000-0000-0000-000000000001", Tags: []string{steps.Tag}},
		{DisplayName: "Smallstep", AppID: "aaaaaaaa-0000-0000-0000-000000000002"},
	}
	in.WriteString("\n2\n")
	inputs := defaultInputs()
	given := func(flag string) bool { return flag != "app-name" && flag != "app-id" }
	inputs.AssignGroups, inputs.SCIMURL, inputs.SCIMToken, inputs.SecretOut = []string{"Engineering"}, "https://scim.example.com/v2", secret.New("tok-123456"), "s.txt"
	if err := NewForms(ios).Fill(t.Context(), FillRequest{Inputs: &inputs, Given: given, Directory: dir}); err != nil {
		t.Fatal(err)
	}
	if inputs.AppID != "aaaaaaaa-0000-0000-0000-000000000002" {
		t.Errorf("app id %q", inputs.AppID)
	}
}

// The other screens, at the same widths and colours: the sign-in methods after a failed sign-in, then, with
// the application and the groups given as flags, the backend's registration API (URL and masked token on one
// screen), and the Owners and Admins pickers, which search users only.
func TestMoreFormScreensGolden(t *testing.T) {
	atEachSize(t, func(t *testing.T, f *Forms, errOut *bytes.Buffer, width int, color bool) {
		var shots strings.Builder
		scriptedForms(t, f, width, color, []formScreen{
			{answer: []tea.Msg{keyDown(), keyEnter()}}, // sign in: environment
			{answer: []tea.Msg{keyDown(), keyEnter()}}, // backend: http
			{keys: typedKeys("https://saas.example.com"), answer: append([]tea.Msg{keyEnter()}, append(typedKeys("tok-123456"), keyEnter())...)},
			{keys: typedKeys("ad"), answer: []tea.Msg{keyTab(), keyEnter()}}, // Owner: Adele Vance
			{keys: typedKeys("lee"), answer: []tea.Msg{keyEnter()}},          // searched, no Admin chosen
			{answer: []tea.Msg{keyEnter()}},                                  // lifetime: 180 days
		}, &shots)
		method, err := f.SignInFailed(t.Context(), fmt.Errorf("sign-in failed: no browser on this machine"))
		if err != nil || method != graph.MethodEnvironment {
			t.Fatalf("sign-in method %q, %v", method, err)
		}
		inputs := defaultInputs()
		inputs.AssignGroups = []string{"Engineering"}
		given := func(flag string) bool { return flag == "app-name" || flag == "assign-group" }
		err = f.Fill(t.Context(), FillRequest{Inputs: &inputs, Given: given, Directory: demoDirectory(), CommandLine: testCommandLine})
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		golden.RequireEqual(t, shots.String()+"=== after\n"+errOut.String())
		if inputs.Backend != "http" || inputs.BackendURL != "https://saas.example.com" || inputs.BackendToken.Reveal() != "tok-123456" ||
			!slices.Equal(inputs.Owners, []string{"adele.vance@contoso.onmicrosoft.com"}) || len(inputs.Admins) != 0 {
			t.Errorf("inputs %+v", inputs)
		}
		if strings.Contains(shots.String()+errOut.String(), "tok-123456") {
			t.Error("the API token was shown")
		}
	})
}

// The Admins picker leaves out who was just made an Owner: an Owner can do all an Admin can.
func TestAdminsPickerLeavesOutTheOwners(t *testing.T) {
	ios, _, _, errOut := Test()
	ios.SetWidth(80)
	f := NewForms(ios)
	f.Debounce = 0
	var shots strings.Builder
	scriptedForms(t, f, 80, false, []formScreen{
		{keys: typedKeys("ad"), answer: []tea.Msg{keyTab(), keyEnter()}}, // Owner: Adele Vance
		{answer: []tea.Msg{keyEnter()}},                                  // no Admin
	}, &shots)
	inputs := defaultInputs()
	inputs.Backend = "http"
	if err := f.askRoles(t.Context(), FillRequest{Inputs: &inputs, Given: func(string) bool { return false }, Directory: demoDirectory()}); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	_, admins, _ := strings.Cut(shots.String(), "=== screen 2")
	if !strings.Contains(admins, "Megan Bowen") || strings.Contains(admins, "Adele") {
		t.Errorf("the Admins picker, Adele being an Owner:\n%s", admins)
	}
	if !slices.Equal(inputs.Owners, []string{"adele.vance@contoso.onmicrosoft.com"}) || len(inputs.Admins) != 0 {
		t.Errorf("owners %q, admins %q", inputs.Owners, inputs.Admins)
	}
}

// Stopping after a failed sign-in returns the failure, for its exit code, under a last line that does not
// repeat the reason the screen has just shown.
func TestSignInFailedStop(t *testing.T) {
	ios, _, _, errOut := Test()
	f := NewForms(ios)
	var shots strings.Builder
	scriptedForms(t, f, 80, false, []formScreen{
		{answer: []tea.Msg{keyDown(), keyDown(), keyDown(), keyDown(), keyEnter()}}, // from device code down to Stop
	}, &shots)
	failure := errors.New("sign-in failed: could not reach Microsoft Entra ID (login.microsoftonline.com)")
	method, err := f.SignInFailed(t.Context(), failure)
	if method != "" || !errors.Is(err, failure) {
		t.Fatalf("method %q, err %v; want the failure", method, err)
	}
	if !strings.Contains(errOut.String(), failure.Error()) || strings.Contains(err.Error(), "could not reach") {
		t.Errorf("screen %q, last line %q: the reason belongs on the screen, once", errOut, err)
	}
}
