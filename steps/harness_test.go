package steps_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/steps"
)

// harness runs the setup flow against a sandbox: the simulated tenant and the reference SaaS.
type harness struct {
	t          testing.TB
	sb         *sandbox.Sandbox
	clock      *clock       // nil: the wall clock
	httpClient *http.Client // Graph's transport; nil for the default
	stateDir   string
	secretOut  string
	reporter   steps.Reporter // nil: none
	handOff    *terminalHandOff
}

// terminalHandOff stands in for the admin at the wizard's hand-off: it keeps what it was handed and answers
// with the SCIM endpoint the SaaS shows.
type terminalHandOff struct {
	scim      backend.SCIM
	mu        sync.Mutex
	handovers []backend.Handover
	stop      int // this many hand-offs end as if the admin pressed Ctrl-C
}

func (a *terminalHandOff) SCIMEndpoint(_ context.Context, h backend.Handover) (backend.SCIM, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.handovers = append(a.handovers, h)
	if a.stop > 0 {
		a.stop--
		return backend.SCIM{}, context.Canceled
	}
	return a.scim, nil
}

func (a *terminalHandOff) all() []backend.Handover {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.handovers)
}

// clock is the time of a test: real time plus whatever the code under test waited. Waits return at once and
// move the clock on, so polls, retries and rate limits run their course without the test sleeping, and the
// tenant, the client and the steps all see the same time.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
	runtime.Gosched()
	return nil
}

func newHarness(t testing.TB, opts sandbox.Options) *harness {
	t.Helper()
	c := &clock{}
	opts.Now = c.Now
	return startHarness(t, opts, c)
}

// newRealTimeHarness runs on the wall clock, for benchmarks of real waits such as Graph's latency.
func newRealTimeHarness(t testing.TB, opts sandbox.Options) *harness {
	return startHarness(t, opts, nil)
}

func startHarness(t testing.TB, opts sandbox.Options, c *clock) *harness {
	t.Helper()
	opts.ManualCycles = true // provisioning cycles only when a test runs them
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sb, err := sandbox.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	dir := t.TempDir()
	return &harness{t: t, sb: sb, clock: c, stateDir: filepath.Join(dir, "state"), secretOut: filepath.Join(dir, "client-secret")}
}

// manual is the Smallstep way: SCIM values given up front, the client secret to a 0600 file.
func (h *harness) manual() steps.Inputs {
	return steps.Inputs{
		TenantID: h.sb.TenantID, AppName: steps.DefaultAppName, RedirectURI: steps.DefaultRedirectURI,
		AssignGroups: []string{"Smallstep Users"}, AssignUsers: []string{"grady.archie@" + h.sb.Demo.Domain},
		Backend: backend.NameManual, SCIMURL: h.sb.SCIMURL, SCIMToken: h.sb.SCIMToken, SecretOut: h.secretOut,
		SecretExpiry: steps.DefaultSecretExpiry,
	}
}

// viaAPI is a backend that takes the registration over its API.
func (h *harness) viaAPI() steps.Inputs {
	in := h.manual()
	in.Backend, in.BackendURL, in.BackendToken = backend.NameHTTP, h.sb.BackendURL, h.sb.BackendToken
	in.SCIMURL, in.SCIMToken, in.SecretOut = "", secret.Value{}, ""
	return in
}

func (h *harness) client() *graph.Client {
	cfg := graph.Config{BaseURL: h.sb.GraphURL, Credential: graph.StaticToken(h.sb.AccessToken), HTTPClient: h.httpClient}
	if h.clock != nil {
		cfg.Clock = h.clock
	}
	c, err := graph.New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) env(in steps.Inputs) *steps.Env {
	h.t.Helper()
	if err := in.Check(); err != nil {
		h.t.Fatalf("inputs: %v", err)
	}
	be, err := h.backend(in)
	if err != nil {
		h.t.Fatal(err)
	}
	state, err := steps.OpenState(h.stateDir, in.TenantID, in.AppName)
	if err != nil {
		h.t.Fatal(err)
	}
	env := &steps.Env{
		Inputs: in, TenantID: in.TenantID, LoginHost: "login.microsoftonline.com",
		Graph: h.client(), Backend: be, SCIMClient: &http.Client{Timeout: 10 * time.Second}, State: state,
		Reporter: h.reporter,
	}
	if h.clock != nil {
		env.Clock = h.clock
	}
	return env
}

