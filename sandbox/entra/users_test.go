package entra

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestUserQueries(t *testing.T) {
	f := newFixture(t, Options{PageSize: 2})
	adele, megan := f.demo.Users[0], f.demo.NoMailbox

	one := f.must(http.StatusOK, f.get("/users/"+adele.ID)).json(t)
	byUPN := f.must(http.StatusOK, f.get("/users/ADELE.VANCE@contoso.onmicrosoft.com")).json(t)
	if one["id"] != byUPN["id"] || one["mail"] != "adele.vance@contoso.onmicrosoft.com" {
		t.Errorf("by id %v, by UPN %v", one["id"], byUPN["id"])
	}
	for _, prop := range []string{"id", "userPrincipalName", "displayName", "mail", "givenName", "surname", "mailNickname", "accountEnabled", "jobTitle", "department", "userType"} {
		if _, ok := one[prop]; !ok {
			t.Errorf("user lacks %s", prop)
		}
	}
	if m := f.must(http.StatusOK, f.get("/users/"+megan.ID)).json(t); m["mail"] != nil {
		t.Errorf("no-mailbox user has mail %v", m["mail"])
	}
	wantError(t, f.get("/users/nobody@contoso.onmicrosoft.com"), http.StatusNotFound, "Request_ResourceNotFound", "")

	cases := []struct {
		filter string
		want   []string
	}{
		{"userPrincipalName eq 'lee.gu@contoso.onmicrosoft.com'", []string{"Lee Gu"}},
		{"mail eq 'grady.archie@contoso.onmicrosoft.com'", []string{"Grady Archie"}},
		{"displayName eq 'Megan Bowen'", []string{"Megan Bowen"}},
		{"id eq '" + adele.ID + "'", []string{"Adele Vance"}},
		{"startswith(displayName,'d')", []string{"Diego Siciliani"}},
		{"id in ('" + adele.ID + "','" + megan.ID + "')", []string{"Adele Vance", "Megan Bowen"}},
		{"accountEnabled eq false", []string{"Diego Siciliani"}},
	}
	for _, c := range cases {
		got := names(f.must(http.StatusOK, f.get("/users?$top=50&$filter="+url.QueryEscape(c.filter))).values(t))
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("$filter=%s: %v, want %v", c.filter, got, c.want)
		}
	}

	// ne, not, endsWith and eq null are advanced queries.
	advanced := []struct{ filter, op string }{
		{"mail eq null", "eq"}, {"accountEnabled ne true", "ne"}, {"not(startswith(displayName,'a'))", "not"}, {"endswith(mail,'contoso.onmicrosoft.com')", "endsWith"},
	}
	for _, a := range advanced {
		wantError(t, f.get("/users?$filter="+url.QueryEscape(a.filter)), http.StatusBadRequest, "Request_UnsupportedQuery",
			"Operator '"+a.op+"' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information")
	}
	if got := names(f.must(http.StatusOK, f.get("/users?$count=true&$filter="+url.QueryEscape("mail eq null"), "ConsistencyLevel", "eventual")).values(t)); !slices.Equal(got, []string{"Megan Bowen"}) {
		t.Errorf("mail eq null: %v", got)
	}
	if got := names(f.must(http.StatusOK, f.get("/users?$top=50&$count=true&$filter="+url.QueryEscape("accountEnabled ne true"), "ConsistencyLevel", "eventual")).values(t)); !slices.Equal(got, []string{"Diego Siciliani"}) {
		t.Errorf("ne: %v", got)
	}

	// $search needs ConsistencyLevel: eventual; OR-ed clauses; word-prefix matching.
	wantError(t, f.get(`/users?$search="displayName:lee"`), http.StatusBadRequest, "Request_UnsupportedQuery", "")
	search := func(q string) []string {
		return names(f.must(http.StatusOK, f.get("/users?$top=50&$search="+url.QueryEscape(q), "ConsistencyLevel", "eventual")).values(t))
	}
	if got := search(`"displayName:gu"`); !slices.Equal(got, []string{"Lee Gu"}) {
		t.Errorf("search displayName:gu %v", got)
	}
	if got := search(`"userPrincipalName:megan" OR "mail:grady"`); !slices.Equal(got, []string{"Megan Bowen", "Grady Archie"}) {
		t.Errorf("OR search %v", got)
	}
	wantError(t, f.get(`/users?$search="foo"`, "ConsistencyLevel", "eventual"), http.StatusBadRequest, "Request_UnsupportedQuery", "")

	// $count with an advanced query, paging over three pages, $select.
	body := f.must(http.StatusOK, f.get("/users?$count=true&$select=displayName,mail", "ConsistencyLevel", "eventual")).json(t)
	if body["@odata.count"] != float64(6) {
		t.Errorf("@odata.count %v, want 6", body["@odata.count"])
	}
	first := valuesOf(body)
	if len(first) != 2 || len(first[0]) != 2 {
		t.Errorf("first page %v", first)
	}
	seen := names(first)
	next := body["@odata.nextLink"].(string)
	for next != "" {
		if !strings.Contains(next, "$select=displayName,mail") {
			t.Fatalf("nextLink drops the query: %s", next)
		}
		page := f.must(http.StatusOK, f.get(strings.TrimPrefix(next, f.srv.URL+"/v1.0"), "ConsistencyLevel", "eventual")).json(t)
		seen = append(seen, names(valuesOf(page))...)
		next, _ = page["@odata.nextLink"].(string)
	}
	if len(seen) != 6 {
		t.Errorf("paged through %d users, want 6: %v", len(seen), seen)
	}

	wantError(t, f.get("/users/$count"), http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")
	count := f.must(http.StatusOK, f.get("/users/$count?$filter="+url.QueryEscape("accountEnabled eq true"), "ConsistencyLevel", "eventual"))
	if string(count.raw) != "5" || !strings.HasPrefix(count.header.Get("Content-Type"), "text/plain") {
		t.Errorf("$count %q (%s)", count.raw, count.header.Get("Content-Type"))
	}
}

