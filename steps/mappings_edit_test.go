package steps

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/graph"
)

// templateSchema is the scim template's schema as the simulated tenant serves it: the 22 default user mappings
// and the three group mappings.
func templateSchema(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile("../sandbox/entra/fixtures/scim-template-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type mappingView struct {
	target, expression string
	matching           int
}

func userAndGroupMappings(t *testing.T, schema []byte) (users, groups []mappingView) {
	t.Helper()
	var doc struct {
		SynchronizationRules []struct {
			ObjectMappings []struct {
				SourceObjectName  string
				AttributeMappings []struct {
					TargetAttributeName string
					MatchingPriority    int
					Source              struct{ Expression string }
				}
			}
		}
	}
	if err := json.Unmarshal(schema, &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range doc.SynchronizationRules {
		for _, om := range r.ObjectMappings {
			for _, m := range om.AttributeMappings {
				v := mappingView{m.TargetAttributeName, m.Source.Expression, m.MatchingPriority}
				if om.SourceObjectName == "User" {
					users = append(users, v)
				} else {
					groups = append(groups, v)
				}
			}
		}
	}
	return users, groups
}

// coalesceSource stands for what parseExpression answers for the emails mapping.
func coalesceSource() graph.MappingSource {
	attr := func(n string) graph.MappingSource {
		return graph.MappingSource{Type: "Attribute", Name: n, Expression: "[" + n + "]", Parameters: []graph.MappingParameter{}}
	}
	return graph.MappingSource{Type: "Function", Name: "Coalesce", Expression: "Coalesce([mail], [userPrincipalName])",
		Parameters: []graph.MappingParameter{{Key: "source", Value: attr("mail")}, {Key: "source", Value: attr("userPrincipalName")}}}
}

func TestEditUserMappings(t *testing.T) {
	schema := templateSchema(t)
	_, groupsBefore := userAndGroupMappings(t, schema)
	// Without the service's source for Coalesce the edit cannot be written: it says what to parse.
	first, err := editUserMappings(schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Schema != nil || !slices.Equal(first.Unparsed, []string{"Coalesce([mail], [userPrincipalName])"}) {
		t.Fatalf("edit without parsed sources: schema %d bytes, unparsed %q", len(first.Schema), first.Unparsed)
	}
	edit, err := editUserMappings(schema, map[string]graph.MappingSource{coalesceSource().Expression: coalesceSource()})
	if err != nil {
		t.Fatal(err)
	}
	if edit.RuleID == "" || len(edit.Unparsed) != 0 || edit.Schema == nil {
		t.Fatalf("edit = rule %q, unparsed %q", edit.RuleID, edit.Unparsed)
	}
	users, groups := userAndGroupMappings(t, edit.Schema)
	want := []mappingView{
		{"userName", "[userPrincipalName]", 1},
		{"active", `Switch([IsSoftDeleted], , "False", "True", "True", "False")`, 0},
		{"displayName", "[displayName]", 0},
		{`emails[type eq "work"].value`, "Coalesce([mail], [userPrincipalName])", 0},
		{"name.givenName", "[givenName]", 0},
		{"name.familyName", "[surname]", 0},
		{"externalId", "[objectId]", 0},
	}
	if !slices.Equal(users, want) {
		t.Errorf("user mappings:\n got %v\nwant %v", users, want)
	}
	if !slices.Equal(groups, groupsBefore) {
		t.Errorf("group mappings changed:\n got %v\nwant %v", groups, groupsBefore)
	}
	// The written source is the service's, parameters and all; an attribute's is the documented shape.
	sources := userSources(t, edit.Schema)
	if got := sources[`emails[type eq "work"].value`]; !reflect.DeepEqual(got, coalesceSource()) {
		t.Errorf("emails source %+v, want the parsed %+v", got, coalesceSource())
	}
	if got := sources["externalId"]; !reflect.DeepEqual(got, graph.MappingSource{Type: "Attribute", Name: "objectId", Expression: "[objectId]", Parameters: []graph.MappingParameter{}}) {
		t.Errorf("externalId source %+v", got)
	}
	changed := map[string]MappingDiff{}
	for _, d := range edit.Diffs {
		changed[d.Target] = d
	}
	if d := changed["externalId"]; d.Old != "[mailNickname]" || d.New != "[objectId]" {
		t.Errorf("externalId change = %+v", d)
	}
	if d := changed[`emails[type eq "work"].value`]; d.Old != "[mail]" || !strings.HasPrefix(d.New, "Coalesce") {
		t.Errorf("emails change = %+v", d)
	}
	if d, ok := changed["title"]; !ok || d.New != "" {
		t.Errorf("title not removed: %+v", d)
	}
	if _, ok := changed["userName"]; ok {
		t.Error("userName reported changed though the template already has it")
	}
	if len(edit.Diffs) != 2+15 { // externalId and emails changed, 15 of the 22 defaults removed
		t.Errorf("%d changes, want 17: %+v", len(edit.Diffs), edit.Diffs)
	}

	// Editing the result again changes nothing and needs no parsing: what makes re-runs free of writes.
	again, err := editUserMappings(edit.Schema, nil)
	if err != nil || len(again.Diffs) != 0 || again.Schema != nil || len(again.Unparsed) != 0 {
		t.Errorf("second edit: %v, %+v", err, again)
	}
}

// userSources are the user mappings' sources by target.
func userSources(t *testing.T, schema []byte) map[string]graph.MappingSource {
	t.Helper()
	var doc struct {
		SynchronizationRules []struct {
			ObjectMappings []struct {
				SourceObjectName  string
				AttributeMappings []struct {
					TargetAttributeName string
					Source              graph.MappingSource
				}
			}
		}
	}
	if err := json.Unmarshal(schema, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]graph.MappingSource{}
	for _, om := range doc.SynchronizationRules[0].ObjectMappings {
		for _, m := range om.AttributeMappings {
			if om.SourceObjectName == "User" {
				out[m.TargetAttributeName] = m.Source
			}
		}
	}
	return out
}

func TestEditUserMappingsKeepsEquivalentActive(t *testing.T) {
	schema := strings.Replace(string(templateSchema(t)), `Switch([IsSoftDeleted], , \"False\", \"True\", \"True\", \"False\")`, `Not([IsSoftDeleted])`, 1)
	if !strings.Contains(schema, "Not([IsSoftDeleted])") {
		t.Fatal("fixture has no Switch active mapping to replace")
	}
	edit, err := editUserMappings([]byte(schema), map[string]graph.MappingSource{coalesceSource().Expression: coalesceSource()})
	if err != nil {
		t.Fatal(err)
	}
	users, _ := userAndGroupMappings(t, edit.Schema)
	if users[1].target != "active" || users[1].expression != "Not([IsSoftDeleted])" {
		t.Errorf("active mapping = %+v, want the equivalent Not([IsSoftDeleted]) kept", users[1])
	}
}

func TestEditUserMappingsNeedsAUserMapping(t *testing.T) {
	if _, err := editUserMappings([]byte(`{"synchronizationRules":[{"id":"r","objectMappings":[{"sourceObjectName":"Group","attributeMappings":[]}]}]}`), nil); err == nil {
		t.Error("a schema without a user mapping was accepted")
	}
	if _, err := editUserMappings([]byte(`not json`), nil); err == nil {
		t.Error("broken JSON was accepted")
	}
}
