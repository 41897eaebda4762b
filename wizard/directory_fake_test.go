package wizard

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/idpctl/idpctl/graph"
)

// fakeDirectory is a tenant in memory that searches as Graph's $search does (a word of the name, UPN or mail
// starting with the text) and pages with next links. It counts what it was asked.
type fakeDirectory struct {
	users  []graph.User
	groups []graph.Group
	// members by group id
	members map[string]int
	apps    []graph.Application
	sps     map[string]graph.ServicePrincipal // by app id
	// assigned by service principal id
	assigned map[string][]graph.AppRoleAssignment

	mu           sync.Mutex
	searches     []string // the texts searched, users and groups
	usersFetched int
}

func demoDirectory() *fakeDirectory {
	d := &fakeDirectory{members: map[string]int{}, sps: map[string]graph.ServicePrincipal{}, assigned: map[string][]graph.AppRoleAssignment{}}
	for i, name := range []string{"Adele Vance", "Alex Wilber", "Diego Siciliani", "Grady Archie", "Lee Gu", "Megan Bowen"} {
		upn := strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@contoso.onmicrosoft.com"
		d.users = append(d.users, graph.User{ID: fmt.Sprintf("00000000-0000-0000-0000-00000000000%d", i+1), DisplayName: name, UserPrincipalName: upn, Mail: upn})
	}
	for i, g := range []struct {
		name    string
		members int
	}{{"Smallstep Users", 3}, {"Engineering", 3}, {"Sales", 10_000}, {"Smallstep Admins", 1}} {
		id := fmt.Sprintf("10000000-0000-0000-0000-00000000000%d", i+1)
		d.groups = append(d.groups, graph.Group{ID: id, DisplayName: g.name, SecurityEnabled: true})
		d.members[id] = g.members
	}
	return d
}

func fakeWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return strings.ContainsRune(" .@_-", r) })
}

func fakeMatches(text string, names ...string) bool {
	text = strings.ToLower(strings.TrimSpace(text))
	if text == "" {
		return true
	}
	for _, n := range names {
		if strings.HasPrefix(strings.ToLower(n), text) || slices.ContainsFunc(fakeWords(n), func(w string) bool { return strings.HasPrefix(w, text) }) {
			return true
		}
	}
	return false
}

// window pages a result: the search carries the offset in Next as "text|offset|top".
func fakeWindow(s graph.Search) (text string, offset, top int) {
	if s.Next != "" {
		parts := strings.Split(s.Next, "|")
		offset, _ = strconv.Atoi(parts[1])
		top, _ = strconv.Atoi(parts[2])
		return parts[0], offset, top
	}
	return s.Text, 0, max(s.Top, 1)
}

func (d *fakeDirectory) SearchUserPage(ctx context.Context, s graph.Search) (graph.UserPage, error) {
	if err := ctx.Err(); err != nil {
		return graph.UserPage{}, err
	}
	text, offset, top := fakeWindow(s)
	var found []graph.User
	for _, u := range d.users {
		if fakeMatches(text, u.DisplayName, u.UserPrincipalName, u.Mail) {
			found = append(found, u)
		}
	}
	end := min(offset+top, len(found))
	page := graph.UserPage{Users: found[min(offset, end):end]}
	if end < len(found) {
		page.Next = fmt.Sprintf("%s|%d|%d", text, end, top)
	}
	d.mu.Lock()
	d.searches = append(d.searches, "users:"+text)
	d.usersFetched += len(page.Users)
	d.mu.Unlock()
	return page, nil
}

func (d *fakeDirectory) SearchGroupPage(ctx context.Context, s graph.Search) (graph.GroupPage, error) {
	if err := ctx.Err(); err != nil {
		return graph.GroupPage{}, err
	}
	text, offset, top := fakeWindow(s)
	var found []graph.Group
	for _, g := range d.groups {
		if fakeMatches(text, g.DisplayName) {
			found = append(found, g)
		}
	}
	end := min(offset+top, len(found))
	page := graph.GroupPage{Groups: found[min(offset, end):end]}
	if end < len(found) {
		page.Next = fmt.Sprintf("%s|%d|%d", text, end, top)
	}
	d.mu.Lock()
	d.searches = append(d.searches, "groups:"+text)
	d.mu.Unlock()
	return page, nil
}

func (d *fakeDirectory) SearchUsers(ctx context.Context, text string, top int) ([]graph.User, error) {
	p, err := d.SearchUserPage(ctx, graph.Search{Text: text, Top: top})
	return p.Users, err
}

func (d *fakeDirectory) SearchGroups(ctx context.Context, text string, top int) ([]graph.Group, error) {
	p, err := d.SearchGroupPage(ctx, graph.Search{Text: text, Top: top})
	return p.Groups, err
}

func (d *fakeDirectory) CountGroupMembers(_ context.Context, id string) (int, error) {
	return d.members[id], nil
}

func (d *fakeDirectory) ResolveGroup(_ context.Context, nameOrID string) ([]graph.Group, error) {
	var out []graph.Group
	for _, g := range d.groups {
		if strings.EqualFold(g.DisplayName, nameOrID) || g.ID == nameOrID {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no group %q: %w", nameOrID, graph.ErrNotFound)
	}
	return out, nil
}

func (d *fakeDirectory) ResolveUser(_ context.Context, upnOrID string) (graph.User, error) {
	for _, u := range d.users {
		if strings.EqualFold(u.UserPrincipalName, upnOrID) || u.ID == upnOrID {
			return u, nil
		}
	}
	return graph.User{}, fmt.Errorf("no user %q: %w", upnOrID, graph.ErrNotFound)
}

func (d *fakeDirectory) FindApplications(_ context.Context, q graph.ApplicationQuery) ([]graph.Application, error) {
	var out []graph.Application
	for _, a := range d.apps {
		if (q.DisplayName == "" || a.DisplayName == q.DisplayName) && (q.Tag == "" || slices.Contains(a.Tags, q.Tag)) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (d *fakeDirectory) GetServicePrincipalByAppID(_ context.Context, appID string) (graph.ServicePrincipal, error) {
	sp, ok := d.sps[appID]
	if !ok {
		return graph.ServicePrincipal{}, fmt.Errorf("no service principal: %w", graph.ErrNotFound)
	}
	return sp, nil
}

func (d *fakeDirectory) ListAppRoleAssignedTo(_ context.Context, spID string) ([]graph.AppRoleAssignment, error) {
	return d.assigned[spID], nil
}
