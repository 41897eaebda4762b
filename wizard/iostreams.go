// Package wizard is all of idpctl's terminal I/O: TTY and colour detection, prompts, the progress shown while
// steps run, and the plain and JSON renderings of results. Progress and prompts go to stderr; stdout carries
// only results, so scripts can read it.
package wizard

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/charmbracelet/x/term"
)

// IOStreams is the process's standard streams plus what is known about them.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	inTTY, outTTY, errTTY bool
	color                 bool
	width                 int
	errMu                 sync.Mutex // serialises ErrWriter's writes
}

// System returns the process's streams. Colour follows NO_COLOR, TERM=dumb and whether stderr is a terminal.
func System(getenv func(string) string) *IOStreams {
	s := &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		inTTY:  term.IsTerminal(os.Stdin.Fd()),
		outTTY: term.IsTerminal(os.Stdout.Fd()),
		errTTY: term.IsTerminal(os.Stderr.Fd()),
		width:  80,
	}
	if w, _, err := term.GetSize(os.Stderr.Fd()); err == nil && w > 0 {
		s.width = w
	}
	s.color = s.errTTY && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
	return s
}

// Test returns streams backed by buffers, none of them a terminal.
func Test() (s *IOStreams, in *bytes.Buffer, out *bytes.Buffer, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, width: 80}, in, out, errOut
}

// SetTTY marks the streams as terminals (for tests of interactive behaviour).
func (s *IOStreams) SetTTY(in, out, err bool) { s.inTTY, s.outTTY, s.errTTY = in, out, err }

// SetColor turns colour on or off.
func (s *IOStreams) SetColor(on bool) { s.color = on }

// SetWidth sets the terminal width used for wrapping.
func (s *IOStreams) SetWidth(w int) { s.width = w }

// CanPrompt reports whether a person can answer questions: stdin and stderr are terminals.
func (s *IOStreams) CanPrompt() bool { return s.inTTY && s.errTTY }

// ColorEnabled reports whether output on stderr may use ANSI colours.
func (s *IOStreams) ColorEnabled() bool { return s.color }

// Width is the terminal width, 80 when unknown.
func (s *IOStreams) Width() int { return s.width }

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.outTTY }

// ErrWriter is ErrOut for writers that run at the same time, such as progress lines and the --debug request log
// while steps run concurrently: each Write goes through whole and alone, whatever ErrOut is.
func (s *IOStreams) ErrWriter() io.Writer { return lockedWriter{mu: &s.errMu, w: s.ErrOut} }

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// trimLine makes text one line, for progress output.
func trimLine(s string) string { return strings.Join(strings.Fields(s), " ") }
