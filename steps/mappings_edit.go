package steps

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/idpctl/idpctl/graph"
)

// userMapping is one user attribute mapping the setup keeps (wantedUserMappings lists them).
type userMapping struct {
	target string
	// expression is the source as the portal shows it. An attribute ("[mail]") is written as an Attribute
	// source; a function's source structure is the provisioning service's own, from parseExpression: the keys
	// of its parameters are the service's to define.
	expression string
	matching   bool
	// keepExisting accepts the template's own mapping for the target as it is, if its expression satisfies this
	// pattern (the template's active mapping has two spellings, both right).
	keepExisting *regexp.Regexp
}

// wantedUserMappings are the user mappings, in the order the portal lists them. active stays although the
// guide's list omits it: without it Entra never sends deactivation or reactivation, which the guide lists as
// supported features. emails uses Coalesce so users without a mailbox are not skipped.
func wantedUserMappings() []userMapping {
	return []userMapping{
		{target: "userName", expression: "[userPrincipalName]", matching: true},
		{
			target:       "active",
			expression:   `Switch([IsSoftDeleted], , "False", "True", "True", "False")`,
			keepExisting: regexp.MustCompile(`(?i)^\s*(Switch\(\s*\[IsSoftDeleted\]|Not\(\s*\[IsSoftDeleted\]\s*\))`),
		},
		{target: "displayName", expression: "[displayName]"},
		{target: `emails[type eq "work"].value`, expression: "Coalesce([mail], [userPrincipalName])"},
		{target: "name.givenName", expression: "[givenName]"},
		{target: "name.familyName", expression: "[surname]"},
		{target: "externalId", expression: "[objectId]"},
	}
}

// attributeReference matches an expression that is a bare attribute, e.g. "[objectId]".
var attributeReference = regexp.MustCompile(`^\[([^\[\]]+)\]$`)

// isFunction reports whether an expression's source needs the service's parsing: anything but a bare attribute.
func isFunction(expression string) bool { return !attributeReference.MatchString(expression) }

// attributeSource is an Attribute source (DOCS resources/synchronization-attributemappingsource.md): it has no
// parameters, so its shape is not the service's to choose.
func attributeSource(expression string) graph.MappingSource {
	name := attributeReference.FindStringSubmatch(expression)[1]
	return graph.MappingSource{Type: "Attribute", Name: name, Expression: expression, Parameters: []graph.MappingParameter{}}
}

// speculativeExpressions are the function expressions worth parsing before the job's schema is read: those of
// mappings the template never holds right. The others (active) are parsed only if the schema turns out to need
// them, which keeps a first setup within its request budget.
func speculativeExpressions() []string {
	var out []string
	for _, w := range wantedUserMappings() {
		if isFunction(w.expression) && w.keepExisting == nil {
			out = append(out, w.expression)
		}
	}
	return out
}

// MappingDiff is one change editUserMappings made, for the plan.
type MappingDiff struct {
	Target string
	Old    string // source expression before; "" when added
	New    string // source expression after; "" when removed
}

// mappingEdit is what editUserMappings made of a schema.
type mappingEdit struct {
	Schema []byte // the edited schema; nil when nothing changes or a source is still unparsed
	Diffs  []MappingDiff
	RuleID string // the synchronization rule holding the user mapping (provisionOnDemand needs it)
	// Unparsed are the function expressions the edit needs from parseExpression before it can be written.
	Unparsed []string
}