func (h *harness) backend(in steps.Inputs) (backend.Backend, error) {
	if in.Backend == backend.NameHTTP {
		return backend.NewHTTP(in.BackendURL, in.BackendToken, nil, nil)
	}
	if in.HandOffAtTerminal {
		return &backend.Manual{SecretOut: in.SecretOut, SCIM: h.handOff}, nil
	}
	return &backend.Manual{SecretOut: in.SecretOut, SCIM: backend.GivenSCIM{BaseURL: in.SCIMURL, Token: in.SCIMToken}}, nil
}

// atTerminal is the manual hand-off taken by an admin at a terminal: no SCIM values and no secret file given.
func (h *harness) atTerminal() steps.Inputs {
	in := h.manual()
	in.SCIMURL, in.SCIMToken, in.SecretOut, in.HandOffAtTerminal = "", secret.Value{}, "", true
	h.handOff = &terminalHandOff{scim: backend.SCIM{BaseURL: h.sb.SCIMURL, Token: h.sb.SCIMToken}}
	return in
}

// run plans and applies once; stop, if set, ends the run after the named step applied.
func (h *harness) run(in steps.Inputs, stop string) (*steps.Plan, steps.Report, *steps.Env, error) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := h.env(in)
	runner := &steps.Runner{Steps: steps.Flow()}
	if stop != "" {
		runner.AfterApply = func(s steps.Step) error {
			if s.String() == stop {
				return errStopped
			}
			return nil
		}
	}
	plan, err := runner.Plan(ctx, env)
	if err != nil {
		return nil, nil, env, err
	}
	report, err := runner.Apply(ctx, env, plan)
	return plan, report, env, err
}

var errStopped = errors.New("stopped by the test")

// mustRun runs the flow and fails the test on error.
func (h *harness) mustRun(in steps.Inputs) (*steps.Plan, steps.Result) {
	h.t.Helper()
	plan, report, env, err := h.run(in, "")
	if err != nil {
		h.t.Fatalf("setup failed: %v", err)
	}
	return plan, steps.NewResult(env, plan, report, nil)
}

