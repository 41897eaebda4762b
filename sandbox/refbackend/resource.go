package refbackend

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	scimfilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// resourceSchema is one resource type's schemas: the core schema (with the common externalId attribute, which the
// core schemas leave out) and its extensions. It resolves SCIM paths to stored attributes.
type resourceSchema struct {
	name       string        // the SCIM resource type: "User" or "Group"
	core       schema.Schema // as RFC 7643 defines it, for the library
	common     schema.Schema // core plus externalId, for resolving paths
	extensions []schema.Schema
}

func userSchema() resourceSchema {
	return newResourceSchema("User", schema.CoreUserSchema(), schema.ExtensionEnterpriseUser())
}

func groupSchema() resourceSchema {
	return newResourceSchema("Group", schema.CoreGroupSchema())
}

func newResourceSchema(name string, core schema.Schema, extensions ...schema.Schema) resourceSchema {
	withExternalID := core
	withExternalID.Attributes = append(slices.Clone(core.Attributes), schema.SimpleCoreAttribute(
		schema.SimpleStringParams(schema.StringParams{
			CaseExact: true,
			Name:      "externalId",
		})))
	return resourceSchema{name: name, core: core, common: withExternalID, extensions: extensions}
}

// extension returns the extension schema whose URN is id (case-insensitively, as SCIM treats URNs).
func (rs resourceSchema) extension(id string) (schema.Schema, bool) {
	for _, e := range rs.extensions {
		if strings.EqualFold(e.ID, id) {
			return e, true
		}
	}
	return schema.Schema{}, false
}

// schemaFor returns the schema a path's URN prefix names; no prefix means the core schema.
func (rs resourceSchema) schemaFor(uri string) (schema.Schema, bool) {
	if uri == "" || strings.EqualFold(uri, rs.core.ID) {
		return rs.common, true
	}
	return rs.extension(uri)
}

// location is what a SCIM path names in a stored resource: the attribute, the map holding it (the resource itself
// or an extension's map), an optional canonical sub-attribute name and an optional value filter.
type location struct {
	attr      schema.CoreAttribute
	extension string // the extension URN when the attribute lives in an extension, else ""
	sub       string
	filter    filter.Expression
}

// locate resolves path against the schemas; attribute names match case-insensitively, as RFC 7643 §2.1 requires.
func (rs resourceSchema) locate(path filter.Path) (location, error) {
	sch, ok := rs.schemaFor(path.AttributePath.URI())
	if !ok {
		return location{}, fmt.Errorf("unknown schema %q in path %q", path.AttributePath.URI(), path)
	}
	attr, ok := sch.Attributes.ContainsAttribute(path.AttributePath.AttributeName)
	if !ok {
		return location{}, fmt.Errorf("no attribute %q in schema %s", path.AttributePath.AttributeName, sch.ID)
	}
	loc := location{attr: attr, filter: path.ValueExpression}
	if sch.ID != rs.core.ID {
		loc.extension = sch.ID
	}
	subName := path.AttributePath.SubAttributeName()
	if subName == "" {
		subName = path.SubAttributeName()
	}
	if subName != "" {
		sub, ok := attr.SubAttributes().ContainsAttribute(subName)
		if !ok {
			return location{}, fmt.Errorf("attribute %q has no sub-attribute %q", attr.Name(), subName)
		}
		loc.sub = sub.Name()
	}
	return loc, nil
}

// container returns the map that holds loc's attribute, creating an extension's map when create is set; nil when
// the extension is absent and create is not set.
func (loc location) container(attrs map[string]any, create bool) map[string]any {
	if loc.extension == "" {
		return attrs
	}
	if m, ok := attrs[loc.extension].(map[string]any); ok {
		return m
	}
	if !create {
		return nil
	}
	m := map[string]any{}
	attrs[loc.extension] = m
	return m
}

// matches reports which elements of a multi-valued attribute pass loc's value filter.
func (loc location) matches(list []any) []int {
	validator := scimfilter.NewFilterValidator(loc.filter, schema.Schema{
		Attributes: scimfilter.MultiValuedFilterAttributes(loc.attr),
	})
	var hits []int
	for i, elem := range list {
		if m, ok := elem.(map[string]any); ok && passes(validator, m) {
			hits = append(hits, i)
		}
	}
	return hits
}

