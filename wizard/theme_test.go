package wizard

import (
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
)

// Long lines break at spaces, continuation lines indented two more than the line; a word longer than the
// line is split rather than left sticking out; colours survive.
func TestWrapLines(t *testing.T) {
	in := "      redirect URI = \"https://api.smallstep.com/auth/openid/callback\"\nshort"
	want := "      redirect URI =\n        \"https://api.\n        smallstep.com/\n        auth/openid/\n        callback\"\nshort"
	if got := wrapLines(in, 24); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// A UPN that fits a line goes whole onto the next one.
	signedIn := "Signed in as admin@contoso.onmicrosoft.com (Alex Wilber) in tenant Contoso"
	if got, want := wrapLines(signedIn, 40), "Signed in as\n  admin@contoso.onmicrosoft.com (Alex\n  Wilber) in tenant Contoso"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// A word that fits the line only without the hanging indent is not cut: the line hangs no more.
	tenant := "in tenant Contoso (43ac34e0-496d-4156-82a7-d488a76c0ef9): role Global Administrator"
	if got, want := wrapLines(tenant, 40), "in tenant Contoso\n(43ac34e0-496d-4156-82a7-d488a76c0ef9):\nrole Global Administrator"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// A quoted value that fits a line goes whole onto the next one.
	if got, want := wrapProse(`  created client secret "idpctl 2026-12-07"`, 36), "  created client secret\n    \"idpctl 2026-12-07\""; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	colored := theme{color: true}.good("+ assignment \"user grady.archie@contoso.onmicrosoft.com\"")
	for _, line := range splitLines(wrapLines(colored, 30)) {
		if w := lipgloss.Width(line); w > 30 {
			t.Errorf("line of %d columns: %q", w, line)
		}
	}
}

func splitLines(s string) []string { return strings.Split(s, "\n") }
