package cmd

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envName is the environment variable that may set a flag: --tenant-id ↔ IDPCTL_TENANT_ID.
func envName(flag string) string {
	return "IDPCTL_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets every flag the command line left unset from its IDPCTL_ variable. Repeatable flags take a
// comma-separated list. A flag given on the command line always wins.
func applyEnv(flags *pflag.FlagSet, getenv func(string) string) error {
	var firstErr error
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Changed || firstErr != nil {
			return
		}
		v := getenv(envName(f.Name))
		if v == "" {
			return
		}
		values := []string{v}
		if f.Value.Type() == "stringArray" {
			values = strings.Split(v, ",")
		}
		for _, one := range values {
			if err := f.Value.Set(strings.TrimSpace(one)); err != nil {
				firstErr = usageErrorf("%s=%q: %v", envName(f.Name), v, err)
				return
			}
		}
		f.Changed = true
	})
	return firstErr
}

// usageErrors makes cobra's own complaints about a command line (an unknown flag, a flag value that does not
// parse, an unexpected argument) bad usage, exit code 2, like every other mistake in the inputs.
func usageErrors(cmd *cobra.Command) *cobra.Command {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return &usageError{err}
			}
			return nil
		}
	}
	return cmd
}
