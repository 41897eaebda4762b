package sandbox_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/sandbox"
)

// Microsoft's documented requests (ENTRA use-scim-to-provision-users-and-groups.md and
// application-provisioning-config-problem-scim-compatibility.md), which the engine's traffic is compared with.
const (
	// S1 "Create User": the keys and their JSON types are compared; values are the sample's.
	s1CreateUser = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1","active":true,
		"emails":[{"primary":true,"type":"work","value":"Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
		"meta":{"resourceType":"User"},"name":{"formatted":"givenName familyName","familyName":"familyName","givenName":"givenName"},"roles":[]}`
	// S1 "Create Group".
	s1CreateGroup = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
		"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"displayName","meta":{"resourceType":"Group"}}`
	// S2 "Requests made to disable users", without and with the feature flag.
	s2Disable     = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`
	s2DisableFlag = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`
	// S2 "Requests made to remove a group member", with the sample's member id.
	s2RemoveMember     = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"value":"u1091"}]}]}`
	s2RemoveMemberFlag = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"}]}`
)

// shape reduces a JSON document to its keys and value types, so a request can be compared with a sample that
// has other values.
func shape(t *testing.T, doc string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, e := range v {
				out[k] = walk(e)
			}
			return out
		case []any:
			if len(v) == 0 {
				return []any{}
			}
			return []any{walk(v[0])}
		case string:
			return "string"
		case bool:
			return "bool"
		case float64:
			return "number"
		}
		return "null"
	}
	raw, _ := json.Marshal(walk(v))
	return string(raw)
}

// withValues replaces quoted sample values in a document by others, to compare a sample with a request.
func withValues(doc string, pairs ...string) string {
	return strings.NewReplacer(pairs...).Replace(doc)
}

