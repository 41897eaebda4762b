package wizard

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Picker is a huh field that chooses groups and users by searching the directory as the person types. Each
// keystroke (after a pause of Debounce) asks Graph for one page of matches (principalSearch); a search the next
// keystroke supersedes is cancelled, and further pages load when the cursor reaches the end of the list. The
// whole directory is never read.
//
// Keys: typing searches; ↑/↓ move; tab selects or unselects; enter continues (with the highlighted entry when
// nothing is selected yet); esc clears the search.
type Picker struct {
	key         string
	title       string
	description string
	search      *principalSearch
	ctx         context.Context
	debounce    time.Duration
	// optional lets the person continue with nothing selected (Owners, Admins).
	optional bool
	value    *[]Principal

	input     textinput.Model
	results   searchPage
	cursor    int
	offset    int // first row shown
	seq       int // the latest search; answers of older ones are dropped
	cancel    context.CancelFunc
	searching bool
	loading   bool // a further page is on its way
	listed    bool // a search has started: focusing again keeps the list
	// resultsFor is the text results answer: the search line may already hold more.
	resultsFor string
	status     string
	err        error

	focused   bool
	width     int
	height    int
	theme     huh.Theme
	hasDarkBg bool
	position  huh.FieldPosition
}

// pickerSearched is a search's answer; pickerDue the end of a keystroke's pause.
type (
	pickerSearched struct {
		from *Picker
		seq  int
		more bool
		page searchPage
		err  error
	}
	pickerDue struct {
		from *Picker
		seq  int
	}
)

// pickerLines is the height of the list: the picker's height never changes, since a huh form sizes its screen
// once. It shows that many entries on a wide terminal, half as many (two lines each) on a narrow one.
const pickerLines = 8

// NewPicker returns a picker over dir that reads and writes value; its searches end with ctx. groups false
// searches users only.
func NewPicker(ctx context.Context, dir Directory, groups bool, value *[]Principal) *Picker {
	in := textinput.New()
	in.Prompt = "> "
	in.Placeholder = "type a name to search"
	return &Picker{
		search:   newPrincipalSearch(dir, groups),
		ctx:      ctx,
		debounce: 150 * time.Millisecond,
		value:    value,
		input:    in,
		width:    80,
	}
}

// Title sets the question.
func (p *Picker) Title(s string) *Picker { p.title = s; return p }

// Description sets the line under the question.
func (p *Picker) Description(s string) *Picker { p.description = s; return p }

// Optional lets the person continue without choosing anyone.
func (p *Picker) Optional(v bool) *Picker { p.optional = v; return p }

// Without leaves the users with these ids out of the list: they were given a part already.
func (p *Picker) Without(ids ...string) *Picker {
	p.search.skip = addIDs(p.search.skip, ids)
	return p
}

// MarkAssigned shows the principals with these ids as assigned to the application, without holding them
// selected (Principal.InApp).
func (p *Picker) MarkAssigned(ids ...string) *Picker {
	p.search.inApp = addIDs(p.search.inApp, ids)
	return p
}

// addIDs adds ids to the set, making it if need be.
func addIDs(set map[string]bool, ids []string) map[string]bool {
	if set == nil {
		set = map[string]bool{}
	}
	for _, id := range ids {
		set[id] = true
	}
	return set
}

// Key sets the field's key.
func (p *Picker) Key(k string) *Picker { p.key = k; return p }

// Debounce sets the pause after a keystroke before the search starts.
func (p *Picker) Debounce(d time.Duration) *Picker { p.debounce = d; return p }

// Init searches for the (empty) text, so the list is never blank.
func (p *Picker) Init() tea.Cmd { return p.startSearch() }

// Focus focuses the field and, the first time, lists the directory's first page: a huh group calls a field's
// Focus, never its Init.
func (p *Picker) Focus() tea.Cmd {
	p.focused = true
	cmd := p.input.Focus()
	if p.listed {
		return cmd
	}
	return tea.Batch(cmd, p.startSearch())
}

