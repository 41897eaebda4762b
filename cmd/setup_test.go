package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/sandbox/refbackend"
	"github.com/idpctl/idpctl/steps"
	"github.com/idpctl/idpctl/wizard"
)

// parse runs `setup entra` with a runF that only records the options: flag parsing and resolution alone.
func parse(t *testing.T, env map[string]string, args ...string) (*setupOptions, error) {
	t.Helper()
	ios, _, _, _ := wizard.Test()
	var got *setupOptions
	cmd := newSetupEntraCmd(&factory{IO: ios, Getenv: getenvFrom(env)}, func(_ context.Context, o *setupOptions) error {
		got = o
		return nil
	})
	cmd.SetArgs(append([]string{}, args...)) // never nil: cobra would parse the test binary's own flags
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.ExecuteContext(t.Context())
	if err == nil && got == nil {
		t.Fatal("runF was not called")
	}
	return got, err
}

func mustParse(t *testing.T, env map[string]string, args ...string) *setupOptions {
	t.Helper()
	o, err := parse(t, env, args...)
	if err != nil {
		t.Fatalf("%q with env %v: %v", args, env, err)
	}
	return o
}

// tokenFile writes a SCIM token file as a person would: the token and a newline.
func tokenFile(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "scim-token.txt")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// flagCase is one flag of the contract: a value to give it, another to prove the command line wins over the
// environment, and how to read it back from the options.
type flagCase struct {
	flag         string
	value, other string
	extra        []string // other flags the value needs to be valid
	get          func(*setupOptions) string
	want, wantOr string
}

func contractFlags(t *testing.T) []flagCase {
	file1, file2 := tokenFile(t, "token-from-file-1\n"), tokenFile(t, "token-from-file-2\n")
	str := func(f func(*setupOptions) string) func(*setupOptions) string { return f }
	boolean := func(f func(*setupOptions) bool) func(*setupOptions) string {
		return func(o *setupOptions) string { return fmt.Sprint(f(o)) }
	}
	plan1, plan2 := planFile(t), planFile(t)
	return []flagCase{
		{flag: "tenant-id", value: "72f988bf-86f1-41af-91ab-2d7cd011db47", other: "3b321653-975d-483d-b6de-ef7ea74cbd99",
			get: str(func(o *setupOptions) string { return o.Inputs.TenantID })},
		{flag: "app-name", value: "Smallstep SSO", other: "Other", get: str(func(o *setupOptions) string { return o.Inputs.AppName })},
		{flag: "app-id", value: "563458bd-edc9-4eaf-93db-e0f02059a2b4", other: "d7e719b8-efc5-4e53-ae6d-e3e4359d5537",
			get: str(func(o *setupOptions) string { return o.Inputs.AppID })},
		{flag: "assign-group", value: "Smallstep Users", other: "Engineering",
			get: str(func(o *setupOptions) string { return strings.Join(o.Inputs.AssignGroups, "|") })},
		{flag: "assign-user", value: "adele.vance@contoso.onmicrosoft.com", other: "lee.gu@contoso.onmicrosoft.com",
			get: str(func(o *setupOptions) string { return strings.Join(o.Inputs.AssignUsers, "|") })},
		{flag: "redirect-uri", value: "https://example.com/callback", other: "https://other.example.com/cb",
			get: str(func(o *setupOptions) string { return o.Inputs.RedirectURI })},
		{flag: "scim-url", value: "https://example.smallstep.com/scim/v2", other: "https://other.example.com/scim",
			get: str(func(o *setupOptions) string { return o.Inputs.SCIMURL })},
		{flag: "scim-token-file", value: file1, other: file2,
			get:  str(func(o *setupOptions) string { return o.SCIMTokenFile + " " + o.Inputs.SCIMToken.Reveal() }),
			want: file1 + " token-from-file-1", wantOr: file2 + " token-from-file-2"},
		{flag: "backend", value: "http", other: "manual", get: str(func(o *setupOptions) string { return o.Inputs.Backend })},
		{flag: "backend-url", value: "https://api.example.com", other: "https://api2.example.com",
			get: str(func(o *setupOptions) string { return o.Inputs.BackendURL })},
		{flag: "secret-out", value: "./client-secret", other: "/tmp/other-secret", get: str(func(o *setupOptions) string { return o.Inputs.SecretOut })},
		{flag: "secret-expiry", value: "1y", other: "90d",
			get:  str(func(o *setupOptions) string { return o.SecretExpiry + " " + o.Inputs.SecretExpiry.String() }),
			want: "1y 8760h0m0s", wantOr: "90d 2160h0m0s"},
		{flag: "scim-compliant", value: "true", other: "false", get: boolean(func(o *setupOptions) bool { return o.Inputs.SCIMCompliant })},
		{flag: "non-interactive", value: "true", other: "false", get: boolean(func(o *setupOptions) bool { return o.NonInteractive })},
		{flag: "yes", value: "true", other: "false", get: boolean(func(o *setupOptions) bool { return o.Yes })},
		{flag: "dry-run", value: "true", other: "false", get: boolean(func(o *setupOptions) bool { return o.DryRun })},
		{flag: "detailed-exitcode", value: "true", other: "false", extra: []string{"--dry-run"},
			get: boolean(func(o *setupOptions) bool { return o.DetailedExitCode })},
		{flag: "output", value: "json", other: "text", get: str(func(o *setupOptions) string { return o.Output })},
		{flag: "auth", value: "token", other: "device-code", get: str(func(o *setupOptions) string { return o.Auth })},
		{flag: "client-id", value: "11111111-2222-3333-4444-555555555555", other: "66666666-2222-3333-4444-555555555555",
			get: str(func(o *setupOptions) string { return o.ClientID })},
		{flag: "cloud", value: "usgov", other: "china", get: str(func(o *setupOptions) string { return o.Cloud })},
		{flag: "graph-url", value: "http://127.0.0.1:8080/v1.0", other: "http://127.0.0.1:9090/v1.0", get: str(func(o *setupOptions) string { return o.GraphURL })},
		{flag: "state-dir", value: "/var/lib/idpctl", other: "/tmp/idpctl-state", get: str(func(o *setupOptions) string { return o.StateDir })},
		{flag: "sandbox", value: "true", other: "false", get: boolean(func(o *setupOptions) bool { return o.Sandbox })},
		{flag: "debug", value: "true", other: "false", get: boolean(func(o *setupOptions) bool { return o.Debug })},
		{flag: "owner", value: "adele.vance@contoso.onmicrosoft.com", other: "lee.gu@contoso.onmicrosoft.com",
			get: str(func(o *setupOptions) string { return strings.Join(o.Inputs.Owners, "|") })},
		{flag: "admin", value: "grady.archie@contoso.onmicrosoft.com", other: "megan.bowen@contoso.onmicrosoft.com",
			get: str(func(o *setupOptions) string { return strings.Join(o.Inputs.Admins, "|") })},
		{flag: "accessible", value: "true", other: "false", get: boolean(func(o *setupOptions) bool { return o.Accessible })},
		{flag: "timeout", value: "5m", other: "1h", get: str(func(o *setupOptions) string { return o.Timeout.String() }),
			want: "5m0s", wantOr: "1h0m0s"},
		{flag: "lookup-window", value: "10s", other: "10m", get: str(func(o *setupOptions) string { return o.LookupWindow.String() }),
			want: "10s", wantOr: "10m0s"},
		{flag: "plan-out", value: "plan.json", other: "/tmp/other-plan.json", get: str(func(o *setupOptions) string { return o.PlanOut })},
		{flag: "plan", value: plan1, other: plan2, get: str(func(o *setupOptions) string { return o.PlanFile + " " + o.savedPlan.Inputs.AppName }),
			want: plan1 + " " + steps.DefaultAppName, wantOr: plan2 + " " + steps.DefaultAppName},
	}
}

