package steps

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// userMapping is one user attribute mapping the setup keeps (DESIGN.md "The flow", user mappings).
type userMapping struct {
	target   string
	source   map[string]any // attributeMappingSource
	matching bool
	// keepExisting accepts the template's own mapping for the target as it is, if its expression satisfies this
	// pattern (the template's active mapping has two spellings, both right).
	keepExisting *regexp.Regexp
}

func attributeSource(name string) map[string]any {
	return map[string]any{"type": "Attribute", "name": name, "expression": "[" + name + "]", "parameters": []any{}}
}

// The user mappings, in the order the portal lists them. active stays although the guide's list omits it:
// without it Entra never sends deactivation or reactivation, which the guide lists as supported features.
// emails uses Coalesce so users without a mailbox are not skipped.
var wantedUserMappings = []userMapping{
	{target: "userName", source: attributeSource("userPrincipalName"), matching: true},
	{
		target: "active",
		source: map[string]any{
			"type": "Function", "name": "Switch",
			"expression": `Switch([IsSoftDeleted], , "False", "True", "True", "False")`,
			"parameters": []any{
				map[string]any{"key": "source", "value": attributeSource("IsSoftDeleted")},
				map[string]any{"key": "defaultValue", "value": constantSource("")},
				map[string]any{"key": "key", "value": constantSource("False")},
				map[string]any{"key": "value", "value": constantSource("True")},
				map[string]any{"key": "key", "value": constantSource("True")},
				map[string]any{"key": "value", "value": constantSource("False")},
			},
		},
		keepExisting: regexp.MustCompile(`(?i)^\s*(Switch\(\s*\[IsSoftDeleted\]|Not\(\s*\[IsSoftDeleted\]\s*\))`),
	},
	{target: "displayName", source: attributeSource("displayName")},
	{
		target: `emails[type eq "work"].value`,
		// The parameter keys follow the function reference's argument names (source1, source2); the service
		// treats expression as the source of truth. UNVERIFIED against a real exported schema.
		source: map[string]any{
			"type": "Function", "name": "Coalesce",
			"expression": "Coalesce([mail], [userPrincipalName])",
			"parameters": []any{
				map[string]any{"key": "source1", "value": attributeSource("mail")},
				map[string]any{"key": "source2", "value": attributeSource("userPrincipalName")},
			},
		},
	},
	{target: "name.givenName", source: attributeSource("givenName")},
	{target: "name.familyName", source: attributeSource("surname")},
	{target: "externalId", source: attributeSource("objectId")},
}

func constantSource(v string) map[string]any {
	return map[string]any{"type": "Constant", "name": v, "expression": `"` + v + `"`, "parameters": []any{}}
}

// MappingDiff is one change editUserMappings made, for the plan.
type MappingDiff struct {
	Target string
	Old    string // source expression before; "" when added
	New    string // source expression after; "" when removed
}

// editUserMappings makes the user mapping of a synchronization schema exactly the wanted list and leaves
// everything else (directories, group mappings, metadata) as it was. It returns the edited schema, the changes
// and the id of the synchronization rule holding the user mapping (provisionOnDemand needs it).
func editUserMappings(schema []byte) (edited []byte, diffs []MappingDiff, ruleID string, err error) {
	dec := json.NewDecoder(bytes.NewReader(schema))
	dec.UseNumber() // keep numbers exactly as Graph sent them
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, "", fmt.Errorf("reading the synchronization schema: %w", err)
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
			if ruleID == "" {
				ruleID, _ = rule["id"].(string)
			}
			d := editObjectMapping(om)
			diffs = append(diffs, d...)
		}
	}
	if !found {
		return nil, nil, "", fmt.Errorf("the provisioning job's schema has no user mapping (no object mapping from source object \"User\"); was the job created from the scim template?")
	}
	if ruleID == "" {
		return nil, nil, "", fmt.Errorf("the synchronization rule holding the user mapping has no id")
	}
	if len(diffs) == 0 {
		return schema, nil, ruleID, nil
	}
	edited, err = json.Marshal(doc)
	return edited, diffs, ruleID, err
}

func editObjectMapping(om map[string]any) []MappingDiff {
	current, _ := om["attributeMappings"].([]any)
	byTarget := map[string]map[string]any{}
	for _, c := range current {
		if am, ok := c.(map[string]any); ok {
			if t, ok := am["targetAttributeName"].(string); ok {
				byTarget[t] = am
			}
		}
	}
	var (
		next  []any
		diffs []MappingDiff
		kept  = map[string]bool{}
	)
	for _, w := range wantedUserMappings {
		kept[w.target] = true
		have := byTarget[w.target]
		want := newAttributeMapping(w)
		switch {
		case have == nil:
			diffs = append(diffs, MappingDiff{Target: w.target, New: expression(w.source)})
			next = append(next, want)
		case w.keepExisting != nil && w.keepExisting.MatchString(expression(sourceOf(have))):
			next = append(next, have)
		case sameMapping(have, want):
			next = append(next, have)
		default:
			diffs = append(diffs, MappingDiff{Target: w.target, Old: expression(sourceOf(have)), New: expression(w.source)})
			// Keep the template's other fields (flow behaviour, metadata) and replace what defines the mapping.
			merged := map[string]any{}
			for k, v := range have {
				merged[k] = v
			}
			merged["source"] = want["source"]
			merged["matchingPriority"] = want["matchingPriority"]
			next = append(next, merged)
		}
	}
	for _, c := range current {
		am, _ := c.(map[string]any)
		t, _ := am["targetAttributeName"].(string)
		if !kept[t] {
			diffs = append(diffs, MappingDiff{Target: t, Old: expression(sourceOf(am))})
		}
	}
	om["attributeMappings"] = next
	return diffs
}

func newAttributeMapping(w userMapping) map[string]any {
	priority := 0
	if w.matching {
		priority = 1
	}
	return map[string]any{
		"targetAttributeName":     w.target,
		"source":                  w.source,
		"defaultValue":            nil,
		"exportMissingReferences": false,
		"flowBehavior":            "FlowWhenChanged",
		"flowType":                "Always",
		"matchingPriority":        json.Number(fmt.Sprint(priority)),
	}
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

func sameMapping(have, want map[string]any) bool {
	return normalizeExpression(expression(sourceOf(have))) == normalizeExpression(expression(sourceOf(want))) &&
		fmt.Sprint(have["matchingPriority"]) == fmt.Sprint(want["matchingPriority"]) &&
		(have["flowType"] == nil || have["flowType"] == "Always")
}

func normalizeExpression(e string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(e, ",", ", ")), " ")
}
