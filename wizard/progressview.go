package wizard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/steps"
)

// ErrQuitAtOnce is what ShowProgress returns when the admin pressed Ctrl-C twice: the run was left without
// waiting for it to stop.
var ErrQuitAtOnce = fmt.Errorf("stopped at once on a second Ctrl-C; run the same command again to resume: %w", context.Canceled)

// ShowProgress runs apply with a progress view on the terminal: the six steps of the documented procedure
// with the engine's steps under them, a spinner and the time for what runs, waits said as such, each result,
// and a failure with the fix to try. The first Ctrl-C (or SIGTERM, or ctx ending) cancels apply's context and
// the view waits for the run to stop, then lists what was created; a second Ctrl-C returns ErrQuitAtOnce at
// once. apply must report through the Reporter it is given. handOff, if not nil, is the manual backend's
// SCIMSource: while it asks, the view shows it instead of the steps. interrupt, if not nil, is the process's
// interrupt handling, told of the first Ctrl-C (raw mode reads it as a key, not a signal) so that it cancels
// ctx as a SIGINT would; on ErrQuitAtOnce the caller tells it of the second.
func ShowProgress(ctx context.Context, io *IOStreams, plan *steps.Plan, handOff *HandOff, interrupt func(),
	apply func(ctx context.Context, r steps.Reporter) (steps.Report, error)) (steps.Report, error) {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	view := newProgressView(plan, theme{color: io.ColorEnabled()}, io.Width(), time.Now)
	view.cancel, view.runCtx, view.handOff, view.interrupt = cancel, runCtx, handOff, interrupt
	p := tea.NewProgram(view, io.programOptions(tea.WithFilter(signalsStop))...)
	if handOff != nil {
		handOff.attach(p)
		defer handOff.attach(nil)
	}

	go func() {
		report, err := apply(runCtx, programReporter{p})
		p.Send(applyDoneMsg{report: report, err: err})
	}()
	exited := make(chan struct{})
	defer close(exited)
	go func() {
		select {
		case <-ctx.Done():
			p.Send(stopMsg{})
		case <-exited:
		}
	}()

	final, err := p.Run()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("showing progress: %w", err)
	}
	v := final.(*progressView)
	if v.quitAtOnce {
		return nil, ErrQuitAtOnce
	}
	return v.report, v.err
}

// signalsStop turns what the program makes of SIGTERM (a quit) and of SIGINT outside raw mode (an interrupt)
// into a stop, like the first Ctrl-C: the run ends cleanly instead of being dropped.
func signalsStop(m tea.Model, msg tea.Msg) tea.Msg {
	switch msg.(type) {
	case tea.QuitMsg:
		if v, ok := m.(*progressView); ok && !v.quitting {
			return stopMsg{}
		}
	case tea.InterruptMsg:
		return stopMsg{}
	}
	return msg
}

// programReporter hands the engine's events to the program; Send is safe from any goroutine and returns at
// once when the program has ended.
type programReporter struct{ p *tea.Program }

func (r programReporter) StepStarted(phase steps.Phase, step string) {
	r.p.Send(stepMsg{phase: phase, step: step, started: true})
}
func (r programReporter) StepFinished(phase steps.Phase, step string, err error) {
	r.p.Send(stepMsg{phase: phase, step: step, finished: true, err: err})
}
func (r programReporter) StepDid(step, summary string) {
	r.p.Send(stepMsg{phase: steps.Applying, step: step, did: summary})
}
func (r programReporter) Progress(step, message string) {
	r.p.Send(stepMsg{phase: steps.Applying, step: step, detail: message})
}
func (r programReporter) Waiting(step string, w steps.Wait) {
	r.p.Send(stepMsg{phase: steps.Applying, step: step, wait: &w})
}

type (
	stepMsg struct {
		phase             steps.Phase
		step              string
		started, finished bool
		err               error
		detail            string
		did               string // what the step did, when less than its plan said
		wait              *steps.Wait
	}
	applyDoneMsg struct {
		report steps.Report
		err    error
	}
	stopMsg struct{} // SIGTERM, SIGINT or the run's context ending: stop like the first Ctrl-C
	tickMsg time.Time
)

