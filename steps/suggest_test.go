package steps

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// prefixSearch searches names the way Graph's $search does: a name matches when one of its words starts with
// the term.
func prefixSearch(names ...string) func(context.Context, string) ([]string, error) {
	return func(_ context.Context, term string) ([]string, error) {
		var out []string
		for _, n := range names {
			words := strings.FieldsFunc(strings.ToLower(n), func(r rune) bool { return strings.ContainsRune(" .@_-", r) })
			if slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(w, strings.ToLower(term)) }) {
				out = append(out, n)
			}
		}
		return out, nil
	}
}

func TestSimilar(t *testing.T) {
	directory := prefixSearch("Smallstep Users", "Smallstep Admins", "Engineering", "Sales", "Small Business",
		"adele.vance@contoso.com", "grady.archie@contoso.com", "lee.gu@contoso.com")
	for _, c := range []struct {
		input string
		want  []string
	}{
		{"Smallstep Usrs", []string{"Smallstep Users"}},                // a letter missing late: the old search found it too
		{"Smalstep Users", []string{"Smallstep Users"}},                // a letter missing in the first word
		{"smallsteb users", []string{"Smallstep Users"}},               // a wrong letter, lower case
		{"Smallstep", []string{"Smallstep Users", "Smallstep Admins"}}, // the start of longer names
		{"Engeneering", []string{"Engineering"}},
		{"adele.vanse@contoso.com", []string{"adele.vance@contoso.com"}},
		{"adel.vance", []string{"adele.vance@contoso.com"}}, // no domain typed
		{"grady.archi@contoso.com", []string{"grady.archie@contoso.com"}},
		{"Marketing", nil},
		{"", nil},
	} {
		got, err := Similar(t.Context(), c.input, 5, func(s string) []string { return []string{s} }, directory)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Similar(%q) = %q, want %q", c.input, got, c.want)
		}
	}
}

func TestSuggestionTerms(t *testing.T) {
	for input, want := range map[string][]string{
		"smallsteb users":         {"sma", "use"},
		"adele.vanse@contoso.com": {"ade", "van"},
		"a b a":                   {"a", "b"},
		"lee":                     {"lee"},
	} {
		if got := suggestionTerms(input); !slices.Equal(got, want) {
			t.Errorf("suggestionTerms(%q) = %q, want %q", input, got, want)
		}
	}
}
