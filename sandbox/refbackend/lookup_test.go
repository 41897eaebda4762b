package refbackend

import (
	"slices"
	"testing"
)

// A lookup by one value (how Entra matches before it creates) finds exactly what the filter says, with each
// attribute's case rule (userName and displayName ignore case, externalId does not), attribute names in any
// case, and in creation order; filters of other shapes are evaluated on every record as before.
func TestLookupByOneValue(t *testing.T) {
	ts := newTestServer(t)
	user := func(userName, externalID, displayName, givenName string) string {
		body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `","externalId":"` + externalID +
			`","displayName":"` + displayName + `","name":{"givenName":"` + givenName + `"}}`
		return idsOf(map[string]any{"Resources": []any{ts.mustSCIM(201, "POST", "/Users", body).JSON(t)}})[0]
	}
	ada := user("ada@contoso.com", "ExtA", "Ada", "Ada")
	bob := user("bob@contoso.com", "exta", "ada", "Bob")
	for filter, want := range map[string][]string{
		`userName eq "ADA@CONTOSO.COM"`:                 {ada},
		`USERNAME eq "ada@contoso.com"`:                 {ada},
		`userName eq "nobody"`:                          nil,
		`externalId eq "ExtA"`:                          {ada},
		`externalId eq "exta"`:                          {bob},
		`displayName eq "ADA"`:                          {ada, bob},
		`name.givenName eq "Bob"`:                       {bob},
		`userName sw "BOB"`:                             {bob},
		`displayName eq "ada" and externalId eq "exta"`: {bob},
	} {
		if got := ids(t, ts.mustSCIM(200, "GET", "/Users?filter="+queryEscape(filter), "")); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", filter, got, want)
		}
	}
}

// The values a lookup finds follow every change: a renamed user is found by its new userName only, its old name
// is free for another user, and a deleted user is found by nothing.
func TestLookupFollowsChanges(t *testing.T) {
	ts := newTestServer(t)
	body := func(userName string) string {
		return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `"}`
	}
	find := func(userName string) []string {
		return ids(t, ts.mustSCIM(200, "GET", "/Users?filter="+queryEscape(`userName eq "`+userName+`"`), ""))
	}
	id := idsOf(map[string]any{"Resources": []any{ts.mustSCIM(201, "POST", "/Users", body("ada@contoso.com")).JSON(t)}})[0]
	ts.mustSCIM(409, "POST", "/Users", body("ADA@contoso.com"))
	ts.mustSCIM(204, "PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"userName","value":"ada.lovelace@contoso.com"}`))
	if got := find("ada@contoso.com"); len(got) != 0 {
		t.Errorf("the old userName still finds %v", got)
	}
	if got := find("Ada.Lovelace@contoso.com"); !slices.Equal(got, []string{id}) {
		t.Errorf("the new userName finds %v, want [%s]", got, id)
	}
	other := idsOf(map[string]any{"Resources": []any{ts.mustSCIM(201, "POST", "/Users", body("ada@contoso.com")).JSON(t)}})[0]
	ts.mustSCIM(200, "PUT", "/Users/"+other, body("grace@contoso.com"))
	ts.mustSCIM(204, "DELETE", "/Users/"+id, "")
	if got := find("ada.lovelace@contoso.com"); len(got) != 0 {
		t.Errorf("a deleted user is still found: %v", got)
	}
	if got := find("grace@contoso.com"); !slices.Equal(got, []string{other}) {
		t.Errorf("the replaced userName finds %v, want [%s]", got, other)
	}
}
