package steps

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"
)

// Similar finds up to n directory objects whose names are close to input, closest first: the "did you mean" of a
// misspelt --assign-group, --assign-user or picker search. search is Graph's $search, which matches words by
// prefix, so a typo inside a word hides the object from a search for the whole input; Similar searches instead
// for the first letters of each of input's words, which a typo later in a word does not change, and ranks what
// comes back by edit distance. names lists the names an object can be known by (display name, UPN, mail).
func Similar[T any](ctx context.Context, input string, n int, names func(T) []string,
	search func(ctx context.Context, term string) ([]T, error)) ([]T, error) {
	want := strings.ToLower(strings.TrimSpace(input))
	if want == "" || n <= 0 {
		return nil, nil
	}
	type scored struct {
		item     T
		distance int
		order    int
	}
	var (
		found []scored
		seen  = map[string]bool{}
	)
	for _, term := range suggestionTerms(want) {
		items, err := search(ctx, term)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			all := names(it)
			if len(all) == 0 || seen[strings.ToLower(all[0])] {
				continue
			}
			seen[strings.ToLower(all[0])] = true
			best := -1
			for _, name := range all {
				if name == "" {
					continue
				}
				if d, ok := closeness(want, strings.ToLower(name)); ok && (best < 0 || d < best) {
					best = d
				}
			}
			if best >= 0 {
				found = append(found, scored{item: it, distance: best, order: len(found)})
			}
		}
	}
	slices.SortStableFunc(found, func(a, b scored) int { return a.distance - b.distance })
	out := make([]T, 0, min(n, len(found)))
	for _, s := range found[:min(n, len(found))] {
		out = append(out, s.item)
	}
	return out, nil
}

// suggestionTerms are the searches Similar makes: the first three letters of each of the first three words
// (the local part of an e-mail address counts as words), without repeats.
func suggestionTerms(input string) []string {
	local, _, _ := strings.Cut(input, "@")
	words := strings.FieldsFunc(local, func(r rune) bool { return strings.ContainsRune(" ._-'\"", r) })
	var terms []string
	for _, w := range words[:min(3, len(words))] {
		if utf8.RuneCountInString(w) > 3 {
			w = string([]rune(w)[:3])
		}
		if !slices.Contains(terms, w) {
			terms = append(terms, w)
		}
	}
	return terms
}

// closeness says whether name is a likely meaning of input and how far it is: a few edits away (about one in
// four characters), or a name that starts with or contains what was typed ("smallstep" for "Smallstep Users").
func closeness(input, name string) (distance int, close bool) {
	d := editDistance(input, name)
	limit := max(2, utf8.RuneCountInString(input)/4)
	if d <= limit {
		return d, true
	}
	if utf8.RuneCountInString(input) >= 3 && strings.Contains(name, input) {
		return d, true
	}
	// A misspelt beginning of a longer name ("smalstep" for "Smallstep Users"): compared with the name cut to
	// about the length typed.
	if n := utf8.RuneCountInString(input); n >= 4 && utf8.RuneCountInString(name) > n {
		r := []rune(name)
		for _, cut := range []int{n - 1, n, n + 1} {
			if cut <= len(r) && editDistance(input, string(r[:cut])) <= limit {
				return d, true
			}
		}
	}
	if local, _, ok := strings.Cut(name, "@"); ok && !strings.Contains(input, "@") {
		// A UPN typed without its domain.
		return closeness(input, local)
	}
	return 0, false
}

// editDistance is the Levenshtein distance between a and b, in characters.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
