// Package wizardtest drives the wizard's forms without a terminal, for tests: key presses go straight to a
// form's Update, and what they lead to is run as a program would run it.
package wizardtest

import (
	"context"
	"fmt"
	"reflect"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"github.com/charmbracelet/x/ansi"
)

// Drive runs a command and what it leads to, as a program would, without a terminal: batches and sequences are
// run in order, and a command that does not answer at once (a cursor's blink, a timer) is left out, so a
// screen's view does not depend on time.
func Drive(m huh.Model, cmd tea.Cmd) huh.Model {
	if cmd == nil {
		return m
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(100 * time.Millisecond):
		return m
	}
	if msg == nil {
		return m
	}
	if batch, ok := msg.(tea.BatchMsg); ok {
		for _, c := range batch {
			m = Drive(m, c)
		}
		return m
	}
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeFor[tea.Cmd]() {
		for i := range v.Len() {
			m = Drive(m, v.Index(i).Interface().(tea.Cmd))
		}
		return m
	}
	next, cmd := m.Update(msg)
	return Drive(next, cmd)
}

// Enter answers a form as a person pressing only Enter would: each field takes its default. It fails when
// the form is not done after a few presses (a field without a default, or an answer refused). Screens lists
// each form's view as it was before the first press, without escape codes.
type Enter struct {
	Width   int
	Screens []string
}

// Run is a wizard.Forms.RunForm.
func (e *Enter) Run(ctx context.Context, form *huh.Form) error {
	var m huh.Model = form
	m, cmd := m.Update(tea.WindowSizeMsg{Width: max(e.Width, 80), Height: 24})
	m = Drive(m, cmd)
	m = Drive(m, form.Init())
	e.Screens = append(e.Screens, ansi.Strip(form.View()))
	for range 10 {
		if form.State == huh.StateCompleted {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		next, cmd := m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
		m = Drive(next, cmd)
	}
	if form.State == huh.StateCompleted {
		return nil
	}
	return fmt.Errorf("Enter did not answer the screen:\n%s", form.View())
}