// planFile saves a plan as --plan-out would, for parsing tests.
func planFile(t *testing.T) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "plan.json")
	plan := &steps.Plan{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", Version: version, Steps: []steps.PlannedStep{{Step: "application"}},
		Inputs: steps.Inputs{AppName: steps.DefaultAppName, Backend: backend.NameManual, SecretExpiry: steps.DefaultSecretExpiry}}
	if err := steps.WritePlanFile(file, plan); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestEveryFlagParsesFromCommandLineAndEnvironment(t *testing.T) {
	cases := contractFlags(t)
	for _, c := range cases {
		want, wantOr := c.want, c.wantOr
		if want == "" {
			want, wantOr = c.value, c.other
		}
		env := envName(c.flag)
		t.Run(c.flag, func(t *testing.T) {
			if o := mustParse(t, nil, append([]string{"--" + c.flag + "=" + c.value}, c.extra...)...); c.get(o) != want {
				t.Errorf("--%s=%s: got %q, want %q", c.flag, c.value, c.get(o), want)
			}
			if o := mustParse(t, map[string]string{env: c.value}, c.extra...); c.get(o) != want {
				t.Errorf("%s=%s: got %q, want %q", env, c.value, c.get(o), want)
			}
			o := mustParse(t, map[string]string{env: c.value}, append([]string{"--" + c.flag + "=" + c.other}, c.extra...)...)
			if c.get(o) != wantOr {
				t.Errorf("%s=%s and --%s=%s: got %q, want the command line's %q", env, c.value, c.flag, c.other, c.get(o), wantOr)
			}
		})
	}

	// A flag added without a case here would escape the contract's "each also readable from IDPCTL_<NAME>".
	cmd := newSetupEntraCmd(&factory{IO: &wizard.IOStreams{}, Getenv: getenvFrom(nil)}, nil)
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !slices.ContainsFunc(cases, func(c flagCase) bool { return c.flag == f.Name }) {
			t.Errorf("flag --%s has no parsing test", f.Name)
		}
	})
}

func TestDefaults(t *testing.T) {
	o := mustParse(t, map[string]string{"XDG_STATE_HOME": "/home/ada/.local/state"})
	in := o.Inputs
	for _, c := range [][2]string{
		{in.AppName, "Smallstep"},
		{in.RedirectURI, "https://api.smallstep.com/auth/openid/callback"},
		{in.Backend, "manual"},
		{o.Output, "text"},
		{o.Auth, "auto"},
		{o.ClientID, "14d82eec-204b-4c2f-b7e8-296a70dab67e"},
		{o.Cloud, "public"},
		{o.StateDir, "/home/ada/.local/state/idpctl"},
		{in.SecretExpiry.String(), (180 * 24 * time.Hour).String()},
	} {
		if c[0] != c[1] {
			t.Errorf("default %q, want %q", c[0], c[1])
		}
	}
	if o.NonInteractive || o.Yes || o.DryRun || o.Sandbox || !in.SCIMToken.IsZero() || !in.BackendToken.IsZero() {
		t.Errorf("defaults switch something on: %+v", o)
	}
}

func TestRepeatableFlags(t *testing.T) {
	o := mustParse(t, nil, "--assign-group", "Smallstep Users", "--assign-group", "Engineering", "--assign-user", "a@contoso.com", "--assign-user", "b@contoso.com")
	if got := o.Inputs.AssignGroups; !slices.Equal(got, []string{"Smallstep Users", "Engineering"}) {
		t.Errorf("groups %q", got)
	}
	if got := o.Inputs.AssignUsers; !slices.Equal(got, []string{"a@contoso.com", "b@contoso.com"}) {
		t.Errorf("users %q", got)
	}
	o = mustParse(t, map[string]string{"IDPCTL_ASSIGN_GROUP": "Smallstep Users, Engineering", "IDPCTL_ASSIGN_USER": "a@contoso.com,b@contoso.com"})
	if got := o.Inputs.AssignGroups; !slices.Equal(got, []string{"Smallstep Users", "Engineering"}) {
		t.Errorf("groups from the environment %q", got)
	}
	if got := o.Inputs.AssignUsers; !slices.Equal(got, []string{"a@contoso.com", "b@contoso.com"}) {
		t.Errorf("users from the environment %q", got)
	}
	// The command line replaces the environment's list, it does not add to it.
	o = mustParse(t, map[string]string{"IDPCTL_ASSIGN_GROUP": "Smallstep Users,Engineering"}, "--assign-group", "Sales")
	if got := o.Inputs.AssignGroups; !slices.Equal(got, []string{"Sales"}) {
		t.Errorf("groups %q, want only the command line's", got)
	}
}

