package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/steps"
	"github.com/idpctl/idpctl/wizard"
)

// The day-2 commands (status, rotate-secret, restart, provision, roles, teardown) share this file: their
// flags, finding the integration setup made, and the plan, confirm, apply sequence setup also follows.

// newProviderCmd is a verb that takes the identity provider as its subcommand ("setup entra", "status entra").
// Without Args and RunE cobra would show the help for a mistyped provider (status entar) and exit 0.
func newProviderCmd(use, short string, providers ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			fix := "run idpctl " + use + " --help for the identity providers idpctl supports"
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				fix = "did you mean " + strings.Join(s, ", ") + "?"
			}
			return usageErrorf("unknown identity provider %q for %s: %s", args[0], cmd.CommandPath(), fix)
		},
		RunE:                       func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		SuggestionsMinimumDistance: 2,
	}
	cmd.AddCommand(providers...)
	return cmd
}

// entraOptions are the flags every day-2 command shares with setup: sign-in, the tenant and the application,
// where the state lives, and how the run behaves and reports.
type entraOptions struct {
	IO          *wizard.IOStreams
	Getenv      func(string) string
	Interrupt   func()
	confirmPlan func(ctx context.Context, ios *wizard.IOStreams, plan *steps.Plan) (bool, error)

	TenantID       string
	AppName        string
	AppID          string
	Auth           string
	ClientID       string
	Cloud          string
	GraphURL       string
	StateDir       string
	Output         string
	NonInteractive bool
	Yes            bool
	DryRun         bool
	Debug          bool
	Timeout        time.Duration

	// Set by commands that hand something to the SaaS (rotate-secret, roles, teardown); empty: what setup used.
	Backend    string
	BackendURL string
	SecretOut  string
}

func newEntraOptions(f *factory) *entraOptions {
	o := &entraOptions{IO: f.IO, Getenv: f.Getenv, Interrupt: f.Interrupt, confirmPlan: f.ConfirmPlan}
	if o.confirmPlan == nil {
		o.confirmPlan = wizard.ConfirmPlan
	}
	return o
}

// addFlags registers the shared flags. writes is false for status, which never writes: it has no --yes or
// --dry-run.
func (o *entraOptions) addFlags(fl *pflag.FlagSet, writes bool) {
	fl.StringVar(&o.TenantID, "tenant-id", "", "directory (tenant) ID; default: the signed-in tenant")
	fl.StringVar(&o.AppName, "app-name", steps.DefaultAppName, "display name of the enterprise application setup created")
	fl.StringVar(&o.AppID, "app-id", "", "application (client) ID of the application, when several carry --app-name")
	fl.StringVar(&o.Output, "output", "text", "output format: text or json")
	fl.BoolVar(&o.NonInteractive, "non-interactive", false, "never prompt; fail listing every missing input")
	if writes {
		fl.BoolVar(&o.Yes, "yes", false, "apply the plan without asking")
		fl.BoolVar(&o.DryRun, "dry-run", false, "read the tenant and show the plan; change nothing")
	}
	fl.StringVar(&o.Auth, "auth", "auto", "sign-in method: auto, browser, device-code, environment, managed-identity, workload-identity or token")
	fl.StringVar(&o.ClientID, "client-id", defaultSignInClientID, "application (client) ID used to sign in (default: Microsoft Graph Command Line Tools)")
	fl.StringVar(&o.Cloud, "cloud", "public", "Microsoft cloud: public, usgov or china")
	fl.StringVar(&o.GraphURL, "graph-url", "", "override the Microsoft Graph base URL, e.g. a simulated tenant's http://127.0.0.1:PORT/v1.0")
	fl.StringVar(&o.StateDir, "state-dir", defaultStateDir(o.Getenv), "directory of idpctl's state (ids and progress, never secrets)")
	fl.BoolVar(&o.Debug, "debug", false, "log each Graph request (never tokens or secrets) to stderr")
	fl.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "give up after this long")
}

