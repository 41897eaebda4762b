package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// userFields are the user properties we read. accountEnabled is not among Graph's default properties, so every
// user read names them.
func userFields() []string {
	return []string{"id", "userPrincipalName", "displayName", "mail", "givenName", "surname", "accountEnabled"}
}

func groupFields() []string { return []string{"id", "displayName", "securityEnabled", "mailEnabled"} }

// page is an SDK collection response.
type page[T any] interface {
	GetValue() []T
	GetOdataNextLink() *string
}

// pages reads a collection: the first page, then every @odata.nextLink, each page with the retries of send.
// limit > 0 stops once that many items are read.
func pages[T any](ctx context.Context, c *Client, cl call, limit int,
	first func(ctx context.Context) (page[T], error),
	next func(ctx context.Context, link string) (page[T], error),
) ([]T, error) {
	var out []T
	followed := map[string]bool{}
	p, err := send(ctx, c, cl, first)
	for {
		if err != nil {
			return nil, err
		}
		if p == nil {
			return out, nil
		}
		out = append(out, p.GetValue()...)
		if limit > 0 && len(out) >= limit {
			return out[:limit], nil
		}
		link := deref(p.GetOdataNextLink())
		if link == "" {
			return out, nil
		}
		// A page that links to one already read would have the loop read the same pages until the deadline.
		if followed[link] {
			return nil, fmt.Errorf("%s: Graph linked back to a page already read (@odata.nextLink %s); stopping the listing", cl.op, link)
		}
		followed[link] = true
		p, err = send(ctx, c, cl, func(ctx context.Context) (page[T], error) { return next(ctx, link) })
	}
}

func convert[M, T any](in []M, f func(M) T) []T {
	out := make([]T, 0, len(in))
	for _, m := range in {
		out = append(out, f(m))
	}
	return out
}

// quote writes an OData string literal: single quotes, a quote inside doubled.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// searchTerm writes one "property:text" clause of $search, which is a double-quoted string.
func searchTerm(property, text string) string {
	text = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(text)
	return `"` + property + ":" + text + `"`
}

func eventual() *abstractions.RequestHeaders {
	h := abstractions.NewRequestHeaders()
	h.Add("ConsistencyLevel", "eventual")
	return h
}

func isGUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// maxPage is the largest page Graph serves of directory collections (users, groups, members, applications,
// service principals, app role assignments): $top=999 (DOCS concepts/paging.md; the directory's limit). Lists
// that can be long ask for it, so that a 2,000-member group is read in 3 requests rather than 20 of 100.
const maxPage int32 = 999

func clampTop(top int) int32 {
	switch {
	case top <= 0:
		return 10
	case top > int(maxPage):
		return maxPage
	}
	return int32(top)
}

// Organization returns the tenant (GET /organization).
func (c *Client) Organization(ctx context.Context) (Organization, error) {
	cl := call{op: "GET /organization"}
	orgs, err := pages(ctx, c, cl, 0,
		func(ctx context.Context) (page[models.Organizationable], error) {
			return c.sdk.Organization().Get(ctx, nil)
		},
		func(ctx context.Context, link string) (page[models.Organizationable], error) {
			return c.sdk.Organization().WithUrl(link).Get(ctx, nil)
		})
	if err != nil {
		return Organization{}, err
	}
	if len(orgs) == 0 || orgs[0] == nil {
		return Organization{}, fmt.Errorf("%s: Graph returned no organization for the signed-in tenant", cl.op)
	}
	o := orgs[0]
	org := Organization{ID: str(o.GetId()), DisplayName: str(o.GetDisplayName())}
	for _, d := range o.GetVerifiedDomains() {
		if d == nil {
			continue
		}
		org.VerifiedDomains = append(org.VerifiedDomains, str(d.GetName()))
		if flag(d.GetIsDefault()) {
			org.DefaultDomain = str(d.GetName())
		}
	}
	return org, nil
}

// Me returns the signed-in user (GET /me).
func (c *Client) Me(ctx context.Context) (User, error) {
	cfg := &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: userFields()},
	}
	u, err := send(ctx, c, call{op: "GET /me"}, func(ctx context.Context) (models.Userable, error) {
		return c.sdk.Me().Get(ctx, cfg)
	})
	return toUser(u), err
}