// editUserMappings makes the user mapping of a synchronization schema exactly the wanted list and leaves
// everything else (directories, group mappings, metadata) as it was. parsed holds the sources parseExpression
// returned, by expression; a mapping that must be written with a function source not in it is listed in
// Unparsed instead, and then no schema is returned.
func editUserMappings(schema []byte, parsed map[string]graph.MappingSource) (mappingEdit, error) {
	var edit mappingEdit
	dec := json.NewDecoder(bytes.NewReader(schema))
	dec.UseNumber() // keep numbers exactly as Graph sent them
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return edit, fmt.Errorf("reading the synchronization schema: %w", err)
	}
	rules, _ := doc["synchronizationRules"].([]any)
	found := false
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		mappings, _ := rule["objectMappings"].([]any)
		for _, m := range mappings {
			om, _ := m.(map[string]any)
			if om["sourceObjectName"] != "User" {
				continue
			}
			found = true
			if edit.RuleID == "" {
				edit.RuleID, _ = rule["id"].(string)
			}
			diffs, unparsed := editObjectMapping(om, parsed)
			edit.Diffs = append(edit.Diffs, diffs...)
			edit.Unparsed = append(edit.Unparsed, unparsed...)
		}
	}
	if !found {
		return edit, fmt.Errorf("the provisioning job's schema has no user mapping (no object mapping from source object \"User\"); was the job created from the scim template?")
	}
	if edit.RuleID == "" {
		return edit, fmt.Errorf("the synchronization rule holding the user mapping has no id")
	}
	if len(edit.Diffs) == 0 || len(edit.Unparsed) > 0 {
		return edit, nil
	}
	var err error
	edit.Schema, err = json.Marshal(doc)
	return edit, err
}

func editObjectMapping(om map[string]any, parsed map[string]graph.MappingSource) (diffs []MappingDiff, unparsed []string) {
	current, _ := om["attributeMappings"].([]any)
	byTarget := map[string]map[string]any{}
	for _, c := range current {
		if am, ok := c.(map[string]any); ok {
			if t, ok := am["targetAttributeName"].(string); ok {
				byTarget[t] = am
			}
		}
	}
	var next []any
	kept := map[string]bool{}
	for _, w := range wantedUserMappings() {
		kept[w.target] = true
		have := byTarget[w.target]
		if have != nil && (sameMapping(have, w) || w.keepExisting != nil && w.keepExisting.MatchString(expression(sourceOf(have)))) {
			next = append(next, have)
			continue
		}
		if have == nil {
			diffs = append(diffs, MappingDiff{Target: w.target, New: w.expression})
		} else {
			diffs = append(diffs, MappingDiff{Target: w.target, Old: expression(sourceOf(have)), New: w.expression})
		}
		source, ok := parsed[w.expression]
		switch {
		case !isFunction(w.expression):
			source = attributeSource(w.expression)
		case !ok:
			unparsed = append(unparsed, w.expression)
			continue
		}
		next = append(next, withSource(have, w, source))
	}
	for _, c := range current {
		am, _ := c.(map[string]any)
		t, _ := am["targetAttributeName"].(string)
		if !kept[t] {
			diffs = append(diffs, MappingDiff{Target: t, Old: expression(sourceOf(am))})
		}
	}
	om["attributeMappings"] = next
	return diffs, unparsed
}

// withSource is the mapping w with its source: the template's mapping for the target with what defines the
// mapping replaced (its flow behaviour and metadata stay), or a new one.
func withSource(have map[string]any, w userMapping, source graph.MappingSource) map[string]any {
	priority := 0
	if w.matching {
		priority = 1
	}
	m := map[string]any{
		"defaultValue":            nil,
		"exportMissingReferences": false,
		"flowBehavior":            "FlowWhenChanged",
		"flowType":                "Always",
	}
	for k, v := range have {
		m[k] = v
	}
	m["targetAttributeName"] = w.target
	m["source"] = source
	m["matchingPriority"] = json.Number(fmt.Sprint(priority))
	return m
}

func sourceOf(am map[string]any) map[string]any {
	s, _ := am["source"].(map[string]any)
	return s
}

// expression is a mapping source as people read it, e.g. "[objectId]" or "Coalesce([mail], [userPrincipalName])".
func expression(source map[string]any) string {
	if e, ok := source["expression"].(string); ok && e != "" {
		return e
	}
	if n, ok := source["name"].(string); ok && source["type"] == "Attribute" {
		return "[" + n + "]"
	}
	name, _ := source["name"].(string)
	return name
}

func sameMapping(have map[string]any, w userMapping) bool {
	priority := "0"
	if w.matching {
		priority = "1"
	}
	return normalizeExpression(expression(sourceOf(have))) == normalizeExpression(w.expression) &&
		fmt.Sprint(have["matchingPriority"]) == priority &&
		(have["flowType"] == nil || have["flowType"] == "Always")
}

func normalizeExpression(e string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(e, ",", ", ")), " ")
}
