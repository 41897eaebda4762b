package cmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/steps"
	"github.com/idpctl/idpctl/wizard"
)

// setupOptions is everything `idpctl setup entra` takes from flags and the environment.
type setupOptions struct {
	IO     *wizard.IOStreams
	Getenv func(string) string
	// Interrupt stops the run as a first Ctrl-C does, and the process as a second one does: the terminal UI
	// calls it for the Ctrl-C key. Nil when nothing listens (tests).
	Interrupt func()

	Inputs           steps.Inputs
	SCIMTokenFile    string
	SecretExpiry     string
	NonInteractive   bool
	Yes              bool
	DryRun           bool
	DetailedExitCode bool
	Output           string
	Auth             string
	ClientID         string
	Cloud            string
	GraphURL         string
	StateDir         string
	StateDirGiven    bool // --state-dir or IDPCTL_STATE_DIR was set, rather than the default
	Sandbox          bool
	Debug            bool
	Timeout          time.Duration
	// LookupWindow is how long to look for an object a create without a clear answer may have made.
	LookupWindow time.Duration
	PlanOut      string // --plan-out: save the plan here
	PlanFile     string // --plan: apply the plan saved here
	Accessible   bool   // --accessible, IDPCTL_ACCESSIBLE or ACCESSIBLE: line prompts instead of screens

	// Prompter asks for the inputs flags and the environment left open (resolve picks it).
	Prompter wizard.Prompter
	// given reports whether a flag or its environment variable set an input, rather than its default.
	given func(flag string) bool
	// sandboxSCIM is the simulated SaaS's SCIM endpoint, offered when the wizard's admin chooses the manual
	// backend in the sandbox.
	sandboxSCIM *backend.SCIM
	// identityShown records that the wizard already said who is signed in where; authAnswered that the
	// sign-in method was chosen in it.
	identityShown, authAnswered bool

	savedPlan *steps.Plan // read from PlanFile
}

func newSetupCmd(f *factory) *cobra.Command {
	return newProviderCmd("setup", "connect an identity provider to the SaaS", newSetupEntraCmd(f, nil))
}