// addBackendFlags registers the flags of commands that hand something to the SaaS. Left out, they are what the
// last setup used (the state file records it).
func (o *entraOptions) addBackendFlags(fl *pflag.FlagSet) {
	fl.StringVar(&o.Backend, "backend", "", "how the SaaS gets the client secret: manual or http; default: what setup used")
	fl.StringVar(&o.BackendURL, "backend-url", "", "base URL of the SaaS's registration API (--backend http; token in IDPCTL_BACKEND_TOKEN); default: what setup used")
	fl.StringVar(&o.SecretOut, "secret-out", "", "file (mode 0600) that receives the client secret with --backend manual; default: what setup used")
}

// check validates what can be checked without the tenant.
func (o *entraOptions) check() error {
	switch o.Output {
	case "text", "json":
	default:
		return usageErrorf("--output %q: use text or json", o.Output)
	}
	if o.TenantID != "" && !steps.IsGUID(o.TenantID) {
		return usageErrorf("--tenant-id %q: not a tenant id; use the Directory (tenant) ID, a GUID shown on the Entra admin center's Overview page", o.TenantID)
	}
	if o.AppID != "" && !steps.IsGUID(o.AppID) {
		return usageErrorf("--app-id %q: not an application id; use the Application (client) ID, a GUID", o.AppID)
	}
	if strings.TrimSpace(o.AppName) == "" {
		return usageErrorf("--app-name is empty: give the name setup used, e.g. --app-name %q", steps.DefaultAppName)
	}
	switch o.Backend {
	case "", backend.NameManual, backend.NameHTTP:
	default:
		return usageErrorf("--backend %q: use manual or http", o.Backend)
	}
	return nil
}

// scimToken checks --scim-url, when given, and returns the SCIM token from IDPCTL_SCIM_TOKEN or the
// --scim-token-file file, checked; zero when neither gives one.
func (o *entraOptions) scimToken(url, file string) (secret.Value, error) {
	if url != "" {
		if err := backend.ValidateSCIMURL(url); err != nil {
			return secret.Value{}, &usageError{err}
		}
	}
	env := o.Getenv("IDPCTL_SCIM_TOKEN")
	var tok secret.Value
	switch {
	case env != "" && file != "":
		return secret.Value{}, usageErrorf("the SCIM token is given twice (IDPCTL_SCIM_TOKEN and --scim-token-file): keep one")
	case file != "":
		t, err := backend.ReadTokenFile(file)
		if err != nil {
			return secret.Value{}, &usageError{err}
		}
		tok = t
	case env != "":
		tok = secret.New(env)
	default:
		return secret.Value{}, nil
	}
	if err := backend.ValidateToken("the SCIM token (IDPCTL_SCIM_TOKEN or --scim-token-file)", tok); err != nil {
		return secret.Value{}, &usageError{err}
	}
	return tok, nil
}

func (o *entraOptions) signInRequest() signInRequest {
	return signInRequest{
		IO: o.IO, Getenv: o.Getenv, Auth: o.Auth, ClientID: o.ClientID, Cloud: o.Cloud, GraphURL: o.GraphURL,
		StateDir: o.StateDir, TenantID: o.TenantID, NonInteractive: o.NonInteractive,
	}
}

// newEntraCmd builds a day-2 `entra` command: the shared flags from the environment, the shared checks, then
// check (the command's own, may be nil) and run, whose failure --output json reports as JSON.
func newEntraCmd(o *entraOptions, cmd *cobra.Command, check func() error, run func(ctx context.Context) error) *cobra.Command {
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		if err := applyEnv(c.Flags(), o.Getenv); err != nil {
			return err
		}
		if err := o.check(); err != nil {
			return err
		}
		if check != nil {
			if err := check(); err != nil {
				return err
			}
		}
		return withJSONErrors(c.Context(), o.Output, o.IO, run)
	}
	return usageErrors(cmd)
}

// changeRun runs fn for a day-2 command that changes the setup: within --timeout, signed in, with the state
// locked and the inputs adjusted (see connect) until fn returns.
func (o *entraOptions) changeRun(ctx context.Context, adjust func(in *steps.Inputs) error, fn func(ctx context.Context, run *entraRun) error) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	run, err := o.connect(ctx, true, adjust)
	if err != nil {
		return err
	}
	defer run.close()
	return fn(ctx, run)
}