// guideStep is one of the six steps of the documented procedure and the engine steps that do it.
type guideStep struct {
	title string
	steps []string
}

// guide maps the engine's steps onto the documented procedure (steps.Flow says which part each one does).
// A plan with a step missing here (a day-2 command's) is shown as a flat list in its own order, so none is
// ever hidden.
func guide() []guideStep {
	return []guideStep{
		{"Create the enterprise application", []string{"application", "assignments"}},
		{"Enable single sign-on", []string{"single sign-on settings", "admin consent", "client secret", "backend hand-off"}},
		{"Enable user provisioning", []string{"provisioning job", "provisioning credentials"}},
		{"Turn on provisioning", []string{"start provisioning"}},
		{"Adjust the user attribute mappings", []string{"attribute mappings"}},
		{"Confirm the users arrived", []string{"confirm users arrived", "owners and admins"}},
	}
}

// stepState is what the view knows of one engine step.
type stepState struct {
	name     string
	planned  steps.Change
	started  bool
	finished bool
	at       time.Time // when it finished
	err      error
	detail   string // the last progress message
	did      string // what it did, when less than planned (steps.DidReporter)
	waits    []*activeWait
}

// activeWait is a wait in progress: since when, and when its last report came (RetryIn counts from there).
type activeWait struct {
	wait     steps.Wait
	since    time.Time
	reported time.Time
}

type progressView struct {
	theme  theme
	width  int
	height int
	now    func() time.Time
	start  time.Time
	groups []guideStep
	steps  map[string]*stepState
	// flat lists the steps of a day-2 command in the plan's order, without the setup procedure's six steps
	// around them: teardown deleting the application is not "Create the enterprise application".
	flat bool

	cancel     context.CancelFunc
	interrupt  func()          // the process's interrupt handling, told of the first Ctrl-C
	runCtx     context.Context // the run's: the hand-off's probe ends with it
	handOff    *HandOff
	form       *handOffForm // the hand-off while it asks; the steps are hidden meanwhile
	stopping   bool         // the first Ctrl-C or a signal: the run is being stopped
	quitAtOnce bool         // the second Ctrl-C
	quitting   bool         // the view ends: the run is over or left
	done       bool
	report     steps.Report
	err        error
}

func newProgressView(plan *steps.Plan, t theme, width int, now func() time.Time) *progressView {
	v := &progressView{theme: t, width: max(width, 20), height: 24, now: now, start: now(), steps: map[string]*stepState{}}
	known, planned := map[string]bool{}, map[string]bool{}
	for _, s := range plan.Steps {
		planned[s.Step] = true
	}
	for _, g := range guide() {
		var present []string
		for _, name := range g.steps {
			known[name] = true
			if planned[name] {
				present = append(present, name)
			}
		}
		if len(present) > 0 {
			v.groups = append(v.groups, guideStep{g.title, present})
		}
	}
	var all []string
	for _, s := range plan.Steps {
		v.steps[s.Step] = &stepState{name: s.Step, planned: s.Change}
		all = append(all, s.Step)
		// A step outside the procedure: a day-2 command's plan (the guide covers every step of setup's flow).
		v.flat = v.flat || !known[s.Step]
	}
	if v.flat {
		v.groups = []guideStep{{steps: all}}
	}
	return v
}

