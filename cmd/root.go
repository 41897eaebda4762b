// Package cmd holds idpctl's cobra commands: flag parsing, input resolution and exit codes. The work itself
// lives in steps, graph, backend and sandbox; terminal I/O lives in wizard.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"
)

// Build information, set by goreleaser through -ldflags "-X github.com/idpctl/idpctl/cmd.version=...".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// Exit codes, part of the contract for scripts (DESIGN.md "Contract for scripts").
const (
	exitOK        = 0
	exitFailed    = 1
	exitUsage     = 2 // bad usage or cancelled
	exitAuth      = 4 // sign-in or permission problem
	exitPlanDiffs = 8 // dry-run found pending changes (only with --detailed-exitcode)
)

// Execute runs idpctl with os.Args and returns the process exit code.
func Execute() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root := NewRootCmd()
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
	}
	return exitCode(err)
}

// NewRootCmd builds the command tree.
func NewRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "idpctl",
		Short:         "connect an identity provider to a SaaS over OIDC and SCIM",
		Long:          "idpctl connects a Microsoft Entra ID tenant to a SaaS over OIDC single sign-on and SCIM 2.0 provisioning.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCmd())
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
	var usage *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage), errors.Is(err, context.Canceled):
		return exitUsage
	default:
		return exitFailed
	}
}
