package wizard

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// The plan screen at the three widths, with and without colour: folded, unfolded, and what stays on the
// terminal once answered.
func TestPlanScreenGolden(t *testing.T) {
	for _, width := range []int{40, 80, 120} {
		for _, color := range []bool{false, true} {
			t.Run(fmt.Sprintf("w%d-color-%v", width, color), func(t *testing.T) {
				s := newPlanScreen(firstRunPlan(), theme{color: color}, width, 24)
				var b strings.Builder
				b.WriteString("=== folded\n" + s.View().Content)
				s.Update(press("u"))
				b.WriteString("=== unfolded\n" + s.View().Content)
				s.Update(press("y"))
				b.WriteString("=== answered\n" + s.View().Content)
				out := b.String()
				golden.RequireEqual(t, out)
				if strings.Contains(out, "\x1b") != color {
					t.Errorf("colour %v, escape codes present: %v", color, !color)
				}
				for _, line := range strings.Split(out, "\n") {
					if w := lipgloss.Width(line); w > width {
						t.Errorf("line of %d columns at width %d: %q", w, width, line)
					}
				}
			})
		}
	}
}

// The plan folds its unchanged resources until u is pressed, and says how many there are.
func TestPlanScreenFoldsUnchanged(t *testing.T) {
	s := newPlanScreen(firstRunPlan(), theme{}, 120, 60)
	folded := s.View().Content
	if strings.Contains(folded, "Smallstep Users") || !strings.Contains(folded, "3 unchanged · u to show") {
		t.Errorf("folded plan:\n%s", folded)
	}
	s.Update(press("u"))
	if unfolded := s.View().Content; !strings.Contains(unfolded, `assignment "group Smallstep Users" (unchanged)`) {
		t.Errorf("unfolded plan:\n%s", unfolded)
	}
	// The totals are said once, above the question, also when the whole plan fits.
	if n := strings.Count(s.View().Content, firstRunPlan().Counts().String()); n != 1 {
		t.Errorf("the totals are on the screen %d times:\n%s", n, s.View().Content)
	}
}

// A plan taller than the screen scrolls, and the question stays in view.
func TestPlanScreenScrolls(t *testing.T) {
	s := newPlanScreen(firstRunPlan(), theme{}, 80, 14)
	first := s.View().Content
	if got := strings.Count(first, "\n"); got > 14 {
		t.Errorf("%d lines on a 14-line screen:\n%s", got, first)
	}
	if !strings.Contains(first, "Apply these changes?") || !strings.Contains(first, "↑/↓ scroll · 0%") {
		t.Errorf("first screen:\n%s", first)
	}
	s.Update(press("end"))
	last := s.View().Content
	if !strings.Contains(last, "Plan: 5 to create") || !strings.Contains(last, "↑/↓ scroll · 100%") {
		t.Errorf("after End:\n%s", last)
	}
}

// The answer starts on No: Enter alone declines; choosing Yes first, or y, accepts; Ctrl-C answers nothing.
func TestPlanScreenAnswers(t *testing.T) {
	for _, c := range []struct {
		name     string
		keys     []tea.KeyPressMsg
		answered bool
		yes      bool
	}{
		{"enter", []tea.KeyPressMsg{press("enter")}, true, false},
		{"right enter", []tea.KeyPressMsg{press("right"), press("enter")}, true, true},
		{"tab tab enter", []tea.KeyPressMsg{press("tab"), press("tab"), press("enter")}, true, false},
		{"y", []tea.KeyPressMsg{press("y")}, true, true},
		{"n", []tea.KeyPressMsg{press("right"), press("n")}, true, false},
		{"esc", []tea.KeyPressMsg{press("esc")}, true, false},
		{"scroll then y", []tea.KeyPressMsg{press("down"), press("space"), press("u"), press("y")}, true, true},
		{"ctrl+c", []tea.KeyPressMsg{press("ctrl+c")}, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tm := teatest.NewTestModel(t, newPlanScreen(firstRunPlan(), theme{}, 80, 24), teatest.WithInitialTermSize(80, 24))
			teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("Apply these changes?")) })
			for _, k := range c.keys {
				tm.Send(k)
			}
			s := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*planScreen)
			if s.answered != c.answered || s.yes != c.yes {
				t.Errorf("answered %v yes %v, want %v %v", s.answered, s.yes, c.answered, c.yes)
			}
		})
	}
}

// ConfirmPlan reads the keys from the streams' input and draws on stderr only.
func TestConfirmPlanOnStreams(t *testing.T) {
	for keys, want := range map[string]bool{"y": true, "\r": false, "\x1b[C\r": true, "n": false} {
		ios, in, out, errOut := Test()
		in.WriteString(keys)
		ok, err := ConfirmPlan(t.Context(), ios, firstRunPlan())
		if err != nil || ok != want {
			t.Errorf("keys %q: %v, %v; want %v", keys, ok, err, want)
		}
		if out.Len() != 0 {
			t.Errorf("keys %q: the plan screen wrote to stdout: %q", keys, out)
		}
		if !strings.Contains(errOut.String(), "Apply these changes?") {
			t.Errorf("keys %q: no question on stderr", keys)
		}
	}
	// Ctrl-C, and a context that ends while the screen waits, are no answer.
	ios, in, _, _ := Test()
	in.WriteString("\x03")
	if ok, err := ConfirmPlan(t.Context(), ios, firstRunPlan()); ok || err != context.Canceled {
		t.Errorf("Ctrl-C: %v, %v", ok, err)
	}
	ios, _, _, _ = Test()
	r, w := io.Pipe()
	defer w.Close()
	ios.In = r
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	if ok, err := ConfirmPlan(ctx, ios, firstRunPlan()); ok || err != context.Canceled {
		t.Errorf("context ended: %v, %v", ok, err)
	}
}

// press is the message a terminal sends for a key, by the name tea.KeyPressMsg.String() gives it.
func press(name string) tea.KeyPressMsg {
	special := map[string]rune{
		"enter": tea.KeyEnter, "esc": tea.KeyEscape, "tab": tea.KeyTab, "up": tea.KeyUp, "down": tea.KeyDown,
		"left": tea.KeyLeft, "right": tea.KeyRight, "end": tea.KeyEnd, "home": tea.KeyHome, "backspace": tea.KeyBackspace,
	}
	switch code, ok := special[name]; {
	case ok:
		return tea.KeyPressMsg{Code: code}
	case name == "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case strings.HasPrefix(name, "ctrl+"):
		return tea.KeyPressMsg{Code: []rune(name)[5], Mod: tea.ModCtrl}
	}
	return tea.KeyPressMsg{Code: []rune(name)[0], Text: name}
}
