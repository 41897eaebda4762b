package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/idpctl/idpctl/clock"
)

// Reader reads users and groups back from a SCIM endpoint, to confirm what Entra provisioned. It asks the way
// Entra does (eq filters, excludedAttributes=members for groups), so it works with any server Entra works with.
type Reader struct {
	c *scimClient
}

// SCIMUser is a user as the SCIM endpoint holds it.
type SCIMUser struct {
	ID          string
	UserName    string
	ExternalID  string
	Active      bool
	DisplayName string
	GivenName   string
	FamilyName  string
	WorkEmail   string
}

// SCIMGroup is a group as the SCIM endpoint holds it, without its members.
type SCIMGroup struct {
	ID          string
	DisplayName string
	ExternalID  string
}

// GroupMember is one member of a SCIM group: the member's SCIM id and display name.
type GroupMember struct {
	ID      string
	Display string
}

// NewReader checks the endpoint's URL and token and returns a Reader for it.
func NewReader(client *http.Client, clk clock.Clock, scim SCIM) (*Reader, error) {
	c, err := newSCIMClient(client, clk, scim)
	if err != nil {
		return nil, err
	}
	return &Reader{c: c}, nil
}

// String names the endpoint without its token; fmt would print the unexported token field verbatim otherwise.
func (r *Reader) String() string { return "SCIM reader for " + r.c.base.Redacted() }

// GoString is String, for %#v.
func (r *Reader) GoString() string { return r.String() }

// FindUserByExternalID returns the user whose externalId is externalID (idpctl maps it from the Entra object
// id), or nil when there is none.
func (r *Reader) FindUserByExternalID(ctx context.Context, externalID string) (*SCIMUser, error) {
	return r.findUser(ctx, "externalId", externalID, func(u SCIMUser) bool { return strings.EqualFold(u.ExternalID, externalID) })
}

