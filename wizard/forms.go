package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/steps"
)

// Forms asks for the inputs on a terminal with huh forms, one screen per question, or, in accessible mode, with
// huh's line prompts, which also read answers piped on stdin. Every answer is checked as typed with the same
// rules as its flag.
type Forms struct {
	io *IOStreams
	// Debounce is the picker's pause after a keystroke (tests set 0).
	Debounce time.Duration
	// asked records that a question was put, so the summary is shown only after questions.
	asked bool
	// RunForm shows one screen until it is answered; nil shows it on the terminal. Tests drive the form with
	// key presses instead (wizardtest).
	RunForm func(ctx context.Context, form *huh.Form) error
}

// NewForms asks on io's terminal (or with line prompts when io is in accessible mode).
func NewForms(io *IOStreams) *Forms { return &Forms{io: io, Debounce: 150 * time.Millisecond} }

// ErrCancelled is a question left with Ctrl-C or Esc: nothing was changed.
var ErrCancelled = fmt.Errorf("cancelled: nothing was changed: %w", context.Canceled)

// Precheck reports the wrong values given; the missing ones will be asked for.
func (f *Forms) Precheck(in steps.Inputs) error { return in.CheckGiven() }

// signInChoices are the methods offered when signing in failed, with what each needs.
func signInChoices() []huh.Option[graph.Method] {
	return []huh.Option[graph.Method]{
		huh.NewOption("In a browser on this machine", graph.MethodBrowser),
		huh.NewOption("With a code, on another device (device code)", graph.MethodDeviceCode),
		huh.NewOption("As an application (AZURE_TENANT_ID, AZURE_CLIENT_ID and a secret or certificate)", graph.MethodEnvironment),
		huh.NewOption("As this Azure resource's managed identity", graph.MethodManagedIdentity),
		huh.NewOption("With an access token from IDPCTL_ACCESS_TOKEN", graph.MethodToken),
		huh.NewOption("Stop", graph.Method("")),
	}
}

// SignInFailed shows why signing in failed and offers the other ways to sign in.
func (f *Forms) SignInFailed(ctx context.Context, failure error) (graph.Method, error) {
	f.say(failure.Error())
	method := graph.MethodDeviceCode
	err := f.ask(ctx, choice(f, "How do you want to sign in?", "", &method, signInChoices()...))
	if err != nil {
		return "", err
	}
	if method == "" {
		return "", &shownError{err: failure, summary: "sign-in failed: the reason and the fix are above"}
	}
	return method, nil
}

// shownError is an error the person has just read in full: its message, the run's last line, names it without
// repeating it, and it unwraps to the error itself for the exit code.
type shownError struct {
	err     error
	summary string
}

func (e *shownError) Error() string { return e.summary }
func (e *shownError) Unwrap() error { return e.err }

// Fill asks, screen by screen, for what the flags did not give.
func (f *Forms) Fill(ctx context.Context, req FillRequest) error {
	in := req.Inputs
	if req.Complete {
		return nil
	}
	if req.SignedIn != nil {
		lines, err := req.SignedIn(ctx)
		if err != nil {
			return err
		}
		for _, l := range lines {
			f.say(l)
		}
	}
	for _, ask := range []func(context.Context, FillRequest) error{
		f.askApplication,   // the name, and which application when several share it
		f.askAssignments,   // who is provisioned: the picker
		f.askBackend,       // how the SaaS gets the OIDC values, and its SCIM endpoint
		f.askRoles,         // Owners and Admins, where the backend can set them
		f.askSecretExpiry,  // the client secret's lifetime
		f.confirmedChoices, // the summary and the command to run it again without questions
	} {
		if err := ask(ctx, req); err != nil {
			return err
		}
	}
	return in.Check()
}

// question is one field of a screen and the check its answer must pass; an accessible run checks again after
// the prompt, since huh's line prompt takes whatever is left when stdin ends. A secret's answer is never
// echoed.
type question struct {
	field  huh.Field
	check  func() error
	secret bool
}

