package wizard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/steps"
)

const (
	testClientSecret = "Xq8~not-a-real-client-secret-0123456789ab"
	testSCIMToken    = "scim-token-not-real-0123456789"
)

func testHandover(withSecret bool) backend.Handover {
	h := backend.Handover{Instructions: backend.Instructions{
		ClientID:    "563458bd-edc9-4eaf-93db-e0f02059a2b4",
		TenantID:    "72f988bf-86f1-41af-91ab-2d7cd011db47",
		MetadataURL: "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/.well-known/openid-configuration",
	}}
	if withSecret {
		h.ClientSecret = secret.New(testClientSecret)
	} else {
		h.SecretFile = "/home/admin/client-secret"
	}
	return h
}

// The hand-off's pages at the three widths, with and without colour: the values with the secret hidden,
// writing it to a file, the SCIM page with a wrong URL, then with the token typed (masked).
func TestHandOffGolden(t *testing.T) {
	for _, width := range []int{40, 80, 120} {
		for _, color := range []bool{false, true} {
			t.Run(fmt.Sprintf("w%d-color-%v", width, color), func(t *testing.T) {
				config := &HandOff{RedirectURI: steps.DefaultRedirectURI}
				f := newHandOffForm(config, handOffMsg{handover: testHandover(true), reply: make(chan handOffResult, 1)}, theme{color: color})
				var b strings.Builder
				frame := func(title string) {
					out := f.view(width, "⠋")
					b.WriteString("=== " + title + "\n" + out)
					for _, line := range strings.Split(out, "\n") {
						if w := lipgloss.Width(line); w > width {
							t.Errorf("%s: line of %d columns at width %d: %q", title, w, width, line)
						}
					}
				}
				ctx := t.Context()
				frame("values")
				f.update(press("enter"), ctx)
				frame("continue without the secret")
				f.update(press("w"), ctx)
				f.update(tea.PasteMsg{Content: "/home/admin/smallstep-secret"}, ctx)
				frame("write to a file")
				f.update(press("esc"), ctx)
				f.update(press("r"), ctx)
				f.update(press("r"), ctx)
				f.update(press("enter"), ctx)
				for _, r := range "http://scim.example.com" {
					f.update(press(string(r)), ctx)
				}
				frame("SCIM URL over http")
				f.update(press("ctrl+u"), ctx)
				f.update(tea.PasteMsg{Content: "https://scim.smallstep.com/scim/v2/team-1\n"}, ctx)
				f.update(press("enter"), ctx)
				f.update(tea.PasteMsg{Content: testSCIMToken}, ctx)
				frame("token typed")
				out := b.String()
				golden.RequireEqual(t, out)
				if strings.Contains(out, testClientSecret) || strings.Contains(out, testSCIMToken) {
					t.Error("a hand-off page shows a secret it was not asked to")
				}
				if strings.Contains(out, "\x1b") != color {
					t.Errorf("colour %v, escape codes present: %v", color, !color)
				}
			})
		}
	}
}

// handOffRun is an apply that stops at the hand-off, as the manual backend does, and returns what it got.
type handOffRun struct {
	handOff *HandOff
	h       backend.Handover
	got     chan handOffResult
}

func (r *handOffRun) apply(ctx context.Context, rep steps.Reporter) (steps.Report, error) {
	rep.StepStarted(steps.Applying, "backend hand-off")
	scim, err := r.handOff.SCIMEndpoint(ctx, r.h)
	r.got <- handOffResult{scim, err}
	rep.StepFinished(steps.Applying, "backend hand-off", err)
	return nil, err
}

// runHandOff drives the progress view with a run that reaches the hand-off, under teatest.
func runHandOff(t *testing.T, config *HandOff, h backend.Handover) (*teatest.TestModel, *handOffRun) {
	ctx, cancel := context.WithCancel(t.Context())
	v := newProgressView(firstRunPlan(), theme{}, 100, time.Now)
	v.cancel, v.runCtx, v.handOff = cancel, ctx, config
	tm := teatest.NewTestModel(t, v, teatest.WithInitialTermSize(100, 40))
	config.attach(tm.GetProgram())
	run := &handOffRun{handOff: config, h: h, got: make(chan handOffResult, 1)}
	go func() {
		report, err := run.apply(ctx, programReporter{tm.GetProgram()})
		tm.Send(applyDoneMsg{report: report, err: err})
	}()
	waitForScreen(t, tm, "In Smallstep: connect Entra ID")
	return tm, run
}