// entraRun is one day-2 run against the tenant: the engine's environment, and what its inputs were compared
// with.
type entraRun struct {
	env  *steps.Env
	dir  wizard.Directory // the signed-in tenant's directory, for questions
	lock *steps.StateLock
	// fromState is true when the inputs are the setup recorded in the state file, false for idpctl's defaults.
	fromState bool
}

// against says what the run's inputs are, for reports.
func (r *entraRun) against() string {
	if r.fromState {
		return "the setup recorded in the state file"
	}
	return "idpctl's defaults (the state file records no setup of this application)"
}

// close releases the state lock, if the run took it.
func (r *entraRun) close() {
	if r.lock != nil {
		r.lock.Release()
	}
}

// connect signs in, finds the tenant and the state, and builds the engine's environment. The inputs are the
// setup recorded in the state file, with the tenant, application and backend the flags name; adjust may change
// them further (the command's own inputs). A run that writes (writes, and no --dry-run) first takes the state
// lock, as setup does, so that two runs never change the same setup at once; close releases it.
func (o *entraOptions) connect(ctx context.Context, writes bool, adjust func(in *steps.Inputs) error) (*entraRun, error) {
	session, err := signIn(ctx, o.signInRequest(), secret.New(o.Getenv("IDPCTL_ACCESS_TOKEN")), requestLogger(o.IO, o.Debug))
	if err != nil {
		return nil, err
	}
	tenantID, err := signedInTenant(ctx, session, o.TenantID)
	if err != nil {
		return nil, err
	}
	run := &entraRun{}
	if writes && !o.DryRun {
		run.lock, err = steps.LockState(ctx, o.StateDir, tenantID, o.AppName, func(h steps.LockHolder) {
			if o.Output == "text" {
				o.IO.Say("Waiting: %s is changing %q in this tenant; this run continues when it ends (Ctrl-C to stop).", h, o.AppName)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	state, err := steps.OpenState(o.StateDir, tenantID, o.AppName)
	if err != nil {
		run.close()
		return nil, err
	}
	in := steps.Inputs{AppName: o.AppName, RedirectURI: steps.DefaultRedirectURI, Backend: backend.NameManual, SecretExpiry: steps.DefaultSecretExpiry}
	if setup := state.Get().Setup; setup != nil {
		in, run.fromState = *setup, true
	}
	in.TenantID, in.AppName = tenantID, o.AppName
	if o.AppID != "" {
		in.AppID = o.AppID
	}
	if o.Backend != "" && o.Backend != in.Backend {
		// Another backend than setup's: its destination comes from the flags alone.
		in.Backend, in.BackendURL, in.SecretOut = o.Backend, "", ""
	}
	if o.BackendURL != "" {
		in.BackendURL = o.BackendURL
	}
	if o.SecretOut != "" {
		in.SecretOut = o.SecretOut
	}
	if v := o.Getenv("IDPCTL_BACKEND_TOKEN"); v != "" {
		in.BackendToken = secret.New(v)
	}
	if adjust != nil {
		if err := adjust(&in); err != nil {
			run.close()
			return nil, err
		}
	}
	httpClient := &http.Client{Timeout: 2 * time.Minute}
	be, err := newBackend(in, httpClient, nil)
	if err != nil {
		run.close()
		return nil, &usageError{err}
	}
	var reporter steps.Reporter = wizard.Quiet{}
	if o.Output == "text" {
		reporter = wizard.NewLines(o.IO)
	}
	run.dir = session.client
	run.env = &steps.Env{
		Inputs: in, TenantID: tenantID, LoginHost: session.loginHost,
		Graph: session.client, Backend: be, SCIMClient: httpClient, State: state, Reporter: reporter,
	}
	return run, nil
}

// requestLogger is the --debug log of Graph requests on stderr (never tokens or secrets), or no log.
func requestLogger(ios *wizard.IOStreams, debug bool) *slog.Logger {
	if !debug {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(ios.ErrWriter(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// withJSONErrors runs fn; with --output json, stdout always carries one JSON object: what fn printed, or
// {"error": ...} when it stopped before printing anything.
func withJSONErrors(ctx context.Context, output string, ios *wizard.IOStreams, fn func(ctx context.Context) error) error {
	if output != "json" {
		return whyStopped(ctx, fn(ctx))
	}
	stdout := ios.Out
	out := &countingWriter{w: stdout}
	ios.Out = out
	defer func() { ios.Out = stdout }()
	err := whyStopped(ctx, fn(ctx))
	if err != nil && out.n == 0 && !errors.Is(err, errUnhealthy) {
		if werr := wizard.WriteJSON(stdout, map[string]string{"error": err.Error()}); werr != nil {
			return errors.Join(err, werr)
		}
	}
	return err
}

// errUnhealthy is status's answer for an integration with problems (exit 1); the report says which.
var errUnhealthy = errors.New("the integration is unhealthy")

// applySteps is what every day-2 command that writes does with its steps, as setup does with its own: plan
// (reads only), show the plan, stop there with --dry-run, ask before any change unless --yes, apply, report.
// With checkBackend the backend is asked first, read-only, whether it takes what the run will hand it.
func (o *entraOptions) applySteps(ctx context.Context, run *entraRun, command string, list []steps.Step, checkBackend bool) (steps.Result, error) {
	env := run.env
	if checkBackend && !o.DryRun {
		if err := env.Backend.Check(ctx); err != nil {
			return steps.Result{}, &usageError{fmt.Errorf("%w; nothing was changed", err)}
		}
	}
	runner := &steps.Runner{Steps: list}
	plan, err := runner.Plan(ctx, env)
	if err != nil {
		return steps.Result{}, err
	}
	plan.Version = version
	renderPlan := func(w io.Writer) error {
		return plan.RenderText(w, steps.RenderOptions{Width: o.IO.Width(), Color: o.IO.ColorEnabled() && w == o.IO.ErrOut})
	}
	if o.DryRun {
		result := steps.NewResult(env, plan, nil, nil)
		result.Command = command
		if o.Output == "json" {
			return result, wizard.WriteJSON(o.IO.Out, result)
		}
		return result, renderPlan(o.IO.Out)
	}
	confirm := plan.Pending() && !o.Yes
	if confirm && (o.NonInteractive || !o.IO.CanPrompt()) {
		return steps.Result{}, usageErrorf("the plan has changes and no one can confirm them here: pass --yes to apply them, or --dry-run to only see them")
	}
	if confirm {
		ok, err := o.confirmPlan(ctx, o.IO, plan)
		if err != nil {
			return steps.Result{}, err
		}
		if !ok {
			return steps.Result{}, errCancelled
		}
	} else if o.Output == "text" {
		if err := renderPlan(o.IO.ErrOut); err != nil {
			return steps.Result{}, err
		}
	}
	var (
		report steps.Report
		runErr error
	)
	if o.Output == "text" && !o.NonInteractive && !o.Debug && o.IO.CanPrompt() {
		lines := env.Reporter
		report, runErr = wizard.ShowProgress(ctx, o.IO, plan, nil, o.Interrupt, func(ctx context.Context, r steps.Reporter) (steps.Report, error) {
			env.Reporter = r
			return runner.Apply(ctx, env, plan)
		})
		env.Reporter = lines
		if errors.Is(runErr, wizard.ErrQuitAtOnce) {
			// The second Ctrl-C: the view has given the terminal back; the process exits now, as on a second signal.
			if o.Interrupt != nil {
				o.Interrupt()
			}
			return steps.Result{}, runErr
		}
	} else {
		if lines, ok := env.Reporter.(*wizard.Lines); ok {
			lines.SetPlan(plan)
		}
		report, runErr = runner.Apply(ctx, env, plan)
	}
	runErr = whyStopped(ctx, runErr)
	result := steps.NewResult(env, plan, report, runErr)
	result.Command, result.Plan = command, nil
	if o.Output == "json" {
		if err := wizard.WriteJSON(o.IO.Out, result); err != nil {
			return result, err
		}
	} else if len(result.Users) > 0 || len(result.Notes) > 0 {
		fmt.Fprintln(o.IO.ErrOut)
		width := 0 // a file or a pipe gets one line per note
		if o.IO.IsStdoutTTY() {
			width = o.IO.Width()
		}
		if err := wizard.WriteDay2Result(o.IO.Out, result, width); err != nil {
			return result, err
		}
	}
	return result, runErr
}
