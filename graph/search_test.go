package graph

import (
	"net/http"
	"testing"
)

// A picker's keystroke: one page of users matching the text, then the next page by its @odata.nextLink, each
// an advanced query (learn.microsoft.com/graph/search-query-parameter: $search on directory objects needs
// ConsistencyLevel: eventual).
func TestSearchUserPageAndNext(t *testing.T) {
	eventualHeader := http.Header{"Consistencylevel": {"eventual"}}
	f := newFakeGraph(t)
	next := f.baseURL() + "/users?$search=%22displayName:ade%22&$top=1&$skiptoken=abc"
	f.plan = []stub{
		{method: "GET", path: "/users", header: eventualHeader,
			query: q("$search", `"displayName:ade" OR "userPrincipalName:ade" OR "mail:ade"`, "$top", "1", "$select", userSelect),
			resp:  `{"@odata.nextLink":"` + next + `","value":[` + adeleJSON + `]}`},
		{method: "GET", path: "/users", header: eventualHeader,
			query: q("$search", `"displayName:ade"`, "$top", "1", "$skiptoken", "abc"),
			resp:  `{"value":[` + alexJSON + `]}`},
		{method: "GET", path: "/users", header: eventualHeader,
			query: q("$top", "10", "$select", userSelect),
			resp:  `{"value":[]}`},
	}
	c, _ := newTestClient(t, f)
	page, err := c.SearchUserPage(t.Context(), Search{Text: " ade ", Top: 1})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "first page", page, UserPage{Users: []User{adele}, Next: next})
	page, err = c.SearchUserPage(t.Context(), Search{Next: page.Next})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "second page", page, UserPage{Users: []User{alex}})
	// No text: the first page of the directory, never all of it.
	if page, err = c.SearchUserPage(t.Context(), Search{}); err != nil || len(page.Users) != 0 {
		t.Errorf("empty search = %v, %v", page, err)
	}
}

func TestSearchGroupPageAndCount(t *testing.T) {
	eventualHeader := http.Header{"Consistencylevel": {"eventual"}}
	f := newFakeGraph(t,
		stub{method: "GET", path: "/groups", header: eventualHeader,
			query: q("$search", `"displayName:small"`, "$top", "20", "$select", "id,displayName,securityEnabled,mailEnabled"),
			resp:  `{"value":[{"id":"` + groupID + `","displayName":"Smallstep Users","securityEnabled":true,"mailEnabled":false}]}`},
		// learn.microsoft.com/graph/api/group-list-members, "Get only a count of all membership": text/plain.
		stub{method: "GET", path: "/groups/" + groupID + "/members/$count", header: eventualHeader,
			respHeader: http.Header{"Content-Type": {"text/plain"}}, resp: "893"},
	)
	c, _ := newTestClient(t, f)
	page, err := c.SearchGroupPage(t.Context(), Search{Text: "small", Top: 20})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "groups", page, GroupPage{Groups: []Group{{ID: groupID, DisplayName: "Smallstep Users", SecurityEnabled: true}}})
	n, err := c.CountGroupMembers(t.Context(), groupID)
	if err != nil || n != 893 {
		t.Errorf("CountGroupMembers = %d, %v; want 893", n, err)
	}
}
