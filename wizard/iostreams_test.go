package wizard_test

import (
	"bufio"
	"slices"
	"testing"

	"github.com/idpctl/idpctl/wizard"
)

func TestCanPrompt(t *testing.T) {
	cases := []struct {
		in, out, err bool
		want         bool
	}{
		{true, true, true, true},
		{true, false, true, true}, // stdout piped to a file: prompts go to stderr anyway
		{false, true, true, false},
		{true, true, false, false},
	}
	for _, c := range cases {
		ios, _, _, _ := wizard.Test()
		if ios.CanPrompt() {
			t.Fatal("test streams can prompt")
		}
		ios.SetTTY(c.in, c.out, c.err)
		if got := ios.CanPrompt(); got != c.want {
			t.Errorf("stdin %v stdout %v stderr %v: CanPrompt %v, want %v", c.in, c.out, c.err, got, c.want)
		}
		if ios.IsStdoutTTY() != c.out {
			t.Errorf("IsStdoutTTY %v, want %v", ios.IsStdoutTTY(), c.out)
		}
	}
}

func TestStreamsDefaults(t *testing.T) {
	ios, _, _, _ := wizard.Test()
	if ios.ColorEnabled() || ios.Width() != 80 {
		t.Errorf("test streams: colour %v width %d, want no colour and 80", ios.ColorEnabled(), ios.Width())
	}
	ios.SetColor(true)
	ios.SetWidth(120)
	if !ios.ColorEnabled() || ios.Width() != 120 {
		t.Errorf("after SetColor/SetWidth: colour %v width %d", ios.ColorEnabled(), ios.Width())
	}
}

// Line prompts each wrap stdin in a scanner of their own; through LineIn, each gets its own answer.
func TestLineInHandsOutOneLinePerRead(t *testing.T) {
	ios, in, _, _ := wizard.Test()
	in.WriteString("first\nsecond answer\n\nlast")
	var got []string
	for range 5 {
		sc := bufio.NewScanner(ios.LineIn())
		if !sc.Scan() {
			break
		}
		got = append(got, sc.Text())
	}
	if want := []string{"first", "second answer", "", "last"}; !slices.Equal(got, want) {
		t.Errorf("answers %q, want %q", got, want)
	}
	if !ios.AtEOF() {
		t.Error("AtEOF is false after the last line")
	}
}

// Colour follows charm's profile detection: NO_COLOR and TERM=dumb turn it off, CLICOLOR_FORCE on even when
// stderr is not a terminal (as under go test).
func TestSystemColourProfile(t *testing.T) {
	for _, c := range []struct {
		env  []string
		want bool
	}{
		{[]string{"TERM=xterm-256color"}, false}, // stderr is not a terminal here
		{[]string{"TERM=xterm-256color", "CLICOLOR_FORCE=1"}, true},
		{[]string{"TERM=xterm-256color", "CLICOLOR_FORCE=1", "NO_COLOR=1"}, false},
		{[]string{"TERM=xterm-256color", "CLICOLOR_FORCE=1", "NO_COLOR=yes"}, false},
		{[]string{"TERM=dumb"}, false},
	} {
		if got := wizard.System(c.env).ColorEnabled(); got != c.want {
			t.Errorf("%v: colour %v, want %v", c.env, got, c.want)
		}
	}
}
