package wizard

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/steps"
)

// Principal is a group or user as the picker shows it.
type Principal struct {
	Kind string // KindGroup or KindUser
	ID   string
	Name string // display name
	UPN  string // users: user principal name
	// Members is a group's direct member count; -1 while unknown.
	Members int
	// Assigned marks a principal already assigned to the application: it stays assigned whatever is chosen.
	Assigned bool
	// InApp marks a principal assigned to the application where choosing it changes no assignment
	// (provision's picker): shown as assigned, free to choose or not.
	InApp bool
}

// Principal kinds, as Graph names them in appRoleAssignment.principalType.
const (
	KindGroup = "Group"
	KindUser  = "User"
)

// detail is what the picker shows beside the name.
func (p Principal) detail() string {
	var parts []string
	switch p.Kind {
	case KindGroup:
		parts = append(parts, "group")
		switch {
		case p.Members == 1:
			parts = append(parts, "1 member")
		case p.Members >= 0:
			parts = append(parts, fmt.Sprintf("%s members", thousands(p.Members)))
		}
	default:
		parts = append(parts, p.UPN)
	}
	if p.Assigned || p.InApp {
		parts = append(parts, "assigned")
	}
	return strings.Join(parts, " · ")
}

// thousands writes n with thousands separators: 10,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Picker page sizes: what one keystroke reads from the directory, whatever its size.
const (
	pickerGroupPage = 5
	pickerUserPage  = 10
)

// principalSearch is the picker's query: for one keystroke, one page of groups and one of users whose names
// start with the text (Graph's $search, server-side), and the member count of each group on the page. Nothing
// else is read, so a keystroke costs the same in a tenant of 100 or 100,000 users. Counts are kept for the
// session, since the same groups come back as the text grows.
type principalSearch struct {
	dir    Directory
	groups bool            // search groups (the assignment picker); false for the Owners and Admins pickers
	skip   map[string]bool // ids never offered (the Admins picker leaves out who was made an Owner)
	inApp  map[string]bool // ids marked assigned to the application (Principal.InApp)
	mu     sync.Mutex
	counts map[string]int
}

func newPrincipalSearch(dir Directory, groups bool) *principalSearch {
	return &principalSearch{dir: dir, groups: groups, counts: map[string]int{}}
}

// searchPage is one answer of principalSearch.
type searchPage struct {
	items []Principal
	// nextGroups and nextUsers continue the search; empty when there is no more.
	nextGroups, nextUsers string
	// suggested is set when nothing matched and items are the "did you mean" names instead.
	suggested bool
}

// first reads the first page for text.
func (s *principalSearch) first(ctx context.Context, text string) (searchPage, error) {
	page, err := s.read(ctx, graph.Search{Text: text, Top: pickerGroupPage}, graph.Search{Text: text, Top: pickerUserPage}, s.groups, true)
	if err != nil || len(page.items) > 0 || strings.TrimSpace(text) == "" {
		return page, err
	}
	return s.similar(ctx, text)
}

// more reads the next page of a search whose last page was prev.
func (s *principalSearch) more(ctx context.Context, prev searchPage) (searchPage, error) {
	return s.read(ctx, graph.Search{Next: prev.nextGroups}, graph.Search{Next: prev.nextUsers}, prev.nextGroups != "", prev.nextUsers != "")
}

func (s *principalSearch) read(ctx context.Context, groupQuery, userQuery graph.Search, withGroups, withUsers bool) (searchPage, error) {
	var (
		wg                 sync.WaitGroup
		groups             graph.GroupPage
		users              graph.UserPage
		groupsErr, userErr error
	)
	if withGroups {
		wg.Go(func() { groups, groupsErr = s.dir.SearchGroupPage(ctx, groupQuery) })
	}
	if withUsers {
		wg.Go(func() { users, userErr = s.dir.SearchUserPage(ctx, userQuery) })
	}
	wg.Wait()
	if err := firstError(groupsErr, userErr); err != nil {
		return searchPage{}, err
	}
	page := searchPage{nextGroups: groups.Next, nextUsers: users.Next}
	page.items = s.principals(s.withCounts(ctx, groups.Groups), users.Users)
	return page, ctx.Err()
}

// similar is the "did you mean" of a search that found nothing: the groups and users whose names are close.
func (s *principalSearch) similar(ctx context.Context, text string) (searchPage, error) {
	var (
		wg                 sync.WaitGroup
		groups             []graph.Group
		users              []graph.User
		groupsErr, userErr error
	)
	if s.groups {
		wg.Go(func() { groups, groupsErr = steps.SimilarGroups(ctx, s.dir, text) })
	}
	wg.Go(func() { users, userErr = steps.SimilarUsers(ctx, s.dir, text) })
	wg.Wait()
	if err := firstError(groupsErr, userErr); err != nil {
		return searchPage{}, err
	}
	return searchPage{suggested: true, items: s.principals(s.withCounts(ctx, groups), users)}, nil
}

// withCounts turns groups into principals with their member counts, reading the counts not yet known side by
// side. A count that cannot be read stays unknown: the picker works without it.
func (s *principalSearch) withCounts(ctx context.Context, groups []graph.Group) []Principal {
	out := make([]Principal, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		out[i] = Principal{Kind: KindGroup, ID: g.ID, Name: g.DisplayName, Members: -1}
		s.mu.Lock()
		n, known := s.counts[g.ID]
		s.mu.Unlock()
		if known {
			out[i].Members = n
			continue
		}
		wg.Go(func() {
			n, err := s.dir.CountGroupMembers(ctx, g.ID)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.counts[g.ID] = n
			s.mu.Unlock()
			out[i].Members = n
		})
	}
	wg.Wait()
	return out
}

// principals is what a search shows: the groups, then the users not left out, each marked if assigned to the
// application.
func (s *principalSearch) principals(groups []Principal, users []graph.User) []Principal {
	items := groups
	for _, u := range users {
		if !s.skip[u.ID] {
			items = append(items, userPrincipal(u))
		}
	}
	for i := range items {
		items[i].InApp = s.inApp[items[i].ID]
	}
	return items
}

func userPrincipal(u graph.User) Principal {
	return Principal{Kind: KindUser, ID: u.ID, Name: u.DisplayName, UPN: u.UserPrincipalName, Members: -1}
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
