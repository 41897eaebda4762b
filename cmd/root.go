// Package cmd holds idpctl's cobra commands: flag parsing, input resolution and exit codes. The work itself
// lives in steps, graph, backend and sandbox; terminal I/O lives in wizard.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/steps"
	"github.com/idpctl/idpctl/wizard"
)

// Exit codes, part of the contract for scripts (docs/scripting.md, checked by TestScriptingDocExitCodes).
const (
	exitOK        = 0
	exitFailed    = 1
	exitUsage     = 2 // bad usage or cancelled
	exitAuth      = 4 // sign-in or permission problem
	exitPlanDiffs = 8 // dry-run found pending changes (only with --detailed-exitcode)
)

// factory holds what commands need from the process: its streams and environment. Tests build their own.
type factory struct {
	IO     *wizard.IOStreams
	Getenv func(string) string
	// Interrupt is what a Ctrl-C the terminal UI reads as a key must call (see interrupts); nil in tests.
	Interrupt func()
	// ConfirmPlan asks whether to apply a day-2 command's plan on a terminal; nil is wizard.ConfirmPlan, the
	// plan screen. Tests answer in its place.
	ConfirmPlan func(ctx context.Context, ios *wizard.IOStreams, plan *steps.Plan) (bool, error)
	// Prompter, when set, asks instead of the forms wherever someone can answer (tests).
	Prompter wizard.Prompter
	// ChooseToProvision asks on a terminal whom `provision` sends when no flag names anyone; nil is the forms'
	// picker. Tests answer in its place.
	ChooseToProvision func(ctx context.Context, ios *wizard.IOStreams, dir wizard.Directory, in steps.Inputs) (groups, users []string, err error)
}

// Execute runs idpctl with os.Args and returns the process exit code.
func Execute() int {
	f := &factory{IO: wizard.System(os.Environ()), Getenv: os.Getenv}
	intr, ctx := newInterrupts(context.Background(), f.IO.ErrOut, os.Exit)
	stop := intr.listen()
	defer stop()
	f.Interrupt = intr.Interrupt
	root := NewRootCmd(f)
	err := whyStopped(ctx, root.ExecuteContext(ctx))
	if err != nil && !errors.Is(err, errPendingChanges) && !errors.Is(err, errUnhealthy) {
		fmt.Fprintln(f.IO.ErrOut, "Error:", err)
	}
	return exitCode(err)
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "idpctl",
		Short: "connect an identity provider to a SaaS over OIDC and SCIM",
		Long:  "idpctl connects a Microsoft Entra ID tenant to a SaaS over OIDC single sign-on and SCIM 2.0 provisioning.",
		Example: `  # Try the whole flow against a simulated tenant: no Azure account or flags needed
  idpctl setup entra --sandbox

  # Connect your tenant to Smallstep; what no flag says is asked for
  idpctl setup entra

  # Show what would change in the tenant, changing nothing
  idpctl setup entra --dry-run --assign-group "Smallstep Users"

  # Check the connection's health: quarantine, expiring secret, provisioning failures
  idpctl status entra`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version is ours, not cobra's: cobra prints "idpctl version X", and changing that takes a version
		// template, run through text/template, which keeps every exported method of the Graph SDK in the binary
		// (185 MiB instead of 58). Without it, idpctl alone shows the help, as cobra does.
		RunE: func(cmd *cobra.Command, _ []string) error {
			if v, _ := cmd.Flags().GetBool("version"); v {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), currentBuild())
				return err
			}
			return cmd.Help()
		},
	}
	root.Flags().BoolP("version", "v", false, "version for idpctl")
	root.SetUsageFunc(usage)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.AddCommand(newVersionCmd(), newSetupCmd(f), newStatusCmd(f), newRotateCmd(f), newRestartCmd(f), newProvisionCmd(f), newRolesCmd(f), newTeardownCmd(f), newSandboxCmd(f))
	completeFlagValues(root)
	return root
}

// usageError marks a mistake in the command line or inputs: exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitCode maps an error to the contract's exit code, in one place.
func exitCode(err error) int {
	var (
		usage *usageError
		input *steps.InputError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errPendingChanges):
		return exitPlanDiffs
	case errors.As(err, &usage), errors.As(err, &input), errors.Is(err, errCancelled), errors.Is(err, errInterrupted), errors.Is(err, context.Canceled),
		strings.HasPrefix(err.Error(), "unknown command "): // cobra's own, for `idpctl bogus`
		return exitUsage
	case graph.IsUnauthorized(err), graph.IsForbidden(err), graph.IsSignInFailure(err), graph.IsPreflightFailure(err):
		return exitAuth
	default:
		return exitFailed
	}
}