// ask puts one screen of questions.
func (f *Forms) ask(ctx context.Context, qs ...question) error {
	f.asked = true
	if f.io.Accessible() {
		return f.askLines(qs)
	}
	fields := make([]huh.Field, len(qs))
	for i, q := range qs {
		fields[i] = q.field
	}
	form := huh.NewForm(huh.NewGroup(fields...)).WithTheme(huh.ThemeFunc(huh.ThemeCharm))
	run := f.RunForm
	if run == nil {
		run = func(ctx context.Context, form *huh.Form) error {
			return form.WithProgramOptions(f.io.programOptions(tea.WithColorProfile(f.io.ColorProfile()))...).RunWithContext(ctx)
		}
	}
	err := run(ctx, form)
	switch {
	case errors.Is(err, huh.ErrUserAborted), errors.Is(err, context.Canceled), ctx.Err() != nil:
		return ErrCancelled
	case err != nil:
		return err
	}
	return nil
}

// askLines puts the questions one after another as line prompts, without styling.
func (f *Forms) askLines(qs []question) error {
	w := f.plain()
	for _, q := range qs {
		q.field.Init()
		q.field.Focus()
		var in io.Reader = f.io.LineIn()
		if !f.io.inTTY && !q.secret {
			// Answers piped on stdin are not echoed by a terminal: the transcript shows each after its prompt.
			in = echo{r: in, w: w}
		}
		if err := q.field.RunAccessible(w, in); err != nil {
			return err
		}
		if !f.io.inTTY && q.secret {
			fmt.Fprintln(w)
		}
		if q.check == nil {
			continue
		}
		if err := q.check(); err != nil {
			return fmt.Errorf("stdin ended without a valid answer: %w", err)
		}
	}
	return nil
}

// echo copies what is read to w.
type echo struct {
	r io.Reader
	w io.Writer
}

func (e echo) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if n > 0 {
		_, _ = e.w.Write(p[:n])
	}
	return n, err
}

// plain is stderr without escape codes, for line prompts and the lines between screens when colour is off.
func (f *Forms) plain() io.Writer {
	profile := f.io.ColorProfile()
	if f.io.Accessible() {
		profile = colorprofile.NoTTY
	}
	return &colorprofile.Writer{Forward: f.io.ErrWriter(), Profile: profile}
}

// say prints a line between screens, wrapped to fit a terminal.
func (f *Forms) say(s string) {
	if f.io.errTTY {
		s = wrapLines(s, f.io.Width())
	}
	fmt.Fprintln(f.plain(), s)
}

// answered records an answer on the terminal once its screen is gone.
func (f *Forms) answered(what, answer string) {
	if f.io.Accessible() {
		return // the answer is on the screen already, as typed
	}
	f.say(theme{color: f.io.ColorEnabled()}.good("✓") + " " + what + ": " + answer)
}

// choice is a question with a few answers; the current value is the default, which a line prompt names.
func choice[T comparable](f *Forms, title, description string, value *T, options ...huh.Option[T]) question {
	if f.io.Accessible() {
		for _, o := range options {
			if o.Value == *value {
				title += " (Enter for: " + o.Key + ")"
			}
		}
	}
	return question{field: huh.NewSelect[T]().Title(title).Description(description).Options(options...).Value(value)}
}

// input is a text question with its rule, checked as typed and again after an accessible prompt. Its current
// value is the default: on a screen it is there to edit; a line prompt names it and takes it on an empty line.
func (f *Forms) input(title, description string, value *string, rule func(string) error) question {
	field := huh.NewInput().Description(description).Value(value)
	if f.io.Accessible() && *value != "" {
		title += " (Enter for " + *value + ")"
		def := *value
		field.Validate(func(s string) error {
			if s == "" {
				return rule(def) // huh's line prompt checks the line before it falls back to the default
			}
			return rule(s)
		})
	} else {
		field.Validate(rule)
	}
	field.Title(title)
	return question{field: field, check: func() error { return rule(*value) }}
}

