//go:build unix

package cmd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
)

// The end-to-end tests here run the idpctl binary, built with go build, in a pseudo-terminal, as an admin runs
// it: the process finds a terminal on stdin, stdout and stderr, draws its screens there and reads keys from
// it. The test's side of the terminal is a VT emulator, so the tests read the screen as a person sees it (and
// the process gets a terminal's answers to its queries), and send keys as a terminal does.

// A loaded machine is slow, never this slow: a deadline only turns a hang into a failure with the screen.
const (
	screenDeadline = 3 * time.Minute
	exitDeadline   = 3 * time.Minute
)

// TestTerminal builds idpctl once and runs each terminal scenario against a sandbox of its own.
func TestTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds idpctl and runs it in a terminal")
	}
	bin := buildIdpctl(t)
	for _, scenario := range []struct {
		name string
		run  func(t *testing.T, bin string)
	}{
		{"WizardPicksGroupAndUser", terminalWizard},
		{"ManualHandOff", terminalManualHandOff},
		{"CtrlCStopsThenResumes", terminalCtrlCThenResume},
		{"ProvisionPicker", terminalProvisionPicker},
	} {
		t.Run(scenario.name, func(t *testing.T) {
			t.Parallel() // separate processes and tenants; mostly waiting on the simulated tenant's latency
			scenario.run(t, bin)
		})
	}
}

// buildIdpctl builds the idpctl command into a temporary directory, as a user's go build would.
func buildIdpctl(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the terminal tests build idpctl with the go command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "idpctl")
	build := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, "..") // the test runs in cmd/
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// terminal is an idpctl process in a pseudo-terminal and the screen it draws there.
type terminal struct {
	t   *testing.T
	pty *os.File
	cmd *exec.Cmd

	mu     sync.Mutex
	screen *vt.Emulator
	raw    bytes.Buffer  // every byte the process wrote, for what must never be written twice
	want   string        // text waitFor is waiting to see
	seen   chan struct{} // closed when the screen has shown want
	ended  chan struct{} // closed when the process's output has ended
}

// startTerminal runs bin with args in a cols×rows terminal, with only env (and PATH, TERM, HOME) in its
// environment.
func startTerminal(t *testing.T, bin string, cols, rows int, env map[string]string, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TERM=xterm-256color", "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, pty: f, cmd: cmd, screen: vt.NewEmulator(cols, rows), ended: make(chan struct{})}
	go term.draw()
	go term.answer()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = f.Close()
		<-term.ended
		term.mu.Lock()
		_ = term.screen.Close()
		term.mu.Unlock()
	})
	return term
}

// draw feeds what the process writes to the emulator, and tells waitFor as soon as the screen shows its text:
// a screen that is only up for a moment is seen all the same.
func (term *terminal) draw() {
	defer close(term.ended)
	buf := make([]byte, 32*1024)
	for {
		n, err := term.pty.Read(buf)
		term.mu.Lock()
		term.raw.Write(buf[:n])
		_, _ = term.screen.Write(buf[:n])
		if term.want != "" && strings.Contains(term.screen.String(), term.want) {
			close(term.seen)
			term.want = ""
		}
		term.mu.Unlock()
		if err != nil {
			return // EIO once the process has exited and closed the terminal
		}
	}
}

