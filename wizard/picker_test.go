package wizard

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/steps"
	"github.com/idpctl/idpctl/wizard/wizardtest"
)

// cancelWatch is a directory that records the searches that were called off.
type cancelWatch struct {
	*fakeDirectory
	mu        sync.Mutex
	cancelled []string
}

func (c *cancelWatch) SearchUserPage(ctx context.Context, s graph.Search) (graph.UserPage, error) {
	if ctx.Err() != nil {
		c.mu.Lock()
		c.cancelled = append(c.cancelled, s.Text)
		c.mu.Unlock()
	}
	return c.fakeDirectory.SearchUserPage(ctx, s)
}

func newTestPicker(t *testing.T, dir Directory, value *[]Principal) *Picker {
	p := NewPicker(t.Context(), dir, true, value).Title("Who?").Debounce(0)
	p.WithWidth(80)
	p.Focus()
	return p
}

func pickerPress(p *Picker, msg tea.Msg) tea.Cmd {
	_, cmd := p.Update(msg)
	return cmd
}

func pickerView(p *Picker) string { return ansi.Strip(p.View()) }

// run runs a command and returns the messages it leads to, batches opened, without giving them to anyone.
func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, run(c)...)
		}
		return out
	default:
		return []tea.Msg{msg}
	}
}

// only keeps the picker's own messages (its pauses and answers), dropping the text cursor's.
func only(msgs []tea.Msg) []tea.Msg {
	return slices.DeleteFunc(msgs, func(m tea.Msg) bool {
		switch m.(type) {
		case pickerDue, pickerSearched:
			return false
		}
		return true
	})
}

// Each keystroke waits for the next: only the last one's search runs, and a search still running when a key
// arrives is cancelled and its answer dropped.
func TestPickerDebouncesAndCancels(t *testing.T) {
	dir := &cancelWatch{fakeDirectory: demoDirectory()}
	var chosen []Principal
	p := newTestPicker(t, dir, &chosen)
	wizardtest.Drive(p, p.Init())
	dir.searches = nil

	first := pickerPress(p, typedKeys("a")[0])  // its pause…
	second := pickerPress(p, typedKeys("d")[0]) // …is over only after this key
	for _, m := range only(run(first)) {
		if cmd := pickerPress(p, m); cmd != nil {
			t.Errorf("the first key's pause started a search (%T)", m)
		}
	}
	var search tea.Cmd
	for _, m := range only(run(second)) {
		search = pickerPress(p, m) // the second pause ends: the search for "ad"
	}
	third := pickerPress(p, typedKeys("e")[0]) // a key while that search runs cancels it
	for _, m := range only(run(search)) {
		pickerPress(p, m) // the cancelled answer is dropped
	}
	wizardtest.Drive(p, third)

	dir.mu.Lock()
	got := slices.Sorted(slices.Values(dir.searches))
	dir.mu.Unlock()
	if want := []string{"groups:ade", "users:ade"}; !slices.Equal(got, want) {
		t.Errorf("searches answered %q, want %q (none for \"a\"; \"ad\" called off)", got, want)
	}
	if !slices.Equal(dir.cancelled, []string{"ad"}) {
		t.Errorf("cancelled %q, want the search for \"ad\"", dir.cancelled)
	}
	if v := pickerView(p); !strings.Contains(v, "Adele Vance") || strings.Contains(v, "Diego") {
		t.Errorf("list after \"ade\":\n%s", v)
	}
}

