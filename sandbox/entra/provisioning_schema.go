package entra

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// syncSchema is what the engine reads of a job's synchronizationSchema (DOCS
// resources/synchronization-synchronizationschema.md): the rules with their user and group object mappings,
// and the target directory's attribute definitions (types, null flow).
type syncSchema struct {
	rules []syncRule
}

type syncRule struct {
	id          string
	targetDirID string         // the target directory's id, named in provisioning logs
	users       *objectMapping // nil when the rule has no enabled User mapping
	groups      *objectMapping
}

// objectMapping is one enabled objectMapping: source object (User or Group) to target object.
type objectMapping struct {
	name         string
	sourceObject string
	targetObject string
	flowAdd      bool // flowTypes: "Add, Update, Delete"
	flowUpdate   bool
	flowDelete   bool
	attrs        []attrMapping
	// matching lists the matching attributes by matchingPriority (1 first); Entra tries them in that order.
	matching []attrMapping
}

// attrMapping is one attributeMapping with its expression parsed.
type attrMapping struct {
	target   string
	path     targetPath
	exprText string
	expr     expr
	exprErr  error
	// defaultValue is used when the expression yields null.
	defaultValue value
	// addOnly is flowType ObjectAddOnly: the attribute is set on create and never updated.
	addOnly  bool
	priority int
	def      targetAttrDef
}

// targetAttrDef is what the target directory says about an attribute.
type targetAttrDef struct {
	boolean        bool
	reference      bool
	flowNullValues bool
}

