package wizard

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/secret"
)

// HandOff is the manual hand-off taken at a terminal (documented step 2, "In Smallstep", and step 3.1): it shows
// the values to paste into the SaaS ready to copy, the client secret once when asked (or writes it to a 0600
// file), and takes the SCIM URL and token the SaaS then shows, checked as they are typed and probed before they
// are accepted. The manual backend calls it while the run applies (it is a backend.SCIMSource); the progress
// view pauses for as long as it asks.
type HandOff struct {
	// RedirectURI is shown with the values to paste.
	RedirectURI string
	// Given is the SCIM endpoint given up front (flags or the forms), or nil to ask for it.
	Given *backend.SCIM
	// Probe checks a SCIM endpoint the way Entra will use it and returns what the admin should know (warnings);
	// an error is the diagnosis shown to fix the URL or token.
	Probe func(ctx context.Context, scim backend.SCIM) (string, error)

	mu       sync.Mutex
	program  *tea.Program
	answered bool // the admin went through the hand-off in this run
}

// Answered reports whether the admin went through the hand-off in this run: the values are in the SaaS.
func (h *HandOff) Answered() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.answered
}

// Known is the SCIM endpoint given up front, or nil when the hand-off asks for it.
func (h *HandOff) Known() *backend.SCIM { return h.Given }

// attach routes the hand-off to the program that shows progress.
func (h *HandOff) attach(p *tea.Program) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.program = p
}

// SCIMEndpoint shows the hand-off and returns the SCIM endpoint the admin entered (or the given one, once they
// have seen the values). It returns ctx's error when the run is stopped meanwhile.
func (h *HandOff) SCIMEndpoint(ctx context.Context, ho backend.Handover) (backend.SCIM, error) {
	h.mu.Lock()
	p := h.program
	h.mu.Unlock()
	if p == nil {
		return backend.SCIM{}, errors.New("the hand-off needs the terminal, which shows no progress view: give --scim-url and the SCIM token, and --secret-out")
	}
	reply := make(chan handOffResult, 1)
	p.Send(handOffMsg{handover: ho, reply: reply})
	select {
	case r := <-reply:
		if r.err == nil {
			h.mu.Lock()
			h.answered = true
			h.mu.Unlock()
		}
		return r.scim, r.err
	case <-ctx.Done():
		// The run ended (another step failed, or it was stopped): the form must not stay on screen.
		p.Send(handOffGoneMsg{reply: reply})
		return backend.SCIM{}, ctx.Err()
	}
}

type (
	handOffMsg struct {
		handover backend.Handover
		reply    chan<- handOffResult
	}
	handOffGoneMsg struct {
		reply chan<- handOffResult // the hand-off that no longer waits for an answer
	}
	handOffResult struct {
		scim backend.SCIM
		err  error
	}
	probedMsg struct {
		scim   backend.SCIM
		report string
		err    error
	}
)

// handOffForm is the hand-off inside the progress view: first the values to paste, then the SCIM endpoint.
type handOffForm struct {
	config   *HandOff
	handover backend.Handover
	reply    chan<- handOffResult
	theme    theme

	page       handOffPage
	status     string // the answer to the last key: "copied …", a refusal, an error
	revealed   bool   // the secret is on screen now
	shownOnce  bool   // the secret was revealed (it is never shown twice)
	secretFile string // where the admin had it written
	path       field  // the file name being typed (pageWriteFile)
	url, token field
	focus      int // 0 URL, 1 token
	probing    bool
}

type handOffPage int

const (
	pageValues handOffPage = iota
	pageWriteFile
	pageSCIM
)

func newHandOffForm(config *HandOff, msg handOffMsg, t theme) *handOffForm {
	f := &handOffForm{config: config, handover: msg.handover, reply: msg.reply, theme: t,
		url: field{label: "SCIM URL"}, token: field{label: "SCIM token", masked: true},
		path: field{label: "File"}, secretFile: msg.handover.SecretFile}
	return f
}

// hasSecret reports whether this hand-off carries the client secret itself (no --secret-out took it).
func (f *handOffForm) hasSecret() bool { return !f.handover.ClientSecret.IsZero() }

// values are the lines to paste, in the order of Smallstep's form, each with the key that copies it.
func (f *handOffForm) values() [][2]string {
	in := f.handover.Instructions
	return [][2]string{
		{"Client ID", in.ClientID},
		{"Tenant ID", in.TenantID},
		{"OIDC metadata URL", in.MetadataURL},
		{"Redirect URI", f.config.RedirectURI},
	}
}

