package wizard

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/idpctl/idpctl/steps"
)

// ConfirmPlan shows the plan on a terminal, scrollable, with unchanged resources folded, and asks "Apply these
// changes?" with No preselected. It returns true only when the admin chose Yes; Ctrl-C or the context ending
// returns context.Canceled. Nothing is written while it asks.
func ConfirmPlan(ctx context.Context, io *IOStreams, plan *steps.Plan) (bool, error) {
	m := newPlanScreen(plan, theme{color: io.ColorEnabled()}, io.Width(), 24)
	final, err := tea.NewProgram(m, io.programOptions(tea.WithContext(ctx))...).Run()
	if err != nil {
		if errors.Is(err, tea.ErrProgramKilled) || errors.Is(err, tea.ErrInterrupted) {
			return false, context.Canceled
		}
		return false, fmt.Errorf("showing the plan: %w", err)
	}
	screen := final.(*planScreen)
	if !screen.answered {
		// Ctrl-C, or a signal that made the program quit before an answer.
		return false, context.Canceled
	}
	return screen.yes, nil
}

// planScreen is the plan in a viewport above the question. Keys: ↑/↓, PgUp/PgDn (space), Home/End scroll;
// u folds or unfolds the unchanged resources; y and n answer at once; ←/→ or Tab choose; Enter answers with
// the choice, which starts on No; Esc and q answer No.
type planScreen struct {
	plan          *steps.Plan
	theme         theme
	width, height int
	unfolded      bool
	view          viewport.Model
	yes           bool // the chosen answer
	answered      bool
}

func newPlanScreen(plan *steps.Plan, t theme, width, height int) *planScreen {
	vp := viewport.New()
	km := viewport.DefaultKeyMap()
	// u folds; ←/→ choose the answer; h/l are not needed for text that is already wrapped.
	km.HalfPageUp = key.NewBinding(key.WithKeys("ctrl+u"))
	km.Left, km.Right = key.NewBinding(key.WithDisabled()), key.NewBinding(key.WithDisabled())
	vp.KeyMap = km
	vp.MouseWheelEnabled = false
	s := &planScreen{plan: plan, theme: t, view: vp}
	s.resize(width, height)
	return s
}

func (s *planScreen) Init() tea.Cmd { return nil }

func (s *planScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.resize(msg.Width, msg.Height)
		return s, nil
	case tea.KeyPressMsg:
		switch msg.String() {
		case "ctrl+c":
			return s, tea.Quit
		case "y", "Y":
			return s.answer(true)
		case "n", "N", "esc", "q":
			return s.answer(false)
		case "enter":
			return s.answer(s.yes)
		case "left", "right", "tab", "shift+tab", "h", "l":
			s.yes = !s.yes
			return s, nil
		case "u":
			s.unfolded = !s.unfolded
			s.refresh()
			return s, nil
		case "home", "g":
			s.view.GotoTop()
			return s, nil
		case "end", "G":
			s.view.GotoBottom()
			return s, nil
		}
	}
	var cmd tea.Cmd
	s.view, cmd = s.view.Update(msg)
	return s, cmd
}

func (s *planScreen) answer(yes bool) (tea.Model, tea.Cmd) {
	s.yes, s.answered = yes, true
	return s, tea.Quit
}

func (s *planScreen) resize(width, height int) {
	s.width, s.height = max(width, 20), max(height, 8)
	s.refresh()
}

// refresh renders the plan for the current width and fold, and sizes the viewport to what is left of the
// screen below it.
func (s *planScreen) refresh() {
	var b strings.Builder
	_ = s.plan.RenderText(&b, steps.RenderOptions{Width: s.width, Color: s.theme.color, HideUnchanged: !s.unfolded})
	// The totals, the text's last line, stay in the footer beside the question: not twice on one screen.
	text := strings.TrimSuffix(strings.TrimRight(b.String(), "\n"), s.plan.Counts().String())
	content := wrapLines(strings.TrimRight(text, "\n"), s.width)
	lines := strings.Count(content, "\n") + 1
	s.view.SetWidth(s.width)
	s.view.SetContent(content)
	// Twice: whether the footer has a scroll line depends on the height it leaves.
	for range 2 {
		footer := strings.Count(s.footer(), "\n") + 1
		s.view.SetHeight(max(3, min(lines, s.height-footer-1)))
	}
}

func (s *planScreen) View() tea.View {
	if s.answered {
		// What stays on the terminal once answered: the counts and the answer, not a half-scrolled plan.
		answer := s.theme.bad("No")
		if s.yes {
			answer = s.theme.good("Yes")
		}
		return tea.NewView(wrapLines(s.plan.Counts().String(), s.width) + "\nApply these changes? " + answer + "\n\n")
	}
	return tea.NewView(s.view.View() + "\n" + s.footer() + "\n")
}

// footer is what stays below the plan: the fold, the scroll position, the totals, the question and its keys.
func (s *planScreen) footer() string {
	var status []string
	if n := s.plan.Counts().Unchanged; n > 0 {
		if s.unfolded {
			status = append(status, fmt.Sprintf("showing %d unchanged · u to fold", n))
		} else {
			status = append(status, fmt.Sprintf("%d unchanged · u to show", n))
		}
	}
	if !(s.view.AtTop() && s.view.AtBottom()) {
		status = append(status, fmt.Sprintf("↑/↓ scroll · %d%%", int(s.view.ScrollPercent()*100)))
	}
	var b strings.Builder
	if len(status) > 0 {
		b.WriteString(wrapLines(s.theme.dim(strings.Join(status, " · ")), s.width) + "\n")
	}
	// The totals stay in sight next to the question, however far the plan is scrolled (Terraform prints them
	// right above its prompt too).
	b.WriteString(wrapLines(s.plan.Counts().String(), s.width) + "\n")
	b.WriteString(s.theme.bold("Apply these changes?") + " " + s.theme.button("Yes", s.yes) + " " + s.theme.button("No", !s.yes) + "\n")
	b.WriteString(wrapLines(s.theme.dim("y yes · n no · ←/→ choose · enter confirm"), s.width))
	return b.String()
}