// TestDialectFollowsMicrosoftsSamples checks the engine's default dialect against the documented samples:
// the random-GUID probe first, a filter before every create, create bodies with Microsoft's keys and JSON
// boolean active, capitalised PATCH ops with "False"/"True" strings, groups created without members and
// members added and removed by PATCH.
func TestDialectFollowsMicrosoftsSamples(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	demo := e.sb.Demo
	adele, megan := demo.Users[0], demo.Users[2]
	e.configure(demo.SmallstepUsers.ID)
	e.start()
	e.nextCycle()
	reqs := e.requests()

	// The probe: userName eq a random GUID, with + for spaces and %22 for quotes (AzureAD/SCIMReferenceCode#63).
	probe := regexp.MustCompile(`^filter=userName\+eq\+%22[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}%22$`)
	if reqs[0].Method != http.MethodGet || reqs[0].Path != "/Users" || !probe.MatchString(reqs[0].RawQuery) {
		t.Errorf("first request %s, want the random-GUID probe", summary(reqs[0]))
	}
	if reqs[0].Header.Get("Authorization") != "[redacted]" {
		t.Errorf("the probe carried no Authorization header")
	}
	for i, r := range reqs {
		switch {
		case r.Method == http.MethodPost && r.Path == "/Users":
			var body map[string]any
			if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
				t.Fatal(err)
			}
			lookup := reqs[i-1]
			wantQuery := "filter=" + url.QueryEscape(`userName eq "`+body["userName"].(string)+`"`)
			if lookup.Method != http.MethodGet || lookup.Path != "/Users" || lookup.RawQuery != wantQuery {
				t.Errorf("POST of %s not preceded by its filter query: %s", body["userName"], summary(lookup))
			}
			if body["active"] != true {
				t.Errorf("POST active = %#v, want JSON true", body["active"])
			}
			if r.Header.Get("Content-Type") != "application/scim+json" {
				t.Errorf("POST Content-Type %q", r.Header.Get("Content-Type"))
			}
		case r.Method == http.MethodPost && r.Path == "/Groups":
			lookup := reqs[i-1]
			if summary(lookup) != "GET /Groups?excludedAttributes=members&filter=displayName+eq+%22Smallstep+Users%22" {
				t.Errorf("group POST not preceded by the documented lookup: %s", summary(lookup))
			}
			// Same keys, same types, same schemas as Microsoft's sample; no members.
			if got, want := shape(t, r.Body), shape(t, s1CreateGroup); got != want {
				t.Errorf("group create shape\n got %s\nwant %s", got, want)
			}
			wantJSON(t, "group create", r.Body, withValues(s1CreateGroup,
				"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", demo.SmallstepUsers.ID, `"displayName":"displayName"`, `"displayName":"Smallstep Users"`))
		}
	}
	// Adele's create body has every key of the S1 sample, with the same types (plus the other default mappings).
	var adeleCreate string
	for _, r := range reqs {
		if r.Method == http.MethodPost && strings.Contains(r.Body, adele.UserPrincipalName) {
			adeleCreate = r.Body
		}
	}
	var sample, got map[string]any
	_ = json.Unmarshal([]byte(s1CreateUser), &sample)
	_ = json.Unmarshal([]byte(adeleCreate), &got)
	for k, v := range sample {
		g, _ := json.Marshal(got[k])
		want, _ := json.Marshal(v)
		if shape(t, string(g)) != shape(t, string(want)) {
			t.Errorf("create %s = %s, want the shape of %s", k, g, want)
		}
	}
	if !slices.Equal(toStrings(got["schemas"]), toStrings(sample["schemas"])) {
		t.Errorf("create schemas %v", got["schemas"])
	}
	// Members follow the group's creation in one Add PATCH, with the target ids of users created before, each
	// with "$ref": null as in the "Update Group [Add Members]" sample.
	last := reqs[len(reqs)-1]
	groupTarget := e.sb.Backend.Groups()[0].ID
	var ids []string
	for _, u := range demo.Users[:3] {
		ids = append(ids, `{"$ref":null,"value":"`+e.target(u.UserPrincipalName).ID+`"}`)
	}
	if summary(last) != "PATCH /Groups/"+groupTarget {
		t.Fatalf("last request %s, want the member PATCH", summary(last))
	}
	wantJSON(t, "member add", last.Body, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[`+strings.Join(ids, ",")+`]}]}`)

	// Several attributes changed: one capitalised Replace per attribute (S2 "Requests to replace multiple
	// attributes", without the flag).
	e.must(http.StatusNoContent, e.graph(http.MethodPatch, "/users/"+adele.ID, map[string]any{"displayName": "Adele V.", "givenName": "Ada", "surname": "V."}))
	e.nextCycle()
	reqs = e.requests()
	wantJSON(t, "multiple replace", reqs[len(reqs)-1].Body, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"Replace","path":"displayName","value":"Adele V."},
		{"op":"Replace","path":"name.givenName","value":"Ada"},
		{"op":"Replace","path":"name.familyName","value":"V."},
		{"op":"Replace","path":"name.formatted","value":"Ada V."}]}`)

	// Disable and member removal: exactly S2's samples.
	meganTarget := e.target(megan.UserPrincipalName).ID
	e.must(http.StatusNoContent, e.graph(http.MethodDelete, "/groups/"+demo.SmallstepUsers.ID+"/members/"+megan.ID+"/$ref", nil))
	e.nextCycle()
	reqs = e.requests()
	bodies := map[string]string{}
	for _, r := range reqs {
		bodies[summary(r)] = r.Body
	}
	wantJSON(t, "disable", bodies["PATCH /Users/"+meganTarget], s2Disable)
	wantJSON(t, "member removal", bodies["PATCH /Groups/"+groupTarget], withValues(s2RemoveMember, "u1091", meganTarget))
}

