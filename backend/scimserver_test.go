package backend

import (
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// fakeSCIM is a small SCIM server for the probe and reader tests: bearer auth, eq filters, startIndex paging,
// excludedAttributes=members, GET of a group by id. It records the requests it received.
type fakeSCIM struct {
	prefix   string // path of the SCIM base, e.g. "/scim/v2"
	users    []map[string]any
	groups   []map[string]any
	pageSize int // results per page; 0 returns everything at once

	mu       sync.Mutex
	requests []recorded
}

var filterPattern = regexp.MustCompile(`^(\w+) eq "((?:[^"\\]|\\.)*)"$`)

func (f *fakeSCIM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, recorded{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone()})
	f.mu.Unlock()

	if r.Header.Get("Authorization") != "Bearer "+scimToken {
		scimJSON(w, http.StatusUnauthorized, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"}, "status": "401", "detail": "invalid token"})
		return
	}
	rel, ok := strings.CutPrefix(r.URL.Path, f.prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case rel == "/ServiceProviderConfig":
		scimJSON(w, http.StatusOK, map[string]any{
			"patch": map[string]any{"supported": true}, "bulk": map[string]any{"supported": false},
			"filter":                map[string]any{"supported": true, "maxResults": 200},
			"authenticationSchemes": []any{map[string]any{"type": "oauthbearertoken", "name": "OAuth Bearer Token"}},
		})
	case rel == "/Users":
		f.list(w, r, f.users)
	case rel == "/Groups":
		f.list(w, r, f.groups)
	case strings.HasPrefix(rel, "/Groups/"):
		id := strings.TrimPrefix(rel, "/Groups/")
		for _, g := range f.groups {
			if g["id"] == id {
				scimJSON(w, http.StatusOK, g)
				return
			}
		}
		scimJSON(w, http.StatusNotFound, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"}, "status": "404", "detail": "no such group"})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeSCIM) list(w http.ResponseWriter, r *http.Request, all []map[string]any) {
	q := r.URL.Query()
	var matched []map[string]any
	if filter := q.Get("filter"); filter != "" {
		m := filterPattern.FindStringSubmatch(filter)
		if m == nil {
			scimJSON(w, http.StatusBadRequest, map[string]any{"status": "400", "scimType": "invalidFilter"})
			return
		}
		value, _ := strconv.Unquote(`"` + m[2] + `"`)
		for _, res := range all {
			if v, _ := res[m[1]].(string); strings.EqualFold(v, value) {
				matched = append(matched, res)
			}
		}
	} else {
		matched = all
	}
	start := 1
	if s := q.Get("startIndex"); s != "" {
		start, _ = strconv.Atoi(s)
	}
	page := matched[min(start-1, len(matched)):]
	if f.pageSize > 0 && len(page) > f.pageSize {
		page = page[:f.pageSize]
	}
	resources := make([]map[string]any, 0, len(page))
	for _, res := range page {
		res = maps.Clone(res)
		if q.Get("excludedAttributes") == "members" {
			delete(res, "members")
		}
		resources = append(resources, res)
	}
	scimJSON(w, http.StatusOK, map[string]any{
		"schemas":      []string{listResponseSchema},
		"totalResults": len(matched),
		"startIndex":   start,
		"itemsPerPage": len(resources),
		"Resources":    resources,
	})
}

func (f *fakeSCIM) received() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

func scimJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