func TestSecretsFromEnvironmentAndFile(t *testing.T) {
	o := mustParse(t, map[string]string{"IDPCTL_SCIM_TOKEN": "scim-token-from-env", "IDPCTL_BACKEND_TOKEN": "backend-token"})
	if o.Inputs.SCIMToken.Reveal() != "scim-token-from-env" || o.Inputs.BackendToken.Reveal() != "backend-token" {
		t.Errorf("tokens %q %q", o.Inputs.SCIMToken.Reveal(), o.Inputs.BackendToken.Reveal())
	}
	if s := fmt.Sprintf("%v %+v", o.Inputs, o.Inputs); strings.Contains(s, "scim-token-from-env") || strings.Contains(s, "backend-token") {
		t.Errorf("printing the inputs shows a token: %s", s)
	}

	o = mustParse(t, nil, "--scim-token-file", tokenFile(t, "scim-token-in-file\r\n"))
	if got := o.Inputs.SCIMToken.Reveal(); got != "scim-token-in-file" {
		t.Errorf("token from file %q", got)
	}

	// With --backend http the SCIM token comes from the backend: one left in the environment (idpctl sandbox
	// exports one) is not an instruction.
	o = mustParse(t, map[string]string{"IDPCTL_SCIM_TOKEN": "left-over"}, "--backend", "http")
	if !o.Inputs.SCIMToken.IsZero() {
		t.Error("IDPCTL_SCIM_TOKEN was taken with --backend http")
	}

	for name, c := range map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"given twice":      {map[string]string{"IDPCTL_SCIM_TOKEN": "a"}, []string{"--scim-token-file", tokenFile(t, "b\n")}, "IDPCTL_SCIM_TOKEN and --scim-token-file"},
		"missing file":     {nil, []string{"--scim-token-file", "/nonexistent/scim-token.txt"}, `--scim-token-file "/nonexistent/scim-token.txt": no such file`},
		"empty file":       {nil, []string{"--scim-token-file", tokenFile(t, "")}, "is empty"},
		"space in token":   {nil, []string{"--scim-token-file", tokenFile(t, "abc def\n")}, "has a space or line break at character 4"},
		"two lines":        {nil, []string{"--scim-token-file", tokenFile(t, "abcdef\n\n")}, "starts or ends with a space or line break"},
		"Bearer in file":   {nil, []string{"--scim-token-file", tokenFile(t, "Bearer abcdef\n")}, `starts with "Bearer "`},
		"file is a folder": {nil, []string{"--scim-token-file", t.TempDir()}, "is a directory"},
	} {
		_, err := parse(t, c.env, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || exitCode(err) != exitUsage {
			t.Errorf("%s: error %v (exit %d), want exit 2 and %q", name, err, exitCode(err), c.want)
		}
		if err != nil && (strings.Contains(err.Error(), "abcdef") || strings.Contains(err.Error(), "abc def")) {
			t.Errorf("%s: the error shows the token: %v", name, err)
		}
	}
}

func TestSecretExpiry(t *testing.T) {
	day := 24 * time.Hour
	for value, want := range map[string]time.Duration{
		"180d":    180 * day,
		"6mo":     180 * day,
		"1y":      365 * day,
		"2y":      730 * day,
		"4w":      28 * day,
		"4320h":   180 * day,
		" 90D ":   90 * day,
		"1d":      day,
		"24h":     day,
		"730d":    730 * day,
		"24mo":    720 * day,
		"8760h0m": 365 * day,
	} {
		o, err := parse(t, nil, "--secret-expiry", value)
		if err != nil {
			t.Errorf("--secret-expiry %q: %v", value, err)
			continue
		}
		if o.Inputs.SecretExpiry != want {
			t.Errorf("--secret-expiry %q = %v, want %v", value, o.Inputs.SecretExpiry, want)
		}
	}
	for _, value := range []string{"", "abc", "0d", "-5d", "1.5y", "d", "180", "12h", "3y", "800d", "25mo", "1e3d"} {
		_, err := parse(t, nil, "--secret-expiry", value)
		if err == nil || exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--secret-expiry") || !strings.Contains(err.Error(), "180d") {
			t.Errorf("--secret-expiry %q: error %v (exit %d), want exit 2 naming the flag and an example", value, err, exitCode(err))
		}
	}
	// From the environment, the message names the value as given there.
	if _, err := parse(t, map[string]string{"IDPCTL_SECRET_EXPIRY": "forever"}); err == nil || !strings.Contains(err.Error(), `"forever"`) {
		t.Errorf("IDPCTL_SECRET_EXPIRY=forever: %v", err)
	}
}

func TestMisusedFlagsAreBadUsage(t *testing.T) {
	for name, c := range map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"unknown output":               {nil, []string{"--output", "yaml"}, `--output "yaml"`},
		"unknown output from env":      {map[string]string{"IDPCTL_OUTPUT": "YAML"}, nil, `--output "YAML"`},
		"detailed-exitcode alone":      {nil, []string{"--detailed-exitcode"}, "--detailed-exitcode"},
		"detailed-exitcode from env":   {map[string]string{"IDPCTL_DETAILED_EXITCODE": "1"}, nil, "--detailed-exitcode"},
		"bool env not a bool":          {map[string]string{"IDPCTL_YES": "sure"}, nil, "IDPCTL_YES"},
		"duration env not a duration":  {map[string]string{"IDPCTL_TIMEOUT": "soon"}, nil, "IDPCTL_TIMEOUT"},
		"bool flag not a bool":         {nil, []string{"--dry-run=perhaps"}, "--dry-run"},
		"duration flag not a duration": {nil, []string{"--timeout", "soon"}, "--timeout"},
		"argument":                     {nil, []string{"Smallstep Users"}, "Smallstep Users"},
	} {
		_, err := parse(t, c.env, c.args...)
		if err == nil || exitCode(err) != exitUsage || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v (exit %d), want exit 2 naming %s", name, err, exitCode(err), c.want)
		}
	}
	// Flags whose values only the tenant or the run can judge still parse: those are checked before any write.
	if _, err := parse(t, nil, "--tenant-id", "contoso.com", "--scim-url", "http://scim.example.com"); err != nil {
		t.Errorf("parse rejected what Inputs.Check reports: %v", err)
	}
}

