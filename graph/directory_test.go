package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	tenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	adeleID  = "cdb555e3-b33e-4fd5-a427-17fadacbdfa7"
	alexID   = "f3d4b1c2-9e8d-4c7b-a6f5-e4d3c2b1a0f9"
	groupID  = "02bd9fd6-8f93-4758-87c3-1fb73740a315"
)

const userSelect = "id,userPrincipalName,displayName,mail,givenName,surname,accountEnabled"

const adeleJSON = `{"id":"` + adeleID + `","userPrincipalName":"AdeleV@contoso.onmicrosoft.com","displayName":"Adele Vance",
  "mail":"AdeleV@contoso.com","givenName":"Adele","surname":"Vance","accountEnabled":true}`

var adele = User{ID: adeleID, UserPrincipalName: "AdeleV@contoso.onmicrosoft.com", DisplayName: "Adele Vance",
	Mail: "AdeleV@contoso.com", GivenName: "Adele", Surname: "Vance", AccountEnabled: true}

const alexJSON = `{"id":"` + alexID + `","userPrincipalName":"AlexW@contoso.onmicrosoft.com","displayName":"Alex Wilber",
  "mail":null,"givenName":"Alex","surname":"Wilber","accountEnabled":false}`

var alex = User{ID: alexID, UserPrincipalName: "AlexW@contoso.onmicrosoft.com", DisplayName: "Alex Wilber",
	GivenName: "Alex", Surname: "Wilber"}

func TestTenantReads(t *testing.T) {
	f := newFakeGraph(t,
		stub{method: "GET", path: "/organization", resp: `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#organization","value":[{
		  "id":"` + tenantID + `","displayName":"Contoso","tenantType":"AAD",
		  "verifiedDomains":[
		    {"capabilities":"Email, OfficeCommunicationsOnline","isDefault":false,"isInitial":true,"name":"contoso.onmicrosoft.com","type":"Managed"},
		    {"capabilities":"Email","isDefault":true,"isInitial":false,"name":"contoso.com","type":"Managed"}]}]}`},
		stub{method: "GET", path: "/me", query: q("$select", userSelect), resp: adeleJSON},
		stub{method: "GET", path: "/me/memberOf", query: q("$top", "999"), resp: `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#directoryObjects","value":[
		  {"@odata.type":"#microsoft.graph.group","id":"` + groupID + `","displayName":"Sales","securityEnabled":true},
		  {"@odata.type":"#microsoft.graph.directoryRole","id":"2d4a4c5e-7e1d-4bd3-9f5c-93f0a9b2d6e1","displayName":"Application Administrator",
		   "description":"Can create and manage all aspects of app registrations and enterprise apps.","roleTemplateId":"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"}]}`},
		stub{method: "GET", path: "/subscribedSkus", resp: `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#subscribedSkus","value":[{
		  "accountName":"Contoso","capabilityStatus":"Enabled","consumedUnits":14,"id":"48a80680-7326-48cd-9935-b556b81d3a4e_c7df2760-2c81-4ef7-b578-5b5392b571df",
		  "skuId":"078d2b04-f1bd-4111-bbd4-b4b1b354cef4","skuPartNumber":"AAD_PREMIUM","appliesTo":"User",
		  "prepaidUnits":{"enabled":25,"suspended":0,"warning":0,"lockedOut":0},
		  "servicePlans":[
		    {"servicePlanId":"41781fb2-bc02-4b7c-bd55-b576c07bb09d","servicePlanName":"AAD_PREMIUM","provisioningStatus":"Success","appliesTo":"User"},
		    {"servicePlanId":"113feb6c-3fe4-4440-bddc-54d774bf0318","servicePlanName":"EXCHANGE_S_FOUNDATION","provisioningStatus":"PendingActivation","appliesTo":"Company"}]}]}`},
	)
	c, _ := newTestClient(t, f)
	ctx := context.Background()
	org, err := c.Organization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Organization", org, Organization{ID: tenantID, DisplayName: "Contoso",
		VerifiedDomains: []string{"contoso.onmicrosoft.com", "contoso.com"}, DefaultDomain: "contoso.com"})
	me, err := c.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Me", me, adele)
	roles, err := c.MyDirectoryRoles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "MyDirectoryRoles", roles, []DirectoryRole{{ID: "2d4a4c5e-7e1d-4bd3-9f5c-93f0a9b2d6e1",
		DisplayName: "Application Administrator", RoleTemplateID: "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"}})
	skus, err := c.SubscribedSkus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "SubscribedSkus", skus, []Sku{{SkuPartNumber: "AAD_PREMIUM", CapabilityStatus: "Enabled", ServicePlans: []ServicePlan{
		{ID: "41781fb2-bc02-4b7c-bd55-b576c07bb09d", Name: "AAD_PREMIUM", ProvisioningStatus: "Success"},
		{ID: "113feb6c-3fe4-4440-bddc-54d774bf0318", Name: "EXCHANGE_S_FOUNDATION", ProvisioningStatus: "PendingActivation"},
	}}})
}

