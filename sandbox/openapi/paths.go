package openapi

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// route is one path template of the subset with its operations.
type route struct {
	template string
	segments []segment
	literals int // literal segments: a literal match beats a parameter ("jobs/validateCredentials" vs "jobs/{id}")
	ops      map[string]*operation
}

// segment is one path segment: a literal ("applications"), a parameter ("{application-id}"), or a literal with
// a parameter inside ("applications(appId='{appId}')").
type segment struct {
	literal        string
	param          bool
	prefix, suffix string
}

type operation struct {
	id         string
	family     family
	body       *requestBody // nil when the operation takes no body
	isAction   bool         // an OData action: the body is its parameter object (possibly with no parameters)
	actionName string       // e.g. "addPassword", for Graph's messages about unknown parameters
}

type requestBody struct {
	required      bool
	root          typeRef
	requiredProps []string
}

const requestBodyRefPrefix = "#/components/requestBodies/"

func (c *compiler) routes() ([]*route, error) {
	templates := make([]string, 0, len(c.doc.Paths))
	for t := range c.doc.Paths {
		templates = append(templates, t)
	}
	sort.Strings(templates)
	routes := make([]*route, 0, len(templates))
	for _, tmpl := range templates {
		r := &route{template: tmpl, ops: make(map[string]*operation)}
		for _, part := range strings.Split(strings.Trim(tmpl, "/"), "/") {
			seg := parseSegment(part)
			if !seg.param {
				r.literals++
			}
			r.segments = append(r.segments, seg)
		}
		for method, rawOp := range c.doc.Paths[tmpl] {
			if !isHTTPMethod(method) {
				continue // "parameters" and other path-item keys
			}
			op, err := c.operation(tmpl, strings.ToUpper(method), rawOp)
			if err != nil {
				return nil, fmt.Errorf("openapi subset: %s %s: %w", strings.ToUpper(method), tmpl, err)
			}
			r.ops[strings.ToUpper(method)] = op
		}
		routes = append(routes, r)
	}
	return routes, nil
}

func parseSegment(part string) segment {
	open := strings.IndexByte(part, '{')
	end := strings.LastIndexByte(part, '}')
	if open < 0 || end < open {
		return segment{literal: part}
	}
	return segment{param: true, prefix: part[:open], suffix: part[end+1:]}
}

func (c *compiler) operation(tmpl, method string, raw json.RawMessage) (*operation, error) {
	var ro rawOperation
	if err := json.Unmarshal(raw, &ro); err != nil {
		return nil, err
	}
	op := &operation{id: ro.OperationID, family: familyOfPath(tmpl)}
	last := tmpl[strings.LastIndexByte(tmpl, '/')+1:]
	if rb := ro.RequestBody; rb != nil {
		// Action parameters live in components/requestBodies ("addPasswordRequestBody"); entity bodies are inline
		// $refs to the entity schema.
		if name, ok := strings.CutPrefix(rb.Ref, requestBodyRefPrefix); ok {
			shared, found := c.doc.Components.RequestBodies[name]
			if !found {
				return nil, fmt.Errorf("request body %q is referenced but not defined", name)
			}
			rb = shared
			op.isAction, op.actionName = true, last
		}
		media, ok := rb.Content["application/json"]
		if !ok || media.Schema == nil {
			return nil, fmt.Errorf("request body has no application/json schema")
		}
		root, err := c.use(media.Schema)
		if err != nil {
			return nil, err
		}
		op.body = &requestBody{required: rb.Required, root: root}
		switch {
		case op.isAction:
			op.body.requiredProps = requiredActionParameters(op.actionName)
		case method == "POST" && root.s.name != "":
			op.body.requiredProps = requiredOnCreate(root.s.name)
		}
	} else if method == "POST" && !strings.Contains(last, "{") {
		// start and pause: actions without parameters; Graph still reads their body.
		op.isAction, op.actionName = true, last
	}
	return op, nil
}

// match finds the operation for method and path. Graph compares path segments case-insensitively and accepts
// namespace-qualified action names (".../microsoft.graph.validateCredentials", as older SDKs send).
func (s *Spec) match(method, path string) *operation {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimPrefix(path, "/v1.0")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if n := len(parts) - 1; n >= 0 && len(parts[n]) > len(actionNamespace) &&
		strings.EqualFold(parts[n][:len(actionNamespace)], actionNamespace) {
		parts[n] = parts[n][len(actionNamespace):]
	}
	method = strings.ToUpper(method)
	var best *route
	for _, r := range s.routes {
		if r.ops[method] == nil || !r.matches(parts) {
			continue
		}
		if best == nil || r.literals > best.literals {
			best = r
		}
	}
	if best == nil {
		return nil
	}
	return best.ops[method]
}

const actionNamespace = "microsoft.graph."

func (r *route) matches(parts []string) bool {
	if len(parts) != len(r.segments) {
		return false
	}
	for i, seg := range r.segments {
		p := parts[i]
		if !seg.param {
			if !strings.EqualFold(p, seg.literal) {
				return false
			}
			continue
		}
		if len(p) <= len(seg.prefix)+len(seg.suffix) ||
			!strings.EqualFold(p[:len(seg.prefix)], seg.prefix) ||
			!strings.EqualFold(p[len(p)-len(seg.suffix):], seg.suffix) {
			return false
		}
	}
	return true
}

func isHTTPMethod(key string) bool {
	switch key {
	case "get", "post", "put", "patch", "delete":
		return true
	}
	return false
}
