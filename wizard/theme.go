package wizard

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// theme paints the interactive screens. Without colour it paints nothing at all: no colour, no bold, no
// escape code of any kind, so that NO_COLOR gives plain text.
type theme struct {
	color bool
}

func (t theme) style(s lipgloss.Style, text string) string {
	if !t.color || text == "" {
		return text
	}
	return s.Render(text)
}

func (t theme) good(s string) string {
	return t.style(lipgloss.NewStyle().Foreground(lipgloss.Green), s)
}
func (t theme) bad(s string) string { return t.style(lipgloss.NewStyle().Foreground(lipgloss.Red), s) }
func (t theme) warn(s string) string {
	return t.style(lipgloss.NewStyle().Foreground(lipgloss.Yellow), s)
}
func (t theme) accent(s string) string {
	return t.style(lipgloss.NewStyle().Foreground(lipgloss.Cyan), s)
}
func (t theme) dim(s string) string  { return t.style(lipgloss.NewStyle().Faint(true), s) }
func (t theme) bold(s string) string { return t.style(lipgloss.NewStyle().Bold(true), s) }

// selected marks the chosen one of a few buttons: reversed in colour, in brackets without.
func (t theme) button(label string, selected bool) string {
	if !t.color {
		if selected {
			return "[" + label + "]"
		}
		return " " + label + " "
	}
	if selected {
		return lipgloss.NewStyle().Reverse(true).Bold(true).Render(" " + label + " ")
	}
	return " " + label + " "
}

// wrapLines fits text to width: a line too long is broken at spaces or at the / - . @ inside URLs and names,
// never mid-word otherwise, and its continuation lines are indented two more than the line, so attributes
// stay readable.
func wrapLines(text string, width int) string { return wrapAt(text, width, "/-.@") }

// wrapProse is wrapLines for sentences: lines break at spaces only (a word longer than the line is split), so
// that an ID or a hyphenated name stays whole.
func wrapProse(text string, width int) string { return wrapAt(text, width, "") }

// wrapWords breaks text at spaces only, unlike lipgloss.Wrap, for which a hyphen is always a breakpoint (it
// would break a GUID); a word longer than width is cut.
func wrapWords(text string, width int) string {
	var lines []string
	line := ""
	for i, word := range strings.Split(text, " ") {
		switch {
		case i == 0:
			line = word
		case lipgloss.Width(line)+1+lipgloss.Width(word) <= width:
			line += " " + word
		default:
			lines, line = append(lines, line), word
		}
		for lipgloss.Width(line) > width {
			first, rest, _ := strings.Cut(ansi.Hardwrap(line, width, false), "\n")
			lines, line = append(lines, first), rest
		}
	}
	return strings.Join(append(lines, line), "\n")
}

func wrapAt(text string, width int, breakpoints string) string {
	if width <= 0 {
		return text
	}
	lines := strings.Split(text, "\n")
	out := make([]string, 0, len(lines))
	for _, line := range lines {
		if lipgloss.Width(line) <= width {
			out = append(out, line)
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		room := max(width-indent-2, 10)
		wrapped := wrapWords(line[indent:], room)
		if breakpoints != "" {
			wrapped = lipgloss.Wrap(line[indent:], room, breakpoints)
		}
		for i, part := range strings.Split(wrapped, "\n") {
			pad := indent
			if i > 0 {
				pad += 2
			}
			out = append(out, strings.Repeat(" ", pad)+strings.TrimRight(part, " "))
		}
	}
	return strings.Join(out, "\n")
}

// programOptions are the options every screen runs with: keys from stdin, the screen on stderr (stdout carries
// only results). On a terminal the program reads its size; elsewhere (tests) it has the streams' width.
func (s *IOStreams) programOptions(extra ...tea.ProgramOption) []tea.ProgramOption {
	return append([]tea.ProgramOption{tea.WithInput(s.In), tea.WithOutput(s.ErrOut), tea.WithWindowSize(s.width, 24)}, extra...)
}
