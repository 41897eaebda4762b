package graph

import (
	"context"
	"errors"
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

func clampTop(top int) int32 {
	switch {
	case top <= 0:
		return 10
	case top > 999:
		return 999
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
	objects, err := pages(ctx, c, call{op: "GET /me/memberOf"}, 0,
		func(ctx context.Context) (page[models.DirectoryObjectable], error) {
			return c.sdk.Me().MemberOf().Get(ctx, nil)
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

// ResolveUser finds one user by object id, userPrincipalName or mail. When none matches, the error wraps
// ErrNotFound (IsNotFound reports it).
func (c *Client) ResolveUser(ctx context.Context, upnOrID string) (User, error) {
	ref := strings.TrimSpace(upnOrID)
	if ref == "" {
		return User{}, errors.New("resolve user: empty name; pass a userPrincipalName, mail address or object id")
	}
	if isGUID(ref) {
		cfg := &users.UserItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: userFields()},
		}
		u, err := send(ctx, c, call{op: "GET /users/{id}"}, func(ctx context.Context) (models.Userable, error) {
			return c.sdk.Users().ByUserId(ref).Get(ctx, cfg)
		})
		if IsNotFound(err) {
			return User{}, fmt.Errorf("no user has the object id %s: %w", ref, ErrNotFound)
		}
		return toUser(u), err
	}
	filter := "userPrincipalName eq " + quote(ref) + " or mail eq " + quote(ref)
	found, err := c.listUsers(ctx, filter)
	if err != nil {
		return User{}, err
	}
	switch len(found) {
	case 0:
		return User{}, fmt.Errorf("no user has the userPrincipalName or mail %q: %w", ref, ErrNotFound)
	case 1:
		return found[0], nil
	}
	for _, u := range found {
		if strings.EqualFold(u.UserPrincipalName, ref) {
			return u, nil
		}
	}
	upns := make([]string, 0, len(found))
	for _, u := range found {
		upns = append(upns, u.UserPrincipalName)
	}
	return User{}, fmt.Errorf("%d users have the mail %q (%s): pass a userPrincipalName or object id instead",
		len(found), ref, strings.Join(upns, ", "))
}

// ResolveUsers resolves several users. Names that match no user are returned in missing, in input order;
// any other failure is returned as the error.
func (c *Client) ResolveUsers(ctx context.Context, upnOrIDs ...string) (found []User, missing []string, err error) {
	for _, ref := range upnOrIDs {
		u, err := c.ResolveUser(ctx, ref)
		switch {
		case errors.Is(err, ErrNotFound):
			missing = append(missing, ref)
		case err != nil:
			return nil, nil, err
		default:
			found = append(found, u)
		}
	}
	return found, missing, nil
}

func (c *Client) listUsers(ctx context.Context, filter string) ([]User, error) {
	cfg := &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: &filter, Select: userFields()},
	}
	list, err := pages(ctx, c, call{op: "GET /users"}, 0,
		func(ctx context.Context) (page[models.Userable], error) { return c.sdk.Users().Get(ctx, cfg) },
		func(ctx context.Context, link string) (page[models.Userable], error) {
			return c.sdk.Users().WithUrl(link).Get(ctx, nil)
		})
	return convert(list, toUser), err
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

// ResolveGroup finds groups by object id or exact display name; several groups can share a name. When none
// matches, the error wraps ErrNotFound.
func (c *Client) ResolveGroup(ctx context.Context, nameOrID string) ([]Group, error) {
	ref := strings.TrimSpace(nameOrID)
	if ref == "" {
		return nil, errors.New("resolve group: empty name; pass a group's display name or object id")
	}
	if isGUID(ref) {
		cfg := &groups.GroupItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Select: groupFields()},
		}
		g, err := send(ctx, c, call{op: "GET /groups/{id}"}, func(ctx context.Context) (models.Groupable, error) {
			return c.sdk.Groups().ByGroupId(ref).Get(ctx, cfg)
		})
		if IsNotFound(err) {
			return nil, fmt.Errorf("no group has the object id %s: %w", ref, ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
		return []Group{toGroup(g)}, nil
	}
	filter := "displayName eq " + quote(ref)
	cfg := &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Filter: &filter, Select: groupFields()},
	}
	list, err := pages(ctx, c, call{op: "GET /groups"}, 0,
		func(ctx context.Context) (page[models.Groupable], error) { return c.sdk.Groups().Get(ctx, cfg) },
		func(ctx context.Context, link string) (page[models.Groupable], error) {
			return c.sdk.Groups().WithUrl(link).Get(ctx, nil)
		})
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("no group is named %q: %w", ref, ErrNotFound)
	}
	return convert(list, toGroup), nil
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
	cfg := &groups.ItemMembersGraphUserRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.ItemMembersGraphUserRequestBuilderGetQueryParameters{Select: userFields()},
	}
	list, err := pages(ctx, c, call{op: "GET /groups/{id}/members/graph.user", refs: []string{groupID}}, 0,
		func(ctx context.Context) (page[models.Userable], error) { return b.Get(ctx, cfg) },
		func(ctx context.Context, link string) (page[models.Userable], error) {
			return b.WithUrl(link).Get(ctx, nil)
		})
	return convert(list, toUser), err
}