func tick() tea.Cmd {
	return tea.Tick(100*time.Millisecond, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func (v *progressView) Init() tea.Cmd { return tick() }

func (v *progressView) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		v.width, v.height = max(msg.Width, 20), max(msg.Height, 8)
	case tickMsg:
		if !v.done {
			return v, tick()
		}
	case stepMsg:
		v.event(msg)
	case stopMsg:
		v.stop()
	case handOffMsg:
		if v.stopping || v.handOff == nil {
			msg.reply <- handOffResult{err: context.Canceled}
			break
		}
		v.form = newHandOffForm(v.handOff, msg, v.theme)
	case tea.KeyPressMsg:
		if msg.String() == "ctrl+c" {
			if v.stopping {
				v.quitAtOnce, v.quitting = true, true
				return v, tea.Quit
			}
			if v.interrupt != nil {
				v.interrupt()
			}
			v.stop()
			break
		}
		return v, v.toForm(msg)
	case tea.PasteMsg, probedMsg:
		return v, v.toForm(msg)
	case handOffGoneMsg:
		if v.form != nil && v.form.reply == msg.reply {
			v.form = nil
		}
	case applyDoneMsg:
		if v.form != nil {
			v.form.cancel()
			v.form = nil
		}
		v.done, v.report, v.err, v.quitting = true, msg.report, msg.err, true
		return v, tea.Quit
	}
	return v, nil
}

func (v *progressView) stop() {
	if !v.stopping {
		v.stopping = true
		v.cancel()
	}
	if v.form != nil {
		v.form.cancel()
		v.form = nil
	}
}

// toForm hands a key, a paste or a probe result to the hand-off, if one asks.
func (v *progressView) toForm(msg tea.Msg) tea.Cmd {
	if v.form == nil {
		return nil
	}
	ctx := v.runCtx
	if ctx == nil {
		ctx = context.Background()
	}
	cmd, done := v.form.update(msg, ctx)
	if done {
		v.form = nil
	}
	return cmd
}

func (v *progressView) event(e stepMsg) {
	s := v.steps[e.step]
	if s == nil || e.phase != steps.Applying {
		return
	}
	now := v.now()
	switch {
	case e.started:
		s.started = true
	case e.finished:
		s.finished, s.at, s.err, s.waits = true, now, e.err, nil
	case e.wait != nil:
		s.wait(*e.wait, now)
	case e.did != "":
		s.did = e.did
	default:
		s.detail = trimLine(e.detail)
	}
}

// wait records a wait report: a new wait, a further retry of one in progress, or its end.
func (s *stepState) wait(w steps.Wait, now time.Time) {
	for i, a := range s.waits {
		if a.wait.Reason != w.Reason || a.wait.Object != w.Object {
			continue
		}
		if w.Over {
			s.waits = append(s.waits[:i], s.waits[i+1:]...)
			return
		}
		a.wait, a.reported = w, now
		return
	}
	if !w.Over {
		s.waits = append(s.waits, &activeWait{wait: w, since: now, reported: now})
	}
}

// status is where a step stands, for its marker.
type status int

const (
	notStarted    status = iota
	waitingStatus        // started, but waiting for another step's output before its own work
	running
	succeeded
	failedStatus
	stoppedStatus
)

func (s *stepState) status() status {
	switch {
	case !s.finished && s.started && len(s.waits) > 0 && len(s.waitingFor()) == len(s.waits):
		return waitingStatus
	case !s.finished && s.started:
		return running
	case !s.finished:
		return notStarted
	case s.err == nil:
		return succeeded
	case steps.ErrStoppedByOther(s.err), errors.Is(s.err, context.Canceled):
		return stoppedStatus
	default:
		return failedStatus
	}
}

// waitingFor names the steps s waits for.
func (s *stepState) waitingFor() []string {
	var names []string
	for _, w := range s.waits {
		if w.wait.Reason == steps.WaitStep {
			names = append(names, w.wait.Object)
		}
	}
	return names
}

