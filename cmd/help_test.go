package cmd

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/idpctl/idpctl/wizard"
)

// `idpctl --version` prints the same line as `idpctl version`.
func TestVersionFlag(t *testing.T) {
	flag := execute(t, invocation{}, "--version")
	cmd := execute(t, invocation{}, "version")
	if flag.code != 0 || flag.stdout != cmd.stdout || !strings.HasPrefix(flag.stdout, "idpctl ") || strings.Count(flag.stdout, "\n") != 1 {
		t.Errorf("--version:\n%v\nversion:\n%v", flag, cmd)
	}
}

// The root help starts a new user off with examples, the sandbox first.
func TestRootHelpHasExamples(t *testing.T) {
	o := execute(t, invocation{}, "--help")
	examples, _, found := strings.Cut(o.stdout, "\nAvailable Commands:")
	_, examples, found2 := strings.Cut(examples, "\nExamples:\n")
	if o.code != 0 || !found || !found2 {
		t.Fatalf("no examples before the commands:\n%v", o)
	}
	for _, want := range []string{"idpctl setup entra --sandbox\n", "idpctl setup entra\n", "idpctl setup entra --dry-run", "idpctl status entra"} {
		if !strings.Contains(examples, want) {
			t.Errorf("examples lack %q:\n%s", want, examples)
		}
	}
}

// helpSections splits --help's flag listing into its headed sections: heading -> flag names, in order.
func helpSections(help string) (headings []string, flags map[string][]string) {
	flags = map[string][]string{}
	heading := ""
	for _, line := range strings.Split(help, "\n") {
		if m := regexp.MustCompile(`^([A-Z][A-Za-z -]*):$`).FindStringSubmatch(line); m != nil {
			heading = m[1]
			headings = append(headings, heading)
			continue
		}
		if m := flagLine.FindStringSubmatch(line); m != nil && heading != "" {
			flags[heading] = append(flags[heading], m[1])
		}
	}
	return headings, flags
}

// setup entra --help lists its flags in groups: sign-in, what to set up, SaaS, output, advanced, with the
// flags for tests (--graph-url) under advanced.
func TestSetupHelpGroupsFlags(t *testing.T) {
	o := execute(t, invocation{}, "setup", "entra", "--help")
	if o.code != 0 {
		t.Fatal(o)
	}
	headings, flags := helpSections(o.stdout)
	want := []string{"Sign-in", "What to set up", "SaaS", "Output", "Advanced", "Other flags"}
	if i := slices.Index(headings, "Sign-in"); i < 0 || !slices.Equal(headings[i:], want) {
		t.Errorf("headings %q, want them to end with %q", headings, want)
	}
	for heading, names := range map[string][]string{
		"Sign-in":        {"auth", "client-id", "cloud", "sandbox", "tenant-id"},
		"What to set up": {"assign-group", "assign-user", "app-name", "secret-expiry"},
		"SaaS":           {"backend", "backend-url", "scim-url", "scim-token-file", "secret-out"},
		"Output":         {"output", "non-interactive", "yes", "dry-run"},
		"Advanced":       {"graph-url", "state-dir", "debug"},
		"Other flags":    {"help"},
	} {
		for _, name := range names {
			if !slices.Contains(flags[heading], name) {
				t.Errorf("--%s is not under %s: %q", name, heading, flags)
			}
		}
	}
	if n := len(flags["Other flags"]); n != 1 {
		t.Errorf("flags outside the groups: %q", flags["Other flags"])
	}
	// A day-2 command groups the flags it shares with setup and its own.
	status := execute(t, invocation{}, "status", "entra", "--help")
	_, flags = helpSections(status.stdout)
	if !slices.Contains(flags["Advanced"], "graph-url") || !slices.Contains(flags["Output"], "watch") {
		t.Errorf("status entra --help:\n%s", status.stdout)
	}
}

// complete runs the shell's completion request (what a tab press asks) and returns the values offered.
func complete(t *testing.T, inv invocation, args ...string) []string {
	t.Helper()
	o := execute(t, inv, append([]string{"__complete"}, args...)...)
	if o.code != 0 {
		t.Fatal(o)
	}
	var values []string
	for _, line := range strings.Split(strings.TrimSpace(o.stdout), "\n") {
		if !strings.HasPrefix(line, ":") { // the last line is cobra's directive
			values = append(values, line)
		}
	}
	return values
}

// Flags with a few values complete them, on setup and on the day-2 commands.
func TestCompletionOfFlagValues(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"setup", "entra", "--output", ""}, []string{"text", "json"}},
		{[]string{"setup", "entra", "--auth", ""}, []string{"auto", "browser", "device-code", "environment", "managed-identity", "workload-identity", "token"}},
		{[]string{"setup", "entra", "--cloud", ""}, []string{"public", "usgov", "china"}},
		{[]string{"setup", "entra", "--backend", ""}, []string{"manual", "http"}},
		{[]string{"setup", "entra", "--secret-expiry", ""}, []string{"90d", "180d", "1y", "2y"}},
		{[]string{"status", "entra", "--output", ""}, []string{"text", "json"}},
		{[]string{"rotate-secret", "entra", "--backend", ""}, []string{"manual", "http"}},
	} {
		if got := complete(t, invocation{}, c.args...); !slices.Equal(got, c.want) {
			t.Errorf("%q: %q, want %q", c.args, got, c.want)
		}
	}
}

// --assign-group completes the names of the tenant's groups that start with what was typed: the simulated
// tenant's with --sandbox, or the one a token signs in to. A tab press never opens a browser.
func TestCompletionOfGroupNames(t *testing.T) {
	if got := complete(t, invocation{}, "setup", "entra", "--sandbox", "--assign-group", "Smallstep"); !slices.Equal(got, []string{"Smallstep Users"}) {
		t.Errorf("--sandbox: %q", got)
	}
	tn := newTenant(t)
	got := complete(t, invocation{env: tn.env()}, "setup", "entra", "--auth", "token", "--graph-url", tn.sb.GraphURL, "--assign-group", "eng")
	if !slices.Equal(got, []string{"Engineering"}) {
		t.Errorf("token: %q", got)
	}
	if got := complete(t, invocation{}, "setup", "entra", "--auth", "browser", "--graph-url", tn.sb.GraphURL, "--assign-group", ""); len(got) != 0 {
		t.Errorf("--auth browser offered %q", got)
	}
}

// Every flag of every command is in a named group of its help; only cobra's own --help and --version stand
// alone.
func TestEveryFlagIsGrouped(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Name != "help" && f.Name != "version" && flagGroup(f.Name) == "" {
				t.Errorf("%s --%s is in no group", c.CommandPath(), f.Name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(DocsTree()) // every command, cobra's completion and help included
}

// No command sets a usage, help or version template: cobra runs one through text/template, whose method calls
// by name keep every exported method of the Microsoft Graph SDK in the binary (the linker cannot drop them):
// 185 MiB instead of 58 MiB, and --help starting slower. Cobra's defaults are Go functions (cobra 1.9+).
func TestNoCobraTemplates(t *testing.T) {
	var plain cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.UsageTemplate() != plain.UsageTemplate() || c.HelpTemplate() != plain.HelpTemplate() || c.VersionTemplate() != plain.VersionTemplate() {
			t.Errorf("%q sets a cobra template", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	ios, _, _, _ := wizard.Test()
	walk(NewRootCmd(&factory{IO: ios, Getenv: getenvFrom(nil)}))
}
