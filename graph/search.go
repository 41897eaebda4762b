package graph

import (
	"context"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// Search is one page of a directory search, as a person types into a picker: Text is matched server-side by
// Graph's $search (each word of the display name, userPrincipalName or mail starting with it), so nothing but
// the page is ever read from the directory. An empty Text lists the collection's first page in Graph's order.
type Search struct {
	Text string
	// Top is the page size (1..999; default 10).
	Top int
	// Next continues a search: the Next of the page before. It overrides Text and Top, which it carries.
	Next string
}

// UserPage is one page of users; Next is empty on the last page.
type UserPage struct {
	Users []User
	Next  string
}

// GroupPage is one page of groups; Next is empty on the last page.
type GroupPage struct {
	Groups []Group
	Next   string
}

// userSearch is the $search clause for users: display name, userPrincipalName or mail.
func userSearch(text string) string {
	return searchTerm("displayName", text) + " OR " + searchTerm("userPrincipalName", text) + " OR " + searchTerm("mail", text)
}

// SearchUserPage returns one page of the users matching s. $search is an advanced query: it needs the
// ConsistencyLevel: eventual header, which every request here carries (learn.microsoft.com/graph/search-query-parameter).
func (c *Client) SearchUserPage(ctx context.Context, s Search) (UserPage, error) {
	cfg := &users.UsersRequestBuilderGetRequestConfiguration{Headers: eventual()}
	if s.Next == "" {
		n := clampTop(s.Top)
		qp := &users.UsersRequestBuilderGetQueryParameters{Top: &n, Select: userFields()}
		if text := strings.TrimSpace(s.Text); text != "" {
			search := userSearch(text)
			qp.Search = &search
		}
		cfg.QueryParameters = qp
	}
	list, err := send(ctx, c, call{op: "GET /users?$search"}, func(ctx context.Context) (models.UserCollectionResponseable, error) {
		if s.Next != "" {
			return c.sdk.Users().WithUrl(s.Next).Get(ctx, cfg)
		}
		return c.sdk.Users().Get(ctx, cfg)
	})
	if err != nil || list == nil {
		return UserPage{}, err
	}
	return UserPage{Users: convert(list.GetValue(), toUser), Next: deref(list.GetOdataNextLink())}, nil
}

// SearchGroupPage returns one page of the groups whose display name matches s.
func (c *Client) SearchGroupPage(ctx context.Context, s Search) (GroupPage, error) {
	cfg := &groups.GroupsRequestBuilderGetRequestConfiguration{Headers: eventual()}
	if s.Next == "" {
		n := clampTop(s.Top)
		qp := &groups.GroupsRequestBuilderGetQueryParameters{Top: &n, Select: groupFields()}
		if text := strings.TrimSpace(s.Text); text != "" {
			search := searchTerm("displayName", text)
			qp.Search = &search
		}
		cfg.QueryParameters = qp
	}
	list, err := send(ctx, c, call{op: "GET /groups?$search"}, func(ctx context.Context) (models.GroupCollectionResponseable, error) {
		if s.Next != "" {
			return c.sdk.Groups().WithUrl(s.Next).Get(ctx, cfg)
		}
		return c.sdk.Groups().Get(ctx, cfg)
	})
	if err != nil || list == nil {
		return GroupPage{}, err
	}
	return GroupPage{Groups: convert(list.GetValue(), toGroup), Next: deref(list.GetOdataNextLink())}, nil
}

// CountGroupMembers returns how many direct members a group has (GET /groups/{id}/members/$count, an advanced
// query): one number, without reading the members.
func (c *Client) CountGroupMembers(ctx context.Context, groupID string) (int, error) {
	cfg := &groups.ItemMembersCountRequestBuilderGetRequestConfiguration{Headers: eventual()}
	n, err := send(ctx, c, call{op: "GET /groups/{id}/members/$count", refs: []string{groupID}}, func(ctx context.Context) (*int32, error) {
		return c.sdk.Groups().ByGroupId(groupID).Members().Count().Get(ctx, cfg)
	})
	if err != nil || n == nil {
		return 0, err
	}
	return int(*n), nil
}
