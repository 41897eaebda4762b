package wizard

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/idpctl/idpctl/steps"
)

// Lines reports progress as plain lines on stderr: one line per step when it finishes, with what it did, and
// indented details while it runs. It is the renderer for terminals and logs alike.
type Lines struct {
	io      *IOStreams
	mu      sync.Mutex
	summary map[string]string // step → what its planned change does
	waiting map[waitKey]bool  // waits already said: a wait is one line, not one per retry
}

// NewLines reports on io.ErrOut. Call SetPlan before applying so finished steps can say what they did.
func NewLines(io *IOStreams) *Lines { return &Lines{io: io} }

// SetPlan tells the reporter what each step is about to do.
func (l *Lines) SetPlan(p *steps.Plan) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.summary = map[string]string{}
	for _, s := range p.Steps {
		l.summary[s.Step] = s.Change.Done()
	}
}

func (l *Lines) StepStarted(steps.Phase, string) {}

// StepDid replaces what a step's line says it did, when it did less than its plan said.
func (l *Lines) StepDid(step, summary string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.summary == nil {
		l.summary = map[string]string{}
	}
	l.summary[step] = summary
}

func (l *Lines) StepFinished(phase steps.Phase, step string, err error) {
	if phase != steps.Applying {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case steps.ErrStoppedByOther(err), errors.Is(err, context.Canceled):
		// Stopped by another step's failure or by the person (Ctrl-C): not this step's failure, as in the report.
		fmt.Fprintf(l.io.ErrWriter(), "%s %-26s stopped\n", l.paint(ansiDim, "-"), step)
	case err != nil:
		fmt.Fprintf(l.io.ErrWriter(), "%s %-26s %s\n", l.paint(ansiRed, "✗"), step, trimLine(err.Error()))
	default:
		fmt.Fprintf(l.io.ErrWriter(), "%s %-26s %s\n", l.paint(ansiGreen, "✓"), step, l.summary[step])
	}
}

func (l *Lines) Progress(step, message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.io.ErrWriter(), "  %s\n", l.paint(ansiDim, step+": "+trimLine(message)))
}

// Waiting writes one line when a wait starts; its further retries and its end add nothing, so that a log
// stays short and holds no spinner or countdown.
func (l *Lines) Waiting(step string, w steps.Wait) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := keyOf(step, w)
	switch {
	case w.Reason == steps.WaitStep:
		return // steps waiting on each other are how the run is ordered, not news for a log
	case w.Over:
		delete(l.waiting, key)
		return
	case l.waiting[key]:
		return
	}
	if l.waiting == nil {
		l.waiting = map[waitKey]bool{}
	}
	l.waiting[key] = true
	line := waitCause(w)
	if !openEnded(w) {
		line = waitLine(w, 0, w.RetryIn)
	}
	fmt.Fprintf(l.io.ErrWriter(), "  %s\n", l.paint(ansiDim, step+": "+line))
}

func (l *Lines) paint(code, s string) string {
	if !l.io.ColorEnabled() {
		return s
	}
	return code + s + ansiReset
}

// Quiet reports nothing: for --output json, where stdout carries the result and stderr stays clean.
type Quiet struct{}

func (Quiet) StepStarted(steps.Phase, string)         {}
func (Quiet) StepFinished(steps.Phase, string, error) {}
func (Quiet) Progress(string, string)                 {}
func (Quiet) Waiting(string, steps.Wait)              {}

const (
	ansiReset = "\x1b[0m"
	ansiDim   = "\x1b[2m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiBold  = "\x1b[1m"
)