// Blur blurs the field.
func (p *Picker) Blur() tea.Cmd {
	p.focused = false
	p.input.Blur()
	return nil
}

// Error is the last validation error.
func (p *Picker) Error() error { return p.err }

// Skip is false: the picker takes focus.
func (p *Picker) Skip() bool { return false }

// Zoom is false.
func (p *Picker) Zoom() bool { return false }

// KeyBinds is the help line; a narrow terminal leaves out the arrows, which need no telling, so that the line
// is not cut before "enter continue".
func (p *Picker) KeyBinds() []key.Binding {
	binds := []key.Binding{
		key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "select")),
		key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "move")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear")),
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "continue")),
	}
	if p.width < 52 {
		binds = slices.Delete(binds, 1, 2)
	}
	return binds
}

// Run runs the picker alone.
func (p *Picker) Run() error { return huh.Run(p) }

// WithTheme sets the theme.
func (p *Picker) WithTheme(t huh.Theme) huh.Field {
	if p.theme == nil {
		p.theme = t
	}
	return p
}

// WithKeyMap keeps the picker's own keys: typing must reach the search.
func (p *Picker) WithKeyMap(*huh.KeyMap) huh.Field { return p }

// WithWidth sets the width.
func (p *Picker) WithWidth(w int) huh.Field {
	p.width = w
	return p
}

// WithHeight sets the height.
func (p *Picker) WithHeight(h int) huh.Field {
	p.height = h
	return p
}

// WithPosition records the field's place in the form.
func (p *Picker) WithPosition(pos huh.FieldPosition) huh.Field {
	p.position = pos
	return p
}

// GetKey returns the key.
func (p *Picker) GetKey() string { return p.key }

// GetValue returns the chosen principals.
func (p *Picker) GetValue() any { return *p.value }

// Update handles keys and the searches' answers.
func (p *Picker) Update(msg tea.Msg) (huh.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.BackgroundColorMsg:
		p.hasDarkBg = msg.IsDark()
	case pickerDue:
		if msg.from == p && msg.seq == p.seq {
			return p, p.startSearch()
		}
	case pickerSearched:
		if msg.from != p || msg.seq != p.seq {
			return p, nil // superseded by a later keystroke
		}
		p.searched(msg)
	case tea.KeyPressMsg:
		if !p.focused {
			return p, nil
		}
		return p.onKey(msg)
	}
	return p, nil
}

func (p *Picker) onKey(msg tea.KeyPressMsg) (huh.Model, tea.Cmd) {
	rows := p.rows()
	switch msg.String() {
	case "up", "ctrl+p":
		p.move(-1)
	case "down", "ctrl+n":
		p.move(1)
		return p, p.maybeMore()
	case "pgup":
		p.move(-p.visibleRows())
	case "pgdown":
		p.move(p.visibleRows())
		return p, p.maybeMore()
	case "tab":
		if p.cursor < len(rows) {
			p.toggle(rows[p.cursor])
		}
	case "shift+tab":
		return p, huh.PrevField
	case "esc":
		if p.input.Value() != "" {
			p.input.SetValue("")
			return p, p.typed()
		}
	case "enter":
		if len(*p.value) == 0 && p.cursor < len(rows) && !p.optional {
			p.toggle(rows[p.cursor])
		}
		if p.err = p.validate(); p.err != nil {
			return p, nil
		}
		return p, huh.NextField
	default:
		before := p.input.Value()
		var cmd tea.Cmd
		p.input, cmd = p.input.Update(msg)
		if p.input.Value() != before {
			return p, tea.Batch(cmd, p.typed())
		}
		return p, cmd
	}
	return p, nil
}

func (p *Picker) validate() error {
	if len(*p.value) == 0 && !p.optional {
		return errors.New("choose at least one group or user: type a name, then tab to select it")
	}
	return nil
}

