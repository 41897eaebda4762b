package refbackend

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// This file adapts three things Entra sends that the SCIM library rejects, before the library sees the request.
//
// String booleans: Entra's default PATCH dialect sends "active" as "False"/"True" (a Microsoft maintainer: "our
// service sends it as a string today", AzureAD/SCIMReferenceCode#21; still seen in 2026), and Microsoft's reference
// target accepts "active":"True" on POST. The library accepts those only behind schema.SetAllowStringValues, a
// process-wide switch; flipping it would race between servers and make a strict target impossible, so the
// conversion happens here, per server, and only for attributes the schema declares boolean.
//
// The enterprise manager as a bare id: RFC 7643 §4.3 makes manager complex ({"value": id, "$ref": uri}), but
// Entra sends the manager's id alone ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":
// "user-id", which Microsoft confirmed: "we are only sending ID", Microsoft Q&A 188003; the SCIM tutorial's user
// schema example shows "manager": "123456"), and reads it back as manager.value. A bare string given for a
// single-valued complex attribute with a value sub-attribute is stored as {"value": string}.
//
// Value-path comparisons: Microsoft requires uniqueness attributes to be filterable as
// `emails[type eq "work"].value eq "x"` (use-scim-to-provision-users-and-groups.md), which is not RFC 7644 filter
// grammar and which scim2/filter-parser rejects. It is rewritten to the equivalent `emails[type eq "work" and
// value eq "x"]`.

// coerceBody rewrites string booleans in a POST/PUT resource body or a PATCH body as JSON booleans, and a bare
// manager id as the complex manager. With strict set it instead returns an error describing the first one, as a
// strict SCIM target rejects them. It returns the body unchanged (the same bytes) when there was nothing to
// convert.
func (rs resourceSchema) coerceBody(body []byte, patch, strict bool) ([]byte, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return body, nil
	}
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.UseNumber() // keep numbers exactly as sent when re-encoding
	var doc map[string]any
	if err := decoder.Decode(&doc); err != nil {
		return body, nil // the library reports the syntax error
	}
	c := coercer{strict: strict}
	if patch {
		rs.coercePatch(&c, doc)
	} else {
		rs.coerceResource(&c, doc)
	}
	if c.err != nil {
		return nil, c.err
	}
	if !c.changed {
		return body, nil
	}
	return json.Marshal(doc)
}

type coercer struct {
	strict  bool
	changed bool
	err     error
}

func (rs resourceSchema) coerceResource(c *coercer, doc map[string]any) {
	for key, value := range doc {
		if ext, ok := rs.extension(key); ok {
			if nested, ok := value.(map[string]any); ok {
				c.attributes(ext.Attributes, nested)
			}
			continue
		}
		if attr, ok := rs.core.Attributes.ContainsAttribute(key); ok {
			doc[key] = c.value(attr, value, false)
		}
	}
}

func (rs resourceSchema) coercePatch(c *coercer, doc map[string]any) {
	ops, _ := lookupFold(doc, "Operations").([]any)
	for _, raw := range ops {
		op, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		valueKey, value, ok := lookupFoldKey(op, "value")
		if !ok {
			continue
		}
		pathText, _ := lookupFold(op, "path").(string)
		if pathText == "" {
			// A path-less value maps paths to values (aadOptscim062020) or extension URNs to objects.
			values, ok := value.(map[string]any)
			if !ok {
				continue
			}
			for key, v := range values {
				if ext, ok := rs.extension(key); ok {
					if nested, ok := v.(map[string]any); ok {
						c.attributes(ext.Attributes, nested)
					}
					continue
				}
				if loc, ok := rs.locateText(key); ok {
					values[key] = c.located(loc, v)
				}
			}
			continue
		}
		if loc, ok := rs.locateText(pathText); ok {
			op[valueKey] = c.located(loc, value)
		}
	}
}

func (rs resourceSchema) locateText(path string) (location, bool) {
	p, err := filter.ParsePath([]byte(path))
	if err != nil {
		return location{}, false
	}
	loc, err := rs.locate(p)
	return loc, err == nil
}

// located converts the value a PATCH path targets.
func (c *coercer) located(loc location, value any) any {
	if loc.sub != "" {
		sub, _ := loc.attr.SubAttributes().ContainsAttribute(loc.sub)
		return c.value(sub, value, true)
	}
	// A value filter selects single elements; without one a multi-valued attribute takes a list or one element.
	return c.value(loc.attr, value, loc.filter != nil)
}

func (c *coercer) attributes(attrs schema.Attributes, values map[string]any) {
	for key, v := range values {
		if attr, ok := attrs.ContainsAttribute(key); ok {
			values[key] = c.value(attr, v, false)
		}
	}
}

// value converts v as the value of attr; element is set when v is one element of a multi-valued attribute.
func (c *coercer) value(attr schema.CoreAttribute, v any, element bool) any {
	if attr.MultiValued() && !element {
		if list, ok := v.([]any); ok {
			for i, e := range list {
				list[i] = c.value(attr, e, true)
			}
			return list
		}
		return c.value(attr, v, true)
	}
	switch attr.AttributeType() {
	case "complex":
		if m, ok := v.(map[string]any); ok {
			c.attributes(attr.SubAttributes(), m)
		}
		s, ok := v.(string)
		if _, hasValue := attr.SubAttributes().ContainsAttribute("value"); !ok || !hasValue || attr.MultiValued() {
			return v
		}
		if c.strict {
			if c.err == nil {
				c.err = fmt.Errorf("%q is complex: send {\"value\": %q}, not the bare string", attr.Name(), s)
			}
			return v
		}
		c.changed = true
		return map[string]any{"value": s}
	case "boolean":
		s, ok := v.(string)
		if !ok {
			return v
		}
		var b bool
		switch {
		case strings.EqualFold(s, "true"):
			b = true
		case strings.EqualFold(s, "false"):
			b = false
		default:
			return v // not a boolean at all: the library rejects it
		}
		if c.strict {
			if c.err == nil {
				c.err = fmt.Errorf("%q must be a JSON boolean, not the string %q", attr.Name(), s)
			}
			return v
		}
		c.changed = true
		return b
	}
	return v
}

