package graph

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// maxIn is how many values one `in` clause may list: Graph limits a filter to 15 expressions by default
// (DOCS known issues, "Query parameters": "When using the in operator, the request is limited to 15 expressions
// in the filter clause by default").
const maxIn = 15

// ResolveUser finds one user by object id, userPrincipalName or mail, as ResolveUsers does for many. When none
// matches, the error wraps ErrNotFound (IsNotFound reports it).
func (c *Client) ResolveUser(ctx context.Context, upnOrID string) (User, error) {
	users, errs := c.ResolveUsers(ctx, upnOrID)
	return users[0], errs[0]
}

// ResolveUsers finds many users at once, each by object id, userPrincipalName or mail. It returns one user and
// one error per reference, in order; an error wraps ErrNotFound when no user matches. A name is taken as a
// userPrincipalName first, which is unique; only names no userPrincipalName matches are looked up by mail,
// which several users can share (then the error lists them). The lookups go 15 values to a request and the
// requests 20 to a JSON batch, so a thousand names cost a handful of round trips.
func (c *Client) ResolveUsers(ctx context.Context, refs ...string) ([]User, []error) {
	found := make([]User, len(refs))
	ids, names, errs := splitRefs(refs, errors.New("resolve user: empty name; pass a userPrincipalName, mail address or object id"))
	first := c.usersWhere(ctx, map[string][]string{"id": ids, "userPrincipalName": names})
	byID, byUPN := first["id"], first["userPrincipalName"]
	var mails []string
	for _, n := range names {
		if m := byUPN.get(n); m.err == nil && len(m.found) == 0 {
			mails = append(mails, n)
		}
	}
	byMail := c.usersWhere(ctx, map[string][]string{"mail": mails})["mail"]
	for i, ref := range refs {
		if errs[i] != nil {
			continue
		}
		ref = strings.TrimSpace(ref)
		if isGUID(ref) {
			m := byID.get(ref)
			switch {
			case m.err != nil:
				errs[i] = m.err
			case len(m.found) == 0:
				errs[i] = fmt.Errorf("no user has the object id %s: %w", ref, ErrNotFound)
			default:
				found[i] = m.found[0]
			}
			continue
		}
		m := byUPN.get(ref)
		if m.err == nil && len(m.found) == 0 {
			m = byMail.get(ref)
		}
		switch {
		case m.err != nil:
			errs[i] = m.err
		case len(m.found) == 0:
			errs[i] = fmt.Errorf("no user has the userPrincipalName or mail %q: %w", ref, ErrNotFound)
		case len(m.found) == 1:
			found[i] = m.found[0]
		default:
			upns := make([]string, 0, len(m.found))
			for _, u := range m.found {
				upns = append(upns, u.UserPrincipalName)
			}
			errs[i] = fmt.Errorf("%d users have the mail %q (%s): pass a userPrincipalName or object id instead",
				len(m.found), ref, strings.Join(upns, ", "))
		}
	}
	return found, errs
}

// ResolveGroup finds groups by object id or exact display name, as ResolveGroups does for many; several groups
// can share a name. When none matches, the error wraps ErrNotFound.
func (c *Client) ResolveGroup(ctx context.Context, nameOrID string) ([]Group, error) {
	groups, errs := c.ResolveGroups(ctx, nameOrID)
	return groups[0], errs[0]
}

// ResolveGroups finds many groups at once, each by object id or exact display name. It returns the groups and
// an error per reference, in order; an error wraps ErrNotFound when no group matches. Lookups are batched as in
// ResolveUsers.
func (c *Client) ResolveGroups(ctx context.Context, refs ...string) ([][]Group, []error) {
	groups := make([][]Group, len(refs))
	ids, names, errs := splitRefs(refs, errors.New("resolve group: empty name; pass a group's display name or object id"))
	found := c.groupsWhere(ctx, map[string][]string{"id": ids, "displayName": names})
	byID, byName := found["id"], found["displayName"]
	for i, ref := range refs {
		if errs[i] != nil {
			continue
		}
		ref = strings.TrimSpace(ref)
		m, what := byName.get(ref), "is named "+fmt.Sprintf("%q", ref)
		if isGUID(ref) {
			m, what = byID.get(ref), "has the object id "+ref
		}
		switch {
		case m.err != nil:
			errs[i] = m.err
		case len(m.found) == 0:
			errs[i] = fmt.Errorf("no group %s: %w", what, ErrNotFound)
		default:
			groups[i] = m.found
		}
	}
	return groups, errs
}