// UsersByExternalID finds many users by externalId at once, for confirming a large group: each with a filtered
// GET while they are few, or by reading the endpoint's whole user list page by page when that takes fewer
// requests (2,000 members against a SaaS of 2,500 users is 25 pages, not 2,000 filtered GETs). The first page of
// the list tells which: its totalResults and page size. It returns the users found for each id (more than one
// is Entra's DuplicateTargetEntries); ids nobody has are absent.
func (r *Reader) UsersByExternalID(ctx context.Context, externalIDs []string) (map[string][]SCIMUser, error) {
	found := map[string][]SCIMUser{}
	wanted := map[string]bool{}
	for _, id := range externalIDs {
		wanted[strings.ToLower(id)] = true
	}
	keep := func(target string, docs []json.RawMessage) error {
		for _, d := range docs {
			u, err := r.parseUser(target, d)
			if err != nil {
				return err
			}
			if key := strings.ToLower(u.ExternalID); wanted[key] {
				found[key] = append(found[key], u)
			}
		}
		return nil
	}
	rest := externalIDs
	if len(externalIDs) > filteredReads {
		listed := false
		err := r.each(ctx, "", "Users", func(target string, page listResponse, startIndex int) (bool, error) {
			if err := keep(target, page.Resources); err != nil {
				return false, err
			}
			if startIndex > 1 {
				return true, nil
			}
			// Decide after the first page: the pages left against the filtered GETs for the ids it lacked.
			left := 0
			for _, id := range externalIDs {
				if _, ok := found[strings.ToLower(id)]; !ok {
					left++
				}
			}
			per := max(len(page.Resources), 1)
			pages := (*page.TotalResults - len(page.Resources) + per - 1) / per
			listed = pages <= left
			return listed, nil
		})
		if err != nil {
			return nil, err
		}
		if listed {
			return found, nil
		}
		rest = nil
		for _, id := range externalIDs {
			if _, ok := found[strings.ToLower(id)]; !ok {
				rest = append(rest, id)
			}
		}
	}
	var (
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, readsInFlight)
		wg   sync.WaitGroup
	)
	for _, id := range rest {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			users, err := r.usersWhere(ctx, "externalId", id, func(u SCIMUser) bool { return strings.EqualFold(u.ExternalID, id) })
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if len(users) > 0 {
				found[strings.ToLower(id)] = users
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return found, nil
}

const (
	// filteredReads is how many users UsersByExternalID looks up one by one before it considers listing them.
	filteredReads = 20
	// readsInFlight bounds the concurrent GETs of UsersByExternalID: a SaaS's API has rate limits too.
	readsInFlight = 8
)

// FindUserByUserName returns the user whose userName is userName (case-insensitively, as SCIM defines
// userName), or nil when there is none.
func (r *Reader) FindUserByUserName(ctx context.Context, userName string) (*SCIMUser, error) {
	return r.findUser(ctx, "userName", userName, func(u SCIMUser) bool { return strings.EqualFold(u.UserName, userName) })
}

// FindGroupByDisplayName returns the group named displayName, or nil when there is none.
func (r *Reader) FindGroupByDisplayName(ctx context.Context, displayName string) (*SCIMGroup, error) {
	return r.findGroup(ctx, "displayName", displayName, func(g SCIMGroup) bool { return strings.EqualFold(g.DisplayName, displayName) })
}

// FindGroupByExternalID returns the group whose externalId is externalID (Entra maps it from the group's object
// id), or nil when there is none.
func (r *Reader) FindGroupByExternalID(ctx context.Context, externalID string) (*SCIMGroup, error) {
	return r.findGroup(ctx, "externalId", externalID, func(g SCIMGroup) bool { return strings.EqualFold(g.ExternalID, externalID) })
}

// Users returns every user of the endpoint, page by page.
func (r *Reader) Users(ctx context.Context) ([]SCIMUser, error) {
	target := r.c.url("", "Users")
	docs, err := r.list(ctx, "", "Users")
	if err != nil {
		return nil, err
	}
	users := make([]SCIMUser, 0, len(docs))
	for _, d := range docs {
		u, err := r.parseUser(target, d)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, nil
}

// GroupMembers returns the members of the group with SCIM id groupID.
func (r *Reader) GroupMembers(ctx context.Context, groupID string) ([]GroupMember, error) {
	target := r.c.url("", "Groups", groupID)
	resp, err := r.c.get(ctx, target)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, r.c.statusError(target, resp, fmt.Sprintf("there is no group with id %q: find the group again by name or externalId", groupID))
	}
	var doc struct {
		Members []struct {
			Value   string `json:"value"`
			Display string `json:"display"`
		} `json:"members"`
	}
	if err := r.c.decodeJSON(target, resp, &doc); err != nil {
		return nil, err
	}
	members := make([]GroupMember, 0, len(doc.Members))
	for _, m := range doc.Members {
		members = append(members, GroupMember{ID: m.Value, Display: m.Display})
	}
	return members, nil
}

// The matches functions only catch servers that ignore the filter: whether a match is case-sensitive is the
// server's call (RFC 7643 makes externalId case-exact, userName and displayName not), as it is for Entra.
func (r *Reader) findUser(ctx context.Context, attribute, value string, matches func(SCIMUser) bool) (*SCIMUser, error) {
	found, err := r.usersWhere(ctx, attribute, value, matches)
	if err != nil {
		return nil, err
	}
	return one(r, r.c.url(filterQuery(attribute, value), "Users"), "users", attribute, value, found)
}

// usersWhere returns every user whose attribute equals value.
func (r *Reader) usersWhere(ctx context.Context, attribute, value string, matches func(SCIMUser) bool) ([]SCIMUser, error) {
	query := filterQuery(attribute, value)
	target := r.c.url(query, "Users")
	docs, err := r.list(ctx, query, "Users")
	if err != nil {
		return nil, err
	}
	var found []SCIMUser
	for _, d := range docs {
		u, err := r.parseUser(target, d)
		if err != nil {
			return nil, err
		}
		if !matches(u) {
			return nil, r.filterIgnored(target, attribute, value)
		}
		found = append(found, u)
	}
	return found, nil
}

func (r *Reader) findGroup(ctx context.Context, attribute, value string, matches func(SCIMGroup) bool) (*SCIMGroup, error) {
	query := "excludedAttributes=members&" + filterQuery(attribute, value)
	target := r.c.url(query, "Groups")
	docs, err := r.list(ctx, query, "Groups")
	if err != nil {
		return nil, err
	}
	var found []SCIMGroup
	for _, d := range docs {
		var g struct {
			ID          string `json:"id"`
			DisplayName string `json:"displayName"`
			ExternalID  string `json:"externalId"`
		}
		if err := json.Unmarshal(d, &g); err != nil {
			return nil, r.c.failure(KindNotListResponse, target, nil, "a group in the answer is not a JSON object", "check that the endpoint is a SCIM server")
		}
		group := SCIMGroup{ID: g.ID, DisplayName: g.DisplayName, ExternalID: g.ExternalID}
		if !matches(group) {
			return nil, r.filterIgnored(target, attribute, value)
		}
		found = append(found, group)
	}
	return one(r, target, "groups", attribute, value, found)
}

// one returns the only element of found, nil for none, and an error for several: Entra itself refuses to
// provision an object that matches more than one (DuplicateTargetEntries).
func one[T any](r *Reader, target, what, attribute, value string, found []T) (*T, error) {
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return &found[0], nil
	default:
		return nil, r.c.failure(KindDuplicate, target, nil, fmt.Sprintf("%d %s have %s %q", len(found), what, attribute, value),
			"remove the duplicates in your SaaS; Entra cannot provision an object that matches several (DuplicateTargetEntries)")
	}
}

func (r *Reader) filterIgnored(target, attribute, value string) error {
	return r.c.failure(KindFilterIgnored, target, nil, fmt.Sprintf("the endpoint returned resources whose %s is not %q", attribute, value),
		"the SaaS does not apply the filter; Entra relies on it to match users and groups")
}

// maxPages bounds paging against a server that keeps announcing more results than it returns.
const maxPages = 1000

