// Package wizard is all of idpctl's terminal I/O: TTY and colour detection, prompts, the progress shown while
// steps run, and the plain and JSON renderings of results. Progress and prompts go to stderr; stdout carries
// only results, so scripts can read it.
package wizard

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/term"
)

// IOStreams is the process's standard streams plus what is known about them.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	inTTY, outTTY, errTTY bool
	profile               colorprofile.Profile // what stderr can show
	width                 int
	accessible            bool
	errMu                 sync.Mutex // serialises ErrWriter's writes

	linesOnce sync.Once
	lines     io.Reader // LineIn's reader over In
}

// System returns the process's streams. What stderr can show is charm's colour profile detection over the
// environment (environ, as os.Environ gives it): NO_COLOR, CLICOLOR, CLICOLOR_FORCE, TERM=dumb and whether
// stderr is a terminal.
func System(environ []string) *IOStreams {
	s := &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		inTTY:   term.IsTerminal(os.Stdin.Fd()),
		outTTY:  term.IsTerminal(os.Stdout.Fd()),
		errTTY:  term.IsTerminal(os.Stderr.Fd()),
		profile: colorprofile.Detect(os.Stderr, environ),
		width:   80,
	}
	if w, _, err := term.GetSize(os.Stderr.Fd()); err == nil && w > 0 {
		s.width = w
	}
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "NO_COLOR="); ok && v != "" && s.profile > colorprofile.ASCII {
			// no-color.org: any non-empty value, and over CLICOLOR_FORCE. colorprofile documents that precedence
			// but takes only boolean values and lets CLICOLOR_FORCE win when stderr is not a terminal.
			s.profile = colorprofile.ASCII
		}
	}
	return s
}

// Test returns streams backed by buffers, none of them a terminal.
func Test() (s *IOStreams, in *bytes.Buffer, out *bytes.Buffer, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, width: 80, profile: colorprofile.NoTTY}, in, out, errOut
}

// SetTTY marks the streams as terminals (for tests of interactive behaviour).
func (s *IOStreams) SetTTY(in, out, err bool) { s.inTTY, s.outTTY, s.errTTY = in, out, err }

// SetColor turns colour on (256 colours) or off (no escape codes at all), for tests.
func (s *IOStreams) SetColor(on bool) {
	s.profile = colorprofile.NoTTY
	if on {
		s.profile = colorprofile.ANSI256
	}
}

// SetAccessible switches to accessible mode (--accessible): line prompts instead of screens, which screen
// readers can follow and which read answers piped on stdin.
func (s *IOStreams) SetAccessible(on bool) { s.accessible = on }

// Accessible reports whether accessible mode is on.
func (s *IOStreams) Accessible() bool { return s.accessible }

// SetWidth sets the terminal width used for wrapping.
func (s *IOStreams) SetWidth(w int) { s.width = w }

// CanPrompt reports whether a person can answer questions: stdin and stderr are terminals.
func (s *IOStreams) CanPrompt() bool { return s.inTTY && s.errTTY }

// ColorEnabled reports whether output on stderr may use ANSI colours.
func (s *IOStreams) ColorEnabled() bool { return s.profile >= colorprofile.ANSI }

// ColorProfile is what stderr can show, for programs and writers that downsample their styles to it.
func (s *IOStreams) ColorProfile() colorprofile.Profile { return s.profile }

// LineIn reads stdin one line per Read. Line prompts (accessible mode, a confirmation) each wrap stdin in their
// own scanner; with answers piped on stdin, a scanner that read ahead would swallow the answers meant for the
// next questions. Every line prompt reads through this one reader. On a terminal it also has stdin's Fd, so a
// prompt can read a secret without echo.
func (s *IOStreams) LineIn() io.Reader {
	s.linesOnce.Do(func() {
		r := &lineReader{src: bufio.NewReader(s.In)}
		if f, ok := s.In.(*os.File); ok && s.inTTY {
			s.lines = &terminalLineReader{lineReader: r, fd: f.Fd()}
			return
		}
		s.lines = r
	})
	return s.lines
}

// lineReader hands out its source one line (or less) per Read.
type lineReader struct {
	src     *bufio.Reader
	pending []byte
	eof     bool
}

func (r *lineReader) Read(p []byte) (int, error) {
	if len(r.pending) == 0 {
		line, err := r.src.ReadSlice('\n')
		if len(line) == 0 && err != nil {
			if err != bufio.ErrBufferFull {
				r.eof = true
			}
			return 0, err
		}
		r.pending = line
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// terminalLineReader is a lineReader on a terminal.
type terminalLineReader struct {
	*lineReader
	fd uintptr
}

func (r *terminalLineReader) Fd() uintptr { return r.fd }

// AtEOF reports whether a line prompt found stdin at its end: a piped answer list ran out.
func (s *IOStreams) AtEOF() bool {
	switch r := s.LineIn().(type) {
	case *lineReader:
		return r.eof
	case *terminalLineReader:
		return r.eof
	}
	return false
}

// Width is the terminal width, 80 when unknown.
func (s *IOStreams) Width() int { return s.width }

// Say prints a line of plain output on stderr, wrapped at spaces to fit a terminal, so that a URL or an ID in
// it stays whole; elsewhere (a file, a pipe) as one line.
func (s *IOStreams) Say(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if s.errTTY {
		line = wrapProse(line, s.width)
	}
	fmt.Fprintln(s.ErrWriter(), line)
}

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