// answer sends the emulator's replies (cursor position, colours, modes) to the process, as a terminal does.
// It keeps reading after the process has gone, so that the emulator never blocks on a reply.
func (term *terminal) answer() {
	buf := make([]byte, 1024)
	for {
		n, err := term.screen.Read(buf)
		if n > 0 {
			_, _ = term.pty.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// lines is what the terminal holds: the lines scrolled off the top, then the screen. The caller holds mu.
func (term *terminal) lines() string {
	var b strings.Builder
	for _, line := range term.screen.Scrollback().Lines() {
		b.WriteString(line.String() + "\n")
	}
	b.WriteString(term.screen.String())
	return b.String()
}

// text is everything the terminal holds, as lines without trailing spaces: scroll back, then the screen.
func (term *terminal) text() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.lines()
}

// written is every byte the process wrote to the terminal, escape codes included.
func (term *terminal) written() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.raw.String()
}

// waitFor waits until the screen shows text. Only the screen counts: a question asked again, or an entry
// of the picker selected, is new on the screen while its earlier self may still be in the scroll back.
func (term *terminal) waitFor(text string) {
	term.t.Helper()
	term.mu.Lock()
	if strings.Contains(term.screen.String(), text) {
		term.mu.Unlock()
		return
	}
	seen := make(chan struct{})
	term.want, term.seen = text, seen
	term.mu.Unlock()
	select {
	case <-seen:
	case <-term.ended:
		term.t.Fatalf("idpctl ended without showing %q; the terminal shows:\n%s", text, term.text())
	case <-time.After(screenDeadline):
		term.t.Fatalf("the terminal never showed %q; it shows:\n%s", text, term.text())
	}
}

// typeKeys sends what a person types: text, "\r" for Enter, "\x03" for Ctrl-C.
func (term *terminal) typeKeys(keys string) {
	term.t.Helper()
	if _, err := io.WriteString(term.pty, keys); err != nil {
		term.t.Fatal(err)
	}
}

// paste sends text as a terminal pastes it: bracketed, so that the program takes it as one paste.
func (term *terminal) paste(text string) {
	term.t.Helper()
	term.typeKeys("\x1b[200~" + text + "\x1b[201~")
}

// exit waits for the process to end and returns its exit code.
func (term *terminal) exit() int {
	term.t.Helper()
	done := make(chan error, 1)
	go func() { done <- term.cmd.Wait() }()
	select {
	case err := <-done:
		<-term.ended
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return exitErr.ExitCode()
		}
		if err != nil {
			term.t.Fatal(err)
		}
		return 0
	case <-time.After(exitDeadline):
		term.t.Fatalf("idpctl did not exit; the terminal shows:\n%s", term.text())
		return -1
	}
}

