package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/idpctl/idpctl/cmd"
)

// TestGenerate: a man page for every command, the four completions, nothing of the build machine in them, and
// the same bytes twice (SOURCE_DATE_EPOCH fixes the date).
func TestGenerate(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1764547200")
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if err := generate(dir, &doc.GenManHeader{Title: "IDPCTL", Section: "1"}); err != nil {
			t.Fatal(err)
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() || c.Name() == "help" { // cobra writes no page for help, as for hidden commands
			return
		}
		page := filepath.Join("manpages", strings.ReplaceAll(c.CommandPath(), " ", "-")+".1")
		raw, err := os.ReadFile(filepath.Join(a, page))
		if err != nil {
			t.Errorf("no man page for %s: %v", c.CommandPath(), err)
		}
		if other, _ := os.ReadFile(filepath.Join(b, page)); string(other) != string(raw) {
			t.Errorf("%s differs between two runs", page)
		}
		if home, _ := os.UserHomeDir(); home != "" && home != "/" && strings.Contains(string(raw), home) {
			t.Errorf("%s shows the build machine's home %s", page, home)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cmd.DocsTree())
	for _, f := range []string{"idpctl.bash", "idpctl.zsh", "idpctl.fish", "idpctl.ps1"} {
		raw, err := os.ReadFile(filepath.Join(a, "completions", f))
		if err != nil || !strings.Contains(string(raw), "idpctl") {
			t.Errorf("completion %s: %v, %d bytes", f, err, len(raw))
		}
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		if out, err := exec.Command(bash, "-n", filepath.Join(a, "completions", "idpctl.bash")).CombinedOutput(); err != nil {
			t.Errorf("bash -n idpctl.bash: %v\n%s", err, out)
		}
	}
}