// tenant is a sandbox started for one test, with what a run against it needs.
type tenant struct {
	t         *testing.T
	sb        *sandbox.Sandbox
	stateDir  string
	secretOut string
}

func newTenant(t *testing.T) *tenant {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Provisioning cycles run only when a test asks: users arrive through on-demand provisioning alone.
	sb, err := sandbox.Start(ctx, sandbox.Options{ManualCycles: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return &tenant{t: t, sb: sb, stateDir: t.TempDir(), secretOut: filepath.Join(t.TempDir(), "client-secret")}
}

// args are the flags of a scripted run against the sandbox, then extra.
func (tn *tenant) args(extra ...string) []string {
	return append([]string{"setup", "entra", "--graph-url", tn.sb.GraphURL, "--auth", "token", "--tenant-id", tn.sb.TenantID,
		"--state-dir", tn.stateDir, "--assign-group", "Smallstep Users"}, extra...)
}

// manual is the Smallstep way: SCIM values given, the client secret to a file.
func (tn *tenant) manual(extra ...string) []string {
	return tn.args(append([]string{"--scim-url", tn.sb.SCIMURL, "--secret-out", tn.secretOut}, extra...)...)
}

// viaAPI hands the OIDC values to the backend over its API and gets the SCIM values back.
func (tn *tenant) viaAPI(extra ...string) []string {
	return tn.args(append([]string{"--backend", "http", "--backend-url", tn.sb.BackendURL}, extra...)...)
}

// env is the environment of the shell `idpctl sandbox` asks for: every token exported.
func (tn *tenant) env() map[string]string {
	return map[string]string{
		"IDPCTL_ACCESS_TOKEN":  tn.sb.AccessToken.Reveal(),
		"IDPCTL_SCIM_TOKEN":    tn.sb.SCIMToken.Reveal(),
		"IDPCTL_BACKEND_TOKEN": tn.sb.BackendToken.Reveal(),
	}
}

func (tn *tenant) run(inv invocation, args ...string) outcome {
	tn.t.Helper()
	if inv.env == nil {
		inv.env = tn.env()
	}
	return execute(tn.t, inv, args...)
}

// app returns the application, service principal and provisioning job the run made, failing unless there is
// exactly one of each.
func (tn *tenant) app() (entra.Application, entra.ServicePrincipal, entra.SyncJob) {
	tn.t.Helper()
	var apps []entra.Application
	for _, a := range tn.sb.Tenant.Applications() {
		if a.DisplayName == steps.DefaultAppName {
			apps = append(apps, a)
		}
	}
	if len(apps) != 1 {
		tn.t.Fatalf("%d applications named Smallstep", len(apps))
	}
	var sp entra.ServicePrincipal
	for _, s := range tn.sb.Tenant.ServicePrincipals() {
		if s.AppID == apps[0].AppID {
			sp = s
		}
	}
	jobs := tn.sb.Tenant.SyncJobs(sp.ID)
	if sp.ID == "" || len(jobs) != 1 {
		tn.t.Fatalf("service principal %q with %d provisioning jobs", sp.ID, len(jobs))
	}
	return apps[0], sp, jobs[0]
}

// noWrites fails the test if the tenant or the SaaS received a write since the last ResetRequests.
func (tn *tenant) noWrites(what string) {
	tn.t.Helper()
	if n := tn.sb.Tenant.WriteCount(); n != 0 {
		var writes []string
		for _, r := range tn.sb.Tenant.Requests() {
			if r.IsWrite() {
				writes = append(writes, r.Method+" "+r.Path)
			}
		}
		tn.t.Errorf("%s: %d writes to the tenant: %v", what, n, writes)
	}
	for _, r := range tn.sb.Backend.Requests() {
		if r.Method != "GET" {
			tn.t.Errorf("%s: wrote to the SaaS: %s %s", what, r.Method, r.Path)
		}
	}
}

func (tn *tenant) reset() {
	tn.sb.Tenant.ResetRequests()
	tn.sb.Backend.ClearRequests()
}

// stateFiles returns the content of every file under the state directory.
func (tn *tenant) stateFiles() string {
	tn.t.Helper()
	var all strings.Builder
	err := filepath.WalkDir(tn.stateDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		all.Write(raw)
		return err
	})
	if err != nil {
		tn.t.Fatal(err)
	}
	return all.String()
}

// jsonResult decodes stdout, which must hold exactly one JSON object.
func jsonResult(t *testing.T, stdout string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%s", stdout)
	}
	return doc
}

// noSecret fails the test if any of the secrets appears in the text.
func noSecret(t *testing.T, where, text string, secrets map[string]string) {
	t.Helper()
	for name, s := range secrets {
		if s == "" {
			t.Fatalf("the test has no %s to look for", name)
		}
		if strings.Contains(text, s) {
			t.Errorf("%s shows the %s", where, name)
		}
	}
}