// newSetupEntraCmd parses and checks the flags; runF does the work (tests replace it to check parsing alone).
func newSetupEntraCmd(f *factory, runF func(context.Context, *setupOptions) error) *cobra.Command {
	opts := &setupOptions{IO: f.IO, Getenv: f.Getenv, Interrupt: f.Interrupt, Prompter: f.Prompter}
	cmd := &cobra.Command{
		Use:   "entra",
		Short: "set up Microsoft Entra ID single sign-on and SCIM provisioning",
		Long: `Set up Microsoft Entra ID single sign-on (OIDC) and SCIM provisioning for the SaaS, the six steps of the
manual procedure in one run: create the enterprise application and assign users and groups; configure
single sign-on, create a client secret and grant admin consent; hand the OIDC values to the SaaS and
get its SCIM URL and token; test and save the provisioning credentials; set the attribute mappings and
turn provisioning on; provision the assigned users on demand and confirm they arrived.

The run first reads the tenant and shows a plan of what it will change. It is safe to run again: it
finds what it created before and changes only what differs.

For a change review, save the plan with --plan-out FILE (JSON, no secrets; with --dry-run nothing else
happens) and apply exactly that plan later, maybe as another admin, with --plan FILE. Applying reads the
tenant again first and refuses a plan that no longer matches it (the tenant changed, or the plan was
applied already) without changing anything. With --plan, sign in as usual and give the secrets again
(IDPCTL_SCIM_TOKEN or --scim-token-file, IDPCTL_BACKEND_TOKEN); the plan fixes every other input, and a
setup flag given again must agree with it. A saved plan is applied without asking: it was reviewed.

Some SCIM servers follow RFC 7644 strictly and refuse Entra's default PATCH requests, which send
"active": "False" as a string: deactivating a user then fails there. --scim-compliant saves the tenant URL
with Microsoft's aadOptscim062020 flag, so Entra sends compliant requests (lowercase ops, "active" as a JSON
boolean, group members removed by path; on-demand provisioning keeps the default). A tenant URL saved with
the flag keeps it on later runs. The SCIM test before the plan suggests the flag when the server looks strict.

Every flag can also be set with an IDPCTL_ environment variable (--tenant-id: IDPCTL_TENANT_ID;
repeatable flags take a comma-separated list). Secrets are read from the environment or files only:
IDPCTL_SCIM_TOKEN (or --scim-token-file), IDPCTL_BACKEND_TOKEN, IDPCTL_ACCESS_TOKEN.

Exit codes: 0 done, 1 failed (also a stale --plan), 2 cancelled or bad usage, 4 sign-in or permission
problem, 8 pending changes (only with --dry-run --detailed-exitcode).

Signing in asks for these Microsoft Graph delegated permissions (an administrator consents once):
  ` + strings.Join(graph.DelegatedScopes(), " ") + `
The signed-in user needs the Application Administrator, Cloud Application Administrator or Global
Administrator role; group assignment needs Microsoft Entra ID P1 or P2.`,
		Example: `  # Try the whole flow against a simulated tenant, no Azure account needed
  idpctl setup entra --sandbox --non-interactive --yes --assign-group "Smallstep Users"

  # See what would change, without changing anything
  idpctl setup entra --dry-run --tenant-id 72f988bf-86f1-41af-91ab-2d7cd011db47 --assign-group "Smallstep Users" \
    --scim-url https://example.smallstep.com/scim/v2 --scim-token-file scim-token.txt --secret-out secret.txt

  # Change review: one admin saves the plan, another reviews it and applies exactly that plan
  idpctl setup entra --dry-run --plan-out smallstep-plan.json --tenant-id 72f988bf-86f1-41af-91ab-2d7cd011db47 \
    --assign-group "Smallstep Users" --scim-url https://example.smallstep.com/scim/v2 --scim-token-file scim-token.txt \
    --secret-out secret.txt
  idpctl setup entra --plan smallstep-plan.json --scim-token-file scim-token.txt

  # A strict SCIM 2.0 server: Entra's compliant PATCH requests, so deactivation works there
  idpctl setup entra --scim-compliant --tenant-id 72f988bf-86f1-41af-91ab-2d7cd011db47 --assign-group "Smallstep Users" \
    --scim-url https://scim.example.com/scim/v2 --scim-token-file scim-token.txt --secret-out secret.txt

  # Scripted: Smallstep's SCIM values from the dashboard, the client secret to a 0600 file, JSON out
  IDPCTL_SCIM_TOKEN=... idpctl setup entra --non-interactive --yes --output json \
    --tenant-id 72f988bf-86f1-41af-91ab-2d7cd011db47 --assign-group "Smallstep Users" \
    --scim-url https://example.smallstep.com/scim/v2 --secret-out ./client-secret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags(), opts.Getenv); err != nil {
				return err
			}
			opts.StateDirGiven = cmd.Flags().Changed("state-dir")
			opts.given = cmd.Flags().Changed
			if err := opts.resolve(); err != nil {
				return err
			}
			if opts.PlanFile != "" {
				if err := opts.adoptPlan(cmd.Flags()); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return setupEntraRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	in := &opts.Inputs
	fl.StringVar(&in.TenantID, "tenant-id", "", "directory (tenant) ID to configure; default: the signed-in tenant")
	fl.StringVar(&in.AppName, "app-name", steps.DefaultAppName, "display name of the enterprise application")
	fl.StringVar(&in.AppID, "app-id", "", "application (client) ID of an existing application to use when several share --app-name")
	fl.StringArrayVar(&in.AssignGroups, "assign-group", nil, "group to assign and provision, by name or object ID (repeatable)")
	fl.StringArrayVar(&in.AssignUsers, "assign-user", nil, "user to assign and provision, by user principal name or object ID (repeatable)")
	fl.StringVar(&in.RedirectURI, "redirect-uri", steps.DefaultRedirectURI, "OIDC redirect URI of the SaaS")
	fl.StringVar(&in.SCIMURL, "scim-url", "", "SCIM base URL the SaaS gave you (--backend manual)")
	fl.StringVar(&opts.SCIMTokenFile, "scim-token-file", "", "file holding the SCIM token (or set IDPCTL_SCIM_TOKEN)")
	fl.BoolVar(&in.SCIMCompliant, "scim-compliant", false, `save the SCIM URL with Entra's aadOptscim062020 flag, for SCIM servers that refuse "active": "False" (Entra then sends SCIM-compliant PATCH requests)`)
	fl.StringVar(&in.Backend, "backend", backend.NameManual, "how the SaaS gets the OIDC values: manual or http")
	fl.StringVar(&in.BackendURL, "backend-url", "", "base URL of the SaaS's registration API (--backend http; token in IDPCTL_BACKEND_TOKEN)")
	fl.StringVar(&in.SecretOut, "secret-out", "", "file (mode 0600) that receives the client secret when no backend takes it")
	fl.StringVar(&opts.SecretExpiry, "secret-expiry", "180d", "lifetime of the client secret: e.g. 180d, 1y, 2y")
	fl.BoolVar(&opts.NonInteractive, "non-interactive", false, "never prompt; fail listing every missing input")
	fl.BoolVar(&opts.Yes, "yes", false, "apply the plan without asking")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "read the tenant and show the plan; change nothing")
	fl.BoolVar(&opts.DetailedExitCode, "detailed-exitcode", false, "with --dry-run: exit 8 when there are pending changes")
	fl.StringVar(&opts.Output, "output", "text", "output format: text or json")
	fl.StringVar(&opts.Auth, "auth", "auto", "sign-in method: auto, browser, device-code, environment, managed-identity, workload-identity or token")
	fl.StringVar(&opts.ClientID, "client-id", defaultSignInClientID, "application (client) ID used to sign in (default: Microsoft Graph Command Line Tools)")
	fl.StringVar(&opts.Cloud, "cloud", "public", "Microsoft cloud: public, usgov or china")
	fl.StringVar(&opts.GraphURL, "graph-url", "", "override the Microsoft Graph base URL, e.g. a simulated tenant's http://127.0.0.1:PORT/v1.0")
	fl.StringVar(&opts.StateDir, "state-dir", defaultStateDir(f.Getenv), "directory for idpctl's state (ids and progress, never secrets)")
	fl.BoolVar(&opts.Sandbox, "sandbox", false, "run against a simulated tenant and SaaS in this process (no Azure account needed)")
	fl.BoolVar(&opts.Debug, "debug", false, "log each Graph request (never tokens or secrets) to stderr")
	fl.DurationVar(&opts.Timeout, "timeout", 30*time.Minute, "give up after this long")
	fl.DurationVar(&opts.LookupWindow, "lookup-window", steps.DefaultLookupWindow,
		"how long to look for an object that a create without a clear answer (a killed run, a lost answer, a 5xx) may have made: Graph may take that long to show it")
	fl.StringVar(&opts.PlanOut, "plan-out", "", "save the plan (JSON, no secrets) to this file; with --dry-run, do nothing else")
	fl.StringVar(&opts.PlanFile, "plan", "", "apply exactly the plan saved with --plan-out, refusing it if the tenant changed since")
	fl.StringArrayVar(&in.Owners, "owner", nil, "user who becomes an Owner in the SaaS, by user principal name or object ID (repeatable; backends that can set roles)")
	fl.StringArrayVar(&in.Admins, "admin", nil, "user who becomes an Admin in the SaaS, by user principal name or object ID (repeatable; backends that can set roles)")
	fl.BoolVar(&opts.Accessible, "accessible", false, "ask with plain line prompts, for screen readers and answers piped on stdin (also ACCESSIBLE=1)")
	// Registering fails only for a flag that does not exist or already completes.
	_ = cmd.RegisterFlagCompletionFunc("assign-group", completeGroupNames(opts))
	return usageErrors(cmd)
}