func (r *handOffRun) result(t *testing.T) handOffResult {
	t.Helper()
	select {
	case got := <-r.got:
		return got
	case <-time.After(5 * time.Second):
		t.Fatal("the hand-off did not answer")
		return handOffResult{}
	}
}

// The whole hand-off: the secret is required, shown once only, copied values go out over OSC 52, and the SCIM
// URL and token typed are probed, then handed back; the secret is no longer on the screen afterwards.
func TestHandOffAsksAndAnswers(t *testing.T) {
	var probed []backend.SCIM
	config := &HandOff{RedirectURI: steps.DefaultRedirectURI, Probe: func(_ context.Context, s backend.SCIM) (string, error) {
		probed = append(probed, s)
		if len(probed) == 1 {
			return "", errors.New("GET /ServiceProviderConfig answered 401: the token was refused")
		}
		return "", nil
	}}
	reply := make(chan handOffResult, 1)
	f := newHandOffForm(config, handOffMsg{handover: testHandover(true), reply: reply}, theme{})
	ctx := t.Context()
	// send runs the key and the command it returns, as the program would; done reports the form closed.
	send := func(msg tea.Msg) (tea.Msg, bool) {
		cmd, done := f.update(msg, ctx)
		for cmd != nil && !done {
			out := cmd()
			if _, ok := out.(probedMsg); !ok {
				return out, done
			}
			cmd, done = f.update(out, ctx)
		}
		return nil, done
	}
	screen := func() string { return f.view(200, "⠋") }

	send(press("enter"))
	if !strings.Contains(screen(), "Smallstep needs the client secret") {
		t.Errorf("continued without the secret:\n%s", screen())
	}
	copied, _ := send(press("1"))
	if fmt.Sprint(copied) != "563458bd-edc9-4eaf-93db-e0f02059a2b4" || !strings.Contains(screen(), "Copied the Client ID to the clipboard") {
		t.Errorf("1 copied %v:\n%s", copied, screen())
	}
	send(press("r"))
	if !strings.Contains(screen(), testClientSecret) {
		t.Errorf("r did not show the secret:\n%s", screen())
	}
	send(press("r"))
	send(press("r"))
	if s := screen(); strings.Contains(s, testClientSecret) || !strings.Contains(s, "was shown once and is not shown again") {
		t.Errorf("the secret was shown twice:\n%s", s)
	}
	send(press("enter"))
	if !strings.Contains(screen(), "Paste them here") {
		t.Fatalf("no SCIM page:\n%s", screen())
	}
	send(tea.PasteMsg{Content: "https://scim.smallstep.com/scim/v2/team-1"})
	send(press("enter"))
	send(tea.PasteMsg{Content: "wrong-token-0123456789"})
	if _, done := send(press("enter")); done || !strings.Contains(screen(), "answered 401: the token was refused") {
		t.Errorf("a refused token was accepted:\n%s", screen())
	}
	send(press("ctrl+u"))
	send(tea.PasteMsg{Content: testSCIMToken})
	if _, done := send(press("enter")); !done {
		t.Fatalf("a working endpoint was not accepted:\n%s", screen())
	}
	got := <-reply
	if got.err != nil || got.scim.BaseURL != "https://scim.smallstep.com/scim/v2/team-1" || got.scim.Token.Reveal() != testSCIMToken {
		t.Errorf("hand-off answered %+v", got)
	}
	if len(probed) != 2 {
		t.Errorf("probed %d times, want each attempt", len(probed))
	}
}

