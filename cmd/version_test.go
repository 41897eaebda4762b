package cmd

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolveBuild(t *testing.T) {
	unset := buildInfo{Version: "dev", Commit: "none", Date: "unknown"}
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	cases := []struct {
		name   string
		linked buildInfo
		info   *debug.BuildInfo
		want   string
	}{
		{"release build: the link flags win over the build info",
			buildInfo{Version: "v1.4.0", Commit: "0123abc", Date: "2026-12-01T10:00:00Z"},
			&debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}},
			"idpctl v1.4.0 (commit 0123abc, built 2026-12-01T10:00:00Z)"},
		{"go install github.com/idpctl/idpctl@v1.2.3", unset,
			&debug.BuildInfo{Main: debug.Module{Path: "github.com/idpctl/idpctl", Version: "v1.2.3"}},
			"idpctl v1.2.3"},
		{"go install ...@main: a pseudo-version", unset,
			&debug.BuildInfo{Main: debug.Module{Path: "github.com/idpctl/idpctl", Version: "v0.0.0-20261130101500-0123456789ab"}},
			"idpctl v0.0.0-20261130101500-0123456789ab"},
		{"go build in a clean checkout", unset,
			&debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
				Settings: settings("vcs", "git", "vcs.revision", "0123456789abcdef0123", "vcs.time", "2026-11-30T10:15:00Z", "vcs.modified", "false")},
			"idpctl dev (commit 0123456789ab, built 2026-11-30T10:15:00Z)"},
		{"go build with uncommitted changes", unset,
			&debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
				Settings: settings("vcs.revision", "0123456789abcdef0123", "vcs.time", "2026-11-30T10:15:00Z", "vcs.modified", "true")},
			"idpctl dev (commit 0123456789ab-dirty, built 2026-11-30T10:15:00Z)"},
		{"no build info (stripped of it)", unset, nil, "idpctl dev"},
	}
	for _, c := range cases {
		read := func() (*debug.BuildInfo, bool) { return c.info, c.info != nil }
		if got := resolveBuild(c.linked, read).String(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func TestUserAgent(t *testing.T) {
	platform := " (" + runtime.Version() + "; " + runtime.GOOS + "/" + runtime.GOARCH + ")"
	for version, want := range map[string]string{
		"v1.2.3":                             "idpctl/v1.2.3",
		"dev":                                "idpctl/dev",
		"v0.0.0-20261130101500-0123456789ab": "idpctl/v0.0.0-20261130101500-0123456789ab",
		"v1.2.3+dirty":                       "idpctl/v1.2.3+dirty",
		"1.0 (custom)":                       "idpctl/1.0__custom_", // -X cmd.version with a space must not break the header
	} {
		got := buildInfo{Version: version}.UserAgent()
		if got != want+platform {
			t.Errorf("version %q: User-Agent %q, want %q", version, got, want+platform)
		}
		if strings.ContainsAny(got[:strings.Index(got, " ")], "()") {
			t.Errorf("version %q: product token %q holds a separator", version, got)
		}
	}
}