// groupStatus is the guide step's: failed if one of its steps failed, running while one runs, done when all are.
func (v *progressView) groupStatus(g guideStep) (status, time.Time) {
	var last time.Time
	all := map[status]bool{}
	for _, name := range g.steps {
		s := v.steps[name]
		st := s.status()
		if st == waitingStatus {
			st = notStarted // the procedure's step has not begun while its steps only wait
		}
		all[st] = true
		if s.at.After(last) {
			last = s.at
		}
	}
	switch {
	case all[failedStatus]:
		return failedStatus, last
	case all[running]:
		return running, last
	case all[stoppedStatus]:
		return stoppedStatus, last
	case all[notStarted]:
		return notStarted, last
	default:
		return succeeded, last
	}
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (v *progressView) marker(st status) string {
	switch st {
	case running:
		frame := int(v.now().Sub(v.start)/(100*time.Millisecond)) % len(spinnerFrames)
		return v.theme.accent(spinnerFrames[frame])
	case succeeded:
		return v.theme.good("✓")
	case failedStatus:
		return v.theme.bad("✗")
	case stoppedStatus:
		return v.theme.warn("-")
	case waitingStatus:
		return v.theme.dim("◦")
	default:
		return v.theme.dim("·")
	}
}

func (v *progressView) View() tea.View {
	if v.form != nil {
		head := v.theme.bold("Applying the plan") + v.theme.dim(" · "+seconds(v.now().Sub(v.start))+" · paused for the hand-off · Ctrl-C stops")
		return tea.NewView(wrapLines(head, v.width) + "\n\n" + v.form.view(v.width, v.marker(running)))
	}
	full := v.render(false)
	if lipgloss.Height(full) >= v.height {
		// Taller than the terminal, whose top would be lost: steps of the procedure that neither run nor failed
		// keep one line each.
		full = v.render(true)
	}
	return tea.NewView(full)
}

func (v *progressView) render(compact bool) string {
	var b strings.Builder
	now := v.now()
	elapsed := now.Sub(v.start)
	switch {
	case v.done && v.err == nil:
		b.WriteString(v.theme.bold("Applied the plan") + v.theme.dim(" in "+seconds(elapsed)) + "\n\n")
	case v.done && v.stopping:
		b.WriteString(v.theme.bold("Stopped") + v.theme.dim(" after "+seconds(elapsed)) + "\n\n")
	case v.done:
		b.WriteString(v.theme.bold(v.theme.bad("Failed")) + v.theme.dim(" after "+seconds(elapsed)) + "\n\n")
	case v.stopping:
		b.WriteString(wrapLines(v.theme.warn("Stopping: letting the calls in flight finish")+v.theme.dim(" · Ctrl-C again quits at once"), v.width) + "\n\n")
	default:
		b.WriteString(wrapLines(v.theme.bold("Applying the plan")+v.theme.dim(" · "+seconds(elapsed)+" · Ctrl-C stops"), v.width) + "\n\n")
	}
	for i, g := range v.groups {
		if v.flat {
			for _, name := range g.steps {
				v.renderStep(&b, v.steps[name], now)
			}
			continue
		}
		st, last := v.groupStatus(g)
		head := fmt.Sprintf("%s %d %s", v.marker(st), i+1, g.title)
		if st == succeeded {
			head += v.theme.dim(" · " + seconds(last.Sub(v.start)))
		}
		b.WriteString(hanging(head, 4, v.width) + "\n")
		if compact && st != running && st != failedStatus {
			continue
		}
		for _, name := range g.steps {
			v.renderStep(&b, v.steps[name], now)
		}
	}
	if v.done && v.stopping {
		b.WriteString("\n" + v.stoppedSummary())
	}
	return b.String()
}

// renderStep writes one engine step: its marker, name and result (or what it does now), then its waits, and
// for a failure the error and the fix to try.
func (v *progressView) renderStep(b *strings.Builder, s *stepState, now time.Time) {
	st := s.status()
	in := 4 // under the procedure's step
	if v.flat {
		in = 2
	}
	line := fmt.Sprintf("%s%s %s", strings.Repeat(" ", in), v.marker(st), s.name)
	switch st {
	case succeeded:
		line += v.theme.dim(": " + cmp.Or(s.did, s.planned.Done()))
	case waitingStatus:
		line += v.theme.dim(": waiting for " + strings.Join(s.waitingFor(), ", "))
	case running:
		if s.detail != "" {
			line += v.theme.dim(": " + s.detail)
		}
	case stoppedStatus:
		line += v.theme.dim(": stopped")
	case failedStatus:
		b.WriteString(line + "\n")
		b.WriteString(wrapIndented(v.theme.bad(trimLine(s.err.Error())), in+4, v.width) + "\n")
		b.WriteString(wrapIndented(v.theme.dim("fix: ")+fixFor(s.err), in+4, v.width) + "\n")
		return
	}
	b.WriteString(hanging(line, in+2, v.width) + "\n")
	if st != running {
		return
	}
	for _, w := range s.waits {
		if w.wait.Reason == steps.WaitStep {
			continue // said on the step's line while it only waits; once at work, its own waits matter
		}
		left := w.wait.RetryIn - now.Sub(w.reported)
		b.WriteString(wrapIndented(v.theme.warn(waitLine(w.wait, now.Sub(w.since), left)), in+4, v.width) + "\n")
	}
}

// stoppedSummary is said once a stopped run has ended: what exists now and that running again resumes. A step
// stopped part way may already have made something (the application, created before the wait for its
// replication): its last progress report says what.
func (v *progressView) stoppedSummary() string {
	var made, partly []string
	for _, r := range v.report {
		if r.Status == steps.StatusApplied {
			made = append(made, r.Summary)
		}
	}
	for _, g := range v.groups {
		for _, name := range g.steps {
			if s := v.steps[name]; s.status() == stoppedStatus && s.detail != "" {
				partly = append(partly, name+": "+s.detail)
			}
		}
	}
	var b strings.Builder
	list := func(head string, items []string) {
		b.WriteString(head + "\n")
		for _, item := range items {
			b.WriteString(wrapProse("  - "+item, v.width) + "\n")
		}
	}
	if len(made) > 0 {
		list("Done before the run stopped:", made)
	}
	if len(partly) > 0 {
		list("Stopped part way:", partly)
	}
	if len(made) == 0 && len(partly) == 0 {
		b.WriteString("Nothing was finished before the run stopped.\n")
	}
	b.WriteString(wrapLines("Run the same command again to resume: idpctl finds what it created, also in the steps that were stopped, and carries on from there.", v.width) + "\n")
	return b.String()
}

// fixFor is the fix to try for a failed step, by the kind of error.
func fixFor(err error) string {
	var confirm *steps.ConfirmError
	switch {
	case errors.As(err, &confirm):
		return "open the provisioning logs in the Entra admin center for each user's error, fix the user or the mapping, then run again"
	case graph.IsUnauthorized(err), graph.IsSignInFailure(err):
		return "sign in again (the session expired or was refused), then run the same command; it resumes"
	case graph.IsForbidden(err):
		return "sign in as an Application Administrator, Cloud Application Administrator or Global Administrator, then run again"
	case graph.IsThrottled(err):
		return "Graph kept throttling: wait a few minutes, then run the same command; it resumes"
	case errors.Is(err, context.DeadlineExceeded):
		return "the run hit --timeout: run the same command again (with a longer --timeout if needed); it resumes"
	default:
		return "run the same command again: it resumes where it stopped (--debug shows each Graph request)"
	}
}

// hanging wraps a line at spaces to width, its continuation lines indented by indent columns (under the step's
// name), or by two when that keeps a long word (an ID, a UPN) whole.
func hanging(line string, indent, width int) string {
	if lipgloss.Width(line) <= width {
		return line
	}
	for _, word := range strings.Fields(line) {
		if lipgloss.Width(word) > width-indent {
			indent = 2
		}
	}
	lead := len(line) - len(strings.TrimLeft(line, " "))
	lines := strings.Split(wrapWords(line[lead:], max(width-indent, 10), ""), "\n")
	for i := range lines {
		pad := indent
		if i == 0 {
			pad = lead
		}
		lines[i] = strings.Repeat(" ", pad) + lines[i]
	}
	return strings.Join(lines, "\n")
}

// wrapIndented wraps text to width, every line indented by indent columns.
func wrapIndented(text string, indent, width int) string {
	pad := strings.Repeat(" ", indent)
	lines := strings.Split(wrapWords(text, max(width-indent, 10), "/.@"), "\n")
	for i, l := range lines {
		lines[i] = pad + l
	}
	return strings.Join(lines, "\n")
}
