package entra

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// collection describes an entity set for the OData query options Graph supports on it.
type collection struct {
	// context is the @odata.context fragment, e.g. "users" or "servicePrincipals('id')/appRoleAssignedTo".
	context string
	// resource names the type in filter errors, e.g. "User".
	resource string
	// filterable lists the properties $filter may use (paths like servicePrincipal/id); nil allows any.
	filterable []string
	// searchable lists the properties $search may use; nil means $search is not supported.
	searchable []string
	// caseSensitive makes eq and functions compare strings exactly (audit logs); directory objects compare
	// without regard to case.
	caseSensitive bool
	// directory marks directory objects, on which some operators need an advanced query.
	directory bool
	// defaultOrder sorts before paging when $orderby is absent; nil keeps creation order.
	defaultOrder func(a, b object) int
}

// Graph's advanced-query messages. Source for both: DOCS concepts/aad-advanced-queries.md ("$count is not
// currently supported." with Request_BadRequest) and observed answers quoted in backstage/backstage#25517.
func errSearchNeedsEventual() *graphError {
	return newError(http.StatusBadRequest, "Request_UnsupportedQuery",
		"Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
}

func errCountNotSupported() *graphError {
	return newError(http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")
}

// maxInValues is how many values the in operators of one directory filter may list without advanced queries.
const maxInValues = 15

func eventual(c *call) bool {
	return strings.EqualFold(strings.TrimSpace(c.header.Get("ConsistencyLevel")), "eventual")
}

// queryItems applies $search, $filter and $orderby. It is shared by collection reads and /$count.
func (col collection) queryItems(c *call, items []object) ([]object, *graphError) {
	if search := c.query.Get("$search"); search != "" {
		if !eventual(c) {
			return nil, errSearchNeedsEventual()
		}
		if col.searchable == nil {
			return nil, newError(http.StatusBadRequest, "Request_UnsupportedQuery", "Search is not supported on this resource.")
		}
		clauses, err := parseSearch(search, col.searchable)
		if err != nil {
			return nil, err
		}
		items = slices.DeleteFunc(items, func(o object) bool { return !clauses.matches(o) })
	}
	if raw := c.query.Get("$filter"); raw != "" {
		expr, err := parseFilter(raw)
		if err != nil {
			return nil, newError(http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+err.Error())
		}
		if op := advancedOperator(expr); col.directory && op != "" && !(eventual(c) && strings.EqualFold(c.query.Get("$count"), "true")) {
			// Source: the text Graph answers, quoted in public client code (operator name substituted).
			return nil, newError(http.StatusBadRequest, "Request_UnsupportedQuery", fmt.Sprintf(
				"Operator '%s' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information", op))
		}
		if n := inValues(expr); col.directory && n > maxInValues && !eventual(c) {
			// UNVERIFIED wording: the limit is documented, the message is the one Graph is reported to send
			// for too many clauses.
			return nil, newError(http.StatusBadRequest, "Request_UnsupportedQuery", fmt.Sprintf(
				"Too many child clauses specified in search filter expression containing 'OR' operators: %d. Max allowed: %d.", n, maxInValues))
		}
		if bad := expr.unsupportedProperty(col.filterable); bad != "" {
			return nil, newError(http.StatusBadRequest, "Request_UnsupportedQuery",
				fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", bad, col.resource))
		}
		env := &evalEnv{caseSensitive: col.caseSensitive}
		var kept []object
		for _, o := range items {
			if truthy(expr.eval(o, env)) {
				kept = append(kept, o)
			}
		}
		items = kept
	}
	if order := strings.TrimSpace(c.query.Get("$orderby")); order != "" {
		prop, dir, _ := strings.Cut(order, " ")
		desc := strings.EqualFold(strings.TrimSpace(dir), "desc")
		sort.SliceStable(items, func(i, j int) bool {
			cmp := compareValues(lookupPath(items[i], prop), lookupPath(items[j], prop), false)
			if desc {
				return cmp > 0
			}
			return cmp < 0
		})
	} else if col.defaultOrder != nil {
		slices.SortStableFunc(items, col.defaultOrder)
	}
	return items, nil
}

// page answers a collection read with Graph's paging: $top (1..999, default the tenant's page size),
// @odata.nextLink as an absolute URL carrying $skiptoken, @odata.count with $count=true (advanced queries only),
// and $select.
func (t *Tenant) page(c *call, col collection, items []object) response {
	if col.directory && c.query.Get("$skip") != "" {
		// Directory objects page with $skiptoken only.
		return c.fail(errBadRequest("'$skip' is not supported by the service."), t.now())
	}
	items, gerr := col.queryItems(c, items)
	if gerr != nil {
		return c.fail(gerr, t.now())
	}
	offset, size, gerr := t.pageWindow(c)
	if gerr != nil {
		return c.fail(gerr, t.now())
	}
	offset = min(offset, len(items))
	end := min(offset+size, len(items))
	pageItems := make([]any, 0, end-offset)
	sel := selectList(c)
	for _, o := range items[offset:end] {
		pageItems = append(pageItems, project(o, sel))
	}
	body := object{"@odata.context": c.serviceRoot + "/$metadata#" + col.context + selectSuffix(sel)}
	if strings.EqualFold(c.query.Get("$count"), "true") && (eventual(c) || !col.directory) {
		body["@odata.count"] = len(items)
	}
	if end < len(items) {
		body["@odata.nextLink"] = nextLink(c, end)
	}
	body["value"] = pageItems
	return jsonResponse(http.StatusOK, body)
}

// pageWindow reads which part of a collection a request asks for: $skiptoken's offset and $top's size.
func (t *Tenant) pageWindow(c *call) (offset, size int, gerr *graphError) {
	size = t.pageSize
	if raw := c.query.Get("$top"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxPageSize {
			return 0, 0, errBadRequest(fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", raw))
		}
		size = n
	}
	if token := c.query.Get("$skiptoken"); token != "" {
		n, ok := decodeSkipToken(token)
		if !ok {
			return 0, 0, errBadRequest("Invalid $skiptoken.")
		}
		offset = n
	}
	return offset, size, nil
}

// entity answers a single-object read with @odata.context and $select.
// copies lists the objects of m a request can see (replication lag applies), as copies safe to hand out.
func (t *Tenant) copies(m map[string]*record) []object {
	t.mu.Lock()
	defer t.mu.Unlock()
	var items []object
	for _, r := range t.st.list(m) {
		items = append(items, deepCopy(r.data))
	}
	return items
}

// getEntity answers a GET of one object: find runs under the tenant's lock, and the answer is a copy.
func (t *Tenant) getEntity(c *call, entitySet string, find func() (*record, *graphError)) response {
	t.mu.Lock()
	r, err := find()
	var o object
	if err == nil {
		o = deepCopy(r.data)
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	return t.entity(c, entitySet, o)
}

// byID finds an object of m by the call's id, or answers that it does not exist.
func (t *Tenant) byID(c *call, m map[string]*record) func() (*record, *graphError) {
	return func() (*record, *graphError) {
		if r, ok := t.st.get(m, c.param("id")); ok {
			return r, nil
		}
		return nil, errResourceNotFound(c.param("id"))
	}
}

func (t *Tenant) entity(c *call, context string, o object) response {
	sel := selectList(c)
	out := project(o, sel)
	body := object{"@odata.context": c.serviceRoot + "/$metadata#" + context + selectSuffix(sel) + "/$entity"}
	for k, v := range out {
		body[k] = v
	}
	return jsonResponse(http.StatusOK, body)
}

func selectList(c *call) []string {
	raw := c.query.Get("$select")
	if raw == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(raw, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func selectSuffix(sel []string) string {
	if len(sel) == 0 {
		return ""
	}
	return "(" + strings.Join(sel, ",") + ")"
}

// project keeps the selected properties (matched case-insensitively, as Graph does) and the type annotation of
// polymorphic results.
func project(o object, sel []string) object {
	if len(sel) == 0 {
		return deepCopy(o)
	}
	out := object{}
	if t, ok := o["@odata.type"]; ok {
		out["@odata.type"] = t
	}
	for _, want := range sel {
		for k, v := range o {
			if strings.EqualFold(k, want) {
				out[k] = v
			}
		}
	}
	return deepCopy(out)
}

func nextLink(c *call, offset int) string {
	keys := make([]string, 0, len(c.query))
	for k := range c.query {
		if k != "$skiptoken" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range c.query[k] {
			parts = append(parts, k+"="+queryEscape(v))
		}
	}
	parts = append(parts, "$skiptoken="+encodeSkipToken(offset))
	return c.serviceRoot + c.path + "?" + strings.Join(parts, "&")
}

func queryEscape(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch {
		case r == ' ':
			b.WriteString("%20")
		case strings.ContainsRune("&#%+?=\"", r):
			fmt.Fprintf(&b, "%%%02X", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func encodeSkipToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("sandbox-offset:" + strconv.Itoa(offset)))
}

func decodeSkipToken(token string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(raw), "sandbox-offset:"))
	if err != nil || n < 0 || !strings.HasPrefix(string(raw), "sandbox-offset:") {
		return 0, false
	}
	return n, true
}

// count answers /$count: a plain-text number, only as an advanced query.
func (t *Tenant) count(c *call, col collection, items []object) response {
	if !eventual(c) {
		return c.fail(errCountNotSupported(), t.now())
	}
	items, gerr := col.queryItems(c, items)
	if gerr != nil {
		return c.fail(gerr, t.now())
	}
	return countResponse(len(items))
}

// countResponse is /$count's answer: the number as plain text.
func countResponse(n int) response {
	return response{
		status: http.StatusOK,
		header: http.Header{"Content-Type": {"text/plain"}},
		body:   []byte(strconv.Itoa(n)),
	}
}

// lookupPath reads a property path such as "servicePrincipal/id", case-insensitively.
func lookupPath(o any, path string) any {
	cur := o
	for _, seg := range strings.Split(path, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		v, found := m[seg]
		if !found {
			for k, mv := range m {
				if strings.EqualFold(k, seg) {
					v, found = mv, true
					break
				}
			}
		}
		if !found {
			return nil
		}
		cur = v
	}
	return cur
}

// compareValues orders two JSON values; date-time strings compare as times.
func compareValues(a, b any, caseSensitive bool) int {
	if ta, ok := asTime(a); ok {
		if tb, ok := asTime(b); ok {
			return ta.Compare(tb)
		}
	}
	switch av := a.(type) {
	case string:
		bv, ok := b.(string)
		if !ok {
			return 1
		}
		if !caseSensitive {
			av, bv = strings.ToLower(av), strings.ToLower(bv)
		}
		return strings.Compare(av, bv)
	case float64:
		bv, ok := b.(float64)
		if !ok {
			return 1
		}
		switch {
		case av < bv:
			return -1
		case av > bv:
			return 1
		}
		return 0
	case bool:
		bv, ok := b.(bool)
		if !ok || av == bv {
			return 0
		}
		if !av {
			return -1
		}
		return 1
	case nil:
		if b == nil {
			return 0
		}
		return -1
	}
	return 0
}

func asTime(v any) (time.Time, bool) {
	switch tv := v.(type) {
	case time.Time:
		return tv, true
	case string:
		if len(tv) < 10 || tv[4] != '-' || tv[7] != '-' {
			return time.Time{}, false
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
			if parsed, err := time.Parse(layout, tv); err == nil {
				return parsed, true
			}
		}
	}
	return time.Time{}, false
}