func (f *Forms) askApplication(ctx context.Context, req FillRequest) error {
	in := req.Inputs
	if req.Given("app-id") {
		return nil
	}
	if !req.Given("app-name") {
		if err := f.ask(ctx, f.input("Name of the enterprise application",
			"How it appears in the Entra admin center and on users' My Apps page.", &in.AppName, steps.CheckAppName)); err != nil {
			return err
		}
		f.answered("Application", in.AppName)
	}
	apps, err := req.Directory.FindApplications(ctx, graph.ApplicationQuery{DisplayName: in.AppName})
	if err != nil {
		return fmt.Errorf("looking for applications named %q: %w", in.AppName, err)
	}
	var ours []graph.Application
	for _, a := range apps {
		if slices.Contains(a.Tags, steps.Tag) {
			ours = append(ours, a)
		}
	}
	if len(apps) == 0 || (len(ours) == 1 && len(apps) == 1) {
		return nil // a new application, or the one idpctl made before
	}
	// Several applications share the name, or one idpctl did not make: which one is meant.
	const another = "another name"
	chosen := ""
	options := make([]huh.Option[string], 0, len(apps)+1)
	for _, a := range apps {
		label := fmt.Sprintf("%s (client id %s)", a.DisplayName, a.AppID)
		if slices.Contains(a.Tags, steps.Tag) {
			label += ", created by idpctl"
		}
		options = append(options, huh.NewOption(label, a.AppID))
	}
	options = append(options, huh.NewOption("None of these: choose another name", another))
	if len(ours) > 0 {
		chosen = ours[0].AppID
	}
	if err := f.ask(ctx, choice(f, fmt.Sprintf("%d applications are named %q. Which one should idpctl set up?", len(apps), in.AppName),
		"", &chosen, options...)); err != nil {
		return err
	}
	if chosen == another {
		name := in.AppName + " SSO"
		if err := f.ask(ctx, f.input("Name of the new enterprise application", "", &name, func(s string) error {
			if err := steps.CheckAppName(s); err != nil {
				return err
			}
			if s == in.AppName {
				return errors.New("that name is taken: choose another")
			}
			return nil
		})); err != nil {
			return err
		}
		in.AppName = name
		f.answered("Application", name+" (new)")
		return nil
	}
	in.AppID = chosen
	f.answered("Application", fmt.Sprintf("%s (client id %s)", in.AppName, chosen))
	return nil
}

// askAssignments runs the picker, with what is already assigned and what the inputs name (the sandbox's
// "Smallstep Users") preselected.
func (f *Forms) askAssignments(ctx context.Context, req FillRequest) error {
	in := req.Inputs
	if req.Given("assign-group") || req.Given("assign-user") {
		return nil
	}
	chosen, err := f.preselected(ctx, req)
	if err != nil {
		return err
	}
	picker := NewPicker(ctx, req.Directory, true, &chosen).
		Title("Who should sign in to " + in.AppName + "?").
		Description("Type to search groups and users · tab selects · enter continues").
		Debounce(f.Debounce)
	if err := f.ask(ctx, question{field: picker, check: picker.validate}); err != nil {
		return err
	}
	in.AssignGroups, in.AssignUsers = f.refs(ctx, req.Directory, chosen)
	f.answered("Assign", names(chosen))
	return nil
}

// ChooseToProvision asks, with the picker setup uses, which groups and users `idpctl provision` sends now, and
// names them as --group and --user do. What is assigned to the application in names is marked so: Entra
// skips the others.
func (f *Forms) ChooseToProvision(ctx context.Context, dir Directory, in steps.Inputs) (groups, users []string, err error) {
	var chosen []Principal
	picker := NewPicker(ctx, dir, true, &chosen).
		Title("Who should be provisioned now?").
		Description("Type to search groups and users · tab selects · enter continues").
		Debounce(f.Debounce)
	assigned, err := appAssignments(ctx, dir, in)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range assigned {
		picker.MarkAssigned(a.PrincipalID)
	}
	if err := f.ask(ctx, question{field: picker, check: picker.validate}); err != nil {
		return nil, nil, err
	}
	f.answered("Provision", names(chosen))
	groups, users = f.refs(ctx, dir, chosen)
	return groups, users, nil
}