// update handles a key or a probe result; done reports that the hand-off answered and the form closes.
func (f *handOffForm) update(msg tea.Msg, ctx context.Context) (cmd tea.Cmd, done bool) {
	switch msg := msg.(type) {
	case probedMsg:
		f.probing = false
		if msg.err != nil {
			f.status = "The SCIM endpoint did not answer as Entra needs: " + trimLine(msg.err.Error())
			return nil, false
		}
		f.answer(msg.scim, nil)
		return nil, true
	case tea.PasteMsg:
		f.typed(msg.Content)
		return nil, false
	case tea.KeyPressMsg:
		switch f.page {
		case pageValues:
			return f.valuesKey(msg)
		case pageWriteFile:
			return f.writeFileKey(msg), false
		case pageSCIM:
			return f.scimKey(msg, ctx), false
		}
	}
	return nil, false
}

func (f *handOffForm) answer(scim backend.SCIM, err error) {
	f.reply <- handOffResult{scim: scim, err: err}
}

// cancel closes the form without an answer: the run is stopping.
func (f *handOffForm) cancel() { f.answer(backend.SCIM{}, context.Canceled) }

func (f *handOffForm) valuesKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	f.status = ""
	switch s := k.String(); s {
	case "1", "2", "3", "4":
		v := f.values()[s[0]-'1']
		f.status = fmt.Sprintf("Copied the %s to the clipboard (over OSC 52: if your terminal does not pass it on, select the value instead).", v[0])
		return tea.SetClipboard(v[1]), false
	case "r":
		switch {
		case !f.hasSecret():
			f.status = "The client secret is in " + f.secretFile + " (mode 0600); idpctl does not show it again."
		case f.revealed:
			f.revealed = false
		case f.shownOnce:
			f.status = "The client secret was shown once and is not shown again: press w to write it to a file, or run idpctl rotate-secret entra for a new one."
		default:
			f.revealed, f.shownOnce = true, true
		}
	case "w":
		if !f.hasSecret() {
			f.status = "The client secret is already in " + f.secretFile + "."
			return nil, false
		}
		f.revealed = false
		f.page = pageWriteFile
	case "enter":
		f.revealed = false // never left on the screen once the admin moves on
		if f.hasSecret() && !f.shownOnce && f.secretFile == "" {
			f.status = "Smallstep needs the client secret: press r to see it once, or w to write it to a file."
			return nil, false
		}
		if f.config.Given != nil {
			f.answer(*f.config.Given, nil)
			return nil, true
		}
		f.page = pageSCIM
	}
	return nil, false
}

func (f *handOffForm) writeFileKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "esc":
		f.page, f.status = pageValues, ""
	case "enter":
		name := strings.TrimSpace(f.path.value())
		if name == "" {
			name = "client-secret"
		}
		if err := backend.WriteSecretFile(name, f.handover.ClientSecret); err != nil {
			f.status = trimLine(err.Error())
			return nil
		}
		if abs, err := filepath.Abs(name); err == nil {
			name = abs
		}
		f.secretFile, f.page = name, pageValues
		f.status = "Wrote the client secret to " + name + " (mode 0600)."
	default:
		f.path.key(k)
	}
	return nil
}

func (f *handOffForm) scimKey(k tea.KeyPressMsg, ctx context.Context) tea.Cmd {
	if f.probing {
		return nil
	}
	switch k.String() {
	case "esc":
		f.page, f.status = pageValues, ""
	case "tab", "shift+tab", "up", "down":
		f.focus = 1 - f.focus
	case "enter":
		if f.focus == 0 {
			if err := checkURL(f.url.value()); err != nil {
				f.status = err.Error()
				return nil
			}
			f.focus, f.status = 1, ""
			return nil
		}
		scim := backend.SCIM{BaseURL: strings.TrimSpace(f.url.value()), Token: secret.New(f.token.value())}
		if err := checkURL(scim.BaseURL); err != nil {
			f.focus, f.status = 0, err.Error()
			return nil
		}
		if err := backend.ValidateToken("the SCIM token", scim.Token); err != nil {
			f.status = err.Error()
			return nil
		}
		if f.config.Probe == nil {
			f.answer(scim, nil)
			return nil
		}
		f.probing, f.status = true, ""
		probe := f.config.Probe
		return func() tea.Msg {
			report, err := probe(ctx, scim)
			return probedMsg{scim: scim, report: report, err: err}
		}
	default:
		f.current().key(k)
		f.status = ""
		if f.focus == 0 && f.url.value() != "" {
			// Checked as typed: the complaint shows while the URL is wrong.
			if err := checkURL(f.url.value()); err != nil {
				f.status = err.Error()
			}
		}
	}
	return nil
}

// checkURL checks the SCIM URL as Entra will need it. The check is the flag's: its message names --scim-url and
// repeats the value, which the field beside it already shows, so only the reason and the fix are kept.
func checkURL(raw string) error {
	err := backend.ValidateSCIMURL(strings.TrimSpace(raw))
	if err == nil {
		return nil
	}
	msg := err.Error()
	if _, reason, ok := strings.Cut(msg, ": "); ok {
		msg = reason
	}
	return errors.New("the SCIM URL " + msg)
}

