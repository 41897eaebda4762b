package sandbox_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
)

// The rule id of the non-gallery template's schema.
const userRule = "03f7d90d-bf71-41b1-bda6-aaf0ddbee5d8"

// onDemand is provisionOnDemand's answer with its key and value decoded.
type onDemand struct {
	raw   map[string]any
	key   map[string]any
	value map[string]any
}

func (o onDemand) result() string { return o.key["result"].(string) }

func (o onDemand) errorCode() string {
	details, _ := o.key["details"].(map[string]any)
	code, _ := details["errorCode"].(string)
	return code
}

// steps lists name/type/status of the value's provisioningSteps.
func (o onDemand) steps() []string {
	var out []string
	for _, s := range o.value["provisioningSteps"].([]any) {
		step := s.(map[string]any)
		out = append(out, step["name"].(string)+"/"+step["type"].(string)+"/"+step["status"].(string))
	}
	return out
}

func (o onDemand) step(name, typ string) map[string]any {
	for _, s := range o.value["provisioningSteps"].([]any) {
		step := s.(map[string]any)
		if step["name"] == name && step["type"] == typ {
			return step
		}
	}
	return nil
}

func (e *env) provisionOnDemand(subject map[string]any) (reply, onDemand) {
	e.t.Helper()
	r := e.graph(http.MethodPost, e.job()+"/provisionOnDemand", map[string]any{"parameters": []map[string]any{{
		"ruleId": userRule, "subjects": []map[string]any{subject},
	}}})
	if r.status != http.StatusOK {
		return r, onDemand{}
	}
	o := onDemand{raw: r.json(e.t)}
	key, _ := o.raw["key"].(string)
	value, _ := o.raw["value"].(string)
	if err := json.Unmarshal([]byte(key), &o.key); err != nil {
		e.t.Fatalf("key is not a JSON document: %v\n%s", err, key)
	}
	if err := json.Unmarshal([]byte(value), &o.value); err != nil {
		e.t.Fatalf("value is not a JSON document: %v\n%s", err, value)
	}
	return r, o
}

func userSubject(id string) map[string]any {
	return map[string]any{"objectId": id, "objectTypeName": "User"}
}

