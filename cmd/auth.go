package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/wizard"
)

// defaultSignInClientID is Microsoft Graph Command Line Tools, a public client that takes incremental consent
// to Graph delegated scopes (microsoftgraph/msgraph-cli#48).
const defaultSignInClientID = graph.GraphCommandLineToolsClientID

// session is a signed-in Graph client and where its cloud signs in.
type session struct {
	client    *graph.Client
	loginHost string
	cred      *graph.Credential
}

// signInRequest is what signing in needs from a command's options.
type signInRequest struct {
	IO             *wizard.IOStreams
	Getenv         func(string) string
	Auth           string
	ClientID       string
	Cloud          string
	GraphURL       string
	StateDir       string
	TenantID       string
	NonInteractive bool
}

func (o *setupOptions) signInRequest() signInRequest {
	return signInRequest{
		IO: o.IO, Getenv: o.Getenv, Auth: o.Auth, ClientID: o.ClientID, Cloud: o.Cloud, GraphURL: o.GraphURL,
		StateDir: o.StateDir, TenantID: o.Inputs.TenantID, NonInteractive: o.NonInteractive,
	}
}

// signInFacts is what the --auth choice depends on, read from the process.
func signInFacts(opts signInRequest) graph.SignInFacts {
	return graph.SignInFacts{
		Getenv:   opts.Getenv,
		GOOS:     runtime.GOOS,
		Attended: opts.IO.CanPrompt() && !opts.NonInteractive,
	}
}

// signIn signs in as --auth, --cloud and --client-id say and builds the Graph client. A person is asked to
// sign in here, if at all. A missing input is a usage error (exit 2); a refused sign-in is a
// *graph.SignInError (exit 4).
func signIn(ctx context.Context, opts signInRequest, accessToken secret.Value, logger *slog.Logger) (*session, error) {
	cloud, err := graph.CloudByName(opts.Cloud)
	if err != nil {
		return nil, &usageError{err}
	}
	facts := signInFacts(opts)
	facts.Getenv = func(name string) string {
		// --sandbox hands its token over in accessToken rather than in the environment.
		if name == graph.EnvAccessToken && accessToken.Reveal() != "" {
			return accessToken.Reveal()
		}
		return opts.Getenv(name)
	}
	method, err := graph.SelectMethod(opts.Auth, facts)
	if err != nil {
		return nil, &usageError{err}
	}
	cred, err := graph.SignIn(ctx, graph.SignInOptions{
		Method:      method,
		Cloud:       cloud,
		ClientID:    opts.ClientID,
		TenantID:    opts.TenantID,
		AccessToken: accessToken,
		Getenv:      opts.Getenv,
		StateDir:    opts.StateDir,
		Prompt:      opts.IO.ErrOut,
		Logger:      logger,
	})
	if err != nil {
		if graph.IsSignInFailure(err) {
			return nil, err
		}
		return nil, &usageError{err}
	}
	client, err := graph.New(graph.Config{
		BaseURL: opts.GraphURL, Cloud: cloud, Credential: cred, Scopes: cred.Scopes(), Logger: logger,
		UserAgent: currentBuild().UserAgent(),
	})
	if err != nil {
		return nil, &usageError{err}
	}
	return &session{client: client, loginHost: cloud.AuthorityHost, cred: cred}, nil
}

// preflight checks, before the plan and without writing, that the run can succeed in tenantID, and in text
// mode says on stderr who is signed in where. A failed check is a *graph.PreflightError (exit 4).
func preflight(ctx context.Context, s *session, opts *setupOptions, tenantID string) error {
	req := graph.PreflightRequest{
		TenantID:     tenantID,
		AssignGroups: len(opts.Inputs.AssignGroups) > 0,
		Method:       s.cred.Method(),
		ClientID:     s.cred.ClientID(),
	}
	claims, readable, err := s.cred.Claims(ctx)
	if err != nil {
		return err
	}
	if readable {
		req.Claims = &claims
	}
	report, err := s.client.Preflight(ctx, req)
	if err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	if opts.Output == "text" {
		lines := report.Summary()
		if opts.identityShown {
			lines = lines[1:] // the wizard said who is signed in where; the warnings are still news
		}
		for _, line := range lines {
			fmt.Fprintln(opts.IO.ErrWriter(), line)
		}
	}
	return report.Err()
}
