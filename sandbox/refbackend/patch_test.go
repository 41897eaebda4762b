package refbackend

import (
	"encoding/json"
	"testing"
)

func TestRewriteValuePathComparisons(t *testing.T) {
	cases := []struct{ in, want string }{
		{`emails[type eq "work"].value eq "a@contoso.com"`, `emails[type eq "work" and value eq "a@contoso.com"]`},
		{`userName eq "x" and emails[type eq "work"].value eq "y"`, `userName eq "x" and emails[type eq "work" and value eq "y"]`},
		{`emails[type eq "work"].value pr`, `emails[type eq "work" and value pr]`},
		{`emails[type eq "work"].value   EQ   "y"`, `emails[type eq "work" and value eq "y"]`},
		{`members[value eq "1"]`, `members[value eq "1"]`},
		{`userName eq "a]b.value eq"`, `userName eq "a]b.value eq"`},
		{`userName eq "a\"[b].value eq \"c\""`, `userName eq "a\"[b].value eq \"c\""`},
		{`emails[value eq "a\"]b"].type eq "work"`, `emails[value eq "a\"]b" and type eq "work"]`},
		{`emails[type eq "work"].value`, `emails[type eq "work"].value`},
		{`emails[type eq "work"`, `emails[type eq "work"`},
	}
	for _, c := range cases {
		if got := rewriteValuePathComparisons(c.in); got != c.want {
			t.Errorf("rewrite(%s)\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

// TestPatchOperations covers PATCH forms beyond Microsoft's samples, each from a fresh user.
func TestPatchOperations(t *testing.T) {
	const base = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"userName":"pat@contoso.com","active":true,
		"name":{"givenName":"Pat","familyName":"Lee"},
		"emails":[{"type":"work","value":"pat@contoso.com","primary":true},{"type":"home","value":"pat@example.com"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}}`
	const noEmail = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"pat@contoso.com"}`
	cases := []struct {
		name, create, ops string
		want              map[string]any // path → value; nil value means absent
	}{
		{"Add work email to a user without one", noEmail,
			`{"op":"Add","path":"emails[type eq \"work\"].value","value":"pat@contoso.com"}`,
			map[string]any{`emails[type eq "work"].value`: "pat@contoso.com", `emails[type eq "work"].type`: "work"}},
		{"Replace work email of a user without one", noEmail,
			`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"pat@contoso.com"}`,
			map[string]any{`emails[type eq "work"].value`: "pat@contoso.com"}},
		{"Remove one sub-attribute", base,
			`{"op":"Remove","path":"name.givenName"}`,
			map[string]any{"name.givenName": nil, "name.familyName": "Lee"}},
		{"Remove the last sub-attribute drops the attribute", base,
			`{"op":"Remove","path":"name.givenName"},{"op":"Remove","path":"name.familyName"}`,
			map[string]any{"name": nil}},
		{"Remove a filtered element", base,
			`{"op":"Remove","path":"emails[type eq \"home\"]"}`,
			map[string]any{`emails[type eq "home"].value`: nil, `emails[type eq "work"].value`: "pat@contoso.com"}},
		{"Replace a whole multi-valued attribute", base,
			`{"op":"Replace","path":"emails","value":[{"type":"work","value":"new@contoso.com"}]}`,
			map[string]any{`emails[type eq "work"].value`: "new@contoso.com", `emails[type eq "home"].value`: nil}},
		{"Replace a complex attribute merges", base,
			`{"op":"Replace","path":"name","value":{"givenName":"Patricia"}}`,
			map[string]any{"name.givenName": "Patricia", "name.familyName": "Lee"}},
		{"Remove the last enterprise attribute", base,
			`{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}`,
			map[string]any{enterpriseURN + ":department": nil}},
		{"Path-less value with a nested extension object", base,
			`{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Ops","costCenter":"42"}}}`,
			map[string]any{enterpriseURN + ":department": "Ops", enterpriseURN + ":costCenter": "42"}},
		{"Attribute names are case-insensitive", base,
			`{"op":"replace","path":"NAME.GIVENNAME","value":"P"},{"op":"Replace","path":"Active","value":"FALSE"}`,
			map[string]any{"name.givenName": "P", "active": false}},
		{"Add with no path and a dotted key, aadOptscim062020", base,
			`{"op":"add","value":{"name.honorificPrefix":"Dr."}}`,
			map[string]any{"name.honorificPrefix": "Dr.", "name.givenName": "Pat"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newTestServer(t)
			id := ts.mustSCIM(201, "POST", "/Users", c.create).JSON(t)["id"].(string)
			ts.mustSCIM(204, "PATCH", "/Users/"+id, patchBody(c.ops))
			u := ts.user(id)
			for path, want := range c.want {
				got, ok := u.Get(path)
				if want == nil {
					if ok {
						t.Errorf("%s = %v, want absent", path, got)
					}
					continue
				}
				if !ok || got != want {
					t.Errorf("%s = %v (present %v), want %v", path, got, ok, want)
				}
			}
			// Whatever was stored must serialise and read back through GET.
			var back map[string]any
			if err := json.Unmarshal([]byte(ts.mustSCIM(200, "GET", "/Users/"+id, "").Body), &back); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPatchRejects(t *testing.T) {
	ts := newTestServer(t)
	id := ts.mustSCIM(201, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"pat@contoso.com"}`).JSON(t)["id"].(string)
	for _, ops := range []string{
		`{"op":"Replace","path":"noSuchAttribute","value":"x"}`,
		`{"op":"Remove","path":"userName"}`,
		`{"op":"Replace","path":"userName","value":""}`,
		`{"op":"Replace","path":"active","value":"maybe"}`,
		`{"op":"Move","path":"userName","value":"x"}`,
		`{"op":"Remove"}`,
	} {
		r := ts.scim("PATCH", "/Users/"+id, patchBody(ops))
		if r.Status != 400 {
			t.Errorf("PATCH %s: status %d, want 400\n%s", ops, r.Status, r.Body)
		}
	}
	wantEqual(t, "userName unchanged", ts.user(id).UserName(), "pat@contoso.com")
	wantEqual(t, "version unchanged", ts.user(id).Version, `W/"1"`)
}