// resolve turns flags and environment into inputs and checks what can be checked without the tenant.
func (o *setupOptions) resolve() error {
	switch o.Output {
	case "text", "json":
	default:
		return usageErrorf("--output %q: use text or json", o.Output)
	}
	if o.DetailedExitCode && !o.DryRun {
		return usageErrorf("--detailed-exitcode only applies to --dry-run")
	}
	if o.PlanFile != "" && (o.DryRun || o.PlanOut != "") {
		return usageErrorf("--plan applies a saved plan: it does not go with --dry-run or --plan-out")
	}
	if o.PlanFile != "" && o.Sandbox {
		return usageErrorf("--plan cannot apply to --sandbox, a simulated tenant made anew for each run: run idpctl sandbox and point --graph-url at it")
	}
	d, err := parseLifetime(o.SecretExpiry)
	if err != nil {
		return usageErrorf("--secret-expiry: %v", err)
	}
	if d < 24*time.Hour || d > steps.MaxSecretExpiry {
		// Said here with the value as typed; Inputs.Check would show it as a Go duration (26280h0m0s for 3y).
		return usageErrorf("--secret-expiry %q: use a lifetime between 1 day and 2 years, e.g. 180d or 1y", o.SecretExpiry)
	}
	o.Inputs.SecretExpiry = d
	if o.LookupWindow <= 0 || o.LookupWindow > time.Hour {
		return usageErrorf("--lookup-window %v: use a duration above 0 and at most 1h, e.g. the default 5m", o.LookupWindow)
	}
	// With --backend http the SCIM token comes from the backend; an IDPCTL_SCIM_TOKEN left in the environment
	// (idpctl sandbox prints one) is not an instruction then.
	if v := o.Getenv("IDPCTL_SCIM_TOKEN"); v != "" && o.Inputs.Backend != backend.NameHTTP {
		if o.SCIMTokenFile != "" {
			return usageErrorf("the SCIM token is given twice (IDPCTL_SCIM_TOKEN and --scim-token-file): keep one")
		}
		o.Inputs.SCIMToken = secret.New(v)
	}
	if o.SCIMTokenFile != "" {
		tok, err := backend.ReadTokenFile(o.SCIMTokenFile)
		if err != nil {
			return &usageError{err}
		}
		o.Inputs.SCIMToken = tok
	}
	if v := o.Getenv("IDPCTL_BACKEND_TOKEN"); v != "" {
		o.Inputs.BackendToken = secret.New(v)
	}
	o.choosePrompter()
	return nil
}

