package steps

import (
	"fmt"
	"io"
	"strings"
)

// RenderOptions controls the text form of a plan.
type RenderOptions struct {
	Width int  // terminal width; notes wrap to it (0 = 80)
	Color bool // ANSI colours for the action symbols
	// HideUnchanged leaves out unchanged resources and the steps that only have those; the closing counts
	// still count them. The wizard's plan screen folds them this way until asked to show them.
	HideUnchanged bool
}

// Counts summarises a plan, Terraform-style.
type Counts struct {
	Create    int `json:"create"`
	Update    int `json:"update"`
	Delete    int `json:"delete"`
	Run       int `json:"run"`
	Unchanged int `json:"unchanged"`
}

// Counts counts the plan's resources by action.
func (p *Plan) Counts() Counts {
	var c Counts
	for _, s := range p.Steps {
		for _, r := range s.Change.Resources {
			switch r.Action {
			case Create:
				c.Create++
			case Update:
				c.Update++
			case Delete:
				c.Delete++
			case Run:
				c.Run++
			default:
				c.Unchanged++
			}
		}
	}
	return c
}

// String is the closing line: "Plan: 9 to create, 2 to update, 3 unchanged."
func (c Counts) String() string {
	parts := []string{fmt.Sprintf("%d to create", c.Create), fmt.Sprintf("%d to update", c.Update)}
	if c.Delete > 0 {
		parts = append(parts, fmt.Sprintf("%d to delete", c.Delete))
	}
	if c.Run > 0 {
		parts = append(parts, fmt.Sprintf("%d to run", c.Run))
	}
	parts = append(parts, fmt.Sprintf("%d unchanged", c.Unchanged))
	return "Plan: " + strings.Join(parts, ", ") + "."
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
	ansiCyan   = "\x1b[36m"
)

func (a Action) color() string {
	switch a {
	case Create:
		return ansiGreen
	case Update:
		return ansiYellow
	case Delete:
		return ansiRed
	case Run:
		return ansiCyan
	default:
		return ansiDim
	}
}

// RenderText writes the plan for people: a legend, each step's resources with + ~ - > markers, attribute
// values (or "(known after apply)" and "(sensitive)"), and the closing counts.
func (p *Plan) RenderText(w io.Writer, opts RenderOptions) error {
	width := opts.Width
	if width <= 0 {
		width = 80
	}
	paint := func(code, s string) string {
		if !opts.Color {
			return s
		}
		return code + s + ansiReset
	}
	var b strings.Builder
	if !p.Pending() {
		// A re-run that finds everything in place says so once rather than listing each unchanged resource.
		_, err := fmt.Fprintf(w, "No changes. The tenant already matches the configuration (%d unchanged).\n", p.Counts().Unchanged)
		return err
	}
	fmt.Fprintf(&b, "Symbols: %s create  %s update  %s delete  %s run\n\n",
		paint(ansiGreen, "+"), paint(ansiYellow, "~"), paint(ansiRed, "-"), paint(ansiCyan, ">"))
	for _, s := range p.Steps {
		if opts.HideUnchanged && !s.Change.Pending() {
			continue
		}
		fmt.Fprintf(&b, "%s\n", paint(ansiBold, "# "+s.Step))
		if len(s.Change.Resources) == 0 {
			fmt.Fprintf(&b, "    %s\n", paint(ansiDim, "(nothing to do)"))
		}
		for _, r := range s.Change.Resources {
			if opts.HideUnchanged && r.Action == NoOp {
				continue
			}
			head := fmt.Sprintf("%s %s %q", r.Action.Symbol(), r.Type, r.Name)
			if r.Action == NoOp {
				head = fmt.Sprintf("  %s %q (unchanged)", r.Type, r.Name)
			}
			fmt.Fprintf(&b, "  %s\n", paint(r.Action.color(), head))
			for _, line := range wrap(r.Note, width-6) {
				fmt.Fprintf(&b, "      %s\n", paint(ansiDim, line))
			}
			nameWidth := 0
			for _, a := range r.Attrs {
				nameWidth = max(nameWidth, len(a.Name))
			}
			for _, a := range r.Attrs {
				head := fmt.Sprintf("      %-*s = ", nameWidth, a.Name)
				// A long value (a URL, a UPN) continues under itself, broken after a / . - @ or space, so that a
				// narrow terminal does not cut it mid-word.
				indent := len(head)
				if width-indent < 24 {
					indent = 8
				}
				for i, line := range wrapValue(a.display(), width-len(head), width-indent) {
					if i > 0 {
						head = strings.Repeat(" ", indent)
					}
					fmt.Fprintf(&b, "%s\n", strings.TrimRight(head+line, " "))
				}
			}
		}
		b.WriteString("\n")
	}
	b.WriteString(p.Counts().String() + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (a Attr) display() string {
	switch {
	case a.Sensitive:
		return "(sensitive)"
	case a.Unknown && a.Old != "":
		return fmt.Sprintf("%q -> (known after apply)", a.Old)
	case a.Unknown:
		return "(known after apply)"
	case a.Old != "" && a.Old != a.New:
		return fmt.Sprintf("%q -> %q", a.Old, a.New)
	default:
		return fmt.Sprintf("%q", a.New)
	}
}

// wrap splits text into lines of at most width characters at spaces.
func wrap(text string, width int) []string {
	if text == "" {
		return nil
	}
	width = max(width, 20)
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	return append(lines, line)
}

// wrapValue splits a value into lines: the first at most first characters, the others at most rest. It breaks
// between words (a space outside parentheses, so "(known after apply)" stays whole); a word too long for a
// line of its own (a URL) is broken after one of / . - @ ? & =, and only a piece without any of them is cut
// where it must be. The first line is empty when the first word fits only a line of its own.
func wrapValue(value string, first, rest int) []string {
	first, rest = max(first, 8), max(rest, 8)
	var lines []string
	line, room := "", first
	flush := func() {
		lines = append(lines, strings.TrimRight(line, " "))
		line, room = "", rest
	}
	for _, word := range splitAfter(value, " ", true) {
		trimmed := strings.TrimRight(word, " ")
		switch {
		case len(line)+len(trimmed) <= room:
		case len(trimmed) <= rest:
			flush()
		default:
			for _, piece := range splitAfter(word, "/.-@?&=", false) {
				for len(line)+len(strings.TrimRight(piece, " ")) > room {
					if line != "" {
						flush()
						continue
					}
					lines = append(lines, piece[:room])
					piece, room = piece[room:], rest
				}
				line += piece
			}
			continue
		}
		line += word
	}
	return append(lines, strings.TrimRight(line, " "))
}

// splitAfter cuts s after each of the characters in breaks; with outsideParens, not inside parentheses.
func splitAfter(s, breaks string, outsideParens bool) []string {
	var pieces []string
	start, depth := 0, 0
	for i, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case strings.ContainsRune(breaks, r) && (!outsideParens || depth == 0):
			pieces = append(pieces, s[start:i+1])
			start = i + 1
		}
	}
	if start < len(s) {
		pieces = append(pieces, s[start:])
	}
	return pieces
}