type rawSource struct {
	Expression string `json:"expression"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Parameters []struct {
		Key   string     `json:"key"`
		Value *rawSource `json:"value"`
	} `json:"parameters"`
}

type rawSchema struct {
	Directories []struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Objects []struct {
			Name       string `json:"name"`
			Attributes []struct {
				Name           string `json:"name"`
				Type           string `json:"type"`
				FlowNullValues bool   `json:"flowNullValues"`
			} `json:"attributes"`
		} `json:"objects"`
	} `json:"directories"`
	Rules []struct {
		ID                  string `json:"id"`
		TargetDirectoryName string `json:"targetDirectoryName"`
		ObjectMappings      []struct {
			Enabled           *bool  `json:"enabled"`
			FlowTypes         string `json:"flowTypes"`
			Name              string `json:"name"`
			SourceObjectName  string `json:"sourceObjectName"`
			TargetObjectName  string `json:"targetObjectName"`
			AttributeMappings []struct {
				TargetAttributeName string     `json:"targetAttributeName"`
				DefaultValue        *string    `json:"defaultValue"`
				FlowType            string     `json:"flowType"`
				MatchingPriority    int        `json:"matchingPriority"`
				Source              *rawSource `json:"source"`
			} `json:"attributeMappings"`
		} `json:"objectMappings"`
	} `json:"synchronizationRules"`
}

// parseSyncSchema reads the schema a job stores. Expressions that do not parse are kept with their error, so
// only the objects they touch fail.
func parseSyncSchema(raw []byte) (*syncSchema, error) {
	var rs rawSchema
	if err := json.Unmarshal(raw, &rs); err != nil {
		return nil, fmt.Errorf("the job's schema is not a synchronizationSchema: %w", err)
	}
	// Target attribute definitions by directory name, object name and attribute name (case-insensitive).
	defs := map[string]map[string]targetAttrDef{}
	dirIDs := map[string]string{}
	for _, d := range rs.Directories {
		dirIDs[strings.ToLower(d.Name)] = d.ID
		for _, o := range d.Objects {
			key := strings.ToLower(d.Name + "|" + o.Name)
			m := map[string]targetAttrDef{}
			for _, a := range o.Attributes {
				m[strings.ToLower(a.Name)] = targetAttrDef{
					boolean:        strings.EqualFold(a.Type, "Boolean"),
					reference:      strings.EqualFold(a.Type, "Reference"),
					flowNullValues: a.FlowNullValues,
				}
			}
			defs[key] = m
		}
	}
	s := &syncSchema{}
	for _, r := range rs.Rules {
		rule := syncRule{id: r.ID, targetDirID: dirIDs[strings.ToLower(r.TargetDirectoryName)]}
		for _, om := range r.ObjectMappings {
			if om.Enabled != nil && !*om.Enabled {
				continue
			}
			m := &objectMapping{
				name: om.Name, sourceObject: om.SourceObjectName, targetObject: om.TargetObjectName,
				flowAdd: true, flowUpdate: true, flowDelete: true,
			}
			if ft := strings.ToLower(om.FlowTypes); ft != "" {
				m.flowAdd, m.flowUpdate, m.flowDelete = strings.Contains(ft, "add"), strings.Contains(ft, "update"), strings.Contains(ft, "delete")
			}
			targetDefs := defs[strings.ToLower(r.TargetDirectoryName+"|"+om.TargetObjectName)]
			for _, am := range om.AttributeMappings {
				if am.Source == nil || am.TargetAttributeName == "" {
					continue
				}
				a := attrMapping{
					target:   am.TargetAttributeName,
					path:     parseTargetPath(am.TargetAttributeName),
					exprText: sourceExpression(am.Source),
					addOnly:  strings.EqualFold(am.FlowType, "ObjectAddOnly"),
					priority: am.MatchingPriority,
					def:      targetDefs[strings.ToLower(am.TargetAttributeName)],
				}
				if targetDefs == nil && strings.EqualFold(a.target, "active") {
					a.def.boolean = true // a schema without directory definitions still types active as SCIM does
				}
				if am.DefaultValue != nil && *am.DefaultValue != "" {
					a.defaultValue = single(*am.DefaultValue)
				}
				a.expr, a.exprErr = parseExpression(a.exprText)
				m.attrs = append(m.attrs, a)
				if a.priority > 0 {
					m.matching = append(m.matching, a)
				}
			}
			slices.SortStableFunc(m.matching, func(x, y attrMapping) int { return x.priority - y.priority })
			switch {
			case strings.EqualFold(om.SourceObjectName, "User") && rule.users == nil:
				rule.users = m
			case strings.EqualFold(om.SourceObjectName, "Group") && rule.groups == nil:
				rule.groups = m
			}
		}
		s.rules = append(s.rules, rule)
	}
	if len(s.rules) == 0 {
		return nil, fmt.Errorf("the job's schema has no synchronizationRules")
	}
	return s, nil
}

// sourceExpression is the mapping's expression text; when a client sent only the parsed form, the text is
// rebuilt from it.
func sourceExpression(src *rawSource) string {
	if strings.TrimSpace(src.Expression) != "" {
		return src.Expression
	}
	switch strings.ToLower(src.Type) {
	case "attribute", "":
		return "[" + src.Name + "]"
	case "constant":
		return `"` + strings.ReplaceAll(strings.ReplaceAll(src.Name, `\`, `\\`), `"`, `\"`) + `"`
	}
	args := make([]string, 0, len(src.Parameters))
	for _, p := range src.Parameters {
		if p.Value == nil {
			args = append(args, "")
			continue
		}
		args = append(args, sourceExpression(p.Value))
	}
	return src.Name + "(" + strings.Join(args, ", ") + ")"
}

// rule returns the rule with the id, or the first rule when id is "".
func (s *syncSchema) rule(id string) (syncRule, bool) {
	for _, r := range s.rules {
		if id == "" || r.id == id {
			return r, true
		}
	}
	return syncRule{}, false
}

// primaryMatching is the matching attribute with the lowest priority, used by the random-GUID probe; userName
// when the mapping has none.
func (m *objectMapping) primaryMatching() string {
	if m == nil || len(m.matching) == 0 {
		return "userName"
	}
	return m.matching[0].target
}

// evaluate computes the target values of an object: target attribute name → value, leaving out nulls (Entra
// does not provision them) and reference attributes (members and manager are resolved separately). An
// expression that cannot be evaluated fails the whole object.
func (m *objectMapping) evaluate(env *exprEnv) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range m.attrs {
		if a.def.reference || strings.EqualFold(a.target, "members") {
			continue
		}
		if a.exprErr != nil {
			return nil, fmt.Errorf("attribute mapping for %s: %w", a.target, a.exprErr)
		}
		v, err := a.expr.eval(env)
		if err != nil {
			return nil, fmt.Errorf("attribute mapping for %s: %w", a.target, err)
		}
		if v.isEmpty() {
			v = a.defaultValue
		}
		if v.isEmpty() {
			continue
		}
		out[a.target] = v.first()
	}
	return out, nil
}