// atTerminal says whether a person at the terminal sees the progress view, and takes the manual hand-off there
// when the SCIM values or the secret file are still missing; scripted runs, JSON output and --debug (whose log
// lines would tear the view) keep the plain lines.
func (o *setupOptions) atTerminal() bool {
	return o.Output == "text" && !o.NonInteractive && !o.Debug && o.IO.CanPrompt()
}

// handOffAtTerminal decides whether the manual hand-off happens at the terminal; the wizard's answers (the
// backend, the SCIM values, where the secret goes) can change that, so it is decided again after them.
func (o *setupOptions) handOffAtTerminal() {
	in := &o.Inputs
	in.HandOffAtTerminal = o.atTerminal() && in.Backend == backend.NameManual && (in.SCIMURL == "" || in.SecretOut == "")
}

// defaultStateDir follows the XDG base directory convention: $XDG_STATE_HOME/idpctl, ~/.local/state/idpctl.
func defaultStateDir(getenv func(string) string) string {
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "idpctl")
	}
	if runtime.GOOS != "linux" {
		if d, err := os.UserConfigDir(); err == nil {
			return filepath.Join(d, "idpctl")
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "idpctl")
	}
	return ""
}

// errPendingChanges is a dry run's answer under --detailed-exitcode when the plan has changes.
var errPendingChanges = errors.New("the plan has pending changes")

// setupEntraRun runs the setup. With --output json, stdout always carries one JSON object: the result, or
// {"error": ...} when the run stopped before it had one (bad input, sign-in, a failed plan).
func setupEntraRun(ctx context.Context, opts *setupOptions) error {
	return withJSONErrors(ctx, opts.Output, opts.IO, func(ctx context.Context) error { return setupEntra(ctx, opts) })
}

type countingWriter struct {
	w io.Writer
	n int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	return n, err
}