// typed starts the pause after a keystroke; only the last keystroke's pause starts a search.
func (p *Picker) typed() tea.Cmd {
	p.seq++
	p.searching = true
	if p.cancel != nil {
		p.cancel() // the search for the previous text is no longer wanted
		p.cancel = nil
	}
	seq := p.seq
	return tea.Tick(p.debounce, func(time.Time) tea.Msg { return pickerDue{from: p, seq: seq} })
}

// startSearch searches for the current text now.
func (p *Picker) startSearch() tea.Cmd {
	ctx := p.newSearchContext()
	seq, text, search := p.seq, p.input.Value(), p.search
	p.searching, p.listed = true, true
	return func() tea.Msg {
		page, err := search.first(ctx, text)
		return pickerSearched{from: p, seq: seq, page: page, err: err}
	}
}

// maybeMore loads the next page when the cursor reached the end of the list.
func (p *Picker) maybeMore() tea.Cmd {
	if p.loading || p.searching || p.cursor < len(p.rows())-1 || (p.results.nextGroups == "" && p.results.nextUsers == "") {
		return nil
	}
	p.loading = true
	ctx := p.newSearchContext()
	seq, prev, search := p.seq, p.results, p.search
	return func() tea.Msg {
		page, err := search.more(ctx, prev)
		return pickerSearched{from: p, seq: seq, more: true, page: page, err: err}
	}
}

func (p *Picker) newSearchContext() context.Context {
	if p.cancel != nil {
		p.cancel()
	}
	ctx, cancel := context.WithCancel(p.ctx)
	p.cancel = cancel
	return ctx
}

func (p *Picker) searched(msg pickerSearched) {
	p.searching, p.loading = false, false
	p.status = ""
	if msg.err != nil {
		if !errors.Is(msg.err, context.Canceled) {
			p.status = "search failed: " + oneLine(msg.err.Error())
		}
		return
	}
	if msg.more {
		p.results.items = append(p.results.items, msg.page.items...)
		p.results.nextGroups, p.results.nextUsers = msg.page.nextGroups, msg.page.nextUsers
		return
	}
	p.results, p.resultsFor = msg.page, p.input.Value()
	p.cursor, p.offset = 0, 0
}

// nothingFound says the last search found neither a match nor a close name.
func (p *Picker) nothingFound() bool {
	return p.resultsFor != "" && len(p.results.items) == 0
}

// rows is the list as shown: with no search text, what is selected comes first; the search's results follow,
// without repeating what is already listed.
func (p *Picker) rows() []Principal {
	var rows []Principal
	if p.input.Value() == "" {
		rows = append(rows, *p.value...)
	}
	for _, r := range p.results.items {
		if !slices.ContainsFunc(rows, func(x Principal) bool { return x.ID == r.ID }) {
			rows = append(rows, r)
		}
	}
	return rows
}

func (p *Picker) move(by int) {
	n := len(p.rows())
	if n == 0 {
		return
	}
	p.cursor = min(max(p.cursor+by, 0), n-1)
	if p.cursor < p.offset {
		p.offset = p.cursor
	}
	if p.cursor >= p.offset+p.visibleRows() {
		p.offset = p.cursor - p.visibleRows() + 1
	}
}

// wide says whether an entry fits on one line.
func (p *Picker) wide() bool { return p.innerWidth() >= 60 }

func (p *Picker) innerWidth() int { return max(p.width-p.styles().Base.GetHorizontalFrameSize(), 20) }

// visibleRows is how many entries the list shows at once.
func (p *Picker) visibleRows() int {
	if p.wide() {
		return pickerLines
	}
	return pickerLines / 2
}

func (p *Picker) selected(id string) bool {
	return slices.ContainsFunc(*p.value, func(x Principal) bool { return x.ID == id })
}

func (p *Picker) toggle(r Principal) {
	p.err = nil
	if !p.selected(r.ID) {
		*p.value = append(*p.value, r)
		return
	}
	if r.Assigned {
		p.status = r.Name + " stays assigned: idpctl never removes assignments"
		return
	}
	*p.value = slices.DeleteFunc(*p.value, func(x Principal) bool { return x.ID == r.ID })
}

