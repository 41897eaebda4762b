package steps

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
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
	legend := "  " // the legend takes two lines on a narrow terminal
	if width < len("Symbols: + create  ~ update  - delete  > run") {
		legend = "\n         "
	}
	fmt.Fprintf(&b, "Symbols: %s create  %s update%s%s delete  %s run\n\n",
		paint(ansiGreen, "+"), paint(ansiYellow, "~"), legend, paint(ansiRed, "-"), paint(ansiCyan, ">"))
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
			// A long head (a UPN, a URL in the name) continues under the resource's type, broken as values are.
			for i, line := range wrapValue(head, width-2, width-4, width-2) {
				indent := "  "
				if i > 0 && len(line) <= width-4 {
					indent = "    "
				}
				fmt.Fprintf(&b, "%s%s\n", indent, paint(r.Action.color(), line))
			}
			for _, line := range wrap(r.Note, width-6) {
				fmt.Fprintf(&b, "      %s\n", paint(ansiDim, line))
			}
			nameWidth := 0
			for _, a := range r.Attrs {
				nameWidth = max(nameWidth, len(a.Name))
			}
			for _, a := range r.Attrs {
				head := fmt.Sprintf("      %-*s = ", nameWidth, a.Name)
				// A long value continues under itself, broken between words (see wrapValue), so that a narrow
				// terminal cuts no GUID or quoted value; a word too wide for that column starts further left.
				indent := len(head)
				if width-indent < 24 {
					indent = 8
				}
				for i, line := range wrapValue(a.display(), width-len(head), width-indent, width-2) {
					if i > 0 {
						head = strings.Repeat(" ", indent)
						if len(line) > width-indent {
							head = strings.Repeat(" ", wideIndent(len(line), width))
						}
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

// wideIndent is the indentation of a value's line too wide for its column: that of a narrow terminal's values
// when it fits, else that of the resource heads.
func wideIndent(length, width int) int {
	if length <= width-8 {
		return 8
	}
	return 2
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

// wrapValue splits a value into lines: the first at most first characters, the others at most rest, or widest
// for a word that fits no narrower line. It breaks between words, at a space outside quotes and parentheses, so
// that a quoted value ("file ./client-secret", "true", a GUID) and "(known after apply)" go whole onto the next
// line. A quoted value longer than a line breaks between its own words; a word wider than every line (a long
// URL) after a / ? & @ or comma, each piece whole as a word is; and a piece wider than every line is cut between
// two letters or digits, never at a hyphen or dot that could pass for the end of a GUID or a name. The first
// line is empty when the first word fits only a line of its own.
func wrapValue(value string, first, rest, widest int) []string {
	first, rest = max(first, 8), max(rest, 8)
	widest = max(widest, rest)
	var lines []string
	line, room := "", first
	flush := func() {
		if line != "" || len(lines) == 0 {
			lines = append(lines, strings.TrimRight(line, " "))
		}
		line, room = "", rest
	}
	fits := func(word string, width int) bool { return len(strings.TrimRight(word, " ")) <= width }
	// place puts a word on the line, else whole on the next, else on a wide line of its own, else cut.
	place := func(word string) {
		switch {
		case fits(line+word, room):
		case fits(word, rest):
			flush()
		case fits(word, widest):
			flush()
			lines = append(lines, strings.TrimRight(word, " "))
			return
		default:
			flush()
			for !fits(word, rest) {
				at := hardCut(word, rest)
				lines, word = append(lines, word[:at]), word[at:]
			}
		}
		line += word
	}
	for _, word := range splitAfter(value, " ", true) {
		if fits(line+word, room) || fits(word, rest) {
			place(word)
			continue
		}
		for _, inner := range splitAfter(word, " ", false) {
			if fits(line+inner, room) || fits(inner, widest) {
				place(inner)
				continue
			}
			for _, piece := range urlPieces(inner) {
				place(piece)
			}
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, strings.TrimRight(line, " "))
	}
	return lines
}

// urlPieces cuts a word after each / ? & @ and comma, keeping the // of a scheme whole.
func urlPieces(word string) []string {
	var pieces []string
	for _, p := range splitAfter(word, "/?&@,", false) {
		if n := len(pieces); n > 0 && p[0] == '/' && strings.HasSuffix(pieces[n-1], ":/") {
			pieces[n-1] += p
			continue
		}
		pieces = append(pieces, p)
	}
	return pieces
}

// hardCut is where a piece of at least width bytes is cut: as far as width allows, between two letters or
// digits, so that the cut reads as one and not as a hyphen or dot of the value; at width when there is no such
// place.
func hardCut(piece string, width int) int {
	for at := width; at > width/2; at-- {
		if alnum(piece[at-1]) && alnum(piece[at]) && utf8.RuneStart(piece[at]) {
			return at
		}
	}
	for at := width; at > 1; at-- {
		if utf8.RuneStart(piece[at]) {
			return at
		}
	}
	return width
}

// alnum says whether c is a letter or digit, counting every byte of a non-ASCII character as one.
func alnum(c byte) bool {
	return c >= 0x80 || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// splitAfter cuts s after each of the characters in breaks; with whole, not inside parentheses or double
// quotes (a %q value, whose escaped \" do not end it).
func splitAfter(s, breaks string, whole bool) []string {
	var pieces []string
	start, depth, quoted := 0, 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case whole && quoted && c == '\\':
			i++ // the escaped character
		case whole && c == '"':
			quoted = !quoted
		case whole && quoted: // no break inside a quoted value
		case whole && c == '(':
			depth++
		case whole && c == ')' && depth > 0:
			depth--
		case strings.IndexByte(breaks, c) >= 0 && depth == 0:
			pieces = append(pieces, s[start:i+1])
			start = i + 1
		}
	}
	if start < len(s) {
		pieces = append(pieces, s[start:])
	}
	return pieces
}