// refs names chosen principals as the command line does: groups by groupRef, users by user principal name.
func (f *Forms) refs(ctx context.Context, dir Directory, chosen []Principal) (groups, users []string) {
	for _, p := range chosen {
		if p.Kind == KindGroup {
			groups = append(groups, f.groupRef(ctx, dir, p))
		} else {
			users = append(users, p.UPN)
		}
	}
	return groups, users
}

func names(chosen []Principal) string {
	var names []string
	for _, p := range chosen {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// groupRef is how a chosen group is named in the inputs (and the command line): by name when that is unique
// in the tenant, else by object id.
func (f *Forms) groupRef(ctx context.Context, dir Directory, p Principal) string {
	if same, err := dir.ResolveGroup(ctx, p.Name); err == nil && len(same) == 1 && same[0].ID == p.ID {
		return p.Name
	}
	return p.ID
}

// preselected is the picker's starting selection: the application's existing assignments, then the groups and
// users the inputs already name.
func (f *Forms) preselected(ctx context.Context, req FillRequest) ([]Principal, error) {
	in := req.Inputs
	var chosen []Principal
	add := func(p Principal) {
		if !slices.ContainsFunc(chosen, func(x Principal) bool { return strings.EqualFold(x.ID, p.ID) }) {
			chosen = append(chosen, p)
		}
	}
	if existing, err := f.existingAssignments(ctx, req); err != nil {
		return nil, err
	} else {
		for _, p := range existing {
			add(p)
		}
	}
	for _, g := range in.AssignGroups {
		groups, err := req.Directory.ResolveGroup(ctx, g)
		if err != nil && !graph.IsNotFound(err) {
			return nil, err
		}
		for _, gr := range groups {
			add(Principal{Kind: KindGroup, ID: gr.ID, Name: gr.DisplayName, Members: -1})
		}
	}
	for _, u := range in.AssignUsers {
		user, err := req.Directory.ResolveUser(ctx, u)
		if err != nil && !graph.IsNotFound(err) {
			return nil, err
		}
		if err == nil {
			add(userPrincipal(user))
		}
	}
	counts := newPrincipalSearch(req.Directory, true)
	for i, p := range chosen {
		if p.Kind == KindGroup && p.Members < 0 {
			with := counts.withCounts(ctx, []graph.Group{{ID: p.ID, DisplayName: p.Name}})
			chosen[i].Members = with[0].Members
		}
	}
	return chosen, nil
}

// existingAssignments are the users and groups already assigned to the application this run sets up.
func (f *Forms) existingAssignments(ctx context.Context, req FillRequest) ([]Principal, error) {
	assigned, err := appAssignments(ctx, req.Directory, *req.Inputs)
	if err != nil {
		return nil, err
	}
	var out []Principal
	for _, a := range assigned {
		p := Principal{Kind: a.PrincipalType, ID: a.PrincipalID, Name: a.PrincipalDisplayName, Members: -1, Assigned: true}
		switch a.PrincipalType {
		case KindUser:
			if u, err := req.Directory.ResolveUser(ctx, a.PrincipalID); err == nil {
				p.UPN = u.UserPrincipalName
			}
		case KindGroup:
		default:
			continue // service principals are not the picker's
		}
		out = append(out, p)
	}
	return out, nil
}

// appAssignments are the assignments of the application in names (--app-id, else the one idpctl made under
// --app-name); none when there is no such application yet.
func appAssignments(ctx context.Context, dir Directory, in steps.Inputs) ([]graph.AppRoleAssignment, error) {
	appID := in.AppID
	if appID == "" {
		apps, err := dir.FindApplications(ctx, graph.ApplicationQuery{DisplayName: in.AppName, Tag: steps.Tag})
		if err != nil || len(apps) != 1 {
			return nil, err
		}
		appID = apps[0].AppID
	}
	sp, err := dir.GetServicePrincipalByAppID(ctx, appID)
	if graph.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return dir.ListAppRoleAssignedTo(ctx, sp.ID)
}

// Backend choices.
const (
	scimNow   = "now"
	scimLater = "later"
	toScreen  = "screen"
	toFile    = "file"
)

func (f *Forms) askBackend(ctx context.Context, req FillRequest) error {
	in := req.Inputs
	if !req.Given("backend") {
		if err := f.ask(ctx, choice(f, "How does the SaaS get the single sign-on settings?", "", &in.Backend,
			huh.NewOption("I paste them into the SaaS myself (Smallstep today)", backend.NameManual),
			huh.NewOption("The SaaS's registration API takes them (--backend http)", backend.NameHTTP),
		)); err != nil {
			return err
		}
		f.answered("Backend", in.Backend)
	}
	if in.Backend == backend.NameHTTP {
		return f.askHTTPBackend(ctx, req)
	}
	return f.askManualBackend(ctx, req)
}

func (f *Forms) askHTTPBackend(ctx context.Context, req FillRequest) error {
	in := req.Inputs
	if !req.Given("scim-url") {
		in.SCIMURL = "" // the backend answers with it
	}
	if !req.Given("scim-token-file") {
		in.SCIMToken = steps.Inputs{}.SCIMToken
	}
	var qs []question
	if !req.Given("backend-url") {
		qs = append(qs, f.input("Base URL of the SaaS's registration API", "idpctl calls POST {URL}/v1/identity-providers/entra.",
			&in.BackendURL, backend.ValidateBackendURL))
	}
	token := ""
	if in.BackendToken.IsZero() {
		qs = append(qs, secretInput("API token of the SaaS (IDPCTL_BACKEND_TOKEN)", &token, false, f.io))
	}
	if len(qs) == 0 {
		return nil
	}
	if err := f.ask(ctx, qs...); err != nil {
		return err
	}
	if token != "" {
		in.BackendToken = secret.New(token)
	}
	f.answered("Registration API", in.BackendURL)
	return nil
}

func (f *Forms) askManualBackend(ctx context.Context, req FillRequest) error {
	in := req.Inputs
	if !req.Given("scim-url") {
		have := scimNow
		if d := req.SCIMDefaults; d != nil && in.SCIMURL == "" {
			in.SCIMURL = d.BaseURL
			if in.SCIMToken.IsZero() {
				in.SCIMToken = d.Token
			}
		}
		if req.HandOff && in.SCIMURL == "" {
			// The usual order with Smallstep: the values to paste first, then the SCIM URL and token it shows.
			have = scimLater
			if err := f.ask(ctx, choice(f, "Do you have the SCIM URL and token the SaaS shows for provisioning?", "", &have,
				huh.NewOption("Not yet: show me the values to paste into the SaaS first", scimLater),
				huh.NewOption("Yes, I have them", scimNow),
			)); err != nil {
				return err
			}
		}
		in.HandOffAtTerminal = have == scimLater
		if in.HandOffAtTerminal {
			in.SCIMURL, in.SCIMToken = "", steps.Inputs{}.SCIMToken
			f.answered("SCIM URL and token", "asked for after the values to paste are shown")
		} else if err := f.askSCIM(ctx, req); err != nil {
			return err
		}
	}
	if req.Given("secret-out") {
		return nil
	}
	where := toFile
	if in.HandOffAtTerminal {
		where = toScreen
		if err := f.ask(ctx, choice(f, "Where should the client secret go?", "You paste it into the SaaS with the other values.", &where,
			huh.NewOption("Show it to me once, when the values to paste are shown", toScreen),
			huh.NewOption("Write it to a file only I can read (mode 0600)", toFile),
		)); err != nil {
			return err
		}
	}
	if where == toScreen {
		in.SecretOut = ""
		f.answered("Client secret", "shown once during the hand-off")
		return nil
	}
	if in.SecretOut == "" {
		in.SecretOut = "client-secret"
	}
	if err := f.ask(ctx, f.input("File for the client secret", "Created with mode 0600; paste its content into the SaaS.",
		&in.SecretOut, checkSecretFile)); err != nil {
		return err
	}
	f.answered("Client secret", "written to "+in.SecretOut)
	return nil
}

// checkSecretFile catches the answers that cannot work before anything runs; writing the file checks the rest.
func checkSecretFile(path string) error {
	if strings.TrimSpace(path) == "" {
		return errors.New("give a file name, e.g. client-secret")
	}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return fmt.Errorf("%s is a directory: give a file name, e.g. %s", path, filepath.Join(path, "client-secret"))
	}
	if info, err := os.Stat(filepath.Dir(path)); err != nil || !info.IsDir() {
		return fmt.Errorf("directory %s does not exist", filepath.Dir(path))
	}
	return nil
}

// askSCIM asks for the SCIM URL and token and tests them at once, until they work or the admin keeps them.
func (f *Forms) askSCIM(ctx context.Context, req FillRequest) error {
	in := req.Inputs
	for {
		token := ""
		qs := []question{f.input("SCIM URL", "The tenant URL the SaaS shows, e.g. https://scim.example.com/scim/v2.",
			&in.SCIMURL, backend.ValidateSCIMURL)}
		qs = append(qs, secretInput("SCIM token", &token, !in.SCIMToken.IsZero(), f.io))
		if err := f.ask(ctx, qs...); err != nil {
			return err
		}
		if token != "" {
			in.SCIMToken = secret.New(token)
		}
		if req.ProbeSCIM == nil {
			return nil
		}
		f.say("Testing the SCIM endpoint as Entra will use it…")
		report, err := req.ProbeSCIM(ctx, backend.SCIM{BaseURL: in.SCIMURL, Token: in.SCIMToken})
		f.say(strings.TrimRight(report.String(), "\n"))
		if err == nil {
			f.answered("SCIM endpoint", in.SCIMURL+" works")
			return nil
		}
		f.say(err.Error())
		again := true
		if err := f.ask(ctx, question{field: huh.NewConfirm().
			Title("Enter the SCIM URL and token again?").
			Affirmative("Again").Negative("Keep them").Value(&again)}); err != nil {
			return err
		}
		if !again {
			return nil
		}
	}
}

func (f *Forms) askRoles(ctx context.Context, req FillRequest) error {
	in := req.Inputs
	if req.Given("owner") || req.Given("admin") {
		return nil
	}
	if in.Backend != backend.NameHTTP {
		// Where Smallstep keeps them: "the Dashboard Admins panel under the Settings menu"
		// (https://support.smallstep.com/set-up-dashboard-access-using-sso).
		f.say("Owners and Admins: set them in the SaaS after the first sign-in (Smallstep: the Dashboard Admins " +
			"panel under Settings); the manual backend cannot set roles.")
		return nil
	}
	var given []string // ids with a role: an Owner can do all an Admin can, so the Admins picker leaves them out
	for _, role := range []struct {
		list  *[]string
		title string
	}{
		{&in.Owners, "Owners in the SaaS (optional): who can do everything, including making Admins"},
		{&in.Admins, "Admins in the SaaS (optional)"},
	} {
		var chosen []Principal
		picker := NewPicker(ctx, req.Directory, false, &chosen).Optional(true).Title(role.title).
			Description("Type to search users · tab selects · enter continues").Debounce(f.Debounce).Without(given...)
		if err := f.ask(ctx, question{field: picker}); err != nil {
			return err
		}
		*role.list = nil
		for _, p := range chosen {
			*role.list = append(*role.list, p.UPN)
			given = append(given, p.ID)
		}
	}
	if len(in.Owners)+len(in.Admins) > 0 {
		f.answered("Roles", pluralWord(len(in.Owners), "Owner")+", "+pluralWord(len(in.Admins), "Admin"))
	}
	return nil
}

// secretExpiries are the lifetimes offered for the client secret (the portal's choices).
func secretExpiries() []huh.Option[time.Duration] {
	day := 24 * time.Hour
	return []huh.Option[time.Duration]{
		huh.NewOption("90 days", 90*day),
		huh.NewOption("180 days (recommended)", 180*day),
		huh.NewOption("1 year", 365*day),
		huh.NewOption("2 years", 730*day),
	}
}

func (f *Forms) askSecretExpiry(ctx context.Context, req FillRequest) error {
	in := req.Inputs
	if req.Given("secret-expiry") {
		return nil
	}
	options := secretExpiries()
	if !slices.ContainsFunc(options, func(o huh.Option[time.Duration]) bool { return o.Value == in.SecretExpiry }) {
		in.SecretExpiry = steps.DefaultSecretExpiry
	}
	if err := f.ask(ctx, choice(f, "How long should the client secret last?", "Rotate it before then with idpctl rotate-secret entra.",
		&in.SecretExpiry, options...)); err != nil {
		return err
	}
	for _, o := range options {
		if o.Value == in.SecretExpiry {
			f.answered("Client secret lifetime", o.Key)
		}
	}
	return nil
}

// confirmedChoices closes the questions with the command that runs the same setup without them.
func (f *Forms) confirmedChoices(_ context.Context, req FillRequest) error {
	if !f.asked || req.CommandLine == nil {
		return nil
	}
	argv, secretEnv := req.CommandLine(*req.Inputs)
	f.say("")
	f.say("To run this setup again without questions:")
	fmt.Fprintln(f.plain(), shellCommand(argv, f.io.Width()))
	if len(secretEnv) > 0 {
		f.say("with the secrets in the environment: " + strings.Join(secretEnv, ", "))
	}
	f.say("")
	return nil
}

// secretInput asks for a token, masked, and checks it as pasted. keep allows an empty answer, which keeps the
// token the environment gave. In accessible mode on a pipe there is no terminal to mask it, and nothing echoes
// it either.
func secretInput(title string, token *string, keep bool, io *IOStreams) question {
	rule := func(s string) error {
		if s == "" && keep {
			return nil
		}
		return backend.ValidateToken(title, secret.New(s))
	}
	description := "Paste it; it is not shown."
	if keep {
		description = "Paste it, or press Enter to keep the one from the environment."
	}
	field := huh.NewInput().Title(title).Description(description).Value(token).Validate(rule)
	if !io.Accessible() || io.inTTY {
		field.EchoMode(huh.EchoModePassword)
	}
	return question{field: field, check: func() error { return rule(*token) }, secret: true}
}

// shellCommand writes argv for a POSIX shell, quoted where needed and continued over lines to fit width; a
// flag and its value stay on one line.
func shellCommand(argv []string, width int) string {
	var words []string
	for i := 0; i < len(argv); i++ {
		word := shellQuote(argv[i])
		if strings.HasPrefix(argv[i], "--") && !strings.Contains(argv[i], "=") && i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "--") {
			word += " " + shellQuote(argv[i+1])
			i++
		}
		words = append(words, word)
	}
	var lines []string
	line := ""
	for _, word := range words {
		switch {
		case line == "":
			line = "  " + word
		case len(line)+1+len(word)+2 > width:
			lines = append(lines, line+" \\")
			line = "    " + word
		default:
			line += " " + word
		}
	}
	return strings.Join(append(lines, line), "\n")
}

// shellQuote quotes s for a POSIX shell when it has anything but letters, digits and -_./:@=,+
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