// View draws the question, the search line, the list and a status line, always in the same number of lines.
func (p *Picker) View() string {
	styles := p.styles()
	inner := p.innerWidth()
	var lines []string
	if p.title != "" {
		// Flush, not hanging like an attribute's value: a wrapped question reads as one block, as huh's do.
		title := styles.Title.Render(wrapWords(p.title, inner, ""))
		if p.err != nil {
			title += styles.ErrorIndicator.String()
		}
		lines = append(lines, title)
	}
	if p.description != "" {
		lines = append(lines, styles.Description.Render(wrapWords(p.description, inner, "")))
	}
	p.input.SetWidth(inner - lipgloss.Width(p.input.Prompt) - 1)
	lines = append(lines, p.input.View())
	header := ""
	switch {
	case p.nothingFound():
		header = styles.Description.Render(ansi.Truncate(fmt.Sprintf("Nothing matches %q.", p.resultsFor), inner, "…"))
	case p.results.suggested && len(p.results.items) > 0:
		header = styles.Description.Render(ansi.Truncate(fmt.Sprintf("No match for %q. Did you mean:", p.resultsFor), inner, "…"))
	}
	lines = append(lines, header)
	rows := p.rows()
	shown := rows[min(p.offset, len(rows)):min(p.offset+p.visibleRows(), len(rows))]
	nameWidth := 0
	for _, r := range shown {
		nameWidth = min(max(nameWidth, lipgloss.Width(r.Name)), 32) // details line up in a column
	}
	var list []string
	for i, r := range shown {
		list = append(list, p.row(r, p.offset+i == p.cursor && p.focused, inner, nameWidth)...)
	}
	if p.nothingFound() {
		list = append(list, strings.Split(styles.Description.Render(wrapWords(p.tryInstead()+" · esc clears the search", inner, "")), "\n")...)
	}
	for len(list) < pickerLines {
		list = append(list, "")
	}
	lines = append(lines, list...)
	lines = append(lines, p.statusLine(len(rows), inner))
	return styles.Base.Width(p.width).Render(strings.Join(lines, "\n"))
}

// tryInstead is what to do when a search found nothing.
func (p *Picker) tryInstead() string {
	if p.search.groups {
		return "Try the first letters of a group or user name, or of an email address"
	}
	return "Try the first letters of a name or of an email address"
}

// row draws one entry: on one line when wide enough, else the name and its detail on two.
func (p *Picker) row(r Principal, cursor bool, width, nameWidth int) []string {
	styles := p.styles()
	pointer := strings.Repeat(" ", lipgloss.Width(styles.MultiSelectSelector.String()))
	if cursor {
		pointer = styles.MultiSelectSelector.String()
	}
	mark, name := "[ ] ", styles.UnselectedOption.Render(r.Name)
	if p.selected(r.ID) {
		mark, name = "[x] ", styles.SelectedOption.Render(r.Name)
	}
	head := pointer + mark
	detail := styles.Description.Render(r.detail())
	if p.wide() {
		pad := strings.Repeat(" ", max(nameWidth-lipgloss.Width(r.Name), 0))
		return []string{ansi.Truncate(head+name+pad+"  "+detail, width, "…")}
	}
	return []string{ansi.Truncate(head+name, width, "…"), ansi.Truncate("      "+detail, width, "…")}
}

