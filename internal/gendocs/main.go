// Command gendocs writes idpctl's man pages and shell completions for release archives:
//
//	go run ./internal/gendocs -out . -date 1764547200   # ./manpages/*.1 and ./completions/idpctl.{bash,zsh,fish,ps1}
//
// It is a separate program rather than a hidden idpctl command so that the man page generator (cobra/doc and
// its Markdown-to-roff converter) is never linked into the idpctl binary, and the command surface users see
// stays what it documents. The pages carry the date -date gives (Unix seconds; goreleaser passes the commit
// time) or else SOURCE_DATE_EPOCH's, so that a release rebuilds byte for byte.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra/doc"

	"github.com/idpctl/idpctl/cmd"
)

func main() {
	out := flag.String("out", ".", "directory to write manpages/ and completions/ into")
	date := flag.Int64("date", 0, "date of the man pages in Unix seconds (default: SOURCE_DATE_EPOCH, else now)")
	flag.Parse()
	header := &doc.GenManHeader{Title: "IDPCTL", Section: "1", Source: "idpctl", Manual: "idpctl manual"}
	if *date > 0 {
		t := time.Unix(*date, 0).UTC()
		header.Date = &t
	}
	if err := generate(*out, header); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func generate(out string, header *doc.GenManHeader) error {
	man, completions := filepath.Join(out, "manpages"), filepath.Join(out, "completions")
	for _, dir := range []string{man, completions} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	root := cmd.DocsTree()
	if err := doc.GenManTree(root, header, man); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	for file, gen := range map[string]func(string) error{
		"idpctl.bash": func(f string) error { return root.GenBashCompletionFileV2(f, true) },
		"idpctl.zsh":  root.GenZshCompletionFile,
		"idpctl.fish": func(f string) error { return root.GenFishCompletionFile(f, true) },
		"idpctl.ps1":  root.GenPowerShellCompletionFileWithDesc,
	} {
		if err := gen(filepath.Join(completions, file)); err != nil {
			return fmt.Errorf("completion %s: %w", file, err)
		}
	}
	return nil
}
