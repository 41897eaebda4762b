package cmd

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/idpctl/idpctl/steps"
)

// The documentation states facts the program defines: JSON keys, exit codes, flags, environment variables and
// commands. These tests read docs/ and README.md and fail when the two disagree, so the docs cannot drift.

// TestScriptingDocJSON: the JSON keys docs/scripting.md documents are exactly those the program writes, for the
// setup result, its steps and users, and the status report's top level, with the documented type, and
// "optional" exactly for the keys left out when empty.
func TestScriptingDocJSON(t *testing.T) {
	// The key tables are the runs of rows whose first cell is a `key`: | `key` | type | what |.
	row := regexp.MustCompile("^\\| `([A-Za-z]+)` \\| ([^|]+) \\|")
	var tables [][][]string
	in := false
	for _, line := range docLines(t, "../docs/scripting.md") {
		m := row.FindStringSubmatch(line)
		switch {
		case m != nil && in:
			tables[len(tables)-1] = append(tables[len(tables)-1], m[1:])
		case m != nil:
			tables, in = append(tables, [][]string{m[1:]}), true
		default:
			in = false
		}
	}
	want := []struct {
		what string
		typ  reflect.Type
	}{
		{"setup's result", reflect.TypeFor[steps.Result]()},
		{"each of steps", reflect.TypeFor[steps.StepReport]()},
		{"each of users", reflect.TypeFor[steps.UserResult]()},
		{"status's report", reflect.TypeFor[steps.Health]()},
	}
	if len(tables) != len(want) {
		t.Fatalf("docs/scripting.md has %d key tables, want %d (%v)", len(tables), len(want), tables)
	}
	for i, w := range want {
		fields := jsonFields(w.typ)
		var documented []string
		for _, r := range tables[i] {
			key, doc := r[0], strings.TrimSpace(r[1])
			documented = append(documented, key)
			f, ok := fields[key]
			if !ok {
				continue // reported below with the full lists
			}
			if kind := jsonKind(f.Type); !strings.HasPrefix(doc, kind) {
				t.Errorf("%s: docs/scripting.md says `%s` is %q; the program writes %s", w.what, key, doc, kind)
			}
			_, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if omit := slices.Contains(strings.Split(opts, ","), "omitempty"); omit != strings.Contains(doc, "optional") {
				t.Errorf("%s: `%s` is documented as %q but omitempty is %v", w.what, key, doc, omit)
			}
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range fields {
				if !yield(k) {
					return
				}
			}
		})
		if slices.Sort(documented); !slices.Equal(keys, documented) {
			t.Errorf("%s: the program writes %v, docs/scripting.md documents %v", w.what, keys, documented)
		}
	}
}

// jsonFields are the fields encoding/json writes for a struct type, by key.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	fields := map[string]reflect.StructField{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f
	}
	return fields
}

// jsonKind is the JSON type a Go type is written as, in the words of the docs' type column.
func jsonKind(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Time]() {
		return "string"
	}
	if t == reflect.TypeFor[steps.Report]() || t.Kind() == reflect.Slice {
		return "array"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "number"
	}
	return "object"
}

// TestScriptingDocExitCodes: the exit code table of docs/scripting.md lists exactly the exit codes cmd/root.go
// defines, and the codes the README names are among them.
func TestScriptingDocExitCodes(t *testing.T) {
	var documented []int
	in := false
	for _, line := range docLines(t, "../docs/scripting.md") {
		if strings.HasPrefix(line, "## ") {
			in = line == "## Exit codes"
			continue
		}
		cells := strings.Split(line, "|")
		if !in || len(cells) < 3 {
			continue
		}
		if code, err := strconv.Atoi(strings.TrimSpace(cells[1])); err == nil {
			documented = append(documented, code)
		}
	}
	defined := exitConstants(t)
	slices.Sort(documented)
	if !slices.Equal(defined, documented) {
		t.Errorf("cmd/root.go defines exit codes %v, docs/scripting.md documents %v", defined, documented)
	}
	readme := strings.Join(docLines(t, "../README.md"), "\n")
	_, codes, ok := strings.Cut(readme, "Exit codes:")
	if !ok {
		t.Fatal(`README.md no longer has "Exit codes:"`)
	}
	codes, _, _ = strings.Cut(codes, ".")
	for _, m := range regexp.MustCompile(`(?:^|, )(\d+) `).FindAllStringSubmatch(codes, -1) {
		if code, _ := strconv.Atoi(m[1]); !slices.Contains(defined, code) {
			t.Errorf("README.md names exit code %d, which cmd/root.go does not define (%v)", code, defined)
		}
	}
}

