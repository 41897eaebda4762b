package entra

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestParseExpression follows DOCS synchronization-synchronizationschema-parseexpression.md: its example request
// gets its example answer, and the functions setup and the template use come back with the service's parameter
// names (Mid, Not and Replace as in DOCS resources/synchronization-objectmapping.md's example schema).
func TestParseExpression(t *testing.T) {
	s := newSyncFixture(t, Options{})
	path := s.base + "/jobs/" + s.jobID + "/schema/parseExpression"
	parse := func(expression string) map[string]any {
		t.Helper()
		return s.must(http.StatusOK, s.request(http.MethodPost, path, map[string]any{"expression": expression})).json(t)
	}
	attr := func(name string) map[string]any {
		return map[string]any{"expression": "[" + name + "]", "name": name, "parameters": []any{}, "type": "Attribute"}
	}
	constant := func(v string) map[string]any {
		return map[string]any{"expression": `"` + v + `"`, "name": v, "parameters": []any{}, "type": "Constant"}
	}
	param := func(key string, v map[string]any) any { return map[string]any{"key": key, "value": v} }
	function := func(name, expression string, params ...any) map[string]any {
		return map[string]any{"expression": expression, "name": name, "parameters": params, "type": "Function"}
	}
	sameJSON := func(what string, got, want any) {
		t.Helper()
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s:\n got %s\nwant %s", what, g, w)
		}
	}

	// The documented example, request and answer.
	docs := s.must(http.StatusOK, s.request(http.MethodPost, path, map[string]any{
		"expression":                `Replace([preferredLanguage], "-", , , "_", ,  )`,
		"targetAttributeDefinition": nil,
		"testInputObject": map[string]any{"definition": nil, "properties": []any{
			map[string]any{"key": "objectId", "value": "66E4A8CC-1B7B-435E-95F8-F06CEA133828"},
			map[string]any{"key": "preferredLanguage", "value": "EN-US"},
			map[string]any{"key": "appRoleAssignments", "value@odata.type": "#Collection(String)", "value": []any{"Default Assignment"}},
		}},
	})).json(t)
	sameJSON("documented example", map[string]any{
		"error": docs["error"], "evaluationSucceeded": docs["evaluationSucceeded"], "evaluationResult": docs["evaluationResult"],
		"parsedExpression": docs["parsedExpression"], "parsingSucceeded": docs["parsingSucceeded"],
	}, map[string]any{
		"error": nil, "evaluationSucceeded": true, "evaluationResult": []any{"EN_US"},
		"parsedExpression": function("Replace", `Replace([preferredLanguage], "-", , , "_", , )`,
			param("source", attr("preferredLanguage")), param("Find", constant("-")), param("Replacement", constant("_"))),
		"parsingSucceeded": true,
	})

	for _, tc := range []struct {
		expression string
		want       map[string]any
	}{
		{"Coalesce([mail], [userPrincipalName])", function("Coalesce", "Coalesce([mail], [userPrincipalName])",
			param("source", attr("mail")), param("source", attr("userPrincipalName")))},
		// An omitted argument (Switch's default) has no parameter; key and value repeat.
		{`Switch([IsSoftDeleted], , "False", "True", "True", "False")`, function("Switch", `Switch([IsSoftDeleted], , "False", "True", "True", "False")`,
			param("source", attr("IsSoftDeleted")), param("key", constant("False")), param("value", constant("True")),
			param("key", constant("True")), param("value", constant("False")))},
		{`Join(" ",[givenName],[surname])`, function("Join", `Join(" ", [givenName], [surname])`,
			param("separator", constant(" ")), param("source", attr("givenName")), param("source", attr("surname")))},
		{"Not([IsSoftDeleted])", function("Not", "Not([IsSoftDeleted])", param("source", attr("IsSoftDeleted")))},
		// A bare number is quoted in its own source, as in the documented schema's Mid mapping.
		{"Mid([userPrincipalName], 1, 8)", function("Mid", "Mid([userPrincipalName], 1, 8)",
			param("source", attr("userPrincipalName")), param("start", constant("1")), param("length", constant("8")))},
		{"ToLower(Coalesce([mail], [userPrincipalName]))", function("ToLower", "ToLower(Coalesce([mail], [userPrincipalName]))",
			param("source", function("Coalesce", "Coalesce([mail], [userPrincipalName])",
				param("source", attr("mail")), param("source", attr("userPrincipalName")))))},
		{"[objectId]", attr("objectId")},
		{`"Sales"`, constant("Sales")},
	} {
		got := parse(tc.expression)
		if got["parsingSucceeded"] != true || got["evaluationSucceeded"] != false {
			t.Errorf("%s: %v", tc.expression, got)
		}
		sameJSON(tc.expression, got["parsedExpression"], tc.want)
	}

	// What cannot be parsed is reported in the answer.
	for _, bad := range []string{"Coalesce([mail]", "NoSuchFunction([mail])", "Not([a], [b])", ""} {
		got := parse(bad)
		e, _ := got["error"].(map[string]any)
		if got["parsingSucceeded"] != false || got["parsedExpression"] != nil || e == nil || e["message"] == "" {
			t.Errorf("%q: %v", bad, got)
		}
	}
	wantError(t, s.request(http.MethodPost, s.base+"/jobs/scim.nope/schema/parseExpression", map[string]any{"expression": "[mail]"}),
		http.StatusNotFound, "Request_ResourceNotFound", "")
}

// TestGetSecrets: GET answers the saved set with credentials masked; a PUT replaces the set, and a key sent
// empty is gone.
func TestGetSecrets(t *testing.T) {
	s := newSyncFixture(t, Options{})
	if got := s.must(http.StatusOK, s.get(s.base+"/secrets")).values(t); len(got) != 0 {
		t.Errorf("nothing saved yet: %v", got)
	}
	notify := `{"Enabled":true,"Recipients":"alerts@contoso.com","DeleteThresholdEnabled":true,"DeleteThresholdValue":50}`
	s.must(http.StatusNoContent, s.request(http.MethodPut, s.base+"/secrets", map[string]any{"value": []map[string]any{
		{"key": "BaseAddress", "value": "https://scim.example.com/scim/v2"},
		{"key": "SecretToken", "value": "very-secret-token"},
		{"key": "SyncNotificationSettings", "value": notify},
		{"key": "SkipOutOfScopeDeletions", "value": "True"},
	}}))
	r := s.must(http.StatusOK, s.get(s.base+"/secrets"))
	if strings.Contains(string(r.raw), "very-secret-token") {
		t.Fatal("GET shows the token")
	}
	got := map[string]any{}
	for _, kv := range r.values(t) {
		got[kv["key"].(string)] = kv["value"]
	}
	want := map[string]any{"BaseAddress": "https://scim.example.com/scim/v2", "SecretToken": "*", "SyncNotificationSettings": notify, "SkipOutOfScopeDeletions": "True"}
	if g, w := jsonText(got), jsonText(want); g != w {
		t.Errorf("GET secrets\n got %s\nwant %s", g, w)
	}
	s.must(http.StatusNoContent, s.request(http.MethodPut, s.base+"/secrets", map[string]any{"value": []map[string]any{
		{"key": "BaseAddress", "value": "https://scim.example.com/scim/v2"}, {"key": "SkipOutOfScopeDeletions", "value": ""}}}))
	if keys := s.tenant.SecretKeys(s.spID); strings.Join(keys, ",") != "BaseAddress" {
		t.Errorf("after a PUT without the token and with an empty key: %v", keys)
	}
}

func jsonText(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}
