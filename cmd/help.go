package cmd

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The help's flag groups, in the order --help lists them.
const (
	groupSignIn   = "Sign-in"
	groupWhat     = "What to set up"
	groupAction   = "What to do"
	groupSaaS     = "SaaS"
	groupSandbox  = "Simulated tenant"
	groupOutput   = "Output"
	groupAdvanced = "Advanced"
)

// flagGroup is the help group of a flag, by name, for every command that has it; "" leaves it with the
// command's own flags, which only cobra's --help and --version are (a test walks every command). --graph-url
// and --state-dir are for tests and unusual setups, so they are under Advanced, out of a new user's way.
func flagGroup(name string) string {
	switch name {
	case "auth", "client-id", "cloud", "tenant-id", "sandbox":
		return groupSignIn
	case "app-name", "app-id", "assign-group", "assign-user", "redirect-uri", "secret-expiry", "owner", "admin":
		return groupWhat
	case "user", "group", "reset", "finish", "scim-token", "keep-app":
		return groupAction // the day-2 commands' own choices
	case "backend", "backend-url", "scim-url", "scim-token-file", "scim-compliant", "secret-out":
		return groupSaaS
	case "users", "group-size", "initial-cycle-delay", "time-scale", "latency", "replication-lag", "strict-scim":
		return groupSandbox
	case "output", "non-interactive", "accessible", "yes", "dry-run", "detailed-exitcode", "plan-out", "plan", "watch",
		"no-descriptions":
		return groupOutput
	case "graph-url", "state-dir", "debug", "timeout", "lookup-window":
		return groupAdvanced
	}
	return ""
}

// flagLine matches the first line of a flag in pflag's usage ("  -h, --help   help for idpctl").
var flagLine = regexp.MustCompile(`^\s+(?:-\S, )?--([^\s=]+)`)

// groupedFlagUsages is the command's flags as pflag lists them (one column for all, so the groups line up),
// under the group headings of flagGroup; the command's own flags come last.
func groupedFlagUsages(flags *pflag.FlagSet) string {
	byGroup := map[string][]string{}
	group := ""
	for _, line := range strings.Split(strings.TrimRight(flags.FlagUsages(), " \n"), "\n") {
		if m := flagLine.FindStringSubmatch(line); m != nil {
			group = flagGroup(m[1])
		}
		byGroup[group] = append(byGroup[group], line) // a continuation line stays with its flag
	}
	var b strings.Builder
	grouped := false
	for _, g := range []string{groupSignIn, groupWhat, groupAction, groupSaaS, groupSandbox, groupOutput, groupAdvanced} {
		if lines := byGroup[g]; len(lines) > 0 {
			fmt.Fprintf(&b, "\n\n%s:\n%s", g, strings.Join(lines, "\n"))
			grouped = true
		}
	}
	if own := byGroup[""]; len(own) > 0 {
		title := "Flags"
		if grouped {
			title = "Other flags"
		}
		fmt.Fprintf(&b, "\n\n%s:\n%s", title, strings.Join(own, "\n"))
	}
	return b.String()
}

// usage is cobra's usage text (idpctl has no aliases, command groups or help topics) with the flags grouped.
func usage(c *cobra.Command) error {
	w := c.OutOrStderr()
	fmt.Fprint(w, "Usage:")
	if c.Runnable() {
		fmt.Fprintf(w, "\n  %s", c.UseLine())
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(w, "\n  %s [command]", c.CommandPath())
	}
	if c.HasExample() {
		fmt.Fprintf(w, "\n\nExamples:\n%s", c.Example)
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprint(w, "\n\nAvailable Commands:")
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				fmt.Fprintf(w, "\n  %-*s %s", sub.NamePadding(), sub.Name(), sub.Short)
			}
		}
	}
	if c.HasAvailableLocalFlags() {
		io.WriteString(w, groupedFlagUsages(c.LocalFlags()))
	}
	if c.HasAvailableInheritedFlags() {
		fmt.Fprintf(w, "\n\nGlobal Flags:\n%s", strings.TrimRight(c.InheritedFlags().FlagUsages(), " \n"))
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(w, "\n\nUse \"%s [command] --help\" for more information about a command.", c.CommandPath())
	}
	fmt.Fprintln(w)
	return nil
}