func TestSetupScripted(t *testing.T) {
	for _, backendKind := range []string{"manual", "http"} {
		for _, output := range []string{"text", "json"} {
			t.Run(backendKind+"/"+output, func(t *testing.T) {
				tn := newTenant(t)
				flags := []string{"--non-interactive", "--yes", "--output", output}
				if output == "text" {
					flags = append(flags, "--debug") // the request log is checked for secrets too
				}
				args := tn.manual(flags...)
				if backendKind == "http" {
					args = tn.viaAPI(flags...)
				}
				o := tn.run(invocation{}, args...)
				if o.code != 0 {
					t.Fatalf("%v", o)
				}
				app, sp, job := tn.app()
				flow := steps.Flow()

				// Where the client secret went, and the SCIM token Entra was given.
				secrets := map[string]string{
					"access token":  tn.sb.AccessToken.Reveal(),
					"backend token": tn.sb.BackendToken.Reveal(),
					"SCIM token":    tn.sb.SCIMToken.Reveal(),
				}
				if backendKind == "manual" {
					s, err := backend.ReadSecretFile(tn.secretOut)
					if err != nil {
						t.Fatal(err)
					}
					secrets["client secret"] = s.Reveal()
				} else {
					regs := tn.sb.Backend.Registrations()
					if len(regs) != 1 || regs[0].ClientID != app.AppID || regs[0].TenantID != tn.sb.TenantID {
						t.Fatalf("backend registrations %+v", regs)
					}
					secrets["client secret"] = regs[0].ClientSecret.Reveal()
					secrets["registration's SCIM token"] = regs[0].SCIMToken.Reveal()
					if _, err := os.Stat(tn.secretOut); err == nil {
						t.Error("the secret file was written although the backend took the secret")
					}
				}
				noSecret(t, "stdout", o.stdout, secrets)
				noSecret(t, "stderr", o.stderr, secrets)
				noSecret(t, "the state file", tn.stateFiles(), secrets)

				switch output {
				case "json":
					if o.stderr != "" {
						t.Errorf("stderr in JSON mode: %q", o.stderr)
					}
					doc := jsonResult(t, o.stdout)
					for key, want := range map[string]string{
						"tenantId": tn.sb.TenantID, "clientId": app.AppID, "applicationObjectId": app.ID,
						"servicePrincipalId": sp.ID, "provisioningJobId": job.ID,
						"oidcMetadataUrl": "https://login.microsoftonline.com/" + tn.sb.TenantID + "/v2.0/.well-known/openid-configuration",
					} {
						if doc[key] != want {
							t.Errorf("%s = %v, want %s", key, doc[key], want)
						}
					}
					list, _ := doc["steps"].([]any)
					if len(list) != len(flow) {
						t.Fatalf("steps = %v, want %d", doc["steps"], len(flow))
					}
					for i, s := range list {
						m, _ := s.(map[string]any)
						want := steps.StatusApplied
						if flow[i].String() == "owners and admins" {
							want = steps.StatusUnchanged // no --owner or --admin: no role to give
						}
						if m["step"] != flow[i].String() || m["status"] != want || m["summary"] == "" {
							t.Errorf("step %d = %v, want %q %s", i, m, flow[i], want)
						}
					}
					if _, ok := doc["plan"]; ok {
						t.Error("an applied run's JSON carries the plan")
					}
					if got := arrived(doc); len(got) != 3 {
						t.Errorf("users arrived %v, want the group's three", got)
					}
				case "text":
					var done []string
					for _, line := range strings.Split(o.stderr, "\n") {
						if strings.HasPrefix(line, "✓ ") {
							done = append(done, line)
						}
					}
					if len(done) != len(flow) {
						t.Errorf("%d step lines, want one per step (%d):\n%s", len(done), len(flow), o.stderr)
					}
					for _, s := range flow {
						n := 0
						for _, line := range done {
							if strings.HasPrefix(line, "✓ "+s.String()+" ") {
								n++
							}
						}
						if n != 1 {
							t.Errorf("step %q has %d lines on stderr", s, n)
						}
					}
					if !strings.Contains(o.stderr, `msg="graph request" method=POST`) {
						t.Errorf("--debug logged no Graph request:\n%s", o.stderr)
					}
					if !strings.Contains(o.stderr, "Plan: ") {
						t.Errorf("the plan is not on stderr:\n%s", o.stderr)
					}
					for _, want := range []string{"Client ID              " + app.AppID, "Service principal ID   " + sp.ID, "Provisioning job       " + job.ID, "arrived  adele.vance@"} {
						if !strings.Contains(o.stdout, want) {
							t.Errorf("stdout lacks %q:\n%s", want, o.stdout)
						}
					}
					if where := "Client secret          in " + tn.secretOut + " (mode 0600)"; backendKind == "manual" && !strings.Contains(o.stdout, where) {
						t.Errorf("stdout does not say where the secret is (%q):\n%s", where, o.stdout)
					}
					if strings.Contains(o.stdout, "✓") || strings.Contains(o.stdout, "Plan:") {
						t.Errorf("progress or plan on stdout:\n%s", o.stdout)
					}
				}

				// A second run changes nothing.
				tn.reset()
				again := tn.run(invocation{}, args...)
				if again.code != 0 {
					t.Fatalf("second run: %v", again)
				}
				tn.noWrites("second run")
				tn.app()
				noSecret(t, "stdout of the second run", again.stdout, secrets)
				noSecret(t, "stderr of the second run", again.stderr, secrets)
				if output == "text" && !regexp.MustCompile(`(?m)^No changes\.`).MatchString(again.stderr) {
					t.Errorf("second run's plan:\n%s", again.stderr)
				}
			})
		}
	}
}

// arrived lists the users a JSON result reports as arrived.
func arrived(doc map[string]any) []string {
	var names []string
	users, _ := doc["users"].([]any)
	for _, u := range users {
		m, _ := u.(map[string]any)
		if m["outcome"] == steps.Arrived {
			names = append(names, fmt.Sprint(m["userPrincipalName"]))
		}
	}
	return names
}

