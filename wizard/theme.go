package wizard

import (
	"regexp"
	"strings"
	"unicode/utf8"

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

// wrapLines fits text to width: a line too long is broken at spaces, and only a word longer than a line (a long
// URL) after its / . @, never mid-word otherwise (a GUID stays whole); its continuation lines are indented two
// more than the line, so attributes stay readable.
func wrapLines(text string, width int) string { return wrapAt(text, width, "/.@") }

// wrapProse is wrapLines for sentences: lines break at spaces only (a word longer than the line is split), so
// that an ID or a hyphenated name stays whole.
func wrapProse(text string, width int) string { return wrapAt(text, width, "") }

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
		hang := 2
		for _, word := range strings.Fields(line) {
			if w := lipgloss.Width(word); w > width-indent-2 && w <= width-indent {
				hang = 0 // a word (an ID) that fits the line only without the hanging indent stays whole
			}
		}
		room := max(width-indent-hang, 10)
		for i, part := range strings.Split(wrapWords(line[indent:], room, breakpoints), "\n") {
			pad := indent
			if i > 0 {
				pad += hang
			}
			out = append(out, strings.Repeat(" ", pad)+part)
		}
	}
	return strings.Join(out, "\n")
}

// wrapWords breaks text into lines of at most width columns at spaces outside double quotes; only a quoted value
// longer than a line is broken at its spaces, and only a word longer than a line inside, after the characters in breakpoints, and a piece still too long is cut. So a UPN or a URL that fits a
// line goes whole onto the next one. Unlike lipgloss.Wrap, for which a hyphen is always a breakpoint, a GUID
// stays whole unless breakpoints holds "-". Escape codes never hold a space or a breakpoint here (SGR only), so
// they stay whole too.
func wrapWords(text string, width int, breakpoints string) string {
	var (
		lines []string
		line  string
	)
	fits := func(s string) bool { return lipgloss.Width(strings.TrimRight(s, " ")) <= width }
	place := func(word string) {
		if line != "" && !fits(line+word) {
			lines, line = append(lines, strings.TrimRight(line, " ")), ""
		}
		line += word
		for !fits(line) {
			first, rest, _ := strings.Cut(ansi.Hardwrap(line, width, false), "\n")
			lines, line = append(lines, first), rest
		}
	}
	for _, quoted := range splitOutsideQuotes(text) {
		if fits(quoted) {
			place(quoted) // a "quoted value" that fits a line is not broken
			continue
		}
		for _, word := range splitAfter(quoted, " ") {
			if fits(word) || breakpoints == "" {
				place(word)
				continue
			}
			for _, piece := range splitAfter(word, breakpoints) {
				place(piece)
			}
		}
	}
	return strings.Join(keepStyles(append(lines, strings.TrimRight(line, " "))), "\n")
}

var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// keepStyles ends each line's open colour and opens it again on the next line, as lipgloss.Wrap does, so that a
// line shown alone (a scrolled view) keeps its colour and the indentation is never painted.
func keepStyles(lines []string) []string {
	open := ""
	for i, l := range lines {
		codes := sgr.FindAllString(l, -1)
		l = open + l
		for _, code := range codes {
			if code == "\x1b[m" || code == "\x1b[0m" {
				open = ""
			} else {
				open += code
			}
		}
		if open != "" {
			l += "\x1b[m"
		}
		lines[i] = l
	}
	return lines
}

// splitOutsideQuotes cuts s after every space that is not inside double quotes.
func splitOutsideQuotes(s string) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ' ':
			if !quoted {
				parts, start = append(parts, s[start:i+1]), i+1
			}
		}
	}
	if start < len(s) {
		parts = append(parts, s[start:])
	}
	return parts
}

// splitAfter cuts s after every rune in set.
func splitAfter(s, set string) []string {
	var parts []string
	for len(s) > 0 {
		i := strings.IndexAny(s, set)
		if i < 0 {
			break
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		parts, s = append(parts, s[:i+size]), s[i+size:]
	}
	if s != "" {
		parts = append(parts, s)
	}
	return parts
}

// programOptions are the options every screen runs with: keys from stdin, the screen on stderr (stdout carries
// only results). On a terminal the program reads its size; elsewhere (tests) it has the streams' width.
func (s *IOStreams) programOptions(extra ...tea.ProgramOption) []tea.ProgramOption {
	return append([]tea.ProgramOption{tea.WithInput(s.In), tea.WithOutput(s.ErrOut), tea.WithWindowSize(s.width, 24)}, extra...)
}
