package refbackend

import (
	"slices"
	"strings"
	"testing"
)

// The request bodies below are Microsoft's documented samples (the SCIM tutorial ENTRA
// use-scim-to-provision-users-and-groups.md and the compliance page
// application-provisioning-config-problem-scim-compatibility.md), sent over HTTP in the order Entra's provisioning
// service sends them.

const enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// S1 "Create User" request.
const createUserSample = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
  "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
  "active": true,
  "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
  "meta": {"resourceType": "User"},
  "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
  "roles": []
}`

// S1 "Create Group" request.
const createGroupSample = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
  "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
  "displayName": "displayName",
  "meta": {"resourceType": "Group"}
}`

func patchBody(ops string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`
}

func TestEntraUserLifecycle(t *testing.T) {
	ts := newTestServer(t)

	// Test connection and the matching query before a create: a random GUID that matches nothing → 200, empty
	// ListResponse, never 404.
	probe := ts.mustSCIM(200, "GET", "/Users?filter=userName+eq+%22cf4d78e8-e9f7-4a5e-9d3c-aa2b7a4f8f2e%22", "")
	list := probe.JSON(t)
	wantEqual(t, "probe totalResults", list["totalResults"], any(float64(0)))
	if r, ok := list["Resources"].([]any); !ok || len(r) != 0 {
		t.Errorf("probe Resources = %#v, want []", list["Resources"])
	}
	if !slices.Equal(toStrings(list["schemas"]), []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"}) {
		t.Errorf("probe schemas = %v", list["schemas"])
	}
	if ct := probe.Header.Get("Content-Type"); ct != "application/scim+json" {
		t.Errorf("Content-Type = %q, want application/scim+json", ct)
	}

	// Create.
	created := ts.mustSCIM(201, "POST", "/Users", createUserSample)
	body := created.JSON(t)
	id, _ := body["id"].(string)
	if id == "" {
		t.Fatalf("create answered no id: %s", created.Body)
	}
	meta, _ := body["meta"].(map[string]any)
	wantEqual(t, "meta.resourceType", meta["resourceType"], any("User"))
	wantEqual(t, "meta.location", meta["location"], any(ts.SCIMBaseURL()+"/Users/"+id))
	wantEqual(t, "Location header", created.Header.Get("Location"), ts.SCIMBaseURL()+"/Users/"+id)
	wantEqual(t, "meta.created", meta["created"], any("2026-03-04T10:00:00Z"))
	wantEqual(t, "meta.version", meta["version"], any(`W/"1"`))
	u := ts.user(id)
	wantEqual(t, "userName", u.UserName(), "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1")
	wantEqual(t, "externalId", u.ExternalID(), "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")
	wantEqual(t, "work email", u.WorkEmail(), "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com")
	wantEqual(t, "name.givenName", u.GetString("name.givenName"), "givenName")
	wantEqual(t, "name.formatted", u.GetString("name.formatted"), "givenName familyName")
	wantEqual(t, "active", u.Active(), true)

	// Duplicate create → 409 uniqueness, also when only the case differs (userName is caseExact=false).
	dup := ts.mustSCIM(409, "POST", "/Users", createUserSample)
	wantEqual(t, "duplicate scimType", dup.JSON(t)["scimType"], any("uniqueness"))
	ts.mustSCIM(409, "POST", "/Users", strings.Replace(createUserSample, "Test_User_", "TEST_USER_", 1))
	wantEqual(t, "users after duplicates", len(ts.Users()), 1)

	// Retrieval the way Entra matches and reads: by userName, externalId, id, and the work email.
	for _, filter := range []string{
		`userName+eq+%22Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1%22`,
		`userName eq "test_user_AB6490EE-1e48-479e-a20b-2d77186b5dd1"`, // userName compares case-insensitively
		`USERNAME Eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"`, // and attribute names and operators too
		`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
		`id eq "` + id + `"`,
		`emails[type eq "work"].value eq "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"`,
		`userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1" and externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
	} {
		if got := ids(t, ts.mustSCIM(200, "GET", "/Users?filter="+queryEscape(filter), "")); !slices.Equal(got, []string{id}) {
			t.Errorf("filter %s matched %v, want [%s]", filter, got, id)
		}
	}
	for _, filter := range []string{
		`externalId eq "0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF"`, // externalId is caseExact
		`emails[type eq "home"].value eq "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"`,
		`userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1" and externalId eq "other"`,
	} {
		if got := ids(t, ts.mustSCIM(200, "GET", "/Users?filter="+queryEscape(filter), "")); len(got) != 0 {
			t.Errorf("filter %s matched %v, want nothing", filter, got)
		}
	}
	got := ts.mustSCIM(200, "GET", "/Users/"+id, "").JSON(t)
	wantEqual(t, "GET id", got["id"], any(id))
	wantEqual(t, "GET userName", got["userName"], any("Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"))

	// S1 "Update User [Multi-valued properties]": legacy dialect, capitalised Replace, one op per attribute.
	ts.clock.Advance(60_000_000_000)
	ts.mustSCIM(204, "PATCH", "/Users/"+id, patchBody(`
		{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},
		{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}`))
	u = ts.user(id)
	wantEqual(t, "email after Replace", u.WorkEmail(), "updatedEmail@microsoft.com")
	wantEqual(t, "familyName after Replace", u.GetString("name.familyName"), "updatedFamilyName")
	wantEqual(t, "givenName kept", u.GetString("name.givenName"), "givenName")
	wantEqual(t, "email primary kept", u.Attributes["emails"].([]any)[0].(map[string]any)["primary"], any(true))
	wantEqual(t, "version after PATCH", u.Version, `W/"2"`)
	wantEqual(t, "lastModified after PATCH", u.LastModified, u.Created.Add(60_000_000_000))

	// S2: single-valued Add, and the URN-qualified enterprise path.
	ts.mustSCIM(204, "PATCH", "/Users/"+id, patchBody(`
		{"op":"Add","path":"nickName","value":"Babs"},
		{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"701984"},
		{"op":"Replace","path":"displayName","value":"Babs Jensen"}`))
	u = ts.user(id)
	wantEqual(t, "nickName", u.GetString("nickName"), "Babs")
	wantEqual(t, "employeeNumber", u.GetString(enterpriseURN+":employeeNumber"), "701984")
	wantEqual(t, "displayName", u.DisplayName(), "Babs Jensen")

	// S2 default dialect disable: the string "False". The user stays visible to GET and to filters.
	ts.mustSCIM(204, "PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"active","value":"False"}`))
	wantEqual(t, "active after \"False\"", ts.user(id).Active(), false)
	wantEqual(t, "active stored as bool", ts.user(id).Attributes["active"], any(false))
	wantEqual(t, "GET inactive", ts.mustSCIM(200, "GET", "/Users/"+id, "").JSON(t)["active"], any(false))
	if got := ids(t, ts.mustSCIM(200, "GET", "/Users?filter="+queryEscape(`userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"`), "")); !slices.Equal(got, []string{id}) {
		t.Errorf("inactive user not found by filter: %v", got)
	}

	// Reactivation with "True", then the lowercase form one report shows.
	ts.mustSCIM(204, "PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"active","value":"True"}`))
	wantEqual(t, "active after \"True\"", ts.user(id).Active(), true)
	ts.mustSCIM(204, "PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"active","value":"false"}`))
	wantEqual(t, "active after \"false\"", ts.user(id).Active(), false)

	// S2 aadOptscim062020: lowercase ops, boolean active, one path-less replace with dotted and URN keys.
	ts.mustSCIM(204, "PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"active","value":true}`))
	wantEqual(t, "active after flag-dialect true", ts.user(id).Active(), true)
	ts.mustSCIM(204, "PATCH", "/Users/"+id, patchBody(`{"op":"replace","value":{
		"displayName":"Barbara Jensen",
		"name.givenName":"Barbara",
		"name.familyName":"Jensen",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"701985"}}`))
	u = ts.user(id)
	wantEqual(t, "displayName (no path)", u.DisplayName(), "Barbara Jensen")
	wantEqual(t, "givenName (no path)", u.GetString("name.givenName"), "Barbara")
	wantEqual(t, "familyName (no path)", u.GetString("name.familyName"), "Jensen")
	wantEqual(t, "formatted kept", u.GetString("name.formatted"), "givenName familyName")
	wantEqual(t, "employeeNumber (no path)", u.GetString(enterpriseURN+":employeeNumber"), "701985")
	ts.mustSCIM(204, "PATCH", "/Users/"+id, patchBody(`{"op":"add","value":{"title":"Tour Guide"}}`))
	wantEqual(t, "title (no-path add)", ts.user(id).GetString("title"), "Tour Guide")

	// A PATCH that changes nothing leaves the version alone.
	before := ts.user(id).Version
	ts.mustSCIM(204, "PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"title","value":"Tour Guide"}`))
	wantEqual(t, "version after no-op PATCH", ts.user(id).Version, before)

	// Renaming onto another user's userName is a conflict.
	other := ts.mustSCIM(201, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"other@contoso.com","active":true}`)
	otherID := other.JSON(t)["id"].(string)
	ts.mustSCIM(409, "PATCH", "/Users/"+otherID, patchBody(`{"op":"Replace","path":"userName","value":"test_user_ab6490ee-1e48-479e-a20b-2d77186b5dd1"}`))
	wantEqual(t, "other userName after conflict", ts.user(otherID).UserName(), "other@contoso.com")

	// Delete → 204, then 404 with a SCIM error.
	ts.mustSCIM(204, "DELETE", "/Users/"+id, "")
	gone := ts.mustSCIM(404, "GET", "/Users/"+id, "")
	wantEqual(t, "404 status member", gone.JSON(t)["status"], any("404"))
	if !slices.Equal(toStrings(gone.JSON(t)["schemas"]), []string{"urn:ietf:params:scim:api:messages:2.0:Error"}) {
		t.Errorf("404 body is not a SCIM error: %s", gone.Body)
	}
	ts.mustSCIM(404, "PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"active","value":"False"}`))
	ts.mustSCIM(404, "DELETE", "/Users/"+id, "")
}

func TestEntraPostAcceptsStringActive(t *testing.T) {
	ts := newTestServer(t)
	// Microsoft's reference target accepts "active":"True" on POST (SCIMReferenceCode Postman collection).
	r := ts.mustSCIM(201, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"emp3","active":"True",
		"emails":[{"type":"work","value":"emp3@contoso.com","primary":"true"}]}`)
	u := ts.user(r.JSON(t)["id"].(string))
	wantEqual(t, "active", u.Attributes["active"], any(true))
	wantEqual(t, "emails[0].primary", u.Attributes["emails"].([]any)[0].(map[string]any)["primary"], any(true))
	ts.mustSCIM(400, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"emp4","active":"maybe"}`)
	ts.mustSCIM(400, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"active":true}`) // no userName
}

func TestEntraGroupLifecycle(t *testing.T) {
	ts := newTestServer(t)
	var userIDs []string
	for _, name := range []string{"adele@contoso.com", "bob@contoso.com", "carol@contoso.com"} {
		r := ts.mustSCIM(201, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+`","active":true}`)
		userIDs = append(userIDs, r.JSON(t)["id"].(string))
	}

	// Lookup before create: excludedAttributes=members and displayName eq → empty list.
	lookup := "/Groups?excludedAttributes=members&filter=displayName+eq+%22displayName%22"
	if got := ids(t, ts.mustSCIM(200, "GET", lookup, "")); len(got) != 0 {
		t.Fatalf("lookup before create matched %v", got)
	}

	// Create with the ADSCIM schema URN and no members.
	created := ts.mustSCIM(201, "POST", "/Groups", createGroupSample)
	gid := created.JSON(t)["id"].(string)
	g := ts.group(gid)
	wantEqual(t, "displayName", g.DisplayName(), "displayName")
	wantEqual(t, "externalId", g.ExternalID(), "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159")
	ts.mustSCIM(409, "POST", "/Groups", createGroupSample) // displayName must be unique

	// S1 "Add members": $ref null, target user ids; several members in one PATCH.
	ts.mustSCIM(204, "PATCH", "/Groups/"+gid, patchBody(`{"op":"Add","path":"members","value":[
		{"$ref":null,"value":"`+userIDs[0]+`"},{"$ref":null,"value":"`+userIDs[1]+`"},{"$ref":null,"value":"`+userIDs[2]+`"}]}`))
	wantEqual(t, "members after Add", strings.Join(ts.GroupMembers(gid), ","), strings.Join(userIDs, ","))
	// Adding a present member again changes nothing; an unknown id is refused.
	ts.mustSCIM(204, "PATCH", "/Groups/"+gid, patchBody(`{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+userIDs[0]+`"}]}`))
	wantEqual(t, "members after re-Add", len(ts.GroupMembers(gid)), 3)
	ts.mustSCIM(400, "PATCH", "/Groups/"+gid, patchBody(`{"op":"Add","path":"members","value":[{"value":"not-a-user"}]}`))

	// Lookup and GET with excludedAttributes=members answer without members; a plain GET includes them.
	listed := ts.mustSCIM(200, "GET", lookup, "").JSON(t)["Resources"].([]any)
	if len(listed) != 1 {
		t.Fatalf("lookup after create: %d resources", len(listed))
	}
	if _, has := listed[0].(map[string]any)["members"]; has {
		t.Errorf("lookup with excludedAttributes=members returned members")
	}
	if _, has := ts.mustSCIM(200, "GET", "/Groups/"+gid+"?excludedAttributes=members", "").JSON(t)["members"]; has {
		t.Errorf("GET with excludedAttributes=members returned members")
	}
	if members, _ := ts.mustSCIM(200, "GET", "/Groups/"+gid, "").JSON(t)["members"].([]any); len(members) != 3 {
		t.Errorf("GET returned %d members, want 3", len(members))
	}

	// Rename.
	ts.mustSCIM(204, "PATCH", "/Groups/"+gid, patchBody(`{"op":"Replace","path":"displayName","value":"1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}`))
	wantEqual(t, "displayName after Replace", ts.group(gid).DisplayName(), "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName")

	// Membership survives the member being disabled.
	ts.mustSCIM(204, "PATCH", "/Users/"+userIDs[0], patchBody(`{"op":"Replace","path":"active","value":"False"}`))
	if !slices.Contains(ts.GroupMembers(gid), userIDs[0]) {
		t.Errorf("disabling a user removed it from the group")
	}

	// Remove members, default dialect: path "members" with the members as the value.
	ts.mustSCIM(204, "PATCH", "/Groups/"+gid, patchBody(`{"op":"Remove","path":"members","value":[{"$ref":null,"value":"`+userIDs[0]+`"}]}`))
	wantEqual(t, "members after Remove (value)", strings.Join(ts.GroupMembers(gid), ","), userIDs[1]+","+userIDs[2])
	// Remove members, aadOptscim062020: a filter in the path.
	ts.mustSCIM(204, "PATCH", "/Groups/"+gid, patchBody(`{"op":"remove","path":"members[value eq \"`+userIDs[1]+`\"]"}`))
	wantEqual(t, "members after remove (filter)", strings.Join(ts.GroupMembers(gid), ","), userIDs[2])

	// Deleting a user drops it from groups.
	ts.mustSCIM(204, "DELETE", "/Users/"+userIDs[2], "")
	wantEqual(t, "members after user delete", len(ts.GroupMembers(gid)), 0)

	ts.mustSCIM(204, "DELETE", "/Groups/"+gid, "")
	ts.mustSCIM(404, "GET", "/Groups/"+gid, "")
	if _, ok := ts.Group(gid); ok {
		t.Errorf("group still stored after DELETE")
	}
}

func TestPaging(t *testing.T) {
	ts := newTestServer(t)
	var all []string
	for i := range 5 {
		r := ts.mustSCIM(201, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u`+string(rune('a'+i))+`@contoso.com"}`)
		all = append(all, r.JSON(t)["id"].(string))
	}
	page := ts.mustSCIM(200, "GET", "/Users?startIndex=2&count=2", "").JSON(t)
	wantEqual(t, "totalResults", page["totalResults"], any(float64(5)))
	wantEqual(t, "startIndex", page["startIndex"], any(float64(2)))
	if got := idsOf(page); !slices.Equal(got, all[1:3]) {
		t.Errorf("page 2 = %v, want %v", got, all[1:3])
	}
	if got := idsOf(ts.mustSCIM(200, "GET", "/Users?startIndex=5&count=10", "").JSON(t)); !slices.Equal(got, all[4:]) {
		t.Errorf("last page = %v, want %v", got, all[4:])
	}
	if got := idsOf(ts.mustSCIM(200, "GET", "/Users?startIndex=9", "").JSON(t)); len(got) != 0 {
		t.Errorf("page past the end = %v", got)
	}
	zero := ts.mustSCIM(200, "GET", "/Users?count=0", "").JSON(t)
	wantEqual(t, "count=0 totalResults", zero["totalResults"], any(float64(5)))
	if got := idsOf(zero); len(got) != 0 {
		t.Errorf("count=0 returned %v", got)
	}
	// attributes=userName returns id and userName, not the rest.
	only := ts.mustSCIM(200, "GET", "/Users?attributes=userName&count=1", "").JSON(t)["Resources"].([]any)[0].(map[string]any)
	if _, has := only["active"]; has || only["userName"] != "ua@contoso.com" || only["id"] != all[0] {
		t.Errorf("attributes=userName returned %v", only)
	}
}

func ids(t *testing.T, r response) []string {
	t.Helper()
	return idsOf(r.JSON(t))
}

func idsOf(list map[string]any) []string {
	var out []string
	resources, _ := list["Resources"].([]any)
	for _, r := range resources {
		if m, ok := r.(map[string]any); ok {
			id, _ := m["id"].(string)
			out = append(out, id)
		}
	}
	return out
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// queryEscape encodes a filter the way Entra does: spaces as '+', quotes as %22.
func queryEscape(s string) string {
	if strings.Contains(s, "%22") {
		return s
	}
	r := strings.NewReplacer(" ", "+", `"`, "%22", "[", "%5B", "]", "%5D", "@", "%40")
	return r.Replace(s)
}