func TestDryRun(t *testing.T) {
	tn := newTenant(t)
	secrets := map[string]string{"access token": tn.sb.AccessToken.Reveal(), "SCIM token": tn.sb.SCIMToken.Reveal(), "backend token": tn.sb.BackendToken.Reveal()}

	o := tn.run(invocation{}, tn.manual("--dry-run")...)
	if o.code != 0 {
		t.Fatalf("%v", o)
	}
	lines := strings.Split(strings.TrimSpace(o.stdout), "\n")
	if !strings.HasPrefix(lines[len(lines)-1], "Plan: ") || !strings.Contains(o.stdout, "\n  + enterprise application \"Smallstep\"") || !strings.Contains(o.stdout, "(known after apply)") {
		t.Errorf("dry-run stdout is not the plan:\n%s", o.stdout)
	}
	noSecret(t, "the plan", o.stdout+o.stderr, secrets)

	o = tn.run(invocation{}, tn.manual("--dry-run", "--output", "json")...)
	if o.code != 0 || o.stderr != "" {
		t.Fatalf("%v", o)
	}
	doc := jsonResult(t, o.stdout)
	plan, _ := doc["plan"].(map[string]any)
	counts, _ := plan["counts"].(map[string]any)
	if plan["pending"] != true || counts["create"] == 0.0 || doc["dryRun"] != true {
		t.Errorf("JSON plan = %v", doc["plan"])
	}
	for _, s := range doc["steps"].([]any) {
		if st := s.(map[string]any)["status"]; st != "pending" && st != steps.StatusUnchanged {
			t.Errorf("dry-run step status %v", st)
		}
	}
	noSecret(t, "the JSON plan", o.stdout, secrets)

	o = tn.run(invocation{}, tn.manual("--dry-run", "--detailed-exitcode")...)
	if o.code != exitPlanDiffs {
		t.Errorf("--detailed-exitcode with changes: %v, want exit 8", o)
	}

	tn.noWrites("dry runs")
	if regs := tn.sb.Backend.Registrations(); len(regs) != 0 {
		t.Errorf("dry runs registered with the backend: %+v", regs)
	}
	if _, err := os.Stat(tn.secretOut); err == nil {
		t.Error("a dry run wrote the secret file")
	}
	if len(tn.sb.Tenant.Applications()) != 0 {
		t.Error("a dry run created an application")
	}

	if o := tn.run(invocation{}, tn.manual("--non-interactive", "--yes")...); o.code != 0 {
		t.Fatalf("apply: %v", o)
	}
	tn.reset()
	o = tn.run(invocation{}, tn.manual("--dry-run", "--detailed-exitcode")...)
	if o.code != 0 || !strings.HasPrefix(o.stdout, "No changes.") {
		t.Errorf("--detailed-exitcode without changes: %v, want exit 0 and no changes", o)
	}
	tn.noWrites("dry run after apply")
}

func TestConfirmation(t *testing.T) {
	tn := newTenant(t)

	o := tn.run(invocation{}, tn.manual("--non-interactive")...)
	if o.code != exitUsage || !strings.Contains(o.err.Error(), "--yes") {
		t.Errorf("--non-interactive without --yes: %v; want exit 2 naming --yes", o)
	}
	// Not a terminal: nobody can confirm, whether or not --non-interactive says so.
	if o := tn.run(invocation{stdin: "yes\n"}, tn.manual()...); o.code != exitUsage {
		t.Errorf("no terminal, no --yes: %v; want exit 2", o)
	}
	tn.noWrites("unconfirmed runs")

	// The plan screen: Enter takes the preselected No.
	o = tn.run(invocation{tty: true, stdin: "\r"}, tn.manual()...)
	if o.code != exitUsage || o.err != errCancelled || !strings.Contains(o.stderr, "Apply these changes? No") {
		t.Errorf("answer no: %v; want the question and exit 2, cancelled", o)
	}
	// The first frame starts with the plan's legend; when the answer arrives before it is drawn, only the last
	// frame is, which ends with the plan's counts. Either way the plan comes before the question.
	question := strings.Index(o.stderr, "Apply these changes?")
	if plan := strings.Index(o.stderr, "Symbols: "); plan < 0 || plan > question {
		if plan = strings.Index(o.stderr, "Plan: "); plan < 0 || plan > question {
			t.Errorf("the plan was not shown before the question:\n%s", o.stderr)
		}
	}
	tn.noWrites("cancelled run")

	o = tn.run(invocation{tty: true, stdin: "y"}, tn.manual()...)
	if o.code != 0 || !strings.Contains(o.stderr, "Apply these changes? Yes") {
		t.Fatalf("answer yes: %v", o)
	}
	tn.app()

	// Nothing left to change: no question, though nobody passed --yes.
	tn.reset()
	o = tn.run(invocation{}, tn.manual("--non-interactive")...)
	if o.code != 0 || strings.Contains(o.stderr, "Apply these changes?") {
		t.Errorf("no changes, --non-interactive without --yes: %v; want exit 0 without a question", o)
	}
	tn.noWrites("run without changes")
}

func TestWrongAccessTokenIsAnAuthProblem(t *testing.T) {
	tn := newTenant(t)
	env := tn.env()
	env["IDPCTL_ACCESS_TOKEN"] = "eyJ0eXAiOiJKV1QifQ.not-a-token-this-tenant-issued.sig"
	o := tn.run(invocation{env: env}, tn.manual("--non-interactive", "--yes")...)
	if o.code != exitAuth {
		t.Errorf("%v; want exit 4", o)
	}
	t.Log(o.err)
	if strings.Contains(o.err.Error()+o.stdout+o.stderr, "not-a-token-this-tenant-issued") {
		t.Error("the output shows the access token")
	}
	tn.noWrites("unauthorised run")
}