func (f *handOffForm) current() *field {
	if f.focus == 0 {
		return &f.url
	}
	return &f.token
}

func (f *handOffForm) typed(s string) {
	switch f.page {
	case pageWriteFile:
		f.path.insert(s)
	case pageSCIM:
		f.current().insert(strings.TrimSpace(s))
	}
}

// view draws the page; spinner is the progress view's current frame for the probe.
func (f *handOffForm) view(width int, spinner string) string {
	var b strings.Builder
	t := f.theme
	b.WriteString(t.bold("In Smallstep: connect Entra ID") + "\n")
	switch f.page {
	case pageValues, pageWriteFile:
		b.WriteString(wrapLines(`Open "Connect an Entra ID IdP" in Smallstep and fill in:`, width) + "\n\n")
		for i, v := range f.values() {
			b.WriteString(valueRow(t.accent(fmt.Sprintf("%d", i+1)), v[0], v[1], width))
		}
		b.WriteString(valueRow(t.dim("·"), "Client secret", f.secretLine(), width) + "\n")
		if f.page == pageWriteFile {
			b.WriteString(wrapLines("Write the client secret to a new file (mode 0600):", width) + "\n")
			b.WriteString("  " + f.path.view(width-2, true, "client-secret") + "\n")
			b.WriteString(wrapLines(t.dim("enter write · esc back"), width) + "\n")
		} else {
			help := "1–4 copy · r show the secret once · w write it to a file · enter continue"
			if !f.hasSecret() {
				help = "1–4 copy · enter continue"
			}
			b.WriteString(wrapLines(t.dim(help), width) + "\n")
		}
	case pageSCIM:
		b.WriteString(wrapLines("Smallstep then shows a SCIM URL and a secret token for provisioning. Paste them here:", width) + "\n\n")
		b.WriteString("  " + f.url.view(width-2, f.focus == 0, "https://") + "\n")
		b.WriteString("  " + f.token.view(width-2, f.focus == 1, "") + "\n\n")
		if f.probing {
			b.WriteString(wrapLines(spinner+" Testing the SCIM endpoint the way Entra will…", width) + "\n")
		} else {
			b.WriteString(wrapLines(t.dim("enter next · tab switch · esc back"), width) + "\n")
		}
	}
	if f.status != "" {
		b.WriteString(wrapLines(t.warn(f.status), width) + "\n")
	}
	return b.String()
}

// valueRow is one value to paste: beside its name when the line is wide enough, else under it, so that an ID
// is never broken across lines.
func valueRow(mark, name, value string, width int) string {
	const nameWidth = 18
	if 4+nameWidth+1+lipgloss.Width(value) <= width {
		return fmt.Sprintf("  %s %-*s %s\n", mark, nameWidth, name, value)
	}
	return fmt.Sprintf("  %s %s\n", mark, name) + wrapIndented(value, 4, width) + "\n"
}

// secretLine says where the client secret is, or shows it while revealed.
func (f *handOffForm) secretLine() string {
	switch {
	case f.revealed:
		return f.handover.ClientSecret.Reveal() + f.theme.dim("  (r hides it; it is not shown again)")
	case f.secretFile != "":
		return "in " + f.secretFile + " (mode 0600)"
	case f.shownOnce:
		return "shown once"
	default:
		return "hidden: r shows it once, w writes it to a file"
	}
}

// field is a one-line text entry: typed and pasted text is appended, Backspace and Ctrl-U delete. Tokens are
// pasted far more often than typed, so a cursor at the end is enough.
type field struct {
	label  string
	text   []rune
	masked bool
}

func (f *field) value() string { return string(f.text) }

func (f *field) insert(s string) {
	for _, r := range s {
		if r >= ' ' && r != 0x7f {
			f.text = append(f.text, r)
		}
	}
}

func (f *field) key(k tea.KeyPressMsg) {
	switch k.String() {
	case "backspace":
		if len(f.text) > 0 {
			f.text = f.text[:len(f.text)-1]
		}
	case "ctrl+u":
		f.text = nil
	default:
		f.insert(k.Text)
	}
}

// view shows the field on one line; a masked field shows one dot per character, a long value its end.
func (f *field) view(width int, focused bool, placeholder string) string {
	shown := string(f.text)
	if f.masked {
		shown = strings.Repeat("•", len(f.text))
	}
	cursor := " "
	if focused {
		cursor = "▏"
	}
	if shown == "" && !focused {
		shown = placeholder
	}
	label := fmt.Sprintf("%-11s ", f.label)
	room := max(width-len(label)-3, 8) // 2 for the focus marker, 1 for the cursor
	if r := []rune(shown); len(r) > room {
		shown = "…" + string(r[len(r)-room+1:])
	}
	if focused {
		label = "> " + label
	} else {
		label = "  " + label
	}
	return label + shown + cursor
}