// configured checks every property the setup promises, in the tenant and in the SaaS.
func (h *harness) configured(in steps.Inputs) {
	h.t.Helper()
	t, tenant := h.t, h.sb.Tenant
	var apps []entra.Application
	for _, a := range tenant.Applications() {
		if strings.HasPrefix(a.DisplayName, in.AppName) {
			apps = append(apps, a)
		}
	}
	if len(apps) != 1 {
		t.Fatalf("want exactly one application named %q, found %d", in.AppName, len(apps))
	}
	app := apps[0]
	if app.DisplayName != in.AppName || !slices.Contains(app.Tags, steps.Tag) {
		t.Errorf("application name %q tags %v", app.DisplayName, app.Tags)
	}
	if app.SignInAudience != "AzureADMultipleOrgs" {
		t.Errorf("signInAudience = %q", app.SignInAudience)
	}
	if !slices.Contains(app.RedirectURIs, in.RedirectURI) {
		t.Errorf("redirect URIs %v lack %s", app.RedirectURIs, in.RedirectURI)
	}
	web, _ := app.Raw["web"].(map[string]any)
	if home, _ := web["homePageUrl"].(string); !strings.Contains(home, "customappsso") {
		t.Errorf("web.homePageUrl %q lost the non-gallery marker", home)
	}
	claims := jsonPath(app.Raw, "optionalClaims", "idToken")
	for _, want := range []string{"email", "preferred_username"} {
		if !strings.Contains(claims, `"name":"`+want+`"`) {
			t.Errorf("ID token optional claims %s lack %s", claims, want)
		}
	}
	rra := jsonPath(app.Raw, "requiredResourceAccess")
	for _, id := range []string{"37f7f235-527c-4136-accd-4a02d197296e", "14dad69e-099b-42c9-810b-d002981feec1", "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0"} {
		if !strings.Contains(rra, id) || !strings.Contains(rra, steps.MicrosoftGraphAppID) {
			t.Errorf("requiredResourceAccess %s lacks Graph scope %s", rra, id)
		}
	}

	var sp entra.ServicePrincipal
	for _, s := range tenant.ServicePrincipals() {
		if s.AppID == app.AppID {
			sp = s
		}
	}
	if sp.ID == "" || sp.DisplayName != in.AppName {
		t.Fatalf("service principal of %s: %+v", app.AppID, sp.DisplayName)
	}

	userRole := ""
	for _, r := range sp.AppRoles {
		if r.DisplayName == "User" {
			userRole = r.ID
		}
	}
	assigned := map[string]int{}
	for _, a := range tenant.AppRoleAssignments(sp.ID) {
		assigned[a.PrincipalDisplayName]++
		if a.AppRoleID != userRole {
			t.Errorf("assignment of %s has role %s, want the User role %s", a.PrincipalDisplayName, a.AppRoleID, userRole)
		}
	}
	for name, n := range assigned {
		if n != 1 {
			t.Errorf("%s assigned %d times", name, n)
		}
	}
	if assigned["Smallstep Users"] != 1 {
		t.Errorf("group not assigned: %v", assigned)
	}

	var grants []entra.PermissionGrant
	for _, g := range tenant.PermissionGrants() {
		if g.ClientID == sp.ID {
			grants = append(grants, g)
		}
	}
	if len(grants) != 1 || grants[0].ConsentType != "AllPrincipals" || !sameWords(grants[0].Scope, "openid profile email") {
		t.Errorf("grants = %+v, want one AllPrincipals grant of openid profile email", grants)
	}

	var ours []entra.PasswordCredential
	for _, p := range app.PasswordCredentials {
		if strings.HasPrefix(p.DisplayName, "idpctl") {
			ours = append(ours, p)
		}
	}
	if len(ours) != 1 {
		t.Errorf("want one client secret made by idpctl, found %d: %+v", len(ours), ours)
	} else {
		h.secretDelivered(in, app.AppID, ours[0])
	}

	jobs := tenant.SyncJobs(sp.ID)
	if len(jobs) != 1 || jobs[0].TemplateID != "scim" || jobs[0].ScheduleState != "Active" {
		t.Fatalf("jobs = %+v, want one started scim job", jobs)
	}
	h.mappings(jobs[0].Schema)
	keys := tenant.SecretKeys(sp.ID)
	for _, k := range []string{"BaseAddress", "SecretToken", "SyncAll", "SyncNotificationSettings"} {
		if !slices.Contains(keys, k) {
			t.Errorf("saved provisioning secrets %v lack %s", keys, k)
		}
	}
	h.usersArrived(in)
}

// secretDelivered checks that the one client secret reached the SaaS: the file or the backend holds it.
func (h *harness) secretDelivered(in steps.Inputs, appID string, cred entra.PasswordCredential) {
	h.t.Helper()
	if in.HandOffAtTerminal && in.SecretOut == "" {
		var last backend.Handover
		for _, ho := range h.handOff.all() {
			if !ho.ClientSecret.IsZero() {
				last = ho
			}
		}
		if last.ClientSecret.Hint() != cred.Hint {
			h.t.Errorf("the admin was handed a secret with hint %q, the application's is %q", last.ClientSecret.Hint(), cred.Hint)
		}
		return
	}
	if in.Backend == backend.NameManual {
		info, err := os.Stat(in.SecretOut)
		if err != nil {
			h.t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			h.t.Errorf("secret file mode %v, want 0600", info.Mode().Perm())
		}
		if hint, _ := backend.SecretFileHint(in.SecretOut); hint != cred.Hint {
			h.t.Errorf("secret file holds a secret with hint %q, the application's is %q", hint, cred.Hint)
		}
		return
	}
	for _, r := range h.sb.Backend.Registrations() {
		if r.ClientID == appID {
			if r.ClientSecret.Hint() != cred.Hint {
				h.t.Errorf("backend holds a secret with hint %q, the application's is %q", r.ClientSecret.Hint(), cred.Hint)
			}
			return
		}
	}
	h.t.Errorf("backend has no registration for client %s", appID)
}