// TestProvisionOnDemandUser: the documented answer shape for a create, a redundant export and a user who is not
// assigned; the job need not be started; each run is logged; the limit of 5 calls per 10 seconds holds.
func TestProvisionOnDemandUser(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	demo := e.sb.Demo
	adele, grady := demo.Users[0], demo.Users[4]
	e.configure(adele.ID)

	r, created := e.provisionOnDemand(userSubject(adele.ID))
	if r.status != http.StatusOK {
		t.Fatalf("provisionOnDemand: %d %s", r.status, r.body)
	}
	if created.raw["@odata.context"] != e.sb.GraphURL+"/$metadata#microsoft.graph.stringKeyStringValuePair" {
		t.Errorf("@odata.context %v", created.raw["@odata.context"])
	}
	wantJSON(t, "create key", created.raw["key"].(string), `{"result":"Success","details":{}}`)
	target := e.target(adele.UserPrincipalName)
	wantSteps := []string{"EntryImport/Import/Success", "EntryImport/Matching/Success", "EntrySynchronizationScoping/Scoping/Success", "EntryExportAdd/Export/Success"}
	if got := created.steps(); !slices.Equal(got, wantSteps) {
		t.Errorf("steps %v, want %v", got, wantSteps)
	}
	scoping := created.step("EntrySynchronizationScoping", "Scoping")["details"].(map[string]any)
	if scoping["Assigned"] != "True" || scoping["IsActive"] != "True" || scoping["IsEffectivelyEntitledForProvisioning"] != "True" {
		t.Errorf("scoping details %v", scoping)
	}
	v := created.value
	if v["action"] != "Create" || v["statusInfo"].(map[string]any)["status"] != "Success" ||
		v["sourceIdentity"].(map[string]any)["id"] != adele.ID || v["sourceIdentity"].(map[string]any)["type"] != "User" ||
		v["targetIdentity"].(map[string]any)["id"] != target.ID ||
		v["targetIdentity"].(map[string]any)["type"] != "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" ||
		v["targetSystem"].(map[string]any)["name"] != "customappsso" || v["sourceSystem"].(map[string]any)["name"] != "Azure Active Directory" ||
		v["reportableIdentifier"] != adele.UserPrincipalName || v["changeId"] == "" || v["startTime"] == "" || v["endTime"] == "" {
		t.Errorf("value %v", v)
	}
	// On-demand runs start with the probe too.
	if got := summaries(e.requests()); len(got) != 3 || !strings.HasPrefix(got[0], "GET /Users?filter=userName+eq+%22") ||
		got[1] != "GET /Users?filter=userName+eq+%22adele.vance%40contoso.onmicrosoft.com%22" || got[2] != "POST /Users" {
		t.Errorf("requests %v", got)
	}

	// The same call again: nothing to do, exactly the documented RedundantExport answer.
	_, again := e.provisionOnDemand(userSubject(adele.ID))
	wantJSON(t, "redundant key", again.raw["key"].(string),
		`{"result":"Skipped","details":{"errorCode":"RedundantExport","errorMessage":"The state of the user in both the source and target systems already match."}}`)
	if skip := again.step("EntrySynchronizationSkip", "Export"); skip == nil || skip["details"].(map[string]any)["SkipReason"] != "RedundantExport" {
		t.Errorf("steps %v", again.steps())
	}
	if again.value["action"] != "Other" {
		t.Errorf("action %v", again.value["action"])
	}

	// Not assigned: skipped, with the skip reason the portal shows.
	_, skipped := e.provisionOnDemand(userSubject(grady.ID))
	if skipped.result() != "Skipped" || skipped.errorCode() != "NotEffectivelyEntitled" {
		t.Errorf("unassigned user: key %v", skipped.key)
	}
	if scoping := skipped.step("EntrySynchronizationScoping", "Scoping")["details"].(map[string]any); scoping["Assigned"] != "False" {
		t.Errorf("scoping details %v", scoping)
	}
	if _, ok := e.sb.Backend.UserByUserName(grady.UserPrincipalName); ok {
		t.Error("an unassigned user was provisioned")
	}

	// Every run is in the provisioning logs.
	var actions []string
	for _, l := range e.provisioningLog() {
		actions = append(actions, l["provisioningAction"].(string)+"/"+l["provisioningStatusInfo"].(map[string]any)["status"].(string))
	}
	if want := []string{"create/success", "other/skipped", "other/skipped"}; !slices.Equal(actions, want) {
		t.Errorf("logged %v, want %v", actions, want)
	}

	// Three calls so far at the same instant; two more are allowed, the sixth waits for the 10-second window.
	e.provisionOnDemand(userSubject(adele.ID))
	e.provisionOnDemand(userSubject(adele.ID))
	limited, _ := e.provisionOnDemand(userSubject(adele.ID))
	if limited.status != http.StatusTooManyRequests || limited.header.Get("Retry-After") != "10" {
		t.Errorf("sixth call in 10 s: %d Retry-After %q", limited.status, limited.header.Get("Retry-After"))
	}
	e.clock.Advance(10 * time.Second)
	if r, _ := e.provisionOnDemand(userSubject(adele.ID)); r.status != http.StatusOK {
		t.Errorf("after the window: %d %s", r.status, r.body)
	}
	// On-demand runs leave the job as it was.
	if status := e.jobStatus(); status["code"] != "NotConfigured" {
		t.Errorf("job status after on-demand runs %v", status["code"])
	}
}

