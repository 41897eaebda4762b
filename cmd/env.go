package cmd

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envName is the environment variable that may set a flag: --tenant-id ↔ IDPCTL_TENANT_ID.
func envName(flag string) string {
	return "IDPCTL_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// noEnv marks a flag that has no IDPCTL_ variable: rotate-secret's --scim-token switch, whose name would be
// IDPCTL_SCIM_TOKEN, the variable that holds the token itself.
const noEnv = "idpctl_no_env"

// applyEnv sets every flag the command line left unset from its IDPCTL_ variable. Repeatable flags take a
// comma-separated list. A flag given on the command line always wins.
func applyEnv(flags *pflag.FlagSet, getenv func(string) string) error {
	var firstErr error
	flags.VisitAll(func(f *pflag.Flag) {
		if _, skip := f.Annotations[noEnv]; f.Changed || firstErr != nil || skip {
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
				firstErr = usageErrorf("%s=%q: %s", envName(f.Name), v, valueFix(f, err))
				return
			}
		}
		f.Changed = true
	})
	return firstErr
}

// usageErrors makes cobra's own complaints about a command line (an unknown flag, a flag value that does not
// parse, an unexpected argument) bad usage, exit code 2, like every other mistake in the inputs, and says what
// to type instead.
func usageErrors(cmd *cobra.Command) *cobra.Command {
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		var (
			invalid *pflag.InvalidValueError
			unknown *pflag.NotExistError
		)
		switch {
		case errors.As(err, &invalid):
			return usageErrorf("--%s %q: %s", invalid.GetFlag().Name, invalid.GetValue(), valueFix(invalid.GetFlag(), err))
		case errors.As(err, &unknown) && unknown.GetSpecifiedShortnames() != "":
			// "-tenant-id" reads as the one-letter flags t, e, n, ...: idpctl has none.
			typed, _, _ := strings.Cut(unknown.GetSpecifiedShortnames(), "=")
			if c.Flags().Lookup(typed) != nil {
				return usageErrorf("unknown flag -%s: idpctl's flags start with two dashes: --%s", typed, typed)
			}
			return usageErrorf("unknown flag -%s: idpctl's flags start with two dashes; %s --help lists them", typed, c.CommandPath())
		case errors.As(err, &unknown) && unknown.GetSpecifiedName() != "":
			name := unknown.GetSpecifiedName()
			if like := similarFlags(c.Flags(), name); len(like) > 0 {
				return usageErrorf("unknown flag --%s: did you mean --%s?", name, strings.Join(like, " or --"))
			}
			return usageErrorf("unknown flag --%s: %s --help lists the flags", name, c.CommandPath())
		}
		return &usageError{err}
	})
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				if !c.HasSubCommands() && len(a) > 0 {
					return usageErrorf("unexpected argument %q: %s takes flags only (a value with spaces needs quotes, e.g. --assign-group \"Smallstep Users\")",
						a[0], c.CommandPath())
				}
				return &usageError{err}
			}
			return nil
		}
	}
	return cmd
}

// valueFix says how to write a value for f, after err refused one.
func valueFix(f *pflag.Flag, err error) string {
	switch f.Value.Type() {
	case "bool":
		return "use true or false"
	case "duration":
		return "use a duration such as 90s, 30m or 2h"
	case "int", "uint", "int64", "uint64", "float64":
		return "use a number"
	}
	return err.Error()
}

// similarFlags are the flags a mistyped name probably meant: those it starts, or that start it.
func similarFlags(flags *pflag.FlagSet, name string) []string {
	var like []string
	flags.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && (strings.HasPrefix(f.Name, name) || strings.HasPrefix(name, f.Name)) {
			like = append(like, f.Name)
		}
	})
	return like
}