// A long list loads page by page as the cursor reaches its end, and never more than one page a time.
func TestPickerPagesAtTheEnd(t *testing.T) {
	dir := demoDirectory()
	for i := range 25 {
		upn := fmt.Sprintf("temp.worker%02d@contoso.onmicrosoft.com", i)
		dir.users = append(dir.users, graph.User{ID: fmt.Sprintf("20000000-0000-0000-0000-0000000000%02d", i), DisplayName: fmt.Sprintf("Temp Worker %02d", i), UserPrincipalName: upn})
	}
	var chosen []Principal
	p := newTestPicker(t, dir, &chosen)
	wizardtest.Drive(p, p.Init())
	for _, k := range typedKeys("temp") {
		before := dir.usersFetched
		wizardtest.Drive(p, pickerPress(p, k))
		if n := dir.usersFetched - before; n > pickerUserPage {
			t.Errorf("a keystroke read %d users; a page is %d", n, pickerUserPage)
		}
	}
	if v := pickerView(p); !strings.Contains(v, "1–8 of 10 · ↓ for more") {
		t.Errorf("status:\n%s", v)
	}
	before := dir.usersFetched
	for range 9 {
		wizardtest.Drive(p, pickerPress(p, keyDown()))
	}
	if len(p.rows()) != 20 || dir.usersFetched-before != 10 {
		t.Errorf("%d rows after reaching the end, %d more users read; want 20 and 10", len(p.rows()), dir.usersFetched-before)
	}
	for range 15 {
		wizardtest.Drive(p, pickerPress(p, keyDown()))
	}
	if v := pickerView(p); len(p.rows()) != 25 || !strings.Contains(v, "18–25 of 25") || strings.Contains(v, "↓ for more") {
		t.Errorf("%d rows at the very end:\n%s", len(p.rows()), v)
	}
}

// An application's existing assignment is preselected and marked; unselecting it is refused with the reason.
// Enter with nothing chosen takes the highlighted entry.
func TestPickerAssignedAndEnter(t *testing.T) {
	assigned := Principal{Kind: KindGroup, ID: "10000000-0000-0000-0000-000000000002", Name: "Engineering", Members: 3, Assigned: true}
	chosen := []Principal{assigned}
	p := newTestPicker(t, demoDirectory(), &chosen)
	wizardtest.Drive(p, p.Init())
	v := pickerView(p)
	if !strings.Contains(v, "> [x] Engineering") || !strings.Contains(v, "group · 3 members · assigned") {
		t.Errorf("the assignment is not first and marked:\n%s", v)
	}
	wizardtest.Drive(p, pickerPress(p, keyTab()))
	if len(chosen) != 1 || !strings.Contains(pickerView(p), "never removes assignments") {
		t.Errorf("unselected an assignment: %v\n%s", chosen, pickerView(p))
	}

	var none []Principal
	q := newTestPicker(t, demoDirectory(), &none)
	wizardtest.Drive(q, q.Init())
	for _, k := range typedKeys("grady") {
		wizardtest.Drive(q, pickerPress(q, k))
	}
	if cmd := pickerPress(q, keyEnter()); cmd == nil || cmd() != huh.NextField() {
		t.Error("enter did not continue")
	}
	if len(none) != 1 || none[0].UPN != "grady.archie@contoso.onmicrosoft.com" {
		t.Errorf("enter chose %v", none)
	}
}

// A search that finds nothing offers the close names instead ("did you mean"), selectable as any result.
func TestPickerDidYouMean(t *testing.T) {
	var chosen []Principal
	p := newTestPicker(t, demoDirectory(), &chosen)
	wizardtest.Drive(p, p.Init())
	for _, k := range typedKeys("enginering") {
		wizardtest.Drive(p, pickerPress(p, k))
	}
	v := pickerView(p)
	if !strings.Contains(v, `No match for "enginering". Did you mean:`) || !strings.Contains(v, "> [ ] Engineering") {
		t.Errorf("no suggestion:\n%s", v)
	}
	wizardtest.Drive(p, pickerPress(p, keyTab()))
	if len(chosen) != 1 || chosen[0].Name != "Engineering" {
		t.Errorf("chose %v", chosen)
	}
}