func TestGroupMembers(t *testing.T) {
	f := newFixture(t, Options{})
	g := f.demo.SmallstepUsers
	group := f.must(http.StatusOK, f.get("/groups/"+g.ID)).json(t)
	if group["displayName"] != "Smallstep Users" || group["securityEnabled"] != true {
		t.Errorf("group %v", group)
	}
	byName := f.must(http.StatusOK, f.get("/groups?$filter="+url.QueryEscape("displayName eq 'Engineering'"))).values(t)
	if len(byName) != 1 || byName[0]["id"] != f.demo.Engineering.ID {
		t.Errorf("group filter %v", byName)
	}
	members := f.must(http.StatusOK, f.get("/groups/"+g.ID+"/members")).values(t)
	if len(members) != 3 || members[0]["@odata.type"] != "#microsoft.graph.user" {
		t.Fatalf("members %v", members)
	}
	if !slices.Contains(names(members), "Megan Bowen") {
		t.Errorf("no-mailbox user missing from members: %v", names(members))
	}
	users := f.must(http.StatusOK, f.get("/groups/"+g.ID+"/members/microsoft.graph.user?$select=id,userPrincipalName")).json(t)
	if !strings.HasSuffix(users["@odata.context"].(string), "#users(id,userPrincipalName)") || len(valuesOf(users)) != 3 {
		t.Errorf("cast %v", users)
	}
	if sdk := f.must(http.StatusOK, f.get("/groups/"+g.ID+"/members/graph.user")).values(t); len(sdk) != 3 {
		t.Errorf("the SDK's cast segment graph.user gave %d members", len(sdk))
	}
	wantError(t, f.get("/groups/"+g.ID+"/members/$count"), http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")
	if c := f.must(http.StatusOK, f.get("/groups/"+g.ID+"/members/$count", "ConsistencyLevel", "eventual")); string(c.raw) != "3" {
		t.Errorf("members/$count %q", c.raw)
	}
	searched := f.must(http.StatusOK, f.get(`/groups?$search="displayName:small"`, "ConsistencyLevel", "eventual")).values(t)
	if len(searched) != 1 {
		t.Errorf("group search found %d", len(searched))
	}
}

func TestAdminWritesUsersAndGroups(t *testing.T) {
	f := newFixture(t, Options{})
	// The flow's token cannot write users.
	wantError(t, f.request(http.MethodPost, "/users", map[string]any{}), http.StatusForbidden, "Authorization_RequestDenied", "")
	f.token = f.demo.DirectoryAdminToken

	newUser := map[string]any{
		"accountEnabled": true, "displayName": "Nestor Wilke", "mailNickname": "nestor",
		"userPrincipalName": "nestor@contoso.onmicrosoft.com", "passwordProfile": map[string]any{"password": "p@ss-W0rd-123", "forceChangePasswordNextSignIn": true},
	}
	created := f.must(http.StatusCreated, f.request(http.MethodPost, "/users", newUser)).json(t)
	if created["passwordProfile"] != nil || created["userType"] != "Member" {
		t.Errorf("created %v", created)
	}
	wantError(t, f.request(http.MethodPost, "/users", newUser), http.StatusBadRequest, "Request_BadRequest",
		"Another object with the same value for property userPrincipalName already exists.")
	other := map[string]any{"accountEnabled": true, "displayName": "X", "mailNickname": "x", "userPrincipalName": "x@fabrikam.com",
		"passwordProfile": map[string]any{"password": "p@ss-W0rd-123"}}
	wantError(t, f.request(http.MethodPost, "/users", other), http.StatusBadRequest, "Request_BadRequest", "")
	missing := map[string]any{"displayName": "No UPN"}
	wantError(t, f.request(http.MethodPost, "/users", missing), http.StatusBadRequest, "Request_BadRequest", "")

	id := created["id"].(string)
	f.must(http.StatusNoContent, f.request(http.MethodPatch, "/users/"+id, map[string]any{"jobTitle": "Buyer", "mail": "nestor@contoso.onmicrosoft.com"}))
	wantError(t, f.request(http.MethodPatch, "/users/"+id, map[string]any{"favouriteColour": "blue"}), http.StatusBadRequest, "Request_BadRequest", "Invalid property 'favouriteColour'.")
	u, err := f.tenant.UserByID(id)
	if err != nil || u.JobTitle != "Buyer" || u.Mail != "nestor@contoso.onmicrosoft.com" {
		t.Errorf("after PATCH %+v %v", u, err)
	}

	group := f.must(http.StatusCreated, f.request(http.MethodPost, "/groups",
		map[string]any{"displayName": "Buyers", "mailEnabled": false, "mailNickname": "buyers", "securityEnabled": true})).json(t)
	gid := group["id"].(string)
	ref := map[string]any{"@odata.id": f.srv.URL + "/v1.0/directoryObjects/" + id}
	f.must(http.StatusNoContent, f.request(http.MethodPost, "/groups/"+gid+"/members/$ref", ref))
	wantError(t, f.request(http.MethodPost, "/groups/"+gid+"/members/$ref", ref), http.StatusBadRequest, "Request_BadRequest",
		"One or more added object references already exist for the following modified properties: 'members'.")
	if g, _ := f.tenant.GroupByID(gid); !slices.Equal(g.MemberIDs, []string{id}) {
		t.Errorf("members %v", g.MemberIDs)
	}
	f.must(http.StatusNoContent, f.request(http.MethodDelete, "/groups/"+gid+"/members/"+id+"/$ref", nil))
	wantError(t, f.request(http.MethodDelete, "/groups/"+gid+"/members/"+id+"/$ref", nil), http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+gid+"' does not exist or one of its queried reference-property objects are not present.")

	f.must(http.StatusNoContent, f.request(http.MethodPost, "/groups/"+f.demo.SmallstepUsers.ID+"/members/$ref", ref))
	f.must(http.StatusNoContent, f.request(http.MethodDelete, "/users/"+id, nil))
	if g, _ := f.tenant.GroupByID(f.demo.SmallstepUsers.ID); slices.Contains(g.MemberIDs, id) {
		t.Error("deleted user is still a member")
	}
	wantError(t, f.get("/users/"+id), http.StatusNotFound, "Request_ResourceNotFound", "")
}

func TestMeOrganizationAndLicences(t *testing.T) {
	f := newFixture(t, Options{})
	me := f.must(http.StatusOK, f.get("/me")).json(t)
	if me["id"] != f.demo.Admin.ID || me["userPrincipalName"] != "admin@contoso.onmicrosoft.com" {
		t.Errorf("/me %v", me)
	}
	if err := f.tenant.AddGroupMember(f.demo.Engineering.ID, f.demo.Admin.ID); err != nil {
		t.Fatal(err)
	}
	memberOf := f.must(http.StatusOK, f.get("/me/memberOf")).values(t)
	if len(memberOf) != 2 {
		t.Fatalf("memberOf %v", memberOf)
	}
	role := memberOf[0]
	if role["@odata.type"] != "#microsoft.graph.directoryRole" || role["roleTemplateId"] != RoleGlobalAdministrator || role["displayName"] != "Global Administrator" {
		t.Errorf("role %v", role)
	}
	if memberOf[1]["@odata.type"] != "#microsoft.graph.group" || memberOf[1]["displayName"] != "Engineering" {
		t.Errorf("group %v", memberOf[1])
	}
	roles := f.must(http.StatusOK, f.get("/me/transitiveMemberOf/graph.directoryRole?$select=displayName,roleTemplateId")).values(t)
	if len(roles) != 1 || roles[0]["roleTemplateId"] != RoleGlobalAdministrator {
		t.Errorf("role cast %v", roles)
	}

	skus := f.must(http.StatusOK, f.get("/subscribedSkus")).values(t)
	if len(skus) != 1 || skus[0]["skuPartNumber"] != "AAD_PREMIUM" || skus[0]["capabilityStatus"] != "Enabled" {
		t.Fatalf("skus %v", skus)
	}
	found := false
	for _, p := range skus[0]["servicePlans"].([]any) {
		plan := p.(map[string]any)
		if plan["servicePlanId"] == ServicePlanEntraIDP1 && plan["servicePlanName"] == "AAD_PREMIUM" && plan["provisioningStatus"] == "Success" {
			found = true
		}
	}
	if !found {
		t.Error("no AAD_PREMIUM service plan")
	}
	wantError(t, f.get("/subscribedSkus?$filter="+url.QueryEscape("skuPartNumber eq 'x'")), http.StatusBadRequest, "Request_UnsupportedQuery", "")
}

// A directory filter lists at most 15 values in its in operators unless it is an advanced query (DOCS known
// issues, query parameters).
func TestFilterInLimit(t *testing.T) {
	f := newFixture(t, Options{})
	values := func(n int) string {
		var quoted []string
		for i := range n {
			quoted = append(quoted, fmt.Sprintf("'user%d@example.com'", i))
		}
		return url.QueryEscape("userPrincipalName in (" + strings.Join(quoted, ",") + ")")
	}
	f.must(http.StatusOK, f.get("/users?$filter="+values(15)))
	wantError(t, f.get("/users?$filter="+values(16)), http.StatusBadRequest, "Request_UnsupportedQuery", "")
	f.must(http.StatusOK, f.get("/users?$count=true&$filter="+values(16), "ConsistencyLevel", "eventual"))
}
