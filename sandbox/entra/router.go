package entra

import (
	"regexp"
	"strings"
)

// route is one Graph operation: a method, a path pattern of literal and {param} segments, the permissions
// Graph documents for it and its handler.
type route struct {
	method string
	segs   []string
	perm   permission
	handle func(*Tenant, *call) response
	// entity names the schema a body is checked against when the OpenAPI subset lacks the operation.
	entity string
	// rawBody skips schema validation: the handler answers before Graph would read the body ($batch, the
	// schema PATCH that the synchronization service does not route).
	rawBody bool
}

func newRoute(method, pattern string, perm permission, handle func(*Tenant, *call) response) route {
	return route{method: method, segs: splitPattern(pattern), perm: perm, handle: handle}
}

func splitPattern(pattern string) []string {
	return strings.Split(strings.Trim(pattern, "/"), "/")
}

// keyAddressing matches OData alternate-key segments such as applications(appId='…').
var keyAddressing = regexp.MustCompile(`^([A-Za-z]+)\(appId='([^']*)'\)$`)

// requestSegments splits a request path. An alternate-key segment becomes two segments, "name(appId=)" and the
// key, so patterns can say "applications(appId=)/{appId}".
func requestSegments(path string) []string {
	trimmed := strings.Trim(path, "/")
	if trimmed == "" {
		return nil
	}
	var out []string
	for _, s := range strings.Split(trimmed, "/") {
		if m := keyAddressing.FindStringSubmatch(s); m != nil {
			out = append(out, m[1]+"(appId=)", m[2])
			continue
		}
		out = append(out, s)
	}
	return out
}

// segmentMatches compares one literal pattern segment. Graph's segments are case-insensitive; actions may be
// addressed with their namespace (microsoft.graph.addPassword), and type casts with the namespace's alias
// "graph." (/groups/{id}/members/graph.user), as the Kiota-generated SDKs do.
func segmentMatches(literal, seg string) bool {
	if strings.EqualFold(literal, seg) {
		return true
	}
	if cast, ok := strings.CutPrefix(literal, "microsoft.graph."); ok {
		return strings.EqualFold("graph."+cast, seg)
	}
	for _, ns := range []string{"microsoft.graph.", "graph."} {
		if rest, ok := cutPrefixFold(seg, ns); ok {
			return strings.EqualFold(literal, rest)
		}
	}
	return false
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

func (r route) matches(segs []string) (map[string]string, bool) {
	if len(segs) != len(r.segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, p := range r.segs {
		if strings.HasPrefix(p, "{") {
			params[strings.Trim(p, "{}")] = segs[i]
			continue
		}
		if !segmentMatches(p, segs[i]) {
			return nil, false
		}
	}
	return params, true
}

// prefixDepth is how many leading segments of segs this route's pattern accepts.
func (r route) prefixDepth(segs []string) int {
	n := 0
	for i := 0; i < len(segs) && i < len(r.segs); i++ {
		p := r.segs[i]
		if !strings.HasPrefix(p, "{") && !segmentMatches(p, segs[i]) {
			break
		}
		n++
	}
	return n
}

// match finds the route for a request. A path no route knows gets Graph's "Resource not found for the segment"
// naming the first segment nothing matched; a known path with another verb gets 405.
func (t *Tenant) match(method, path string) (route, map[string]string, *graphError) {
	segs := requestSegments(path)
	pathKnown := false
	depth := 0
	for _, r := range t.routes {
		params, ok := r.matches(segs)
		if ok {
			if r.method == method {
				return r, params, nil
			}
			pathKnown = true
			continue
		}
		depth = max(depth, r.prefixDepth(segs))
	}
	if pathKnown {
		return route{}, nil, errMethodNotAllowed()
	}
	if len(segs) == 0 {
		return route{}, nil, errUnknownSegment("v1.0")
	}
	if depth >= len(segs) {
		depth = len(segs) - 1
	}
	return route{}, nil, errUnknownSegment(segs[depth])
}