// w writes the secret to a 0600 file instead, which also satisfies the hand-off.
func TestHandOffWritesTheSecretToAFile(t *testing.T) {
	given := backend.SCIM{BaseURL: "https://scim.smallstep.com/scim/v2/team-1", Token: secret.New(testSCIMToken)}
	reply := make(chan handOffResult, 1)
	f := newHandOffForm(&HandOff{Given: &given}, handOffMsg{handover: testHandover(true), reply: reply}, theme{})
	file := filepath.Join(t.TempDir(), "secret")
	f.update(press("w"), t.Context())
	f.update(tea.PasteMsg{Content: file}, t.Context())
	f.update(press("enter"), t.Context())
	if s := f.view(100, ""); !strings.Contains(s, "Wrote the client secret to "+file) || !strings.Contains(s, "in "+file+" (mode 0600)") {
		t.Errorf("after writing:\n%s", s)
	}
	if _, done := f.update(press("enter"), t.Context()); !done {
		t.Fatal("the hand-off did not end with the secret in a file")
	}
	if got := <-reply; got.err != nil || got.scim.BaseURL != given.BaseURL {
		t.Errorf("hand-off answered %+v", got)
	}
	info, err := os.Stat(file)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", info, err)
	}
	if raw, _ := os.ReadFile(file); string(raw) != testClientSecret+"\n" {
		t.Errorf("file holds %q", raw)
	}
}

// Through the program: the manual backend's call pauses the progress view for the hand-off, which answers
// once the admin continues, and the steps come back.
func TestHandOffInProgressView(t *testing.T) {
	given := backend.SCIM{BaseURL: "https://scim.smallstep.com/scim/v2/team-1", Token: secret.New(testSCIMToken)}
	tm, run := runHandOff(t, &HandOff{Given: &given}, testHandover(false))
	tm.Send(press("enter"))
	if got := run.result(t); got.err != nil || got.scim.BaseURL != given.BaseURL {
		t.Errorf("hand-off answered %+v", got)
	}
	v := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*progressView)
	if out := v.View().Content; strings.Contains(out, "In Smallstep") || !strings.Contains(out, "backend hand-off") {
		t.Errorf("after the hand-off:\n%s", out)
	}
}

// Ctrl-C during the hand-off stops the run: the hand-off answers context.Canceled.
func TestHandOffCtrlC(t *testing.T) {
	tm, run := runHandOff(t, &HandOff{}, testHandover(false))
	tm.Send(press("ctrl+c"))
	if got := run.result(t); !errors.Is(got.err, context.Canceled) {
		t.Errorf("hand-off answered %+v", got)
	}
	v := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*progressView)
	if !v.stopping || v.quitAtOnce {
		t.Errorf("stopping %v, quit at once %v", v.stopping, v.quitAtOnce)
	}
}

// Without a progress view there is nobody to ask: the hand-off says what to give instead.
func TestHandOffWithoutTerminal(t *testing.T) {
	_, err := (&HandOff{}).SCIMEndpoint(t.Context(), testHandover(true))
	if err == nil || !strings.Contains(err.Error(), "--scim-url") {
		t.Errorf("err = %v", err)
	}
}

// A run that fails while the hand-off asks (another step failed) takes the form off the screen: the failure
// shows instead.
func TestHandOffGoneWhenTheRunEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	v := newProgressView(firstRunPlan(), theme{}, 100, time.Now)
	v.cancel, v.runCtx, v.handOff = cancel, ctx, &HandOff{}
	tm := teatest.NewTestModel(t, v, teatest.WithInitialTermSize(100, 40))
	v.handOff.attach(tm.GetProgram())
	go func() {
		_, err := v.handOff.SCIMEndpoint(ctx, testHandover(false))
		tm.Send(applyDoneMsg{err: err})
	}()
	waitForScreen(t, tm, "In Smallstep: connect Entra ID")
	cancel() // what the runner does when another step fails
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*progressView)
	if out := final.View().Content; strings.Contains(out, "In Smallstep") || !strings.Contains(out, "Failed") {
		t.Errorf("after the run ended:\n%s", out)
	}
}