// splitRefs sorts references, trimmed, into object ids and names to look up; errs holds one entry per
// reference, set to empty for a blank one.
func splitRefs(refs []string, empty error) (ids, names []string, errs []error) {
	errs = make([]error, len(refs))
	for i, ref := range refs {
		ref = strings.TrimSpace(ref)
		switch {
		case ref == "":
			errs[i] = empty
		case isGUID(ref):
			ids = append(ids, ref)
		default:
			names = append(names, ref)
		}
	}
	return ids, names, errs
}

// matches are the objects a lookup found for each value, by the value in lower case (the properties looked
// up compare without regard to case in Graph).
type matches[T any] map[string]match[T]

type match[T any] struct {
	found []T
	err   error
}

func (m matches[T]) get(value string) match[T] { return m[strings.ToLower(value)] }

// usersWhere looks users up by property values: {"userPrincipalName": names} reads the users whose
// userPrincipalName is one of names. All the lookups go out together.
func (c *Client) usersWhere(ctx context.Context, lookups map[string][]string) map[string]matches[User] {
	return lookupIn(ctx, c, "/users", lookups, userFields(),
		models.CreateUserCollectionResponseFromDiscriminatorValue, toUser,
		func(ctx context.Context, link string) (page[models.Userable], error) {
			return c.sdk.Users().WithUrl(link).Get(ctx, nil)
		},
		func(u User, property string) string {
			switch property {
			case "userPrincipalName":
				return u.UserPrincipalName
			case "mail":
				return u.Mail
			}
			return u.ID
		})
}

// groupsWhere looks groups up by property values, as usersWhere does users.
func (c *Client) groupsWhere(ctx context.Context, lookups map[string][]string) map[string]matches[Group] {
	return lookupIn(ctx, c, "/groups", lookups, groupFields(),
		models.CreateGroupCollectionResponseFromDiscriminatorValue, toGroup,
		func(ctx context.Context, link string) (page[models.Groupable], error) {
			return c.sdk.Groups().WithUrl(link).Get(ctx, nil)
		},
		func(g Group, property string) string {
			if property == "displayName" {
				return g.DisplayName
			}
			return g.ID
		})
}

// lookupIn reads the objects of a collection whose property is one of the values lookups gives for it:
// `property in (...)` with up to maxIn values a request, every request of every property in the same batches.
// Every value gets an entry in its property's matches; a failed request fails the values it carried.
func lookupIn[M any, T any](ctx context.Context, c *Client, collection string, lookups map[string][]string, fields []string,
	factory serialization.ParsableFactory, conv func(M) T,
	next func(ctx context.Context, link string) (page[M], error), key func(T, string) string,
) map[string]matches[T] {
	type chunk struct {
		property string
		values   []string
	}
	out := map[string]matches[T]{}
	var reqs []rawRequest
	var chunks []chunk
	properties := make([]string, 0, len(lookups))
	for p := range lookups {
		properties = append(properties, p)
	}
	slices.Sort(properties) // the same requests in the same order on every run
	for _, property := range properties {
		m := matches[T]{}
		out[property] = m
		var distinct []string
		for _, v := range lookups[property] {
			if _, seen := m[strings.ToLower(v)]; !seen {
				m[strings.ToLower(v)] = match[T]{}
				distinct = append(distinct, v)
			}
		}
		for start := 0; start < len(distinct); start += maxIn {
			values := distinct[start:min(start+maxIn, len(distinct))]
			quoted := make([]string, len(values))
			for i, v := range values {
				quoted[i] = quote(v)
			}
			query := odataQuery(
				[2]string{"$filter", property + " in (" + strings.Join(quoted, ",") + ")"},
				[2]string{"$select", strings.Join(fields, ",")},
				[2]string{"$top", strconv.Itoa(int(maxPage))})
			reqs = append(reqs, rawRequest{cl: call{op: "GET " + collection + "?$filter=" + property + " in (...)"}, method: "GET", path: collection + "?" + query})
			chunks = append(chunks, chunk{property, values})
		}
	}
	for i, r := range c.sendAll(ctx, reqs) {
		ch, op := chunks[i], reqs[i].cl.op
		var list []M
		err := r.err
		if err == nil {
			var first page[M]
			if first, err = decodeObject[page[M]](op, r.body, factory); err == nil {
				list, err = pages(ctx, c, call{op: op}, 0,
					func(context.Context) (page[M], error) { return first, nil }, next)
			}
		}
		m := out[ch.property]
		for _, v := range ch.values {
			m[strings.ToLower(v)] = match[T]{err: err}
		}
		if err != nil {
			continue
		}
		for _, item := range list {
			t := conv(item)
			k := strings.ToLower(key(t, ch.property))
			if e, ok := m[k]; ok {
				e.found = append(e.found, t)
				m[k] = e
			}
		}
	}
	return out
}