// mappings checks the job's user mapping is exactly the list README.md promises (step 5: userName, active,
// displayName, the work email, given and family name, externalId) and the group mapping is the template's.
func (h *harness) mappings(schema json.RawMessage) {
	h.t.Helper()
	var doc struct {
		SynchronizationRules []struct {
			ObjectMappings []struct {
				SourceObjectName  string
				AttributeMappings []struct {
					TargetAttributeName string
					MatchingPriority    int
					Source              struct{ Expression string }
				}
			}
		}
	}
	if err := json.Unmarshal(schema, &doc); err != nil {
		h.t.Fatal(err)
	}
	want := map[string]string{
		"userName":                     "[userPrincipalName]",
		"active":                       `Switch([IsSoftDeleted], , "False", "True", "True", "False")`,
		"displayName":                  "[displayName]",
		`emails[type eq "work"].value`: "Coalesce([mail], [userPrincipalName])",
		"name.givenName":               "[givenName]",
		"name.familyName":              "[surname]",
		"externalId":                   "[objectId]",
	}
	for _, om := range doc.SynchronizationRules[0].ObjectMappings {
		got := map[string]string{}
		for _, m := range om.AttributeMappings {
			got[m.TargetAttributeName] = m.Source.Expression
			if om.SourceObjectName == "User" && m.MatchingPriority > 0 && m.TargetAttributeName != "userName" {
				h.t.Errorf("%s is a matching attribute", m.TargetAttributeName)
			}
		}
		switch om.SourceObjectName {
		case "User":
			if len(got) != len(want) {
				h.t.Errorf("user mappings %v, want exactly %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					h.t.Errorf("user mapping %s ← %q, want %q", k, got[k], v)
				}
			}
		case "Group":
			for _, k := range []string{"displayName", "externalId", "members"} {
				if _, ok := got[k]; !ok {
					h.t.Errorf("group mapping %s was removed: %v", k, got)
				}
			}
		}
	}
}

// usersArrived checks the SaaS has every assigned user with the mapped attributes.
func (h *harness) usersArrived(in steps.Inputs) {
	h.t.Helper()
	d := h.sb.Demo
	want := []entra.User{}
	for _, u := range d.Users {
		if u.UserPrincipalName == "grady.archie@"+d.Domain {
			want = append(want, u)
		}
	}
	g, err := h.sb.Tenant.GroupByID(d.SmallstepUsers.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, id := range g.MemberIDs {
		u, err := h.sb.Tenant.UserByID(id)
		if err != nil {
			h.t.Fatal(err)
		}
		want = append(want, u)
	}
	for _, u := range want {
		r, ok := h.sb.Backend.UserByExternalID(u.ID)
		if !ok {
			h.t.Errorf("%s did not arrive in the SaaS", u.UserPrincipalName)
			continue
		}
		email := u.Mail
		if email == "" {
			email = u.UserPrincipalName // Coalesce: users without a mailbox
		}
		for _, c := range [][2]string{
			{r.UserName(), u.UserPrincipalName}, {r.DisplayName(), u.DisplayName}, {r.WorkEmail(), email},
			{r.GetString("name.givenName"), u.GivenName}, {r.GetString("name.familyName"), u.Surname},
		} {
			if c[0] != c[1] {
				h.t.Errorf("%s: SaaS has %q, want %q", u.UserPrincipalName, c[0], c[1])
			}
		}
		if !r.Active() {
			h.t.Errorf("%s is inactive in the SaaS", u.UserPrincipalName)
		}
		if v, _ := r.Get("title"); v != nil {
			h.t.Errorf("%s: title %v was sent although its mapping is removed", u.UserPrincipalName, v)
		}
	}
}

func jsonPath(v any, keys ...string) string {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

func sameWords(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// graphPOST sends a raw Graph request as the admin, for setting up a test's tenant.
func (h *harness) graphPOST(path, body string) []byte {
	h.t.Helper()
	return h.graphDo("POST", path, json.RawMessage(body))
}

// graphDo sends a raw Graph request as the admin, for changing the tenant behind idpctl's back.
func (h *harness) graphDo(method, path string, body any) []byte {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.sb.GraphURL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.sb.AccessToken.Reveal())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		h.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return raw
}