// MyDirectoryRoles returns the activated directory roles the signed-in user holds directly (GET /me/memberOf,
// keeping the directoryRole members; groups and administrative units are left out).
func (c *Client) MyDirectoryRoles(ctx context.Context) ([]DirectoryRole, error) {
	// An admin can be in hundreds of groups, which come first; the roles are among them.
	top := maxPage
	cfg := &users.ItemMemberOfRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMemberOfRequestBuilderGetQueryParameters{Top: &top},
	}
	objects, err := pages(ctx, c, call{op: "GET /me/memberOf"}, 0,
		func(ctx context.Context) (page[models.DirectoryObjectable], error) {
			return c.sdk.Me().MemberOf().Get(ctx, cfg)
		},
		func(ctx context.Context, link string) (page[models.DirectoryObjectable], error) {
			return c.sdk.Me().MemberOf().WithUrl(link).Get(ctx, nil)
		})
	if err != nil {
		return nil, err
	}
	var roles []DirectoryRole
	for _, o := range objects {
		if r, ok := o.(models.DirectoryRoleable); ok && r != nil {
			roles = append(roles, DirectoryRole{ID: str(r.GetId()), DisplayName: str(r.GetDisplayName()), RoleTemplateID: str(r.GetRoleTemplateId())})
		}
	}
	return roles, nil
}

// SubscribedSkus returns the tenant's subscriptions and their service plans (GET /subscribedSkus).
func (c *Client) SubscribedSkus(ctx context.Context) ([]Sku, error) {
	skus, err := pages(ctx, c, call{op: "GET /subscribedSkus"}, 0,
		func(ctx context.Context) (page[models.SubscribedSkuable], error) {
			return c.sdk.SubscribedSkus().Get(ctx, nil)
		},
		func(ctx context.Context, link string) (page[models.SubscribedSkuable], error) {
			return c.sdk.SubscribedSkus().WithUrl(link).Get(ctx, nil)
		})
	if err != nil {
		return nil, err
	}
	out := make([]Sku, 0, len(skus))
	for _, s := range skus {
		if s == nil {
			continue
		}
		sku := Sku{SkuPartNumber: str(s.GetSkuPartNumber()), CapabilityStatus: str(s.GetCapabilityStatus())}
		for _, p := range s.GetServicePlans() {
			if p != nil {
				sku.ServicePlans = append(sku.ServicePlans, ServicePlan{
					ID: uuidStr(p.GetServicePlanId()), Name: str(p.GetServicePlanName()), ProvisioningStatus: str(p.GetProvisioningStatus()),
				})
			}
		}
		out = append(out, sku)
	}
	return out, nil
}

// SearchUsers returns up to top users whose display name, userPrincipalName or mail contains a word starting
// with text (Graph's $search, an advanced query), for "did you mean" suggestions.
func (c *Client) SearchUsers(ctx context.Context, text string, top int) ([]User, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	page, err := c.SearchUserPage(ctx, Search{Text: text, Top: top})
	return page.Users, err
}

// SearchGroups returns up to top groups whose display name contains a word starting with text.
func (c *Client) SearchGroups(ctx context.Context, text string, top int) ([]Group, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	page, err := c.SearchGroupPage(ctx, Search{Text: text, Top: top})
	return page.Groups, err
}

// ListGroupMembers returns the users who are direct members of a group (nested groups are not followed, as
// Entra's provisioning does not follow them either). The SDK writes the type cast with the namespace alias Graph
// declares for microsoft.graph: /members/graph.user.
func (c *Client) ListGroupMembers(ctx context.Context, groupID string) ([]User, error) {
	b := c.sdk.Groups().ByGroupId(groupID).Members().GraphUser()
	top := maxPage
	cfg := &groups.ItemMembersGraphUserRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.ItemMembersGraphUserRequestBuilderGetQueryParameters{Select: userFields(), Top: &top},
	}
	list, err := pages(ctx, c, call{op: "GET /groups/{id}/members/graph.user", refs: []string{groupID}}, 0,
		func(ctx context.Context) (page[models.Userable], error) { return b.Get(ctx, cfg) },
		func(ctx context.Context, link string) (page[models.Userable], error) {
			return b.WithUrl(link).Get(ctx, nil)
		})
	return convert(list, toUser), err
}