// passes evaluates a filter with the library's evaluator, which panics on values of an unexpected type; such a
// value simply does not match.
func passes(v scimfilter.Validator, m map[string]any) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return v.PassesFilter(m) == nil
}

// Resource is a copy of a stored SCIM user or group, safe to keep and inspect: changing it changes nothing stored.
type Resource struct {
	// Type is "User" or "Group".
	Type string
	// ID is the id the server assigned.
	ID string
	// Attributes hold the resource as stored, under the schema's canonical attribute names whatever case the
	// client used: "userName", "name" (a map with "givenName", ...), "emails" and "members" ([]any of maps),
	// "externalId"; extension attributes in a map under the extension's URN. Booleans are bool even when the
	// client sent "True"/"False".
	Attributes   map[string]any
	Created      time.Time
	LastModified time.Time
	// Version is the resource's entity tag, W/"n", incremented by every change.
	Version string

	schema resourceSchema
}

// Get returns the value a SCIM path names, e.g. `userName`, `name.givenName`, `emails[type eq "work"].value`,
// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber` or `members`. A value filter that
// matches one element yields that element's value; several yield a []any.
func (r Resource) Get(path string) (any, bool) {
	p, err := filter.ParsePath([]byte(path))
	if err != nil {
		return nil, false
	}
	loc, err := r.schema.locate(p)
	if err != nil {
		return nil, false
	}
	container := loc.container(r.Attributes, false)
	value, ok := container[loc.attr.Name()]
	if !ok {
		return nil, false
	}
	if loc.filter != nil {
		list, _ := value.([]any)
		var found []any
		for _, i := range loc.matches(list) {
			elem := list[i].(map[string]any)
			if loc.sub == "" {
				found = append(found, elem)
			} else if v, ok := elem[loc.sub]; ok {
				found = append(found, v)
			}
		}
		switch len(found) {
		case 0:
			return nil, false
		case 1:
			return found[0], true
		}
		return found, true
	}
	if loc.sub == "" {
		return value, true
	}
	if m, ok := value.(map[string]any); ok {
		v, ok := m[loc.sub]
		return v, ok
	}
	return nil, false
}

// GetString returns the string a path names, or "" when it names nothing or something else.
func (r Resource) GetString(path string) string {
	v, _ := r.Get(path)
	s, _ := v.(string)
	return s
}

// UserName is the user's userName.
func (r Resource) UserName() string { return r.GetString("userName") }

// ExternalID is the client's identifier for the resource (for Entra, the object id).
func (r Resource) ExternalID() string { return r.GetString("externalId") }

// DisplayName is the displayName.
func (r Resource) DisplayName() string { return r.GetString("displayName") }

// WorkEmail is the value of the email of type "work".
func (r Resource) WorkEmail() string { return r.GetString(`emails[type eq "work"].value`) }

// Active reports the user's active attribute; a user stored without one counts as active, as SaaS targets treat it.
func (r Resource) Active() bool {
	v, ok := r.Get("active")
	if !ok {
		return true
	}
	b, _ := v.(bool)
	return b
}

// HasActive reports whether the user carries an active attribute at all.
func (r Resource) HasActive() bool {
	_, ok := r.Get("active")
	return ok
}

// MemberIDs lists the ids of a group's members in the order they were added.
func (r Resource) MemberIDs() []string {
	list, _ := r.Attributes["members"].([]any)
	ids := make([]string, 0, len(list))
	for _, m := range list {
		if elem, ok := m.(map[string]any); ok {
			if id, ok := elem["value"].(string); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// deepCopy copies the JSON-like values the store holds, so no map or slice is shared with a caller.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

func copyAttributes(attrs map[string]any) map[string]any {
	return deepCopy(attrs).(map[string]any)
}

// sortedKeys gives map iteration a fixed order, so applying a multi-key PATCH value is deterministic.
func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}