// exitConstants are the values of the exit* constants in root.go, read from the source so that a new one
// cannot be added without documenting it.
func exitConstants(t *testing.T) []int {
	t.Helper()
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "root.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []int
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			for i, name := range spec.(*ast.ValueSpec).Names {
				lit, ok := spec.(*ast.ValueSpec).Values[i].(*ast.BasicLit)
				if !strings.HasPrefix(name.Name, "exit") || !ok {
					continue
				}
				v, _ := constant.Int64Val(constant.MakeFromLiteral(lit.Value, lit.Kind, 0))
				codes = append(codes, int(v))
			}
		}
	}
	if len(codes) == 0 {
		t.Fatal("no exit* constants in root.go")
	}
	slices.Sort(codes)
	return codes
}

// TestDocsNameRealFlagsAndCommands: every --flag, IDPCTL_ variable and `idpctl command` that README.md and
// docs/*.md show exists. Variables are a flag's (--tenant-id ↔ IDPCTL_TENANT_ID) or one the code reads by name.
func TestDocsNameRealFlagsAndCommands(t *testing.T) {
	root := DocsTree()
	flags := map[string]bool{"help": true}
	envs := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			flags[f.Name] = true
			if _, skip := f.Annotations[noEnv]; !skip {
				envs[envName(f.Name)] = true
			}
		})
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { flags[f.Name] = true; envs[envName(f.Name)] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for name := range codeEnvNames(t) {
		envs[name] = true
	}

	docs, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	flagRE := regexp.MustCompile(`(?:^|[\s(\x60"])--([a-z][a-z0-9-]*[a-z0-9])`)
	envRE := regexp.MustCompile(`\bIDPCTL_[A-Z0-9_]*[A-Z0-9]\b`)
	// A command is idpctl at the start of a code span or line of a fenced block, after any VAR=value.
	commandRE := regexp.MustCompile(`^\s*(?:[A-Z0-9_]+=\S* )*idpctl((?: [a-z][a-z-]*[a-z])+)`)
	for _, doc := range append(docs, "../README.md") {
		name := strings.TrimPrefix(doc, "../")
		for i, line := range docLines(t, doc) {
			text := strings.TrimPrefix(line, "\x00")
			for _, m := range flagRE.FindAllStringSubmatch(text, -1) {
				// bad-input.md shows mistyped flags on purpose, each with the "unknown flag" answer.
				if !flags[m[1]] && !strings.Contains(text, "unknown flag --"+m[1]) {
					t.Errorf("%s:%d: --%s is not a flag of any idpctl command", name, i+1, m[1])
				}
			}
			for _, v := range envRE.FindAllString(text, -1) {
				if !envs[v] {
					t.Errorf("%s:%d: %s is neither a flag's variable nor one idpctl reads", name, i+1, v)
				}
			}
			for _, span := range codeSpans(line) {
				for _, m := range commandRE.FindAllStringSubmatch(span, -1) {
					words := strings.Fields(m[1])
					found, rest, err := root.Find(words)
					if err != nil || found == root || (len(rest) > 0 && found.HasSubCommands()) {
						t.Errorf("%s:%d: `idpctl %s` is not an idpctl command", name, i+1, strings.Join(words, " "))
					}
				}
			}
		}
	}
}

// codeSpans are the parts of a Markdown line in backticks, or the whole line inside a fenced block (the caller
// passes lines of fenced blocks with a leading "\x00", see docLines).
func codeSpans(line string) []string {
	if code, ok := strings.CutPrefix(line, "\x00"); ok {
		return []string{code}
	}
	parts := strings.Split(line, "`")
	var spans []string
	for i := 1; i < len(parts); i += 2 {
		spans = append(spans, parts[i])
	}
	return spans
}

// docLines are a Markdown file's lines; lines inside fenced code blocks start with "\x00".
func docLines(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	fenced := false
	for i, line := range lines {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			lines[i] = "\x00" + line
		}
	}
	return lines
}

// codeEnvNames are the IDPCTL_ variables the program's own source names (the secrets, which have no flag, and
// the sandbox's exports).
func codeEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	literal := regexp.MustCompile(`IDPCTL_[A-Z0-9_]*[A-Z0-9]`)
	names := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		raw, err := os.ReadFile(path)
		for _, name := range literal.FindAllString(string(raw), -1) {
			names[name] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