func setupEntra(ctx context.Context, opts *setupOptions) error {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	var (
		accessToken = secret.New(opts.Getenv("IDPCTL_ACCESS_TOKEN"))
		httpClient  = backend.WithUserAgent(&http.Client{Timeout: 2 * time.Minute}, currentBuild().UserAgent())
	)
	// Flags that make a whole setup are not questioned; the sandbox's defaults below do not count.
	complete := opts.Inputs.Check() == nil
	if opts.Sandbox {
		sb, err := sandbox.Start(ctx, sandbox.Options{})
		if err != nil {
			return fmt.Errorf("starting the sandbox: %w", err)
		}
		defer sb.Close()
		if !opts.StateDirGiven {
			// The simulated tenant ends with this process: its state has no place among real tenants' state.
			dir, err := os.MkdirTemp("", "idpctl-sandbox-")
			if err != nil {
				return fmt.Errorf("creating the sandbox's state directory: %w", err)
			}
			defer os.RemoveAll(dir)
			opts.StateDir = dir
		}
		opts.GraphURL, opts.Auth, accessToken = sb.GraphURL, "token", sb.AccessToken
		opts.Inputs.TenantID = sb.TenantID
		switch {
		case opts.Inputs.Backend != backend.NameManual || opts.Inputs.SCIMURL != "":
		case opts.given("backend"):
			// --backend manual: the values are handed over by hand, to the simulated SaaS's SCIM endpoint, which
			// lives only as long as this run, so that no command line can name it.
			opts.Inputs.SCIMURL = sb.SCIMURL
			if opts.Inputs.SCIMToken.IsZero() {
				opts.Inputs.SCIMToken = sb.SCIMToken
			}
		default:
			// The simulated SaaS takes the registration over its API, like a backend that supports it.
			opts.Inputs.Backend, opts.Inputs.BackendURL, opts.Inputs.BackendToken = backend.NameHTTP, sb.BackendURL, sb.BackendToken
			opts.Inputs.SCIMToken = secret.Value{}
		}
		opts.sandboxSCIM = &backend.SCIM{BaseURL: sb.SCIMURL, Token: sb.SCIMToken}
		if len(opts.Inputs.AssignGroups) == 0 && len(opts.Inputs.AssignUsers) == 0 {
			// The demo directory's group, so that the sandbox needs no flags (the wizard's picker preselects it).
			opts.Inputs.AssignGroups = []string{sb.Demo.SmallstepUsers.DisplayName}
		}
		if opts.Output == "text" {
			// In JSON mode stderr carries only errors; the result names the tenant.
			opts.IO.Say("Sandbox: simulated tenant %s at %s", sb.TenantID, sb.GraphURL)
		}
	}
	opts.handOffAtTerminal()
	if err := opts.Prompter.Precheck(opts.Inputs); err != nil {
		return err
	}

	session, err := signIn(ctx, opts.signInRequest(), accessToken, requestLogger(opts.IO, opts.Debug))
	for err != nil && ctx.Err() == nil {
		// A terminal offers the other ways to sign in; a script stops here.
		method, stop := opts.Prompter.SignInFailed(ctx, err)
		if stop != nil {
			return stop
		}
		opts.Auth, opts.authAnswered = string(method), true
		session, err = signIn(ctx, opts.signInRequest(), accessToken, requestLogger(opts.IO, opts.Debug))
	}
	if err != nil {
		return err
	}
	client := session.client
	tenantID, err := signedInTenant(ctx, session, opts.Inputs.TenantID)
	if err != nil {
		return err
	}
	if err := fillInputs(ctx, opts, complete, session, tenantID, httpClient); err != nil {
		return err
	}
	if saved := opts.savedPlan; saved != nil && !strings.EqualFold(saved.TenantID, tenantID) {
		return usageErrorf("--plan %s: the plan is for tenant %s, and this run is signed in to tenant %s: sign in to the plan's tenant", opts.PlanFile, saved.TenantID, tenantID)
	}
	lock, err := lockSetup(ctx, opts, tenantID)
	if err != nil {
		return err
	}
	defer lock.Release()
	state, err := steps.OpenState(opts.StateDir, tenantID, opts.Inputs.AppName)
	if err != nil {
		return err
	}
	var handOff *wizard.HandOff
	if opts.Inputs.HandOffAtTerminal {
		handOff = &wizard.HandOff{RedirectURI: opts.Inputs.RedirectURI, Probe: func(ctx context.Context, s backend.SCIM) (string, error) {
			report, err := backend.Probe(ctx, httpClient, nil, s)
			return strings.Join(report.Warnings, "; "), err
		}}
		if opts.Inputs.SCIMURL != "" {
			handOff.Given = &backend.SCIM{BaseURL: opts.Inputs.SCIMURL, Token: opts.Inputs.SCIMToken}
		}
	}
	be, err := newBackend(opts.Inputs, httpClient, handOff)
	if err != nil {
		return err
	}

	var reporter steps.Reporter = wizard.Quiet{}
	lines := wizard.NewLines(opts.IO)
	if opts.Output == "text" {
		reporter = lines
	}
	env := &steps.Env{
		Inputs: opts.Inputs, TenantID: tenantID, LoginHost: session.loginHost,
		Graph: client, Backend: be, SCIMClient: httpClient, State: state, Reporter: reporter,
		LookupWindow: opts.LookupWindow,
	}
	runner := &steps.Runner{Steps: steps.Flow()}
	// Preflight, the destinations' check and the plan only read: they run side by side, and a failed check
	// wins over the plan.
	preflightErr, destinationErr := make(chan error, 1), make(chan error, 1)
	go func() { preflightErr <- preflight(ctx, session, opts, tenantID) }()
	go func() { destinationErr <- checkDestinations(ctx, opts, be) }()
	plan, err := runner.Plan(ctx, env)
	if perr, derr := <-preflightErr, <-destinationErr; perr != nil || derr != nil {
		return cmp.Or(perr, derr)
	}
	if err != nil {
		return err
	}
	plan.Version = version
	if saved := opts.savedPlan; saved != nil {
		// The fresh plan only read; the saved one is applied if it still says what applying would do.
		if err := saved.Stale(plan); err != nil {
			return err
		}
		plan = saved
	}
	if opts.PlanOut != "" {
		if err := steps.WritePlanFile(opts.PlanOut, plan); err != nil {
			return err
		}
	}
	renderPlan := func(w io.Writer) error {
		return plan.RenderText(w, steps.RenderOptions{Width: opts.IO.Width(), Color: opts.IO.ColorEnabled() && w == opts.IO.ErrOut})
	}
	if opts.DryRun {
		if opts.Output == "json" {
			err = wizard.WriteJSON(opts.IO.Out, steps.NewResult(env, plan, nil, nil))
		} else {
			err = renderPlan(opts.IO.Out)
		}
		if err == nil && opts.DetailedExitCode && plan.Pending() {
			return errPendingChanges
		}
		return err
	}
	// A saved plan was reviewed when it was made: applying it is the approval, as with terraform apply FILE.
	confirm := plan.Pending() && !opts.Yes && opts.savedPlan == nil
	if confirm && (opts.NonInteractive || !opts.IO.CanPrompt()) {
		return usageErrorf("the plan has changes and no one can confirm them here: pass --yes to apply them, or --dry-run to only see them")
	}
	if confirm {
		// The plan screen shows the plan itself, scrollable, and asks; nothing is written before a Yes.
		ok, err := wizard.ConfirmPlan(ctx, opts.IO, plan)
		if err != nil {
			return err
		}
		if !ok {
			return errCancelled
		}
	} else if opts.Output == "text" {
		if err := renderPlan(opts.IO.ErrOut); err != nil {
			return err
		}
	}
	var (
		report steps.Report
		runErr error
	)
	if opts.atTerminal() {
		report, runErr = wizard.ShowProgress(ctx, opts.IO, plan, handOff, opts.Interrupt, func(ctx context.Context, r steps.Reporter) (steps.Report, error) {
			env.Reporter = r
			return runner.Apply(ctx, env, plan)
		})
		if errors.Is(runErr, wizard.ErrQuitAtOnce) {
			// The second Ctrl-C: the view has given the terminal back; the process exits now, as on a second signal.
			if opts.Interrupt != nil {
				opts.Interrupt()
			}
			return runErr
		}
	} else {
		lines.SetPlan(plan)
		report, runErr = runner.Apply(ctx, env, plan)
	}
	runErr = whyStopped(ctx, runErr)
	result := steps.NewResult(env, plan, report, runErr)
	result.Plan = nil
	if opts.Output == "json" {
		if err := wizard.WriteJSON(opts.IO.Out, result); err != nil {
			return err
		}
	} else if runErr == nil || len(result.Users) > 0 {
		fmt.Fprintln(opts.IO.ErrOut)
		if err := wizard.WriteResult(opts.IO.Out, result, resultOptions(opts, handOff)); err != nil {
			return err
		}
	}
	return runErr
}