// arrivedLine matches the final screen's line for a user who arrived through the group.
func arrivedLine(name, via string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^  arrived  ` + regexp.QuoteMeta(name) + `@\S+ \(` + regexp.QuoteMeta(via) + `\)$`)
}

// The wizard as the acceptance describes it: a search typed into the picker, a group and a user
// selected, the other questions answered with their defaults, the plan confirmed (it defaults to No); the
// final screen lists the users as arrived, and the tenant has exactly the group's and the user's assignments,
// the provisioning job, and the users in the SaaS.
func terminalWizard(t *testing.T, bin string) {
	tn := newTenant(t)
	args := []string{"setup", "entra", "--graph-url", tn.sb.GraphURL, "--auth", "token", "--tenant-id", tn.sb.TenantID,
		"--state-dir", tn.stateDir, "--backend", "http", "--backend-url", tn.sb.BackendURL}
	term := startTerminal(t, bin, 100, 40, tn.env(), args...)

	term.waitFor("Name of the enterprise application")
	term.typeKeys("\r")
	term.waitFor("Who should sign in to Smallstep?")
	term.typeKeys("Engin")
	term.waitFor("> [ ] Engineering")
	term.typeKeys("\t")
	term.waitFor("> [x] Engineering")
	term.typeKeys("\x1b") // esc clears the search, keeping the selection
	term.waitFor("type a name to search")
	term.typeKeys("adele")
	term.waitFor("> [ ] Adele Vance")
	term.typeKeys("\t")
	term.waitFor("2 selected")
	term.typeKeys("\r")
	term.waitFor("Assign: Engineering, Adele Vance")
	for _, question := range []string{"Owners in the SaaS", "Admins in the SaaS", "How long should the client secret last?"} {
		term.waitFor(question)
		term.typeKeys("\r")
	}
	term.waitFor("Apply these changes?")
	term.typeKeys("y")
	if code := term.exit(); code != 0 {
		t.Fatalf("exit %d; the terminal shows:\n%s", code, term.text())
	}

	out := term.text()
	for _, want := range []*regexp.Regexp{
		arrivedLine("lee.gu", "group Engineering"),
		arrivedLine("grady.archie", "group Engineering"),
		regexp.MustCompile(`(?m)^  arrived  adele\.vance@\S+$`), // assigned directly
		regexp.MustCompile(`(?m)^  skipped  diego\.siciliani@\S+ \(group Engineering\): the account is disabled`),
	} {
		if !want.MatchString(out) {
			t.Errorf("the final screen lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "megan.bowen") {
		t.Errorf("a user of an unselected group is on the final screen:\n%s", out)
	}

	_, sp, job := tn.app()
	var assigned []string
	for _, a := range tn.sb.Tenant.AppRoleAssignments(sp.ID) {
		assigned = append(assigned, a.PrincipalID)
	}
	slices.Sort(assigned)
	want := []string{tn.sb.Demo.Engineering.ID, tn.sb.Demo.Users[0].ID} // Engineering and Adele
	slices.Sort(want)
	if !slices.Equal(assigned, want) {
		t.Errorf("assigned %v, want Engineering and Adele %v", assigned, want)
	}
	if job.ScheduleState != "Active" {
		t.Errorf("the provisioning job's schedule is %q, want Active (provisioning on)", job.ScheduleState)
	}
	var inSaaS []string
	for _, u := range tn.sb.Backend.Users() {
		name, _ := u.Attributes["userName"].(string)
		inSaaS = append(inSaaS, name)
	}
	slices.Sort(inSaaS)
	if wantSaaS := []string{"adele.vance@" + tn.sb.Demo.Domain, "grady.archie@" + tn.sb.Demo.Domain, "lee.gu@" + tn.sb.Demo.Domain}; !slices.Equal(inSaaS, wantSaaS) {
		t.Errorf("the SaaS has %v, want %v", inSaaS, wantSaaS)
	}
}

// The manual hand-off, as an admin without the SCIM values or a secret file goes through it: the plan is
// confirmed, the values to paste are shown, the client secret is revealed once, then the SCIM URL and token
// Smallstep shows are pasted in; the users arrive and the application has exactly the secret that was shown.
func terminalManualHandOff(t *testing.T, bin string) {
	tn := newTenant(t)
	term := startTerminal(t, bin, 100, 40, map[string]string{"IDPCTL_ACCESS_TOKEN": tn.sb.AccessToken.Reveal()}, tn.args()...)

	// The wizard's defaults for what the flags left open are Smallstep's way: paste the values by hand, the
	// SCIM values after them, the secret shown once.
	for _, question := range []string{
		"Name of the enterprise application",
		"How does the SaaS get the single sign-on settings?",
		"Do you have the SCIM URL and token the SaaS shows for provisioning?",
		"Where should the client secret go?",
		"How long should the client secret last?",
	} {
		term.waitFor(question)
		term.typeKeys("\r")
	}
	term.waitFor("Apply these changes?")
	term.typeKeys("y")
	term.waitFor("In Smallstep: connect Entra ID")
	term.waitFor("hidden: r shows it once")
	term.typeKeys("\r")
	term.waitFor("Smallstep needs the client secret")
	term.typeKeys("r")
	term.waitFor("(r hides it; it is not shown again)")
	shown := regexp.MustCompile(`Client secret\s+(\S+)\s+\(r hides it`).FindStringSubmatch(term.text())
	if shown == nil {
		t.Fatalf("no secret on the screen:\n%s", term.text())
	}
	term.typeKeys("\r")
	term.waitFor("Paste them here")
	term.paste(tn.sb.SCIMURL)
	term.typeKeys("\r")
	term.paste(tn.sb.SCIMToken.Reveal())
	term.typeKeys("\r")
	if code := term.exit(); code != 0 {
		t.Fatalf("exit %d; the terminal shows:\n%s", code, term.text())
	}

	out := term.text()
	for _, name := range []string{"adele.vance", "lee.gu", "megan.bowen"} {
		if !arrivedLine(name, "group Smallstep Users").MatchString(out) {
			t.Errorf("%s not shown as arrived:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "Client secret          handed to you at the hand-off (idpctl keeps no copy)") {
		t.Errorf("the final screen does not say where the secret went:\n%s", out)
	}
	app, sp, _ := tn.app()
	var ours []string
	for _, p := range app.PasswordCredentials {
		if strings.HasPrefix(p.DisplayName, "idpctl") {
			ours = append(ours, p.Hint)
		}
	}
	if len(ours) != 1 || !strings.HasPrefix(shown[1], ours[0]) {
		t.Errorf("the application has idpctl secrets with hints %v; the one shown starts %.3s", ours, shown[1])
	}
	if n := strings.Count(term.written(), shown[1]); n != 1 {
		t.Errorf("the secret was written to the terminal %d times, want once", n)
	}
	if strings.Contains(term.written(), tn.sb.SCIMToken.Reveal()) {
		t.Error("the pasted SCIM token was written to the terminal")
	}
	if len(tn.sb.Tenant.AppRoleAssignments(sp.ID)) != 1 || len(tn.sb.Backend.Users()) != 3 {
		t.Errorf("%d assignments, %d users in the SaaS; want the group and its 3 members",
			len(tn.sb.Tenant.AppRoleAssignments(sp.ID)), len(tn.sb.Backend.Users()))
	}
	if files := tn.stateFiles(); strings.Contains(files, shown[1]) || strings.Contains(files, tn.sb.SCIMToken.Reveal()) {
		t.Error("the state files hold a secret")
	}
}

// provision without --user or --group in a terminal: the picker searches the tenant, Enter takes the group
// highlighted, and its members are provisioned.
func terminalProvisionPicker(t *testing.T, bin string) {
	tn := newTenant(t)
	tn.mustSetUp(tn.manual())
	tn.assign(tn.sb.Demo.Engineering.ID)
	term := startTerminal(t, bin, 100, 40, tn.env(), tn.day2("provision", "--yes")...)
	term.waitFor("Who should be provisioned now?")
	term.typeKeys("Engin")
	term.waitFor("> [ ] Engineering")
	term.typeKeys("\r")
	if code := term.exit(); code != 0 {
		t.Fatalf("exit %d; the terminal shows:\n%s", code, term.text())
	}
	if _, ok := tn.sb.Backend.UserByUserName(tn.sb.Demo.Users[4].UserPrincipalName); !ok {
		t.Errorf("Grady, of the group chosen, is not in the SaaS; the terminal shows:\n%s", term.text())
	}
}

// slowTenant is a sandbox whose Graph answers slowly and replicates new objects late, so that a run is
// still applying when the test presses Ctrl-C.
func slowTenant(t *testing.T) *tenant {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Options{ManualCycles: true, Faults: entra.Faults{Latency: 150 * time.Millisecond, ReplicationLag: 3}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return &tenant{t: t, sb: sb, stateDir: t.TempDir(), secretOut: filepath.Join(t.TempDir(), "client-secret")}
}

// Ctrl-C while the run applies stops it cleanly: the view says what was done and that running again resumes,
// the process exits 2; the next run finishes the setup with one application.
func terminalCtrlCThenResume(t *testing.T, bin string) {
	tn := slowTenant(t)
	env := tn.env()
	term := startTerminal(t, bin, 100, 40, env, tn.viaAPI("--yes")...)
	term.waitFor("waiting for Entra to replicate the new application")
	term.typeKeys("\x03")
	if code := term.exit(); code != exitUsage {
		t.Fatalf("exit %d after Ctrl-C, want 2; the terminal shows:\n%s", code, term.text())
	}
	out := term.text()
	for _, want := range []string{
		"Stopped part way:",
		`  - application: created "Smallstep" (client id `,
		"Run the same command again to resume",
		"Error: interrupted; run again to resume",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("after Ctrl-C the terminal lacks %q:\n%s", want, out)
		}
	}

	again := startTerminal(t, bin, 100, 40, env, tn.viaAPI("--yes")...)
	if code := again.exit(); code != 0 {
		t.Fatalf("the run after Ctrl-C: exit %d; the terminal shows:\n%s", code, again.text())
	}
	if !arrivedLine("adele.vance", "group Smallstep Users").MatchString(again.text()) {
		t.Errorf("the resumed run does not list the users as arrived:\n%s", again.text())
	}
	tn.app() // exactly one application, service principal and provisioning job
}
