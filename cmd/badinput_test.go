package cmd

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/bad-input.md from the messages the commands give today")

// badInput is one mistake a person or script can make, and how it is made.
type badInput struct {
	input string            // as the docs show it
	args  []string          // flags after the valid ones; a later flag overrides an earlier one
	drop  []string          // valid flags to leave out
	env   map[string]string // added to (or, with "", removed from) the valid environment
	file  string            // content of a file that {file} in args names
}

// badInputs are the rows of docs/bad-input.md, in its order.
func badInputs() []badInput {
	return []badInput{
		{input: "`--tenant-id contoso`", args: []string{"--tenant-id", "contoso"}},
		{input: "`--app-id 12345`", args: []string{"--app-id", "12345"}},
		{input: "`--app-name \"\"`", args: []string{"--app-name", ""}},
		{input: "`--app-name \" Smallstep\"`", args: []string{"--app-name", " Smallstep"}},
		{input: "no `--assign-group` or `--assign-user`", drop: []string{"--assign-group"}},
		{input: "`--assign-group \"\"`", drop: []string{"--assign-group"}, args: []string{"--assign-group", ""}},
		{input: "`--assign-group \"No Such Group\"`", drop: []string{"--assign-group"}, args: []string{"--assign-group", "No Such Group"}},
		{input: "`--assign-group \"x' or 1 eq 1 or displayName eq 'y\"`", drop: []string{"--assign-group"}, args: []string{"--assign-group", "x' or 1 eq 1 or displayName eq 'y"}},
		{input: "`--assign-user nobody@contoso.onmicrosoft.com`", drop: []string{"--assign-group"}, args: []string{"--assign-user", "nobody@contoso.onmicrosoft.com"}},
		{input: "`--redirect-uri http://example.com/callback`", args: []string{"--redirect-uri", "http://example.com/callback"}},
		{input: "`--redirect-uri https://*.example.com/callback`", args: []string{"--redirect-uri", "https://*.example.com/callback"}},
		{input: "`--scim-url scim.example.com/scim/v2`", args: []string{"--scim-url", "scim.example.com/scim/v2"}},
		{input: "`--scim-url http://scim.example.com/scim/v2`", args: []string{"--scim-url", "http://scim.example.com/scim/v2"}},
		{input: "`--scim-url https://user:password@scim.example.com/scim/v2`", args: []string{"--scim-url", "https://user:password@scim.example.com/scim/v2"}},
		{input: "`--scim-url https://scim.example.com/scim/v2/Users`", args: []string{"--scim-url", "https://scim.example.com/scim/v2/Users"}},
		{input: "`--scim-url https://scim.example.com/scim/v2#users`", args: []string{"--scim-url", "https://scim.example.com/scim/v2#users"}},
		{input: "no SCIM token (`--backend manual`)", env: map[string]string{"IDPCTL_SCIM_TOKEN": ""}},
		{input: "`IDPCTL_SCIM_TOKEN=\"Bearer <token>\"`", env: map[string]string{"IDPCTL_SCIM_TOKEN": "Bearer scim-0123456789abcdef"}},
		{input: "`IDPCTL_SCIM_TOKEN` with a space inside", env: map[string]string{"IDPCTL_SCIM_TOKEN": "scim-01234 56789abcdef"}},
		{input: "`IDPCTL_SCIM_TOKEN` with a typographic quote", env: map[string]string{"IDPCTL_SCIM_TOKEN": "\u201cscim-0123456789abcdef\u201d"}},
		{input: "`--scim-token-file` that does not exist", env: map[string]string{"IDPCTL_SCIM_TOKEN": ""}, args: []string{"--scim-token-file", "/nonexistent/scim-token.txt"}},
		{input: "`--scim-token-file` holding two lines", env: map[string]string{"IDPCTL_SCIM_TOKEN": ""}, args: []string{"--scim-token-file", "{file}"}, file: "scim-0123456789abcdef\nsecond line\n"},
		{input: "`IDPCTL_SCIM_TOKEN` and `--scim-token-file` both", args: []string{"--scim-token-file", "{file}"}, file: "scim-0123456789abcdef\n"},
		{input: "no `--secret-out` (`--backend manual`)", drop: []string{"--secret-out"}},
		{input: "`--backend ftp`", args: []string{"--backend", "ftp"}},
		{input: "`--backend http` without `--backend-url`", drop: []string{"--scim-url"}, env: map[string]string{"IDPCTL_SCIM_TOKEN": ""}, args: []string{"--backend", "http"}},
		{input: "`--backend http` without `IDPCTL_BACKEND_TOKEN`", drop: []string{"--scim-url"}, env: map[string]string{"IDPCTL_SCIM_TOKEN": "", "IDPCTL_BACKEND_TOKEN": ""}, args: []string{"--backend", "http", "--backend-url", "https://api.example.com"}},
		{input: "`--backend-url https://api.example.com?x=1`", drop: []string{"--scim-url"}, env: map[string]string{"IDPCTL_SCIM_TOKEN": ""}, args: []string{"--backend", "http", "--backend-url", "https://api.example.com?x=1"}},
		{input: "`--secret-expiry 3y`", args: []string{"--secret-expiry", "3y"}},
		{input: "`--secret-expiry forever`", args: []string{"--secret-expiry", "forever"}},
		{input: "`IDPCTL_SECRET_EXPIRY=forever`", env: map[string]string{"IDPCTL_SECRET_EXPIRY": "forever"}},
		{input: "`--output yaml`", args: []string{"--output", "yaml"}},
		{input: "`--detailed-exitcode` without `--dry-run`", args: []string{"--detailed-exitcode"}},
		{input: "`--cloud mars`", args: []string{"--cloud", "mars"}},
		{input: "`--auth password`", args: []string{"--auth", "password"}},
		{input: "`--graph-url http://graph.example.com/v1.0`", args: []string{"--graph-url", "http://graph.example.com/v1.0"}},
		{input: "`--timeout soon`", args: []string{"--timeout", "soon"}},
		{input: "`IDPCTL_DRY_RUN=perhaps`", env: map[string]string{"IDPCTL_DRY_RUN": "perhaps"}},
		{input: "`--tenant 72f988bf-...` (a mistyped flag)", args: []string{"--tenant", "72f988bf-86f1-41af-91ab-2d7cd011db47"}},
		{input: "`-tenant-id 72f988bf-...` (one dash)", args: []string{"-tenant-id", "72f988bf-86f1-41af-91ab-2d7cd011db47"}},
		{input: "`--bogus`", args: []string{"--bogus"}},
		{input: "a stray argument (`Smallstep Users` without `--assign-group`)", args: []string{"Smallstep Users"}},
	}
}