// A search that finds neither a match nor a close name says so and what to try, with no "did you mean" over an
// empty list; a long question wraps flush at every width. The real form at 40, 80 and 120 columns.
func TestPickerNothingFoundGolden(t *testing.T) {
	atEachSize(t, func(t *testing.T, f *Forms, errOut *bytes.Buffer, width int, color bool) {
		var shots strings.Builder
		scriptedForms(t, f, width, color, []formScreen{
			{keys: typedKeys("zzqx"), answer: append(append([]tea.Msg{keyEsc()}, typedKeys("adele")...), keyTab(), keyEnter())},
		}, &shots)
		inputs := defaultInputs()
		inputs.AppName = "Contoso Engineering Single Sign-On for Smallstep"
		inputs.SCIMURL, inputs.SCIMToken, inputs.SecretOut = "https://scim.example.com/v2", secret.New("tok-123456"), "s.txt"
		given := func(flag string) bool { return flag != "assign-group" && flag != "assign-user" }
		if err := f.Fill(t.Context(), FillRequest{Inputs: &inputs, Given: given, Directory: demoDirectory()}); err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		golden.RequireEqual(t, shots.String())
		plain := ansi.Strip(shots.String())
		if strings.Contains(plain, "Did you mean") || !strings.Contains(plain, `Nothing matches "zzqx".`) {
			t.Errorf("no plain nothing-found message:\n%s", plain)
		}
		for _, line := range strings.Split(plain, "\n") {
			if strings.HasPrefix(line, "┃  ") && strings.TrimSpace(strings.TrimPrefix(line, "┃")) != "" {
				t.Errorf("a wrapped line is indented: %q", line)
			}
		}
		if !slices.Equal(inputs.AssignUsers, []string{"adele.vance@contoso.onmicrosoft.com"}) {
			t.Errorf("assigned %v", inputs.AssignUsers)
		}
	})
}

func keyEsc() tea.Msg { return tea.KeyPressMsg{Code: tea.KeyEscape} }

// `idpctl provision` without --user or --group asks with the same picker: what is chosen comes back named as
// the flags name it, and what the application has assigned (Engineering) is marked so. The screen at 40, 80
// and 120 columns.
func TestChooseToProvisionGolden(t *testing.T) {
	atEachSize(t, func(t *testing.T, f *Forms, errOut *bytes.Buffer, width int, color bool) {
		var shots strings.Builder
		scriptedForms(t, f, width, color, []formScreen{
			{keys: typedKeys("eng"), answer: append(append([]tea.Msg{keyTab(), keyEsc()}, typedKeys("adele")...), keyTab(), keyEnter())},
		}, &shots)
		dir := demoDirectory()
		app := graph.Application{DisplayName: "Smallstep", AppID: "aaaaaaaa-0000-0000-0000-000000000001", Tags: []string{steps.Tag}}
		dir.apps = []graph.Application{app}
		dir.sps[app.AppID] = graph.ServicePrincipal{ID: "sp-1", AppID: app.AppID}
		dir.assigned["sp-1"] = []graph.AppRoleAssignment{{PrincipalID: dir.groups[1].ID, PrincipalType: "Group", PrincipalDisplayName: "Engineering"}}
		groups, users, err := f.ChooseToProvision(t.Context(), dir, defaultInputs())
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		golden.RequireEqual(t, shots.String()+"=== after\n"+errOut.String())
		if !slices.Equal(groups, []string{"Engineering"}) || !slices.Equal(users, []string{"adele.vance@contoso.onmicrosoft.com"}) {
			t.Errorf("chose groups %q, users %q", groups, users)
		}
	})
}

// In a form, the picker lists the directory's first page before anything is typed: a huh group never calls a
// field's Init, only Focus, so the first search starts there.
func TestPickerInAFormListsBeforeTyping(t *testing.T) {
	for _, tc := range []struct {
		groups    bool
		want, not []string
	}{
		{groups: true, want: []string{"Smallstep Users", "Sales", "Adele Vance"}},
		{groups: false, want: []string{"Adele Vance", "Megan Bowen"}, not: []string{"Smallstep Users"}},
	} {
		dir := demoDirectory()
		var chosen []Principal
		p := NewPicker(t.Context(), dir, tc.groups, &chosen).Title("Who?").Debounce(0)
		form := huh.NewForm(huh.NewGroup(p))
		wizardtest.Drive(form, form.Init())
		v := ansi.Strip(form.View())
		for _, name := range tc.want {
			if !strings.Contains(v, name) {
				t.Errorf("groups=%v: %q is not listed before typing:\n%s", tc.groups, name, v)
			}
		}
		for _, name := range tc.not {
			if strings.Contains(v, name) {
				t.Errorf("groups=%v: %q is listed in a users-only picker:\n%s", tc.groups, name, v)
			}
		}
		if n := len(dir.searches); n != 1+btoi(tc.groups) {
			t.Errorf("groups=%v: %d searches before typing, want one per kind: %q", tc.groups, n, dir.searches)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
