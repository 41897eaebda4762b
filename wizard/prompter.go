package wizard

import (
	"context"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/steps"
)

// Prompter fills the inputs that flags and the environment left open, before anything is planned. A scripted
// run has one that asks nothing (NoPrompt); a terminal has forms (Forms), or line prompts in accessible mode.
// The run itself is the same either way.
type Prompter interface {
	// Precheck reports what must stop the run before sign-in: every problem of the inputs when nobody will be
	// asked, only the values given that are wrong when the missing ones will be asked for.
	Precheck(in steps.Inputs) error
	// SignInFailed is told why signing in failed and returns the --auth method to try instead, or the error
	// that ends the run.
	SignInFailed(ctx context.Context, failure error) (graph.Method, error)
	// Fill asks, unless req.Complete, for what req.Given says was not given, showing the current value of
	// each input as its default, and looks things up in the tenant on the way (same-name applications,
	// existing assignments, the people to assign).
	Fill(ctx context.Context, req FillRequest) error
}

// FillRequest is what Fill works on.
type FillRequest struct {
	Inputs *steps.Inputs
	// Complete says that the flags and the environment alone made a whole setup: then nothing is asked, as
	// a command line that says everything is not questioned.
	Complete bool
	// Given reports whether a flag (by name, e.g. "assign-group") or its environment variable set the input.
	Given func(flag string) bool
	// Directory answers the lookups in the signed-in tenant.
	Directory Directory
	// SignedIn says who is signed in where (the preflight's summary lines).
	SignedIn func(ctx context.Context) ([]string, error)
	// ProbeSCIM tests a SCIM URL and token the way Entra will use them.
	ProbeSCIM func(ctx context.Context, scim backend.SCIM) (backend.ProbeReport, error)
	// HandOff says that the manual hand-off can happen at the terminal while the run applies: the admin may
	// then leave the SCIM values and the client secret's file to it (steps.Inputs.HandOffAtTerminal).
	HandOff bool
	// SCIMDefaults, when set, are offered for the manual backend's SCIM URL and token (the sandbox's SaaS).
	SCIMDefaults *backend.SCIM
	// CommandLine is the command that runs the same setup without questions, and the environment variables
	// it reads the secrets from, for the summary.
	CommandLine func(in steps.Inputs) (argv, secretEnv []string)
}

// Directory is what the forms read from the tenant; *graph.Client implements it.
type Directory interface {
	steps.Searcher
	SearchUserPage(ctx context.Context, s graph.Search) (graph.UserPage, error)
	SearchGroupPage(ctx context.Context, s graph.Search) (graph.GroupPage, error)
	CountGroupMembers(ctx context.Context, groupID string) (int, error)
	ResolveGroup(ctx context.Context, nameOrID string) ([]graph.Group, error)
	ResolveUser(ctx context.Context, upnOrID string) (graph.User, error)
	FindApplications(ctx context.Context, q graph.ApplicationQuery) ([]graph.Application, error)
	GetServicePrincipalByAppID(ctx context.Context, appID string) (graph.ServicePrincipal, error)
	ListAppRoleAssignedTo(ctx context.Context, spID string) ([]graph.AppRoleAssignment, error)
}

// NoPrompt asks nothing: for --non-interactive, --output json and runs without a terminal. Every missing input
// is reported at once, before sign-in.
type NoPrompt struct{}

// Precheck reports every problem of the inputs.
func (NoPrompt) Precheck(in steps.Inputs) error { return in.Check() }

// SignInFailed ends the run with the failure.
func (NoPrompt) SignInFailed(_ context.Context, failure error) (graph.Method, error) {
	return "", failure
}

// Fill asks nothing.
func (NoPrompt) Fill(context.Context, FillRequest) error { return nil }