// TestBadInputTable runs each mistake through the whole command against a simulated tenant and checks that it
// is refused as bad usage (exit 2) before any write, with the message docs/bad-input.md shows for it. After a
// deliberate change of a message: go test ./cmd -run TestBadInputTable -update.
func TestBadInputTable(t *testing.T) {
	tn := newTenant(t)
	dir := t.TempDir()
	valid := []string{"--tenant-id", tn.sb.TenantID, "--assign-group", "Smallstep Users", "--scim-url", tn.sb.SCIMURL, "--secret-out", tn.secretOut}
	placeholders := strings.NewReplacer(tn.sb.TenantID, "<tenant-id>", dir, "<dir>", tn.sb.GraphURL, "<graph-url>", tn.sb.SCIMURL, "<scim-url>")

	var table strings.Builder
	table.WriteString("| input | message (exit code 2) |\n|---|---|\n")
	for i, c := range badInputs() {
		var given []string
		for j := 0; j < len(valid); j += 2 {
			if !slices.Contains(c.drop, valid[j]) {
				given = append(given, valid[j], valid[j+1])
			}
		}
		file := filepath.Join(dir, fmt.Sprintf("input-%d", i))
		if c.file != "" {
			if err := os.WriteFile(file, []byte(c.file), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for _, a := range c.args {
			given = append(given, strings.ReplaceAll(a, "{file}", file))
		}
		env := tn.env()
		for k, v := range c.env {
			env[k] = v
		}
		args := append([]string{"setup", "entra", "--graph-url", tn.sb.GraphURL, "--auth", "token", "--state-dir", tn.stateDir,
			"--non-interactive", "--yes"}, given...)
		tn.reset()
		o := tn.run(invocation{env: env}, args...)
		if o.code != exitUsage || o.err == nil {
			t.Errorf("%s: %v; want exit 2", c.input, o)
			continue
		}
		tn.noWrites(c.input)
		msg := placeholders.Replace(strings.ReplaceAll(o.err.Error(), file, "<file>"))
		fmt.Fprintf(&table, "| %s | %s |\n", c.input, markdownCell(msg))
	}

	path := filepath.Join("..", "docs", "bad-input.md")
	doc, err := os.ReadFile(path)
	if err != nil && !*updateDocs {
		t.Fatal(err)
	}
	const begin, end = "<!-- table: generated by go test ./cmd -run TestBadInputTable -update -->\n", "<!-- end of table -->\n"
	head, rest, ok := strings.Cut(string(doc), begin)
	_, tail, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("%s has no generated table between %q and %q", path, begin, end)
	}
	want := head + begin + table.String() + end + tail
	if want == string(doc) {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with the messages the commands give; run go test ./cmd -run TestBadInputTable -update and review the diff", path)
}

// markdownCell keeps a message in one table cell: pipes escaped, line breaks as <br>.
func markdownCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "<br>")
}
