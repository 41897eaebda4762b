package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/wizard"
)

// secretRun is what one run of a command showed and kept, and every secret it handled.
type secretRun struct {
	args    []string // the process's own arguments, after "idpctl"
	stdout  string
	stderr  string
	files   map[string]string // files the run wrote, by path: state, saved plans (the --secret-out file aside)
	secrets map[string]string // by name
	// banner lists the secrets the command exists to print (idpctl sandbox's own tokens), which may appear on
	// stdout in its "export NAME=..." lines and nowhere else.
	banner []string
}

// secretRow runs one command of idpctl as a person or a script would, with --debug when the command has it.
type secretRow struct {
	command string // the command path after "idpctl"
	run     func(t *testing.T, tn *tenant) secretRun
}

// secretRows is every command idpctl has. TestEveryCommandHasASecretRow fails when a command is added without a
// row here: a new command is one more row.
func secretRows() []secretRow {
	setup := func(extra ...string) func(*testing.T, *tenant) secretRun {
		return func(t *testing.T, tn *tenant) secretRun {
			planFile := filepath.Join(t.TempDir(), "plan.json")
			var args []string
			for _, a := range extra {
				args = append(args, strings.ReplaceAll(a, "{plan}", planFile))
			}
			r := runSetup(t, tn, args...)
			if raw, err := os.ReadFile(planFile); err == nil {
				r.files[planFile] = string(raw)
			}
			return r
		}
	}
	completion := func(shell string) secretRow {
		return secretRow{command: "completion " + shell, run: simpleRun("completion", shell)}
	}
	return []secretRow{
		{command: "setup", run: simpleRun("setup")},
		{command: "setup entra", run: setup("--debug")},                                          // manual backend, text
		{command: "setup entra", run: setup("--debug", "--output", "json", "--backend", "http")}, // the backend API, JSON
		{command: "setup entra", run: setup("--debug", "--dry-run", "--plan-out", "{plan}")},     // a saved plan
		{command: "status", run: simpleRun("status")},
		{command: "status entra", run: afterSetup("status", "entra", "--debug")},
		{command: "status entra", run: afterSetup("status", "entra", "--debug", "--output", "json")},
		{command: "rotate-secret", run: simpleRun("rotate-secret")},
		{command: "rotate-secret entra", run: runRotation},
		{command: "restart", run: simpleRun("restart")},
		{command: "restart entra", run: afterSetup("restart", "entra", "--debug", "--yes")},
		{command: "restart entra", run: afterSetup("restart", "entra", "--debug", "--dry-run", "--output", "json")},
		{command: "roles", run: simpleRun("roles")},
		{command: "roles entra", run: viaAPIThen("roles", "--owner", "adele.vance@{domain}", "--admin", "admin@{domain}")},
		{command: "teardown", run: simpleRun("teardown")},
		{command: "teardown entra", run: viaAPIThen("teardown")},
		{command: "provision", run: simpleRun("provision")},
		{command: "provision entra", run: afterSetup("provision", "entra", "--debug", "--yes", "--group", "Smallstep Users", "--user", "grady.archie@contoso.onmicrosoft.com")},
		{command: "provision entra", run: afterSetup("provision", "entra", "--debug", "--dry-run", "--output", "json", "--user", "adele.vance@contoso.onmicrosoft.com")},
		{command: "sandbox", run: runSandbox},
		{command: "version", run: simpleRun("version")},
		{command: "help", run: simpleRun("help", "setup", "entra")},
		completion("bash"), completion("zsh"), completion("fish"), completion("powershell"),
	}
}

// TestNoSecretAnywhere runs every command with --debug against a simulated tenant and looks for every secret
// the run handled (access token, SCIM token, backend token, client secret, the sandbox's admin token) in its
// arguments, stdout, stderr and the files it wrote: zero hits, but for the tokens `idpctl sandbox` is there to
// print.
func TestNoSecretAnywhere(t *testing.T) {
	ios, _, _, _ := wizard.Test()
	root := NewRootCmd(&factory{IO: ios, Getenv: getenvFrom(nil)})
	for _, row := range secretRows() {
		t.Run(row.command, func(t *testing.T) {
			tn := newTenant(t)
			r := row.run(t, tn)
			if c, _, err := root.Find(strings.Fields(row.command)); err == nil && c.Flags().Lookup("debug") != nil && !slices.Contains(r.args, "--debug") {
				t.Errorf("idpctl %s has --debug: run it with --debug, the most it ever logs", row.command)
			}
			for name, s := range r.secrets {
				if len(s) < 8 {
					t.Fatalf("the test has no %s to look for (%q)", name, s)
				}
				for _, a := range r.args {
					if strings.Contains(a, s) {
						t.Errorf("the process's arguments hold the %s: %q", name, r.args)
					}
				}
				if strings.Contains(r.stderr, s) {
					t.Errorf("stderr shows the %s", name)
				}
				stdout := r.stdout
				if slices.Contains(r.banner, name) {
					stdout = regexp.MustCompile(`(?m)^export IDPCTL_[A-Z_]+=\S+$`).ReplaceAllString(stdout, "")
				}
				if strings.Contains(stdout, s) {
					t.Errorf("stdout shows the %s", name)
				}
				for path, content := range r.files {
					if strings.Contains(content, s) {
						t.Errorf("%s holds the %s", path, name)
					}
				}
			}
		})
	}
}