// in is the query of a batched lookup: property in (values), the user or group fields, the largest page.
func in(property, fields string, values ...string) url.Values {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = quote(v)
	}
	return url.Values{"$filter": {property + " in (" + strings.Join(quoted, ",") + ")"}, "$select": {fields}, "$top": {"999"}}
}

func userList(users ...string) string {
	return `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName,displayName,mail,givenName,surname,accountEnabled)","value":[` +
		strings.Join(users, ",") + `]}`
}

func TestResolveUser(t *testing.T) {
	f := newFakeGraph(t,
		stub{method: "GET", path: "/users", query: in("id", userSelect, adeleID), resp: userList(adeleJSON)},
		stub{method: "GET", path: "/users", query: in("userPrincipalName", userSelect, "AdeleV@contoso.onmicrosoft.com"), resp: userList(adeleJSON)},
		// A name no userPrincipalName matches is looked up by mail.
		stub{method: "GET", path: "/users", query: in("userPrincipalName", userSelect, "nobody@contoso.com"), resp: userList()},
		stub{method: "GET", path: "/users", query: in("mail", userSelect, "nobody@contoso.com"), resp: userList()},
		stub{method: "GET", path: "/users", query: in("id", userSelect, alexID), resp: userList()},
		// Two users share a mail address: the caller must choose.
		stub{method: "GET", path: "/users", query: in("userPrincipalName", userSelect, "shared@contoso.com"), resp: userList()},
		stub{method: "GET", path: "/users", query: in("mail", userSelect, "shared@contoso.com"),
			resp: userList(strings.Replace(adeleJSON, "AdeleV@contoso.com", "Shared@contoso.com", 1), strings.Replace(alexJSON, `"mail":null`, `"mail":"shared@contoso.com"`, 1))},
	)
	c, _ := newTestClient(t, f)
	ctx := context.Background()
	for _, ref := range []string{adeleID, "AdeleV@contoso.onmicrosoft.com"} {
		u, err := c.ResolveUser(ctx, ref)
		if err != nil {
			t.Fatalf("ResolveUser(%s): %v", ref, err)
		}
		diff(t, "ResolveUser("+ref+")", u, adele)
	}
	for _, ref := range []string{"nobody@contoso.com", alexID} {
		_, err := c.ResolveUser(ctx, ref)
		if !IsNotFound(err) || !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), ref) {
			t.Errorf("ResolveUser(%s): err = %v, want not found naming the input", ref, err)
		}
	}
	_, err := c.ResolveUser(ctx, "shared@contoso.com")
	if err == nil || IsNotFound(err) || !strings.Contains(err.Error(), "AlexW@contoso.onmicrosoft.com") {
		t.Errorf("ambiguous mail: err = %v, want an error listing the candidates", err)
	}
	if _, err := c.ResolveUser(ctx, "  "); err == nil {
		t.Error("empty name: want an error")
	}
}

