package entra

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"unicode"
)

// searchWords splits a value into the words $search matches by prefix: Graph tokenises display names and
// addresses at spaces and at the punctuation of names and e-mail addresses.
func searchWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("@._-", r)
	})
}

// searchIndex maps every word of the searchable properties of one collection to the objects that hold it, so a
// $search over a large directory (idpctl sandbox --users 100000) reads only the objects that can match instead
// of every object. Exact matching still happens in searchClauses.matches: the index only narrows.
//
// Why the narrowing loses nothing: a term matches a value that starts with it or has a word that starts with
// it. In both cases the term's first word is a prefix of one of the value's words, so the objects holding a
// word with that prefix are a superset of the matches.
type searchIndex struct {
	all     []*record        // every object, in creation order
	words   []string         // sorted, unique
	holders map[string][]int // word -> positions in all of the objects with a searchable property holding it
}

func buildSearchIndex(m map[string]*record, properties []string) *searchIndex {
	ix := &searchIndex{holders: map[string][]int{}}
	for _, r := range m {
		ix.all = append(ix.all, r)
	}
	slices.SortFunc(ix.all, func(a, b *record) int { return a.seq - b.seq })
	for i, r := range ix.all {
		for _, w := range recordWords(r, properties) {
			ix.holders[w] = append(ix.holders[w], i)
		}
	}
	ix.words = make([]string, 0, len(ix.holders))
	for w := range ix.holders {
		ix.words = append(ix.words, w)
	}
	slices.Sort(ix.words)
	return ix
}

// candidates marks the objects that may match term (by position in all); ok is false when the index cannot
// narrow (a term without a word), and then every object is a candidate.
func (ix *searchIndex) candidates(term string, marked []bool) (ok bool) {
	first := searchWords(term)
	if len(first) == 0 {
		return false
	}
	prefix := first[0]
	for i := sort.SearchStrings(ix.words, prefix); i < len(ix.words) && strings.HasPrefix(ix.words[i], prefix); i++ {
		for _, pos := range ix.holders[ix.words[i]] {
			marked[pos] = true
		}
	}
	return true
}

// readKind says what a read of a collection answers: a page of it, or its /$count.
type readKind int

const (
	readPage readKind = iota
	readCount
)

// directoryName names the directory collections that are indexed.
type directoryName string

const (
	usersCollection  directoryName = "users"
	groupsCollection directoryName = "groups"
)

// readDirectory answers GET /users and /groups, and their /$count.
func (t *Tenant) readDirectory(c *call, name directoryName, read readKind) response {
	t.mu.Lock()
	defer t.mu.Unlock()
	col := userCollection("users")
	if name == groupsCollection {
		col = groupCollection("groups")
	}
	items := t.directoryItems(c, name, col, read)
	if read == readCount {
		return t.count(c, col, items)
	}
	return t.page(c, col, items)
}

// directoryItems returns the objects a read of a directory collection works on, in creation order and without
// copying them (call with t.mu held; page and count copy only what they answer). Replication lag is applied as
// store.list does. With a $search the index narrows the objects to its candidates first.
func (t *Tenant) directoryItems(c *call, name directoryName, col collection, read readKind) []object {
	m := t.st.directory(name)
	var hidden map[*record]bool
	for _, r := range m {
		if r.lag > 0 {
			r.lag--
			if hidden == nil {
				hidden = map[*record]bool{}
			}
			hidden[r] = true
		}
	}
	pool, narrowed := t.searchCandidates(c, name, col, read, hidden)
	if !narrowed {
		pool = slices.Clone(t.st.index(name, col).all)
	}
	if hidden != nil {
		pool = slices.DeleteFunc(pool, func(r *record) bool { return hidden[r] })
	}
	items := make([]object, len(pool))
	for i, r := range pool {
		items[i] = r.data
	}
	return items
}

// searchCandidates narrows m by the call's $search through the collection's index, building the index when a
// write made it stale. narrowed is false when there is no $search the index can serve; queryItems then reports
// whatever is wrong with the query.
func (t *Tenant) searchCandidates(c *call, name directoryName, col collection, read readKind, hidden map[*record]bool) (pool []*record, narrowed bool) {
	raw := c.query.Get("$search")
	if raw == "" || !eventual(c) || col.searchable == nil {
		return nil, false
	}
	clauses, err := parseSearch(raw, col.searchable)
	if err != nil {
		return nil, false
	}
	ix := t.st.index(name, col)
	marked := make([]bool, len(ix.all))
	for _, cl := range clauses.clauses {
		if !ix.candidates(cl.term, marked) {
			return nil, false
		}
	}
	// A plain page of results (the picker's keystroke) needs only its own matches and one more, to know
	// whether a next page exists; counting or ordering needs them all.
	limit := -1
	if offset, size, gerr := t.pageWindow(c); gerr == nil && read == readPage && c.query.Get("$count") == "" && c.query.Get("$orderby") == "" && c.query.Get("$filter") == "" {
		limit = offset + size + 1
	}
	for i, r := range ix.all {
		if !marked[i] {
			continue
		}
		if limit >= 0 {
			if hidden[r] || !clauses.matches(r.data) {
				continue
			}
			if len(pool) == limit {
				break
			}
		}
		pool = append(pool, r)
	}
	return pool, true
}

// directory is the map of a directory collection.
func (s *store) directory(name directoryName) map[string]*record {
	if name == groupsCollection {
		return s.groups
	}
	return s.users
}

// index returns the search index of a directory collection, building it if a write dropped it. Call with
// t.mu held.
func (s *store) index(name directoryName, col collection) *searchIndex {
	ix := s.indexes[name]
	if ix == nil {
		ix = buildSearchIndex(s.directory(name), col.searchable)
		s.indexes[name] = ix
	}
	return ix
}

// touch drops the search indexes after a write that changed or removed users or groups; the next $search
// rebuilds them. Call with t.mu held.
func (s *store) touch() { clear(s.indexes) }

// indexAdded keeps the search indexes current when an object is added to the store, so creating applications
// or users during a run does not cost a rebuild over a large directory. Call with t.mu held.
func (s *store) indexAdded(m map[string]*record, r *record) {
	for name, ix := range s.indexes {
		if reflect.ValueOf(m).UnsafePointer() == reflect.ValueOf(s.directory(name)).UnsafePointer() {
			ix.add(r, searchableOf(name))
		}
	}
}

func searchableOf(name directoryName) []string {
	if name == groupsCollection {
		return groupCollection("").searchable
	}
	return userCollection("").searchable
}

// add indexes one more object.
func (ix *searchIndex) add(r *record, properties []string) {
	ix.all = append(ix.all, r) // the store's sequence only grows
	for _, w := range recordWords(r, properties) {
		if _, known := ix.holders[w]; !known {
			i, _ := slices.BinarySearch(ix.words, w)
			ix.words = slices.Insert(ix.words, i, w)
		}
		ix.holders[w] = append(ix.holders[w], len(ix.all)-1)
	}
}

// recordWords lists the distinct words of an object's searchable properties.
func recordWords(r *record, properties []string) []string {
	var words []string
	for _, p := range properties {
		v, _ := lookupPath(r.data, p).(string)
		for _, w := range searchWords(v) {
			if !slices.Contains(words, w) {
				words = append(words, w)
			}
		}
	}
	return words
}