// TestEveryCommandHasASecretRow: every command a person can run (every `entra` subcommand of every verb
// included) is in secretRows, and runs there with --debug if it has the flag.
func TestEveryCommandHasASecretRow(t *testing.T) {
	ios, _, _, _ := wizard.Test()
	root := NewRootCmd(&factory{IO: ios, Getenv: getenvFrom(nil)})
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	rows := map[string]bool{}
	for _, r := range secretRows() {
		rows[r.command] = true
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if !c.Runnable() || c.Hidden || c == root {
			return
		}
		path := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		if !rows[path] {
			t.Errorf("idpctl %s has no row in secretRows (cmd/secrets_test.go): add one that runs it as a user would", path)
		}
	}
	walk(root)
}

// runSetup runs a scripted setup against tn with every secret in the environment, as `idpctl sandbox` suggests.
func runSetup(t *testing.T, tn *tenant, extra ...string) secretRun {
	t.Helper()
	env := tn.env()
	env["IDPCTL_SANDBOX_ADMIN_TOKEN"] = tn.sb.AdminToken.Reveal()
	args := tn.manual(append([]string{"--non-interactive", "--yes"}, extra...)...)
	if slices.Contains(extra, "http") {
		args = tn.viaAPI(append([]string{"--non-interactive", "--yes"}, extra...)...)
	}
	o := tn.run(invocation{env: env}, args...)
	if o.code != 0 {
		t.Fatalf("%v", o)
	}
	r := secretRun{args: args, stdout: o.stdout, stderr: o.stderr, files: map[string]string{}, secrets: map[string]string{
		"access token": tn.sb.AccessToken.Reveal(), "SCIM token": tn.sb.SCIMToken.Reveal(),
		"backend token": tn.sb.BackendToken.Reveal(), "sandbox admin token": tn.sb.AdminToken.Reveal(),
	}}
	err := filepath.WalkDir(tn.stateDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		r.files[path] = string(raw)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, reg := range tn.sb.Backend.Registrations() {
		r.secrets[fmt.Sprintf("client secret of registration %d", i+1)] = reg.ClientSecret.Reveal()
		r.secrets[fmt.Sprintf("SCIM token of registration %d", i+1)] = reg.SCIMToken.Reveal()
	}
	if s, err := backend.ReadSecretFile(tn.secretOut); err == nil {
		r.secrets["client secret in --secret-out"] = s.Reveal()
	}
	if !slices.Contains(extra, "--dry-run") && !slices.ContainsFunc(slices.Collect(maps.Keys(r.secrets)), func(k string) bool { return strings.HasPrefix(k, "client secret") }) {
		t.Fatalf("the run handed out no client secret: %v", slices.Sorted(maps.Keys(r.secrets)))
	}
	return r
}

// afterSetup runs a day-2 command (args, e.g. "status", "entra", "--debug") on the tenant a setup has just
// connected, in the same state directory; the secrets are the setup's too, since the state and the tenant hold
// what it did.
func afterSetup(args ...string) func(*testing.T, *tenant) secretRun {
	return func(t *testing.T, tn *tenant) secretRun {
		setup := runSetup(t, tn)
		args := append(append([]string{}, args...), "--graph-url", tn.sb.GraphURL, "--auth", "token", "--tenant-id", tn.sb.TenantID,
			"--state-dir", tn.stateDir, "--non-interactive")
		env := tn.env()
		env["IDPCTL_SANDBOX_ADMIN_TOKEN"] = tn.sb.AdminToken.Reveal()
		o := tn.run(invocation{env: env}, args...)
		if o.code != 0 {
			t.Fatalf("%v", o)
		}
		r := secretRun{args: args, stdout: o.stdout, stderr: o.stderr, files: map[string]string{}, secrets: setup.secrets}
		for path := range setup.files {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			r.files[path] = string(raw)
		}
		return r
	}
}

// runRotation rotates the client secret of a setup done through the backend's API, with --debug; the new
// secret the backend now holds is one more to look for.
func runRotation(t *testing.T, tn *tenant) secretRun {
	setup := runSetup(t, tn, "--backend", "http")
	args := tn.day2("rotate-secret", "--debug", "--yes", "--non-interactive")
	o := tn.run(invocation{}, args...)
	if o.code != 0 {
		t.Fatalf("rotate-secret: %v", o)
	}
	r := secretRun{args: args, stdout: o.stdout, stderr: o.stderr, files: map[string]string{}, secrets: setup.secrets}
	for path := range setup.files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r.files[path] = string(raw)
	}
	regs := tn.sb.Backend.Registrations()
	if len(regs) != 1 || regs[0].SecretRotations != 1 {
		t.Fatalf("backend registrations after rotation: %+v", regs)
	}
	r.secrets["rotated client secret"] = regs[0].ClientSecret.Reveal()
	return r
}

