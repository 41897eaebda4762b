package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Build information, set by goreleaser through -ldflags "-X github.com/idpctl/idpctl/cmd.version=...". They are
// variables only because -X needs one; nothing assigns them at run time. Use currentBuild, which falls back to
// the module version Go records in the binary when the link flags were not given (go install, go build).
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// buildInfo is what this binary knows about itself.
type buildInfo struct {
	Version string // v1.2.3 from a release or `go install ...@v1.2.3`; a pseudo-version; or "dev"
	Commit  string // "none" when unknown
	Date    string // "unknown" when unknown
}

// currentBuild is the running binary's build information.
func currentBuild() buildInfo {
	return resolveBuild(buildInfo{Version: version, Commit: commit, Date: date}, debug.ReadBuildInfo)
}

// resolveBuild prefers the link flags (a release build sets all three) and otherwise reads what the Go
// toolchain embedded: the module version for `go install github.com/idpctl/idpctl@v1.2.3`, and the VCS
// revision and time for a build inside a git checkout.
func resolveBuild(linked buildInfo, read func() (*debug.BuildInfo, bool)) buildInfo {
	if linked.Version != "dev" {
		return linked
	}
	b := linked
	info, ok := read()
	if !ok || info == nil {
		return b
	}
	// "(devel)" is what Go records for the main module built from its own directory: no version to report.
	if v := info.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			b.Date = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision != "" {
		b.Commit = revision[:min(len(revision), 12)]
		if modified == "true" {
			b.Commit += "-dirty" // built with uncommitted changes: the commit alone does not say what is in it
		}
	}
	return b
}

// String is the line `idpctl version` and `idpctl --version` print: "idpctl v1.2.3 (commit 0123abcd4567,
// built 2026-11-30T10:00:00Z)", leaving out what the build does not know.
func (b buildInfo) String() string {
	var known []string
	if b.Commit != "none" && b.Commit != "" {
		known = append(known, "commit "+b.Commit)
	}
	if b.Date != "unknown" && b.Date != "" {
		known = append(known, "built "+b.Date)
	}
	if len(known) == 0 {
		return "idpctl " + b.Version
	}
	return fmt.Sprintf("idpctl %s (%s)", b.Version, strings.Join(known, ", "))
}

// UserAgent is the product token idpctl sends on every request: "idpctl/v1.2.3 (go1.26.8; linux/amd64)".
// Microsoft asks ISV applications to identify their traffic with a User-Agent that names the product and its
// version, and gives identified traffic priority over anonymous traffic when it throttles ("How to decorate
// your HTTP traffic",
// https://learn.microsoft.com/sharepoint/dev/general-development/how-to-avoid-getting-throttled-or-blocked-in-sharepoint-online#how-to-decorate-your-http-traffic).
// It also lets a SaaS operator tell idpctl's requests apart in their logs.
func (b buildInfo) UserAgent() string {
	// A User-Agent product version is an HTTP token (RFC 9110 §10.1.5): no spaces or separators.
	v := strings.Map(func(r rune) rune {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) {
			return '_'
		}
		return r
	}, b.Version)
	return fmt.Sprintf("idpctl/%s (%s; %s/%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), currentBuild())
			return err
		},
	}
}