// Many users are resolved in JSON batches of lookups, 15 values to a lookup: the ids and the first names go
// out together; a throttled lookup is sent again, alone in a batch of its own, after its Retry-After; names no
// userPrincipalName matched are then looked up by mail.
func TestResolveUsersInBatches(t *testing.T) {
	var names []string
	for i := range 16 {
		names = append(names, fmt.Sprintf("user%02d@contoso.com", i))
	}
	names[3] = "O'Neil@contoso.com" // quoted as OData wants, and found whatever its case
	batch := func(requests ...string) string { return `{"requests":[` + strings.Join(requests, ",") + `]}` }
	get := func(id string, query url.Values) string {
		return fmt.Sprintf(`{"id":%q,"method":"GET","url":%q}`, id, "/users?"+odataQuery(
			[2]string{"$filter", query.Get("$filter")}, [2]string{"$select", query.Get("$select")}, [2]string{"$top", query.Get("$top")}))
	}
	oneil := `{"id":"` + alexID + `","userPrincipalName":"o'neil@contoso.com","displayName":"Pat O'Neil","mail":null,"givenName":"Pat","surname":"O'Neil","accountEnabled":true}`
	answer := func(id string, status int, header, body string) string {
		return fmt.Sprintf(`{"id":%q,"status":%d,"headers":%s,"body":%s}`, id, status, header, body)
	}
	jsonHeader := `{"Content-Type":"application/json"}`
	f := newFakeGraph(t,
		stub{method: "POST", path: "/$batch",
			body: batch(get("1", in("id", userSelect, adeleID)), get("2", in("userPrincipalName", userSelect, names[:15]...)),
				get("3", in("userPrincipalName", userSelect, names[15:]...))),
			// Answers come in any order; the second lookup is throttled and sent again alone.
			resp: `{"responses":[` + answer("3", 200, jsonHeader, userList()) + "," +
				answer("2", 429, `{"Retry-After":"3","Content-Type":"application/json"}`, graphError("TooManyRequests", "Please retry again later.", "r2")) + "," +
				answer("1", 200, jsonHeader, userList(adeleJSON)) + `]}`},
		stub{method: "POST", path: "/$batch", body: batch(get("2", in("userPrincipalName", userSelect, names[:15]...))),
			resp: `{"responses":[` + answer("2", 200, jsonHeader, userList(oneil)) + `]}`},
		// Every name but O'Neil's is looked up by mail: 15 in one request, alone since it is the only one.
		stub{method: "GET", path: "/users", query: in("mail", userSelect, append(append([]string{}, names[:3]...), names[4:]...)...), resp: userList()},
	)
	c, clock := newTestClient(t, f)
	users, errs := c.ResolveUsers(context.Background(), append([]string{adeleID}, names...)...)
	diff(t, "adele", users[0], adele)
	if errs[0] != nil {
		t.Errorf("adele: %v", errs[0])
	}
	if errs[4] != nil || users[4].ID != alexID {
		t.Errorf("O'Neil: %+v, %v", users[4], errs[4])
	}
	for i, err := range errs {
		if i != 0 && i != 4 && !IsNotFound(err) {
			t.Errorf("%s: err = %v, want not found", append([]string{adeleID}, names...)[i], err)
		}
	}
	if got := clock.Sleeps(); len(got) != 1 || got[0] != 3*time.Second {
		t.Errorf("sleeps %v, want the throttled lookup's Retry-After of 3s", got)
	}
}

func TestSearchUsersAndGroups(t *testing.T) {
	eventualHeader := http.Header{"Consistencylevel": {"eventual"}}
	f := newFakeGraph(t,
		stub{method: "GET", path: "/users", header: eventualHeader,
			query: q("$search", `"displayName:ade" OR "userPrincipalName:ade" OR "mail:ade"`, "$top", "5", "$select", userSelect),
			resp:  `{"value":[` + adeleJSON + `]}`},
		stub{method: "GET", path: "/groups", header: eventualHeader,
			query: q("$search", `"displayName:sal\"es"`, "$top", "10", "$select", "id,displayName,securityEnabled,mailEnabled"),
			resp:  `{"value":[{"id":"` + groupID + `","displayName":"Sales","securityEnabled":true,"mailEnabled":false}]}`},
	)
	c, _ := newTestClient(t, f)
	users, err := c.SearchUsers(context.Background(), "ade", 5)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "SearchUsers", users, []User{adele})
	groups, err := c.SearchGroups(context.Background(), `sal"es`, 0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "SearchGroups", groups, []Group{{ID: groupID, DisplayName: "Sales", SecurityEnabled: true}})
	if users, err := c.SearchUsers(context.Background(), " ", 5); users != nil || err != nil {
		t.Errorf("empty search = %v, %v; want nothing and no request", users, err)
	}
}