// statusLine is one line: what is selected, where the list is, what is happening; or what is wrong.
func (p *Picker) statusLine(rows, width int) string {
	styles := p.styles()
	switch {
	case p.err != nil:
		return styles.ErrorMessage.Render(ansi.Truncate(p.err.Error(), width, "…"))
	case p.status != "":
		return styles.Description.Render(ansi.Truncate(p.status, width, "…"))
	}
	var parts []string
	switch n := len(*p.value); {
	case n == 0 && p.optional:
		parts = append(parts, "none selected")
	case n > 0:
		parts = append(parts, fmt.Sprintf("%d selected", n))
	}
	if rows > p.visibleRows() {
		parts = append(parts, fmt.Sprintf("%d–%d of %d", p.offset+1, min(p.offset+p.visibleRows(), rows), rows))
	}
	switch {
	case p.searching:
		parts = append(parts, "searching…")
	case p.loading:
		parts = append(parts, "loading more…")
	case p.results.nextGroups != "" || p.results.nextUsers != "":
		parts = append(parts, "↓ for more")
	}
	return styles.Description.Render(ansi.Truncate(strings.Join(parts, " · "), width, "…"))
}

func (p *Picker) styles() *huh.FieldStyles {
	t := p.theme
	if t == nil {
		t = huh.ThemeFunc(huh.ThemeCharm)
	}
	if p.focused {
		return &t.Theme(p.hasDarkBg).Focused
	}
	return &t.Theme(p.hasDarkBg).Blurred
}

// RunAccessible asks with line prompts: a search, the numbered matches, the numbers to select; Enter on an
// empty search continues. It works with answers piped on stdin (r must hand out one line per Read, as
// IOStreams.LineIn does); when they run out, what is selected is the answer.
func (p *Picker) RunAccessible(w io.Writer, r io.Reader) error {
	fmt.Fprintln(w, p.title) // the description is about keys, which line prompts do not have
	for {
		p.printSelected(w)
		prompt := "Search for a group or user (Enter to continue): "
		if !p.search.groups {
			prompt = "Search for a user (Enter to continue): "
		}
		text, ok := readLine(w, r, prompt)
		if !ok || text == "" {
			if err := p.validate(); err != nil {
				if !ok {
					return fmt.Errorf("%s: stdin ended: %w", p.title, err)
				}
				fmt.Fprintln(w, err)
				continue
			}
			return nil
		}
		page, err := p.search.first(p.ctx, text)
		if err != nil {
			return fmt.Errorf("searching for %q: %w", text, err)
		}
		if len(page.items) == 0 {
			fmt.Fprintf(w, "Nothing matches %q. %s.\n", text, p.tryInstead())
			continue
		}
		if page.suggested {
			fmt.Fprintf(w, "No match for %q. Did you mean:\n", text)
		}
		for i, it := range page.items {
			mark := "[ ]"
			if p.selected(it.ID) {
				mark = "[x]"
			}
			fmt.Fprintf(w, "%d. %s %s (%s)\n", i+1, mark, it.Name, it.detail())
		}
		answer, ok := readLine(w, r, "Numbers to select or unselect, e.g. 1 3 (Enter for none): ")
		for _, field := range strings.FieldsFunc(answer, func(c rune) bool { return c == ' ' || c == ',' }) {
			n, err := strconv.Atoi(field)
			if err != nil || n < 1 || n > len(page.items) {
				fmt.Fprintf(w, "%q is not one of the numbers 1 to %d.\n", field, len(page.items))
				continue
			}
			p.toggle(page.items[n-1])
			if p.status != "" {
				fmt.Fprintln(w, p.status)
				p.status = ""
			}
		}
		if !ok {
			return p.validate()
		}
	}
}

func (p *Picker) printSelected(w io.Writer) {
	if len(*p.value) == 0 {
		fmt.Fprintln(w, "Selected: none")
		return
	}
	names := make([]string, 0, len(*p.value))
	for _, s := range *p.value {
		names = append(names, s.Name+" ("+strings.ToLower(s.Kind)+")")
	}
	fmt.Fprintln(w, "Selected: "+strings.Join(names, ", "))
}

// readLine prints prompt and reads one line; ok is false at the end of input.
func readLine(w io.Writer, r io.Reader, prompt string) (string, bool) {
	fmt.Fprint(w, prompt)
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		fmt.Fprintln(w)
		return "", false
	}
	return strings.TrimSpace(sc.Text()), true
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