// TestOnDemandAssignmentLag: a fresh assignment is not yet visible to on-demand provisioning, which answers
// the out-of-scope skip a client retries on; once the lag has passed the user is provisioned.
func TestOnDemandAssignmentLag(t *testing.T) {
	e := newEnv(t, sandbox.Options{OnDemandAssignmentLag: 5 * time.Minute})
	adele := e.sb.Demo.Users[0]
	e.configure(adele.ID)
	_, early := e.provisionOnDemand(userSubject(adele.ID))
	if early.result() != "Skipped" || !strings.Contains(early.errorCode(), "NotEffectivelyEntitled") {
		t.Fatalf("right after the assignment: key %v", early.key)
	}
	e.clock.Advance(5 * time.Minute)
	_, later := e.provisionOnDemand(userSubject(adele.ID))
	if later.result() != "Success" || later.value["action"] != "Create" {
		t.Fatalf("after the lag: key %v", later.key)
	}
	e.target(adele.UserPrincipalName)
}

// TestOnDemandGroupWithMembers: a group with its listed members: the group, then the members, then the member
// PATCH; the answer is the group's.
func TestOnDemandGroupWithMembers(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	demo := e.sb.Demo
	adele, lee := demo.Users[0], demo.Users[1]
	e.configure(demo.SmallstepUsers.ID)
	_, o := e.provisionOnDemand(map[string]any{"objectId": demo.SmallstepUsers.ID, "objectTypeName": "Group", "links": map[string]any{
		"members": []map[string]any{userSubject(adele.ID), userSubject(lee.ID)},
	}})
	if o.result() != "Success" || o.value["action"] != "Create" || o.value["sourceIdentity"].(map[string]any)["type"] != "Group" {
		t.Fatalf("answer key %v value %v", o.key, o.value)
	}
	groups := e.sb.Backend.Groups()
	if len(groups) != 1 {
		t.Fatalf("backend groups %d", len(groups))
	}
	want := []string{e.target(adele.UserPrincipalName).ID, e.target(lee.UserPrincipalName).ID}
	if got := groups[0].MemberIDs(); !slices.Equal(got, want) {
		t.Errorf("members %v, want %v (only the listed ones)", got, want)
	}
	if len(e.sb.Backend.Users()) != 2 {
		t.Errorf("backend users %d, want the 2 listed members", len(e.sb.Backend.Users()))
	}
	got := summaries(e.requests())
	if got[1] != "GET /Groups?excludedAttributes=members&filter=displayName+eq+%22Smallstep+Users%22" || got[2] != "POST /Groups" || got[len(got)-1] != "PATCH /Groups/"+groups[0].ID {
		t.Errorf("requests %v", got)
	}
}

// TestOnDemandUsesTheDefaultDialect: the aadOptscim062020 flag "currently doesn't work with on-demand
// provisioning" (ENTRA application-provisioning-config-problem-scim-compatibility.md): an on-demand disable of an
// unassigned user is the default `Replace active "False"`.
func TestOnDemandUsesTheDefaultDialect(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	adele := e.sb.Demo.Users[0]
	e.createApp()
	e.assign(adele.ID)
	e.saveCredentials(e.sb.SCIMURL+"?aadOptscim062020", e.sb.SCIMToken.Reveal())
	e.provisionOnDemand(userSubject(adele.ID))
	e.unassign(adele.ID)
	e.requests()
	_, o := e.provisionOnDemand(userSubject(adele.ID))
	if o.result() != "Success" || o.value["action"] != "Disable" {
		t.Fatalf("answer key %v action %v", o.key, o.value["action"])
	}
	reqs := e.requests()
	wantJSON(t, "on-demand disable", reqs[len(reqs)-1].Body, s2Disable)
	if e.target(adele.UserPrincipalName).Active() {
		t.Error("the user is still active")
	}
}

// TestOnDemandWithWrongTokenFails: the failed test connection is the run's only step and the result is Failure.
func TestOnDemandWithWrongTokenFails(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	adele := e.sb.Demo.Users[0]
	e.createApp()
	e.assign(adele.ID)
	e.saveCredentials(e.sb.SCIMURL, "wrong-token-123")
	r, o := e.provisionOnDemand(userSubject(adele.ID))
	if o.result() != "Failure" || o.errorCode() != codeUnavailable {
		t.Fatalf("answer %s", r.body)
	}
	if strings.Contains(string(r.body), "wrong-token-123") {
		t.Error("the answer contains the token")
	}
}
