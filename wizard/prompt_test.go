package wizard_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/wizard"
)

func TestConfirmAcceptsOnlyYes(t *testing.T) {
	for answer, want := range map[string]bool{
		"yes\n":        true,
		"YES\r\n":      true,
		"  yes \n":     true,
		"yes":          true, // no newline before the end of input
		"y\n":          false,
		"no\n":         false,
		"\n":           false,
		"yes please\n": false,
		"sure\nyes\n":  false, // only the first line is the answer
	} {
		ios, in, out, errOut := wizard.Test()
		in.WriteString(answer)
		got, err := wizard.Confirm(t.Context(), ios, "Apply these changes to the tenant?")
		if err != nil {
			t.Errorf("%q: %v", answer, err)
		}
		if got != want {
			t.Errorf("%q: confirmed = %v, want %v", answer, got, want)
		}
		if q := errOut.String(); !strings.HasPrefix(q, "Apply these changes to the tenant?") || !strings.Contains(q, "Only 'yes' will be accepted") {
			t.Errorf("question on stderr = %q", q)
		}
		if out.Len() != 0 {
			t.Errorf("the question went to stdout: %q", out)
		}
	}
}

func TestConfirmWithoutAnswer(t *testing.T) {
	ios, _, _, _ := wizard.Test()
	ok, err := wizard.Confirm(t.Context(), ios, "Apply?")
	if ok || err == nil {
		t.Errorf("empty stdin: confirmed %v, err %v; want no and an error", ok, err)
	}
}

// Ctrl-C while the question waits: the answer is no at once, with the context's error.
func TestConfirmInterrupted(t *testing.T) {
	ios, _, _, _ := wizard.Test()
	r, w := io.Pipe() // a terminal nobody types into
	defer w.Close()
	ios.In = r
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ok, err := wizard.Confirm(ctx, ios, "Apply?")
	if ok || !errors.Is(err, context.Canceled) {
		t.Errorf("confirmed %v, err %v; want no and context.Canceled", ok, err)
	}
}

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