// Issue 4 item 9: bad input fails before any write, naming the input and the fix.
func TestBadInputFailsBeforeAnyWrite(t *testing.T) {
	tn := newTenant(t)
	d := tn.sb.Demo
	withToken := func(tok string) map[string]string {
		env := tn.env()
		env["IDPCTL_SCIM_TOKEN"] = tok
		return env
	}
	replace := func(args []string, flag, value string) []string {
		out := slices.Clone(args)
		i := slices.Index(out, flag)
		out[i+1] = value
		return out
	}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"tenant id not a GUID", nil, replace(tn.manual(), "--tenant-id", "contoso.onmicrosoft.com"),
			[]string{`--tenant-id "contoso.onmicrosoft.com"`, "Directory (tenant) ID"}},
		{"SCIM URL not https", nil, replace(tn.manual(), "--scim-url", "http://scim.example.com/scim/v2"),
			[]string{`--scim-url "http://scim.example.com/scim/v2"`, "https"}},
		{"SCIM URL of a resource", nil, replace(tn.manual(), "--scim-url", tn.sb.SCIMURL+"/Users"),
			[]string{"--scim-url", "ends in /Users"}},
		{"SCIM token missing", withToken(""), tn.manual(),
			[]string{"SCIM token is missing", "IDPCTL_SCIM_TOKEN", "--scim-token-file"}},
		{"SCIM token of spaces", withToken("   "), tn.manual(),
			[]string{"IDPCTL_SCIM_TOKEN", "space"}},
		{"SCIM token with a line break", withToken(tn.sb.SCIMToken.Reveal() + "\n"), tn.manual(),
			[]string{"IDPCTL_SCIM_TOKEN", "line break", "remove it"}},
		{"SCIM token split in two", withToken("abcdef ghijkl"), tn.manual(),
			[]string{"IDPCTL_SCIM_TOKEN", "space or line break at character 7"}},
		{"misspelt group", nil, replace(tn.manual(), "--assign-group", "Smallstep Usrs"),
			[]string{`--assign-group "Smallstep Usrs"`, `did you mean "Smallstep Users"`}},
		{"group misspelt in its first word", nil, replace(tn.manual(), "--assign-group", "Smalstep Users"),
			[]string{`--assign-group "Smalstep Users"`, `did you mean "Smallstep Users"`}},
		{"group misspelt in its first letters", nil, replace(tn.manual(), "--assign-group", "Enginering"),
			[]string{`--assign-group "Enginering"`, `did you mean "Engineering"`}},
		{"user without the domain", nil, tn.manual("--assign-user", "grady.archi"),
			[]string{`--assign-user "grady.archi"`, "did you mean", "grady.archie@" + d.Domain}},
		{"unknown user", nil, tn.manual("--assign-user", "adele.vanse@"+d.Domain),
			[]string{"--assign-user", "adele.vanse@" + d.Domain, "did you mean", "adele.vance@" + d.Domain}},
		{"nobody to assign", nil, slices.Delete(tn.manual(), 10, 12),
			[]string{"--assign-group or --assign-user"}},
		{"secret lifetime too long", nil, tn.manual("--secret-expiry", "3y"),
			[]string{`--secret-expiry "3y"`, "between 1 day and 2 years"}},
		{"no secret file", nil, slices.DeleteFunc(tn.manual(), func(s string) bool { return s == "--secret-out" || s == tn.secretOut }),
			[]string{"--secret-out is missing"}},
		{"backend without its token", map[string]string{"IDPCTL_ACCESS_TOKEN": tn.sb.AccessToken.Reveal()}, tn.viaAPI(),
			[]string{"IDPCTL_BACKEND_TOKEN is not set"}},
		{"backend URL not https", nil, replace(tn.viaAPI(), "--backend-url", "http://saas.example.com"),
			[]string{`--backend-url "http://saas.example.com"`, "https"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tn.reset()
			o := tn.run(invocation{env: c.env}, append(c.args, "--non-interactive", "--yes")...)
			t.Log(o.err)
			if o.code != exitUsage {
				t.Errorf("%v; want exit 2", o)
			}
			if o.err != nil {
				for _, w := range c.want {
					if !strings.Contains(o.err.Error(), w) {
						t.Errorf("error %q lacks %q", o.err, w)
					}
				}
				noSecret(t, "the error", o.err.Error(), map[string]string{"SCIM token": tn.sb.SCIMToken.Reveal(), "access token": tn.sb.AccessToken.Reveal()})
			}
			tn.noWrites(c.name)
			if len(tn.sb.Tenant.Applications()) != 0 {
				t.Error("an application was created")
			}
		})
	}
}

// Two applications share the name: the run lists them and asks for --app-id; with it, the run succeeds.
func TestSameNameApplications(t *testing.T) {
	tn := newTenant(t)
	var ids []string
	for range 2 {
		// Made in the portal: enterprise applications from the non-gallery template, without idpctl's tag.
		raw := tn.graphPOST("/applicationTemplates/"+steps.NonGalleryTemplateID+"/instantiate", `{"displayName":"Smallstep"}`)
		var created struct{ Application struct{ AppID string } }
		if err := json.Unmarshal(raw, &created); err != nil || created.Application.AppID == "" {
			t.Fatalf("instantiate answered %s (%v)", raw, err)
		}
		ids = append(ids, created.Application.AppID)
	}
	tn.reset()
	o := tn.run(invocation{}, tn.manual("--non-interactive", "--yes")...)
	if o.code != exitUsage || !strings.Contains(o.err.Error(), "--app-id") || !strings.Contains(o.err.Error(), ids[0]) || !strings.Contains(o.err.Error(), ids[1]) {
		t.Fatalf("%v; want exit 2 listing both client ids and asking for --app-id", o)
	}
	tn.noWrites("ambiguous name")

	o = tn.run(invocation{}, tn.manual("--non-interactive", "--yes", "--app-id", ids[1], "--output", "json")...)
	if o.code != 0 {
		t.Fatalf("with --app-id: %v", o)
	}
	if doc := jsonResult(t, o.stdout); doc["clientId"] != ids[1] || len(arrived(doc)) != 3 {
		t.Errorf("with --app-id configured %v, users %v; want %s and three users", doc["clientId"], arrived(doc), ids[1])
	}
}

// graphPOST sends a raw Graph request as the sandbox's admin, to prepare a tenant.
func (tn *tenant) graphPOST(path, body string) []byte {
	tn.t.Helper()
	return tn.graph(http.MethodPost, path, body)
}