// TestCompliantDialectWithFlag: a tenant URL with aadOptscim062020 switches cycles to the flag's dialect
// (lowercase ops, boolean active, several replacements folded into one path-less operation, members removed by
// a value-filter path), as ENTRA application-provisioning-config-problem-scim-compatibility.md shows.
func TestCompliantDialectWithFlag(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	demo := e.sb.Demo
	adele, megan := demo.Users[0], demo.Users[2]
	e.createApp()
	e.assign(demo.SmallstepUsers.ID)
	e.saveCredentials(e.sb.SCIMURL+"?aadOptscim062020", e.sb.SCIMToken.Reveal())
	e.start()
	e.nextCycle()
	if n := len(e.sb.Backend.Users()); n != 3 {
		t.Fatalf("backend users %d, want 3", n)
	}
	e.requests()

	e.must(http.StatusNoContent, e.graph(http.MethodPatch, "/users/"+adele.ID, map[string]any{"displayName": "Adele V.", "givenName": "Ada", "mail": "ada@contoso.onmicrosoft.com"}))
	e.nextCycle()
	reqs := e.requests()
	wantJSON(t, "flag replace", reqs[len(reqs)-1].Body, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"replace","path":"emails[type eq \"work\"].value","value":"ada@contoso.onmicrosoft.com"},
		{"op":"replace","value":{"displayName":"Adele V.","name.givenName":"Ada","name.formatted":"Ada Vance"}}]}`)
	if got := e.target(adele.UserPrincipalName); got.GetString("name.givenName") != "Ada" || got.WorkEmail() != "ada@contoso.onmicrosoft.com" {
		t.Errorf("the backend did not apply the folded replace: %s", attrsJSON(t, got))
	}

	meganTarget := e.target(megan.UserPrincipalName).ID
	groupTarget := e.sb.Backend.Groups()[0].ID
	e.must(http.StatusNoContent, e.graph(http.MethodDelete, "/groups/"+demo.SmallstepUsers.ID+"/members/"+megan.ID+"/$ref", nil))
	e.nextCycle()
	bodies := map[string]string{}
	for _, r := range e.requests() {
		bodies[r.Method+" "+r.Path] = r.Body
	}
	wantJSON(t, "flag disable", bodies["PATCH /Users/"+meganTarget], s2DisableFlag)
	wantJSON(t, "flag member removal", bodies["PATCH /Groups/"+groupTarget], withValues(s2RemoveMemberFlag, "7f4bc1a3-285e-48ae-8202-5accb43efb0e", meganTarget))
	if e.target(megan.UserPrincipalName).Active() || slices.Contains(e.sb.Backend.GroupMembers(groupTarget), meganTarget) {
		t.Error("the backend did not apply the flag's disable and member removal")
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// TestMatchingAttributeDrivesProbeAndLookups: with externalId as the matching attribute, Test Connection and
// every run probe with externalId eq a random GUID, and users are looked up by it (as commonly observed:
// OctopusDeploy/Issues#9841, goauthentik/authentik#25837).
func TestMatchingAttributeDrivesProbeAndLookups(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	adele := e.sb.Demo.Users[0]
	e.configure(adele.ID)
	schema := e.schema()
	keepUserMappings(t, schema, designMappings()...)
	for _, am := range userMapping(t, schema)["attributeMappings"].([]any) {
		m := am.(map[string]any)
		switch m["targetAttributeName"] {
		case "userName":
			m["matchingPriority"] = 0
		case "externalId":
			m["matchingPriority"] = 1
		}
	}
	e.putSchema(schema)
	probe := regexp.MustCompile(`^filter=externalId\+eq\+%22[0-9a-f-]{36}%22$`)

	e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/validateCredentials", map[string]any{"useSavedCredentials": true}))
	reqs := e.requests()
	if len(reqs) == 0 || !probe.MatchString(reqs[0].RawQuery) {
		t.Errorf("Test Connection probe %v", summaries(reqs))
	}
	e.start()
	e.nextCycle()
	got := summaries(e.requests())
	if len(got) != 3 || !probe.MatchString(strings.TrimPrefix(got[0], "GET /Users?")) ||
		got[1] != "GET /Users?filter=externalId+eq+%22"+adele.ID+"%22" || got[2] != "POST /Users" {
		t.Errorf("cycle requests %v", got)
	}
}

// TestFlagLeavesNoDanglingAmpersand: with aadOptscim062020 in the tenant URL (ENTRA
// application-provisioning-config-problem-scim-compatibility.md "Flags to alter the SCIM behavior"), requests
// without a query of their own carry the flag alone, and queries follow it with "&".
func TestFlagLeavesNoDanglingAmpersand(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	e.configure(e.sb.Demo.Users[0].ID)
	e.saveCredentials(e.sb.SCIMURL+"?aadOptscim062020", e.sb.SCIMToken.Reveal())
	e.start()
	e.requests()
	e.nextCycle()
	reqs := e.requests()
	if len(reqs) < 3 {
		t.Fatalf("requests %v", summaries(reqs))
	}
	for _, r := range reqs {
		want := "aadOptscim062020"
		if r.Method == http.MethodGet {
			want = "aadOptscim062020&filter="
		}
		if !strings.HasPrefix(r.RawQuery, want) || strings.HasSuffix(r.RawQuery, "&") {
			t.Errorf("%s: query %q", r.Method+" "+r.Path, r.RawQuery)
		}
	}
}

// TestGuestUserNameIsTheOriginalAddress: "the #EXT# and your domain is stripped from the userPrincipalName, so
// only their original alias@theirdomain is used for matching or provisioning" (ENTRA how-provisioning-works.md,
// B2B (guest) users).
func TestGuestUserNameIsTheOriginalAddress(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	upn := "ben.walters_fabrikam.com#EXT#@" + e.sb.Demo.Domain
	guest := e.must(http.StatusCreated, e.graph(http.MethodPost, "/users", map[string]any{
		"accountEnabled": true, "displayName": "Ben Walters", "mailNickname": "ben.walters_fabrikam.com#EXT#", "userPrincipalName": upn,
		"userType": "Guest", "mail": "ben.walters@fabrikam.com",
		"passwordProfile": map[string]any{"password": "Guest-Passw0rd!", "forceChangePasswordNextSignIn": true},
	})).json(t)
	e.configure(guest["id"].(string))
	e.start()
	e.requests()
	e.nextCycle()
	reqs := e.requests()
	if len(reqs) < 2 || summary(reqs[1]) != "GET /Users?filter=userName+eq+%22ben.walters%40fabrikam.com%22" {
		t.Errorf("lookup %v", summaries(reqs))
	}
	e.target("ben.walters@fabrikam.com")
}

// TestSpecialCharactersInAMatchingValueFail: "Microsoft Entra ID currently can't perform filter queries on
// values containing special characters. Therefore a provisioning attempt on a resource (user or group) with a
// special character on filter attributes fails. An example is, a group with a special character on the name can
// be created on Microsoft Entra ID but can't be synced to a target system." (ENTRA known-issues.md)
func TestSpecialCharactersInAMatchingValueFail(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	group := e.must(http.StatusCreated, e.graph(http.MethodPost, "/groups", map[string]any{
		"displayName": `Sales "EMEA"`, "mailEnabled": false, "mailNickname": "sales-emea", "securityEnabled": true,
	})).json(t)
	e.configure(group["id"].(string), e.sb.Demo.Users[0].ID)
	e.start()
	e.nextCycle()
	if n := len(e.sb.Backend.Groups()); n != 0 {
		t.Errorf("%d groups in the target, want none", n)
	}
	e.target(e.sb.Demo.Users[0].UserPrincipalName)
	entries := logFor(e.provisioningLog(), `Sales "EMEA"`)
	if len(entries) != 1 {
		t.Fatalf("%d log entries for the group", len(entries))
	}
	info := entries[0]["provisioningStatusInfo"].(map[string]any)
	if info["status"] != "failure" || info["errorInformation"].(map[string]any)["errorCode"] != "SystemForCrossDomainIdentityManagementBadRequest" {
		t.Errorf("group entry %v", info)
	}
}
