package steps

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
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

func TestEditUserMappings(t *testing.T) {
	schema := templateSchema(t)
	_, groupsBefore := userAndGroupMappings(t, schema)
	edited, diffs, ruleID, err := editUserMappings(schema)
	if err != nil {
		t.Fatal(err)
	}
	if ruleID == "" {
		t.Error("no rule id")
	}
	users, groups := userAndGroupMappings(t, edited)
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
	changed := map[string]MappingDiff{}
	for _, d := range diffs {
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
	if len(diffs) != 2+15 { // externalId and emails changed, 15 of the 22 defaults removed
		t.Errorf("%d changes, want 17: %+v", len(diffs), diffs)
	}

	// Editing the result again changes nothing: what makes re-runs free of writes.
	again, diffs, _, err := editUserMappings(edited)
	if err != nil || len(diffs) != 0 || string(again) != string(edited) {
		t.Errorf("second edit: %v, %+v", err, diffs)
	}
}

func TestEditUserMappingsKeepsEquivalentActive(t *testing.T) {
	schema := strings.Replace(string(templateSchema(t)), `Switch([IsSoftDeleted], , \"False\", \"True\", \"True\", \"False\")`, `Not([IsSoftDeleted])`, 1)
	if !strings.Contains(schema, "Not([IsSoftDeleted])") {
		t.Fatal("fixture has no Switch active mapping to replace")
	}
	edited, _, _, err := editUserMappings([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	users, _ := userAndGroupMappings(t, edited)
	if users[1].target != "active" || users[1].expression != "Not([IsSoftDeleted])" {
		t.Errorf("active mapping = %+v, want the equivalent Not([IsSoftDeleted]) kept", users[1])
	}
}

func TestEditUserMappingsNeedsAUserMapping(t *testing.T) {
	if _, _, _, err := editUserMappings([]byte(`{"synchronizationRules":[{"id":"r","objectMappings":[{"sourceObjectName":"Group","attributeMappings":[]}]}]}`)); err == nil {
		t.Error("a schema without a user mapping was accepted")
	}
	if _, _, _, err := editUserMappings([]byte(`not json`)); err == nil {
		t.Error("broken JSON was accepted")
	}
}