// The README's main command: everything in this process, no Azure account.
func TestSandboxFlag(t *testing.T) {
	args := []string{"setup", "entra", "--sandbox", "--non-interactive", "--yes", "--assign-group", "Smallstep Users", "--state-dir", t.TempDir()}
	o := execute(t, invocation{}, args...)
	if o.code != 0 {
		t.Fatalf("%v", o)
	}
	for _, name := range []string{"adele.vance", "lee.gu", "megan.bowen"} {
		if !regexp.MustCompile(`(?m)^  arrived  ` + name + `@\S+ \(group Smallstep Users\)$`).MatchString(o.stdout) {
			t.Errorf("%s not reported arrived:\n%s", name, o.stdout)
		}
	}
	if !strings.Contains(o.stdout, "Client secret          handed to the backend") {
		t.Errorf("the sandbox's backend did not take the secret:\n%s", o.stdout)
	}
	// The simulated tenant is gone when the run ends: the next steps say how to keep one, not to run it again.
	if strings.Contains(o.stdout, "idpctl status entra checks the setup") || !strings.Contains(o.stdout, "run idpctl sandbox in another terminal") {
		t.Errorf("the sandbox run's next steps:\n%s", o.stdout)
	}
	// The group assigned is what was provisioned on demand, said as a person says it.
	if !strings.Contains(o.stdout, `ran provisioning on demand "1 group"`+"\n") || strings.Contains(o.stdout, "0 users") {
		t.Errorf("the on-demand line does not name the one group:\n%s", o.stdout)
	}

	o = execute(t, invocation{}, append(args, "--output", "json")...)
	if o.code != 0 || o.stderr != "" {
		t.Fatalf("%v", o)
	}
	doc := jsonResult(t, o.stdout)
	got := arrived(doc)
	slices.Sort(got)
	if len(got) != 3 || !strings.HasPrefix(got[0], "adele.vance@") || !strings.HasPrefix(got[1], "lee.gu@") || !strings.HasPrefix(got[2], "megan.bowen@") {
		t.Errorf("users arrived %v, want the group's three", got)
	}
	list, _ := doc["steps"].([]any)
	confirmed := false
	for _, s := range list {
		if m, _ := s.(map[string]any); m["step"] == "confirm users arrived" {
			confirmed = m["summary"] == `ran provisioning on demand "1 group"`
		}
	}
	if !confirmed {
		t.Errorf("the JSON confirmation step does not say what the text says: %v", doc["steps"])
	}
	if !steps.IsGUID(fmt.Sprint(doc["tenantId"])) || !steps.IsGUID(fmt.Sprint(doc["clientId"])) {
		t.Errorf("tenantId %v clientId %v", doc["tenantId"], doc["clientId"])
	}
}

// A run that fails while applying still prints its one JSON object: each step's outcome and the error.
func TestFailedApplyReportsEachStep(t *testing.T) {
	for _, output := range []string{"json", "text"} {
		t.Run(output, func(t *testing.T) {
			tn := newTenant(t)
			// The SCIM endpoint the backend hands out refuses its own token: found only once the hand-off is done.
			tn.sb.Backend.SetFaults(refbackend.Faults{RejectAllTokens: true})
			o := tn.run(invocation{}, tn.viaAPI("--non-interactive", "--yes", "--output", output)...)
			if o.code != exitFailed || !strings.Contains(o.err.Error(), "SCIM") {
				t.Fatalf("%v; want exit 1 naming the SCIM endpoint", o)
			}
			noSecret(t, "the output", o.stdout+o.stderr, map[string]string{"backend token": tn.sb.BackendToken.Reveal(), "access token": tn.sb.AccessToken.Reveal()})
			if output == "text" {
				if !regexp.MustCompile(`(?m)^✗ provisioning credentials +.*SCIM`).MatchString(o.stderr) {
					t.Errorf("no failure line for the provisioning credentials:\n%s", o.stderr)
				}
				return
			}
			if o.stderr != "" {
				t.Errorf("stderr in JSON mode: %q (the error is printed by main, once)", o.stderr)
			}
			doc := jsonResult(t, o.stdout)
			if e, _ := doc["error"].(string); !strings.Contains(e, "SCIM") {
				t.Errorf("error = %v", doc["error"])
			}
			status := map[string]string{}
			for _, s := range doc["steps"].([]any) {
				m := s.(map[string]any)
				status[m["step"].(string)] = m["status"].(string)
			}
			if status["provisioning credentials"] != steps.StatusFailed || status["application"] != steps.StatusApplied || status["confirm users arrived"] != steps.StatusStopped {
				t.Errorf("step statuses %v", status)
			}
			if doc["clientId"] == "" || doc["servicePrincipalId"] == "" {
				t.Errorf("the ids of what was created are missing: %v", doc)
			}
		})
	}
}

// Colour is for people at a terminal: the plan and progress on stderr, never the results scripts read.
func TestColourOnlyOnStderr(t *testing.T) {
	tn := newTenant(t)
	o := tn.run(invocation{color: true}, tn.manual("--non-interactive", "--yes")...)
	if o.code != 0 {
		t.Fatalf("%v", o)
	}
	if !strings.Contains(o.stderr, "\x1b[32m+ enterprise application") || !strings.Contains(o.stderr, "\x1b[32m✓\x1b[0m application") {
		t.Errorf("no colour on stderr:\n%q", o.stderr)
	}
	if strings.Contains(o.stdout, "\x1b[") {
		t.Errorf("ANSI escapes on stdout:\n%q", o.stdout)
	}
	tn.reset()
	o = tn.run(invocation{color: true}, tn.manual("--dry-run")...)
	if o.code != 0 || strings.Contains(o.stdout, "\x1b[") || !strings.HasPrefix(o.stdout, "No changes.") {
		t.Errorf("dry-run plan on stdout: %v", o)
	}
}

// With --output json, a run that stops before it has a result still prints one JSON object: the error.
func TestJSONErrorBeforeAnyResult(t *testing.T) {
	tn := newTenant(t)
	args := tn.manual("--assign-group", "Smallstep Usrs", "--output", "json", "--non-interactive", "--yes")
	o := tn.run(invocation{}, args...)
	if o.code != exitUsage {
		t.Fatalf("%v; want exit 2", o)
	}
	doc := jsonResult(t, o.stdout)
	if msg, _ := doc["error"].(string); !strings.Contains(msg, `did you mean "Smallstep Users"`) {
		t.Errorf("JSON error = %v", doc)
	}
}