// resultOptions shape the final screen for the terminal or file stdout is. The admin center links lead to the
// cloud's real portal, so a simulated tenant's run (--sandbox, --graph-url) goes without them.
func resultOptions(opts *setupOptions, handOff *wizard.HandOff) wizard.ResultOptions {
	ro := wizard.ResultOptions{HandedOff: handOff != nil && handOff.Answered(), Sandbox: opts.Sandbox}
	if opts.IO.IsStdoutTTY() {
		ro.Width, ro.Color = opts.IO.Width(), opts.IO.ColorEnabled()
	}
	if cloud, err := graph.CloudByName(opts.Cloud); err == nil && opts.GraphURL == "" && !opts.Sandbox {
		ro.AdminCenter = cloud.AdminCenterHost
	}
	return ro
}

// signedInTenant is the tenant to configure: --tenant-id, else the signed-in token's tenant, else (a token
// that cannot be read) the one Graph names.
func signedInTenant(ctx context.Context, s *session, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	if claims, readable, err := s.cred.Claims(ctx); err == nil && readable && claims.TenantID != "" {
		return claims.TenantID, nil
	}
	org, err := s.client.Organization(ctx)
	if err != nil {
		return "", fmt.Errorf("reading the signed-in tenant: %w", err)
	}
	return org.ID, nil
}

