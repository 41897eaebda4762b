package cmd

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/steps"
	"github.com/idpctl/idpctl/wizard"
)

// choosePrompter decides who answers for missing inputs: nobody for a script (--non-interactive, --output json,
// a saved --plan, or no terminal), line prompts in accessible mode (which also read answers piped on stdin),
// forms on a terminal.
func (o *setupOptions) choosePrompter() {
	if v := strings.ToLower(o.Getenv("ACCESSIBLE")); v != "" && v != "0" && v != "false" {
		o.Accessible = true
	}
	o.IO.SetAccessible(o.Accessible)
	switch {
	case o.NonInteractive, o.Output == "json", o.PlanFile != "":
		o.Prompter = wizard.NoPrompt{}
	case !o.Accessible && !o.IO.CanPrompt():
		o.Prompter = wizard.NoPrompt{}
	case o.Prompter == nil: // a test's stands in for the forms
		o.Prompter = wizard.NewForms(o.IO)
	}
	if o.Sandbox && !o.IO.CanPrompt() {
		// Nobody can confirm a plan here, and the simulated tenant is nobody's: `idpctl setup entra --sandbox
		// </dev/null` completes with the defaults.
		o.Yes = true
	}
}

// fillInputs lets the prompter ask for what is missing, with lookups in the signed-in tenant, then checks the
// inputs whole.
func fillInputs(ctx context.Context, opts *setupOptions, complete bool, s *session, tenantID string, client *http.Client) error {
	req := wizard.FillRequest{
		Inputs:    &opts.Inputs,
		Complete:  complete,
		HandOff:   opts.atTerminal(),
		Given:     opts.given,
		Directory: s.client,
		SignedIn: func(ctx context.Context) ([]string, error) {
			report, err := identify(ctx, s, tenantID)
			if err != nil {
				return nil, err
			}
			opts.identityShown = true
			return report.Summary()[:1], nil
		},
		ProbeSCIM: func(ctx context.Context, scim backend.SCIM) (backend.ProbeReport, error) {
			return backend.Probe(ctx, client, nil, scim)
		},
		SCIMDefaults: opts.sandboxSCIM,
		CommandLine:  opts.commandLine,
	}
	if err := opts.Prompter.Fill(ctx, req); err != nil {
		return err
	}
	opts.handOffAtTerminal()
	return opts.Inputs.Check()
}

// identify reads who is signed in where, and their role, for the wizard's first line (the preflight's reads;
// its verdict comes with the plan).
func identify(ctx context.Context, s *session, tenantID string) (*graph.PreflightReport, error) {
	req := graph.PreflightRequest{TenantID: tenantID, Method: s.cred.Method(), ClientID: s.cred.ClientID()}
	claims, readable, err := s.cred.Claims(ctx)
	if err != nil {
		return nil, err
	}
	if readable {
		req.Claims = &claims
	}
	return s.client.Preflight(ctx, req)
}

// commandLine is the command that repeats a setup with these inputs without questions, and the environment
// variables its secrets come from.
func (o *setupOptions) commandLine(in steps.Inputs) (argv, secretEnv []string) {
	argv = []string{"idpctl", "setup", "entra"}
	flag := func(name string, values ...string) {
		for _, v := range values {
			argv = append(argv, "--"+name, v)
		}
	}
	if o.Sandbox {
		argv = append(argv, "--sandbox")
	}
	for _, name := range []string{"auth", "client-id", "cloud", "graph-url", "tenant-id", "state-dir"} {
		if o.given(name) || (name == "auth" && o.authAnswered) {
			flag(name, o.flagValue(name))
		}
	}
	if in.AppName != steps.DefaultAppName {
		flag("app-name", in.AppName)
	}
	if in.AppID != "" {
		flag("app-id", in.AppID)
	}
	flag("assign-group", in.AssignGroups...)
	flag("assign-user", in.AssignUsers...)
	if in.RedirectURI != steps.DefaultRedirectURI {
		flag("redirect-uri", in.RedirectURI)
	}
	switch {
	case in.Backend == backend.NameHTTP && o.Sandbox && !o.given("backend-url"):
		// --sandbox's own SaaS takes the registration.
	case in.Backend == backend.NameHTTP:
		flag("backend", backend.NameHTTP)
		flag("backend-url", in.BackendURL)
		secretEnv = append(secretEnv, "IDPCTL_BACKEND_TOKEN")
	default:
		if o.Sandbox {
			flag("backend", backend.NameManual)
		}
		switch scimURL := in.SCIMURL; {
		case o.Sandbox && o.sandboxSCIM != nil && scimURL == o.sandboxSCIM.BaseURL:
			// The simulated SaaS's endpoint and token end with this run; --sandbox --backend manual takes the
			// next run's.
		case scimURL == "":
			flag("scim-url", "SCIM_URL_FROM_THE_SAAS") // known only once the hand-off is done
			secretEnv = append(secretEnv, "IDPCTL_SCIM_TOKEN")
		default:
			flag("scim-url", scimURL)
			secretEnv = append(secretEnv, "IDPCTL_SCIM_TOKEN")
		}
		secretOut := in.SecretOut
		if secretOut == "" {
			secretOut = "client-secret" // a script has no screen to show the secret on
		}
		flag("secret-out", secretOut)
	}
	flag("owner", in.Owners...)
	flag("admin", in.Admins...)
	if in.SecretExpiry != steps.DefaultSecretExpiry {
		flag("secret-expiry", lifetime(in.SecretExpiry))
	}
	return append(argv, "--non-interactive", "--yes"), secretEnv
}

// flagValue is a flag's value as it would be typed.
func (o *setupOptions) flagValue(name string) string {
	switch name {
	case "auth":
		return o.Auth
	case "client-id":
		return o.ClientID
	case "cloud":
		return o.Cloud
	case "graph-url":
		return o.GraphURL
	case "tenant-id":
		return o.Inputs.TenantID
	case "state-dir":
		return o.StateDir
	}
	return ""
}

// lifetime writes a secret lifetime as --secret-expiry takes it: 1y, 2y, else days.
func lifetime(d time.Duration) string {
	day := 24 * time.Hour
	if d%(365*day) == 0 {
		return fmt.Sprintf("%dy", d/(365*day))
	}
	return fmt.Sprintf("%dd", d/day)
}
