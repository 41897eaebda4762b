// Package docs holds no code: its test checks the project's text (documentation and comments) as a whole.
package docs

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// privateNotes matches citations of the team's working notes, which the repository does not ship: their file
// names, their section numbers and their source abbreviations (S1, S12, …). Comments cite the public page
// instead (docs/architecture.md, "Sources cited in comments"). The pattern is assembled from pieces so that this
// file does not match itself.
var privateNotes = regexp.MustCompile(`graph-api\.md|scim-entra-` + `behaviour|DESIGN` + `\.md|\.\./shared/|/work/` +
	`shared|reference ` + `§|(DOCS|ENTRA) S[0-9]`)

// TestNoCitationOfPrivateNotes: no tracked file of the repository points a reader at material outside it (fuzz
// corpora are data, not text). It lives here rather than in the root package so that checking text does not link
// the Graph SDK.
func TestNoCitationOfPrivateNotes(t *testing.T) {
	files := projectFiles(t)
	if len(files) < 100 {
		t.Fatalf("found %d files; the listing did not start at the repository root", len(files))
	}
	for _, path := range files {
		if strings.Contains(path, "testdata/fuzz/") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("..", path))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range bytes.Split(raw, []byte("\n")) {
			if m := privateNotes.Find(line); m != nil {
				t.Errorf("%s:%d cites %q, which the repository does not ship; cite the public page (docs/architecture.md)",
					path, i+1, m)
			}
		}
	}
}

// projectFiles lists the files git tracks, so that an engineer's untracked scratch files do not count; outside a
// git checkout (a source archive) every regular text file but the .gitignore'd output is listed instead.
func projectFiles(t *testing.T) []string {
	if out, err := exec.Command("git", "-C", "..", "ls-files", "-z").Output(); err == nil {
		return strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	}
	ignored := map[string]bool{"dist": true, "manpages": true, "completions": true}
	var files []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		if d.IsDir() && ignored[rel] {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(raw, 0) < 0 { // not a binary (a built idpctl, a *.test)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