func TestResolveGroupAndMembers(t *testing.T) {
	const groupSelect = "id,displayName,securityEnabled,mailEnabled"
	const otherSales = "6e1c2b3a-4d5e-4f6a-8b7c-9d0e1f2a3b4c"
	f := newFakeGraph(t)
	next := f.srv.URL + "/v1.0/groups/" + groupID + "/members/graph.user?$select=" + userSelect + "&$top=999&$skiptoken=X2NvbnRpbnVl"
	f.plan = []stub{
		stub{method: "GET", path: "/groups", query: in("id", groupSelect, groupID),
			resp: `{"value":[{"id":"` + groupID + `","displayName":"Sales","securityEnabled":true,"mailEnabled":false}]}`},
		stub{method: "GET", path: "/groups", query: in("displayName", groupSelect, "Sales"),
			resp: `{"value":[{"id":"` + groupID + `","displayName":"Sales","securityEnabled":true,"mailEnabled":false},
			                 {"id":"` + otherSales + `","displayName":"Sales","securityEnabled":false,"mailEnabled":true}]}`},
		stub{method: "GET", path: "/groups", query: in("displayName", groupSelect, "Nobody"), resp: `{"value":[]}`},
		stub{method: "GET", path: "/groups/" + groupID + "/members/graph.user", query: q("$select", userSelect, "$top", "999"),
			resp: `{"@odata.nextLink":"` + next + `","value":[` + adeleJSON + `]}`},
		stub{method: "GET", path: "/groups/" + groupID + "/members/graph.user", query: q("$select", userSelect, "$top", "999", "$skiptoken", "X2NvbnRpbnVl"),
			resp: `{"value":[` + alexJSON + `]}`},
	}
	c, _ := newTestClient(t, f)
	ctx := context.Background()
	byID, err := c.ResolveGroup(ctx, groupID)
	if err != nil {
		t.Fatal(err)
	}
	sales := Group{ID: groupID, DisplayName: "Sales", SecurityEnabled: true}
	diff(t, "ResolveGroup(id)", byID, []Group{sales})
	byName, err := c.ResolveGroup(ctx, "Sales")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ResolveGroup(name)", byName, []Group{sales, {ID: otherSales, DisplayName: "Sales", MailEnabled: true}})
	if _, err := c.ResolveGroup(ctx, "Nobody"); !IsNotFound(err) {
		t.Errorf("unknown group: err = %v, want not found", err)
	}
	members, err := c.ListGroupMembers(ctx, groupID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListGroupMembers (two pages)", members, []User{adele, alex})
}

// A JSON batch of lookups only reads: when its answer is lost it goes again, like a GET (retry.go).
func TestLostAnswerToBatchOfLookupsIsResent(t *testing.T) {
	get := func(id string, query url.Values) string {
		return fmt.Sprintf(`{"id":%q,"method":"GET","url":%q}`, id, "/users?"+odataQuery(
			[2]string{"$filter", query.Get("$filter")}, [2]string{"$select", query.Get("$select")}, [2]string{"$top", query.Get("$top")}))
	}
	body := `{"requests":[` + get("1", in("id", userSelect, adeleID)) + "," + get("2", in("userPrincipalName", userSelect, "AdeleV@contoso.onmicrosoft.com")) + `]}`
	answer := func(id, list string) string {
		return fmt.Sprintf(`{"id":%q,"status":200,"headers":{"Content-Type":"application/json"},"body":%s}`, id, list)
	}
	f := newFakeGraph(t,
		stub{method: "POST", path: "/$batch", body: body, lost: true},
		stub{method: "POST", path: "/$batch", body: body,
			resp: `{"responses":[` + answer("1", userList(adeleJSON)) + "," + answer("2", userList(adeleJSON)) + `]}`},
	)
	c, clock := newTestClient(t, f)
	users, errs := c.ResolveUsers(context.Background(), adeleID, "AdeleV@contoso.onmicrosoft.com")
	for i, err := range errs {
		if err != nil || users[i].ID != adeleID {
			t.Errorf("lookup %d: %+v, %v", i, users[i], err)
		}
	}
	if len(clock.Sleeps()) != 1 {
		t.Errorf("sleeps %v, want one backoff before the batch went again", clock.Sleeps())
	}
}