// stringBooleanComparison finds the first comparison of a boolean attribute with a string in a filter, e.g.
// `active eq "False"`, which a strict target refuses as an invalid filter (RFC 7644 §3.4.2.2: invalidFilter for
// "the specified attribute and filter comparison combination" it does not support).
func (rs resourceSchema) stringBooleanComparison(f string) (string, bool) {
	e, err := filter.ParseFilter([]byte(f))
	if err != nil {
		return "", false // the library reports the syntax error
	}
	var walk func(e filter.Expression, parent *filter.AttributePath) (string, bool)
	walk = func(e filter.Expression, parent *filter.AttributePath) (string, bool) {
		switch e := e.(type) {
		case *filter.LogicalExpression:
			if s, ok := walk(e.Left, parent); ok {
				return s, ok
			}
			return walk(e.Right, parent)
		case *filter.NotExpression:
			return walk(e.Expression, parent)
		case *filter.ValuePath:
			return walk(e.ValueFilter, &e.AttributePath)
		case *filter.AttributeExpression:
			path := e.AttributePath
			if parent != nil {
				// Inside emails[...], "value" is emails.value.
				sub := path.AttributeName
				path = filter.AttributePath{URIPrefix: parent.URIPrefix, AttributeName: parent.AttributeName, SubAttribute: &sub}
			}
			loc, err := rs.locate(filter.Path{AttributePath: path})
			if err != nil {
				return "", false
			}
			attr := loc.attr
			if loc.sub != "" {
				attr, _ = loc.attr.SubAttributes().ContainsAttribute(loc.sub)
			}
			if _, isString := e.CompareValue.(string); isString && attr.AttributeType() == "boolean" {
				return e.String(), true
			}
		}
		return "", false
	}
	return walk(e, nil)
}

// lookupFold finds a JSON member by case-insensitive name, as the library's decoder does for "Operations".
func lookupFold(m map[string]any, name string) any {
	_, v, _ := lookupFoldKey(m, name)
	return v
}

func lookupFoldKey(m map[string]any, name string) (string, any, bool) {
	if v, ok := m[name]; ok {
		return name, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return k, v, true
		}
	}
	return "", nil, false
}

// rewriteValuePathComparisons turns each `attr[filter].sub op value` into `attr[filter and sub op value]`.
// Quoted strings are copied untouched. The rewritten filter is still parsed and validated by the library, so a
// malformed input simply stays malformed. A filter with "or" inside the brackets would change meaning (the
// parser takes no parentheses inside brackets); Entra sends only eq and and.
func rewriteValuePathComparisons(f string) string {
	var out strings.Builder
	for i := 0; i < len(f); {
		switch f[i] {
		case '"':
			end := endOfString(f, i)
			out.WriteString(f[i:end])
			i = end
			continue
		case '[':
			closing := closingBracket(f, i)
			if closing < 0 {
				out.WriteString(f[i:])
				return out.String()
			}
			comparison, n := trailingComparison(f[closing+1:])
			if n == 0 {
				out.WriteString(f[i : closing+1])
			} else {
				out.WriteString(f[i:closing])
				out.WriteString(" and ")
				out.WriteString(comparison)
				out.WriteByte(']')
			}
			i = closing + 1 + n
			continue
		}
		out.WriteByte(f[i])
		i++
	}
	return out.String()
}

// endOfString returns the index just past the quoted string starting at f[start] == '"'.
func endOfString(f string, start int) int {
	for i := start + 1; i < len(f); i++ {
		switch f[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(f)
}

func closingBracket(f string, open int) int {
	for i := open + 1; i < len(f); {
		switch f[i] {
		case '"':
			i = endOfString(f, i)
			continue
		case ']':
			return i
		}
		i++
	}
	return -1
}

// trailingComparison reads `.sub op value` at the start of rest and returns it as `sub op value` with the number
// of bytes consumed, or 0 when rest does not start that way.
func trailingComparison(rest string) (string, int) {
	if !strings.HasPrefix(rest, ".") {
		return "", 0
	}
	i := 1
	for i < len(rest) && isAttrNameChar(rest[i]) {
		i++
	}
	sub := rest[1:i]
	if sub == "" {
		return "", 0
	}
	j := skipSpaces(rest, i)
	if j == i {
		return "", 0
	}
	k := j
	for k < len(rest) && isLetter(rest[k]) {
		k++
	}
	op := strings.ToLower(rest[j:k])
	switch op {
	case "pr":
		return sub + " pr", k
	case "eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le":
	default:
		return "", 0
	}
	v := skipSpaces(rest, k)
	if v == k || v == len(rest) {
		return "", 0
	}
	end := v
	if rest[v] == '"' {
		end = endOfString(rest, v)
	} else {
		for end < len(rest) && rest[end] != ' ' && rest[end] != ')' && rest[end] != ']' {
			end++
		}
	}
	return sub + " " + op + " " + rest[v:end], end
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

func isAttrNameChar(b byte) bool {
	return isLetter(b) || b >= '0' && b <= '9' || b == '_' || b == '-' || b == '$'
}
