package wizard_test

import (
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