// errCancelled is the answer "no" to the confirmation.
var errCancelled = errors.New("cancelled: nothing was changed")

// lockSetup takes the state directory's lock of this setup, so that two runs at once on this machine do not
// both create the application: the second waits for the first (saying for whom on stderr), then finds what
// the first made. A dry run writes nothing and takes no lock.
func lockSetup(ctx context.Context, opts *setupOptions, tenantID string) (*steps.StateLock, error) {
	if opts.DryRun {
		return &steps.StateLock{}, nil
	}
	return steps.LockState(ctx, opts.StateDir, tenantID, opts.Inputs.AppName, func(h steps.LockHolder) {
		if opts.Output != "text" {
			return // JSON mode keeps stderr for errors; a wait that ends with --timeout says whom it waited for
		}
		opts.IO.Say("Waiting: %s is setting up %q in this tenant; this run continues when it ends (Ctrl-C to stop).", h, opts.Inputs.AppName)
	})
}

// checkDestinations makes sure, before the first write, that everything the run hands something to can take
// it: the --secret-out file can be written, or the backend answers and accepts IDPCTL_BACKEND_TOKEN. Otherwise
// a run would create the application and a client secret, then fail with the secret nowhere (issue 10 item 3).
// A dry run skips it: testing a directory for --secret-out creates a file there.
func checkDestinations(ctx context.Context, opts *setupOptions, be backend.Backend) error {
	if opts.DryRun {
		return nil
	}
	if err := be.Check(ctx); err != nil {
		return &usageError{fmt.Errorf("%w; nothing was changed", err)}
	}
	return nil
}

// newBackend builds the backend the inputs name. The manual backend's SCIM values come from the hand-off at
// the terminal when there is one, else from the inputs.
func newBackend(in steps.Inputs, client *http.Client, handOff *wizard.HandOff) (backend.Backend, error) {
	if in.Backend == backend.NameHTTP {
		return backend.NewHTTP(in.BackendURL, in.BackendToken, client, nil)
	}
	var source backend.SCIMSource = backend.GivenSCIM{BaseURL: in.SCIMURL, Token: in.SCIMToken}
	if handOff != nil {
		source = handOff
	}
	return &backend.Manual{SecretOut: in.SecretOut, SCIM: source}, nil
}
