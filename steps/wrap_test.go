package steps

import (
	"slices"
	"testing"
)

func TestWrapValue(t *testing.T) {
	const guid = `"563458bd-edc9-4eaf-93db-e0f02059a2b4"`
	for _, c := range []struct {
		value               string
		first, rest, widest int
		want                []string
	}{
		{`"short"`, 20, 30, 30, []string{`"short"`}},
		{`"AzureADMyOrg" -> "AzureADMultipleOrgs"`, 20, 30, 30, []string{`"AzureADMyOrg" ->`, `"AzureADMultipleOrgs"`}},
		{"(known after apply)", 10, 30, 30, []string{"", "(known after apply)"}},
		// A quoted value goes whole onto the next line, its space included.
		{`"file ./client-secret"`, 19, 32, 38, []string{"", `"file ./client-secret"`}},
		{`"false" -> "true"`, 10, 32, 38, []string{`"false" ->`, `"true"`}},
		// A GUID too wide for the indented column takes a wider line of its own, whole.
		{guid + ` -> (known after apply)`, 14, 32, 38, []string{"", guid, "-> (known after apply)"}},
		// A URL wider than any line breaks after its slashes, each piece whole: the GUID is not cut at a hyphen.
		{`"https://login.microsoftonline.com/3b321653-975d-483d-b6de-ef7ea74cbd99/v2.0/.well-known/openid-configuration"`, 14, 32, 38,
			[]string{`"https://`, "login.microsoftonline.com/", "3b321653-975d-483d-b6de-ef7ea74cbd99/", "v2.0/.well-known/", `openid-configuration"`}},
		// An expression breaks after its commas, never inside a quoted "False".
		{`"Switch([IsSoftDeleted], , \"False\", \"True\", \"True\", \"False\")"`, 10, 24, 24,
			[]string{"", `"Switch([IsSoftDeleted],`, `, \"False\", \"True\",`, `\"True\", \"False\")"`}},
		// A quoted list or sentence longer than a line breaks between its words, each whole.
		{`"diego.siciliani@contoso.onmicrosoft.com, grady.archie@contoso.onmicrosoft.com"`, 44, 44, 78,
			[]string{`"diego.siciliani@contoso.onmicrosoft.com,`, `grady.archie@contoso.onmicrosoft.com"`}},
		{`"the SCIM endpoint http://127.0.0.1:34661/scim/v2, and the provisioning logs"`, 30, 30, 38,
			[]string{`"the SCIM endpoint`, "http://127.0.0.1:34661/scim/v2,", "and the provisioning logs\""}},
		// A scheme's // stays whole, on the next line when the first has no room for it.
		{`"https://api.smallstep.com/auth/openid/callback"`, 8, 32, 38,
			[]string{"", `"https://api.smallstep.com/auth/`, `openid/callback"`}},
		// Only a piece wider than every line is cut, between letters or digits, not beside a hyphen.
		{"abcdefghijklmnopqrstuvwxyz", 10, 10, 10, []string{"", "abcdefghij", "klmnopqrst", "uvwxyz"}},
		{"aaaaaaaaa-bbbbbbbbbb", 8, 10, 10, []string{"", "aaaaaaaa", "a-bbbbbbbb", "bb"}},
	} {
		if got := wrapValue(c.value, c.first, c.rest, c.widest); !slices.Equal(got, c.want) {
			t.Errorf("wrapValue(%q, %d, %d, %d) =\n%q, want\n%q", c.value, c.first, c.rest, c.widest, got, c.want)
		}
	}
}
