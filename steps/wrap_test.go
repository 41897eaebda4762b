package steps

import (
	"slices"
	"testing"
)

func TestWrapValue(t *testing.T) {
	for _, c := range []struct {
		value       string
		first, rest int
		want        []string
	}{
		{`"short"`, 20, 30, []string{`"short"`}},
		{`"AzureADMyOrg" -> "AzureADMultipleOrgs"`, 20, 30, []string{`"AzureADMyOrg" ->`, `"AzureADMultipleOrgs"`}},
		{"(known after apply)", 10, 30, []string{"", "(known after apply)"}},
		{`"https://login.example.com/abc/v2.0/x"`, 12, 20, []string{`"https://`, "login.example.com/", "abc/v2.0/x\""}},
		{"abcdefghijklmnopqrstuvwxyz", 10, 10, []string{"abcdefghij", "klmnopqrst", "uvwxyz"}},
	} {
		if got := wrapValue(c.value, c.first, c.rest); !slices.Equal(got, c.want) {
			t.Errorf("wrapValue(%q, %d, %d) = %q, want %q", c.value, c.first, c.rest, got, c.want)
		}
	}
}