// viaAPIThen runs a day-2 command (args after "entra", with --debug added) on a setup done through the backend's
// API. The setup's files are looked at as the command leaves them (teardown removes the state file).
func viaAPIThen(command string, args ...string) func(*testing.T, *tenant) secretRun {
	return func(t *testing.T, tn *tenant) secretRun {
		setup := runSetup(t, tn, "--backend", "http")
		all := tn.day2(command, "--debug", "--yes", "--non-interactive")
		for _, a := range args {
			all = append(all, strings.ReplaceAll(a, "{domain}", tn.sb.Tenant.Domain()))
		}
		o := tn.run(invocation{}, all...)
		if o.code != 0 {
			t.Fatalf("%s: %v", command, o)
		}
		r := secretRun{args: all, stdout: o.stdout, stderr: o.stderr, files: map[string]string{}, secrets: setup.secrets}
		for path := range setup.files {
			if raw, err := os.ReadFile(path); err == nil {
				r.files[path] = string(raw)
			}
		}
		return r
	}
}

// simpleRun runs a command that needs no tenant, with every secret of a sandbox in its environment.
func simpleRun(args ...string) func(*testing.T, *tenant) secretRun {
	return func(t *testing.T, tn *tenant) secretRun {
		env := tn.env()
		env["IDPCTL_SANDBOX_ADMIN_TOKEN"] = tn.sb.AdminToken.Reveal()
		o := execute(t, invocation{env: env}, args...)
		if o.code != 0 {
			t.Fatalf("%v", o)
		}
		return secretRun{args: args, stdout: o.stdout, stderr: o.stderr, secrets: map[string]string{
			"access token": tn.sb.AccessToken.Reveal(), "SCIM token": tn.sb.SCIMToken.Reveal(),
			"backend token": tn.sb.BackendToken.Reveal(), "sandbox admin token": tn.sb.AdminToken.Reveal(),
		}}
	}
}

// runSandbox runs `idpctl sandbox` until it has printed its banner, then stops it as Ctrl-C would. Its secrets
// are the tokens of the sandbox it started, read from its own export lines.
func runSandbox(t *testing.T, _ *tenant) secretRun {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ios, _, _, errOut := wizard.Test()
	pr, pw := io.Pipe()
	ios.Out = pw
	root := NewRootCmd(&factory{IO: ios, Getenv: getenvFrom(nil)})
	args := []string{"sandbox"}
	root.SetArgs(args)
	done := make(chan error, 1)
	go func() {
		err := root.ExecuteContext(ctx)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	var stdout strings.Builder
	secrets := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		stdout.WriteString(line + "\n")
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasPrefix(line, "export ") {
			secrets[k] = v
		}
		if strings.HasPrefix(line, "and read the SaaS:") {
			break
		}
	}
	cancel()
	go io.Copy(io.Discard, pr)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("idpctl sandbox: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("idpctl sandbox did not stop")
	}
	if len(secrets) < 4 {
		t.Fatalf("idpctl sandbox printed %d tokens:\n%s", len(secrets), stdout.String())
	}
	return secretRun{args: args, stdout: stdout.String(), stderr: errOut.String(), secrets: secrets, banner: slices.Collect(maps.Keys(secrets))}
}

// secretFlag matches flag names that would take a credential as their value.
var secretFlag = regexp.MustCompile(`(?i)(secret|token|password|passwd|credential|api-?key|private-?key|bearer)`)

// TestNoFlagTakesASecret: a secret on the command line is visible to every user of the machine (ps, shell
// history, CI logs), so secrets come from the environment or files only. A flag whose name speaks of a secret
// must name a file (…-file, …-out) or a lifetime, and take no secret itself.
func TestNoFlagTakesASecret(t *testing.T) {
	ios, _, _, _ := wizard.Test()
	root := NewRootCmd(&factory{IO: ios, Getenv: getenvFrom(nil)})
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		visit := func(f *pflag.Flag) {
			if !secretFlag.MatchString(f.Name) || f.Value.Type() == "bool" {
				return
			}
			switch {
			case strings.HasSuffix(f.Name, "-file"), strings.HasSuffix(f.Name, "-out"), strings.HasSuffix(f.Name, "-expiry"):
			default:
				t.Errorf("idpctl %s --%s looks like it takes a secret as its value: read it from an IDPCTL_ variable or a file instead",
					c.CommandPath(), f.Name)
			}
		}
		c.LocalFlags().VisitAll(visit)
		c.PersistentFlags().VisitAll(visit)
	}
	walk(root)
}