// list GETs a collection with query, following startIndex until totalResults are read. The first request is
// the plain query, as Entra sends it.
func (r *Reader) list(ctx context.Context, query string, resource string) ([]json.RawMessage, error) {
	var all []json.RawMessage
	err := r.each(ctx, query, resource, func(_ string, page listResponse, _ int) (bool, error) {
		all = append(all, page.Resources...)
		return true, nil
	})
	return all, err
}

// each GETs a collection with query page by page, following startIndex until totalResults are read or visit
// returns false. The first request is the plain query, as Entra sends it.
func (r *Reader) each(ctx context.Context, query string, resource string, visit func(target string, page listResponse, startIndex int) (bool, error)) error {
	seen := map[string]bool{}
	startIndex, read := 1, 0
	for range maxPages {
		q := query
		if startIndex > 1 {
			q = joinQuery(query, "startIndex="+strconv.Itoa(startIndex))
		}
		target := r.c.url(q, resource)
		resp, err := r.c.get(ctx, target)
		if err != nil {
			return err
		}
		if resp.Status != http.StatusOK {
			return r.c.statusError(target, resp, "Entra appends /"+resource+" to the SCIM URL, so the base path is probably wrong: use the exact SCIM URL your SaaS gave you")
		}
		page, err := r.c.decodeList(target, resp)
		if err != nil {
			return err
		}
		if startIndex > 1 && page.StartIndex != 0 && page.StartIndex != startIndex {
			return r.c.failure(KindNotListResponse, target, resp, fmt.Sprintf("asked for results from %d, the endpoint answered from %d", startIndex, page.StartIndex),
				"the SaaS does not page as SCIM defines (startIndex)")
		}
		for _, res := range page.Resources {
			var id struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(res, &id) == nil && id.ID != "" {
				if seen[id.ID] {
					return r.c.failure(KindNotListResponse, target, resp, fmt.Sprintf("resource %q came twice while paging", id.ID),
						"the SaaS does not page as SCIM defines (startIndex)")
				}
				seen[id.ID] = true
			}
		}
		more, err := visit(target, page, startIndex)
		if err != nil || !more {
			return err
		}
		read += len(page.Resources)
		if len(page.Resources) == 0 || read >= *page.TotalResults {
			return nil
		}
		startIndex += len(page.Resources)
	}
	return r.c.failure(KindNotListResponse, r.c.url(query, resource), nil, fmt.Sprintf("still more results after %d pages", maxPages),
		"the endpoint's totalResults does not match what it returns")
}

func joinQuery(a, b string) string {
	if a == "" {
		return b
	}
	return a + "&" + b
}

func (r *Reader) parseUser(target string, raw json.RawMessage) (SCIMUser, error) {
	var doc struct {
		ID          string          `json:"id"`
		UserName    string          `json:"userName"`
		ExternalID  string          `json:"externalId"`
		Active      json.RawMessage `json:"active"`
		DisplayName string          `json:"displayName"`
		Name        struct {
			GivenName  string `json:"givenName"`
			FamilyName string `json:"familyName"`
		} `json:"name"`
		Emails []struct {
			Value   string          `json:"value"`
			Type    string          `json:"type"`
			Primary json.RawMessage `json:"primary"`
		} `json:"emails"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return SCIMUser{}, r.c.failure(KindNotListResponse, target, nil, "a user in the answer is not a SCIM user object", "check that the endpoint is a SCIM server")
	}
	// RFC 7643 gives active no default. A server that does not keep it cannot deactivate anyone, so a user
	// without it counts as active.
	active, ok := parseBool(doc.Active, true)
	if !ok {
		return SCIMUser{}, r.c.failure(KindNotListResponse, target, nil, fmt.Sprintf("user %q has active = %s, not a boolean", doc.UserName, oneLine(string(doc.Active))),
			"the SaaS should store active as true or false")
	}
	u := SCIMUser{
		ID: doc.ID, UserName: doc.UserName, ExternalID: doc.ExternalID, Active: active,
		DisplayName: doc.DisplayName, GivenName: doc.Name.GivenName, FamilyName: doc.Name.FamilyName,
	}
	// The work address is what idpctl maps; a primary or first address stands in on servers that drop the type.
	for _, e := range doc.Emails {
		if strings.EqualFold(e.Type, "work") {
			u.WorkEmail = e.Value
			break
		}
	}
	for _, e := range doc.Emails {
		if primary, _ := parseBool(e.Primary, false); u.WorkEmail == "" && primary {
			u.WorkEmail = e.Value
		}
	}
	if u.WorkEmail == "" && len(doc.Emails) > 0 {
		u.WorkEmail = doc.Emails[0].Value
	}
	return u, nil
}

// parseBool reads a JSON boolean, also in the string form Entra sends ("True", "False") and stores on servers
// that keep values as sent. An absent or null value is absent.
func parseBool(raw json.RawMessage, absent bool) (value, ok bool) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return absent, true
	}
	if unquoted, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(unquoted)
	}
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
