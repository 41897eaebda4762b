package cmd

import (
	"github.com/spf13/cobra"

	"github.com/idpctl/idpctl/wizard"
)

// DocsTree is the command tree as the generated documentation shows it (man pages and shell completions, see
// internal/gendocs): the real commands, the default completion command included, with the defaults a new user
// on Linux sees rather than the build machine's (--state-dir ~/.local/state/idpctl), and no generation date.
func DocsTree() *cobra.Command {
	getenv := func(name string) string {
		if name == "XDG_STATE_HOME" {
			return "~/.local/state"
		}
		return ""
	}
	root := NewRootCmd(&factory{IO: wizard.System(nil), Getenv: getenv})
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var noDate func(*cobra.Command)
	noDate = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, sub := range c.Commands() {
			noDate(sub)
		}
	}
	noDate(root)
	return root
}
