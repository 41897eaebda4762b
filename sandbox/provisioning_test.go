package sandbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/sandbox/refbackend"
)

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func attrsJSON(t *testing.T, r refbackend.Resource) string {
	t.Helper()
	raw, err := json.Marshal(r.Attributes)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestInitialCycleProvisionsAssignedUsersAndGroups: 40 minutes after start, the assigned users (directly or as
// direct members of an assigned group) arrive with exactly the default mappings' attributes (the manager among
// them when the manager was provisioned too), the assigned group arrives with its members, and nothing else
// does.
func TestInitialCycleProvisionsAssignedUsersAndGroups(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	demo := e.sb.Demo
	adele, lee, megan, diego, grady := demo.Users[0], demo.Users[1], demo.Users[2], demo.Users[3], demo.Users[4]
	e.configure(demo.SmallstepUsers.ID, grady.ID, diego.ID)
	e.start()
	if status := e.jobStatus(); status["code"] != "NotRun" {
		t.Errorf("status after start %v, want NotRun", status["code"])
	}

	if n := e.cycle(39 * time.Minute); n != 0 || len(e.sb.Backend.Users()) != 0 {
		t.Fatalf("a cycle ran %d times before the initial delay; backend has %d users", n, len(e.sb.Backend.Users()))
	}
	if n := e.cycle(time.Minute); n != 1 {
		t.Fatalf("%d cycles at 40 minutes, want 1", n)
	}

	var names []string
	for _, u := range e.sb.Backend.Users() {
		names = append(names, u.UserName())
	}
	want := []string{adele.UserPrincipalName, lee.UserPrincipalName, megan.UserPrincipalName, grady.UserPrincipalName}
	if !slices.Equal(names, want) {
		t.Errorf("provisioned %v, want %v (not the admin, not the disabled %s)", names, want, diego.UserPrincipalName)
	}
	wantJSON(t, "Adele's attributes", attrsJSON(t, e.target(adele.UserPrincipalName)), `{
		"userName": "adele.vance@contoso.onmicrosoft.com", "active": true, "displayName": "Adele Vance",
		"title": "Product Manager",
		"emails": [{"primary": true, "type": "work", "value": "adele.vance@contoso.onmicrosoft.com"}],
		"name": {"givenName": "Adele", "familyName": "Vance", "formatted": "Adele Vance"},
		"externalId": "adele.vance",
		"`+enterprise+`": {"department": "Product"}}`)
	// The default mapping takes the work email from [mail]; Megan has no mailbox, so no email is sent. Her
	// manager Lee is provisioned too, so she gets him as manager; Adele's manager (the admin) is not assigned.
	wantJSON(t, "Megan's attributes", attrsJSON(t, e.target(megan.UserPrincipalName)), `{
		"userName": "megan.bowen@contoso.onmicrosoft.com", "active": true, "displayName": "Megan Bowen",
		"title": "Contractor", "name": {"givenName": "Megan", "familyName": "Bowen", "formatted": "Megan Bowen"},
		"externalId": "megan.bowen", "`+enterprise+`": {"department": "Engineering", "manager": {"value": "`+e.target(lee.UserPrincipalName).ID+`"}}}`)

	groups := e.sb.Backend.Groups()
	if len(groups) != 1 {
		t.Fatalf("backend groups %d, want 1 (only the assigned one)", len(groups))
	}
	g := groups[0]
	if g.DisplayName() != "Smallstep Users" || g.ExternalID() != demo.SmallstepUsers.ID {
		t.Errorf("group %s", attrsJSON(t, g))
	}
	wantMembers := []string{e.target(adele.UserPrincipalName).ID, e.target(lee.UserPrincipalName).ID, e.target(megan.UserPrincipalName).ID}
	if !slices.Equal(g.MemberIDs(), wantMembers) {
		t.Errorf("group members %v, want %v", g.MemberIDs(), wantMembers)
	}

	status := e.jobStatus()
	last := status["lastExecution"].(map[string]any)
	if status["code"] != "Active" || last["state"] != "Succeeded" || status["steadyStateFirstAchievedTime"] != "2026-03-02T09:40:00.0000000Z" ||
		status["quarantine"] != nil || last["countExported"] != float64(9) || last["countImportedReferenceDeltas"] != float64(4) {
		t.Errorf("status after the initial cycle %v", status)
	}
	counts, _ := json.Marshal(status["synchronizedEntryCountByType"])
	if !strings.Contains(string(counts), `"value":4`) || !strings.Contains(string(counts), `"value":1`) {
		t.Errorf("synchronizedEntryCountByType %s, want 4 users and 1 group", counts)
	}
	if due, _ := e.sb.Tenant.NextCycle(e.jobID); !due.Equal(e.clock.Now().Add(40 * time.Minute)) {
		t.Errorf("next cycle %v, want 40 minutes later", due)
	}

	// The provisioning logs tell the same story, one entry per object.
	logs := e.provisioningLog()
	created := logFor(logs, adele.UserPrincipalName)
	if len(created) != 1 {
		t.Fatalf("Adele has %d log entries, want 1", len(created))
	}
	entry := created[0]
	statusInfo := entry["provisioningStatusInfo"].(map[string]any)
	if entry["provisioningAction"] != "create" || statusInfo["status"] != "success" || statusInfo["errorInformation"] != nil ||
		entry["jobId"] != e.jobID || entry["cycleId"] == "" || entry["changeId"] == "" ||
		entry["servicePrincipal"].(map[string]any)["id"] != e.spID ||
		entry["sourceSystem"].(map[string]any)["displayName"] != "Azure Active Directory" ||
		entry["targetSystem"].(map[string]any)["displayName"] != "customappsso" ||
		entry["sourceIdentity"].(map[string]any)["id"] != adele.ID ||
		entry["sourceIdentity"].(map[string]any)["identityType"] != "User" ||
		entry["targetIdentity"].(map[string]any)["id"] != e.target(adele.UserPrincipalName).ID {
		t.Errorf("log entry %v", entry)
	}
	var steps []string
	for _, s := range entry["provisioningSteps"].([]any) {
		step := s.(map[string]any)
		steps = append(steps, step["name"].(string)+"/"+step["provisioningStepType"].(string)+"/"+step["status"].(string))
	}
	wantSteps := []string{"EntryImport/import/success", "EntrySynchronizationScoping/scoping/success", "EntryImport/matching/success",
		"EntrySynchronizationAdd/matching/success", "EntryExportAdd/export/success"}
	if !slices.Equal(steps, wantSteps) {
		t.Errorf("steps %v, want %v", steps, wantSteps)
	}
	if mp, _ := json.Marshal(entry["modifiedProperties"]); !strings.Contains(string(mp), `{"displayName":"userName","newValue":"adele.vance@contoso.onmicrosoft.com","oldValue":null}`) {
		t.Errorf("modifiedProperties %s", mp)
	}
	// The disabled user was assigned but is never created: a skipped entry says why.
	skipped := logFor(logs, diego.UserPrincipalName)
	if len(skipped) != 1 {
		t.Fatalf("Diego has %d log entries, want 1", len(skipped))
	}
	info := skipped[0]["provisioningStatusInfo"].(map[string]any)
	if info["status"] != "skipped" || info["errorInformation"].(map[string]any)["errorCode"] != "NotEffectivelyEntitled" {
		t.Errorf("Diego's entry %v", skipped[0])
	}
	scoping := skipped[0]["provisioningSteps"].([]any)[1].(map[string]any)["details"].(map[string]any)
	if scoping["IsActive"] != "False" || scoping["Assigned"] != "True" || scoping["IsEffectivelyEntitledForProvisioning"] != "False" {
		t.Errorf("Diego's scoping details %v", scoping)
	}
	// Graph serves them.
	served := e.must(http.StatusOK, e.graph(http.MethodGet, "/auditLogs/provisioning?$filter=jobId+eq+'"+e.jobID+"'&$top=999", nil)).json(t)
	if n := len(served["value"].([]any)); n != len(logs) || n < 8 {
		t.Errorf("Graph serves %d provisioning entries, the tenant holds %d", n, len(logs))
	}
}

// TestSchemaMappingsDecideWhatIsPushed: the job's current schema decides the attributes; with idpctl's
// mappings (README.md, step 5) the user without a mailbox gets her UPN as email (Coalesce) and externalId is
// the object id.
func TestSchemaMappingsDecideWhatIsPushed(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	demo := e.sb.Demo
	adele, megan := demo.Users[0], demo.Users[2]
	e.configure(demo.SmallstepUsers.ID)
	schema := e.schema()
	keepUserMappings(t, schema, designMappings()...)
	e.putSchema(schema)
	e.start()
	e.nextCycle()

	wantJSON(t, "Adele's attributes", attrsJSON(t, e.target(adele.UserPrincipalName)), `{
		"userName": "adele.vance@contoso.onmicrosoft.com", "active": true, "displayName": "Adele Vance",
		"emails": [{"primary": true, "type": "work", "value": "adele.vance@contoso.onmicrosoft.com"}],
		"name": {"givenName": "Adele", "familyName": "Vance"},
		"externalId": "`+adele.ID+`"}`)
	wantJSON(t, "Megan's attributes", attrsJSON(t, e.target(megan.UserPrincipalName)), `{
		"userName": "megan.bowen@contoso.onmicrosoft.com", "active": true, "displayName": "Megan Bowen",
		"emails": [{"primary": true, "type": "work", "value": "megan.bowen@contoso.onmicrosoft.com"}],
		"name": {"givenName": "Megan", "familyName": "Bowen"},
		"externalId": "`+megan.ID+`"}`)
}

// TestSchemaChangeMakesTheNextCycleInitial: after a schema PUT the next cycle matches every user again and
// sends what the new mappings change.
func TestSchemaChangeMakesTheNextCycleInitial(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	demo := e.sb.Demo
	megan := demo.Users[2]
	e.configure(demo.SmallstepUsers.ID)
	e.start()
	e.nextCycle()
	e.requests()

	schema := e.schema()
	keepUserMappings(t, schema, designMappings()...)
	e.putSchema(schema)
	if n := e.cycle(0); n != 0 {
		t.Fatalf("a schema change ran %d cycles at once; Entra waits for the next one", n)
	}
	e.nextCycle()
	reqs := e.requests()
	got := summaries(reqs)
	meganTarget := e.target(megan.UserPrincipalName).ID
	wantPrefix := []string{"GET /Users?filter=userName+eq+%22adele.vance%40contoso.onmicrosoft.com%22"}
	if len(got) < 2 || got[1] != wantPrefix[0] {
		t.Fatalf("an initial cycle matches each user again; requests %v", got)
	}
	var meganPatch string
	for _, r := range reqs {
		if r.Method == http.MethodPatch && r.Path == "/Users/"+meganTarget {
			meganPatch = r.Body
		}
	}
	// Megan gains an email (Add: the target had none) and her externalId becomes the object id (Replace).
	wantJSON(t, "Megan's PATCH", meganPatch, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"Add","path":"emails[type eq \"work\"].value","value":"megan.bowen@contoso.onmicrosoft.com"},
		{"op":"Replace","path":"externalId","value":"`+megan.ID+`"}]}`)
	if got := e.target(megan.UserPrincipalName); got.WorkEmail() != megan.UserPrincipalName || got.ExternalID() != megan.ID {
		t.Errorf("Megan after the schema change %s", attrsJSON(t, got))
	}
	// Attributes that are no longer mapped are left as they are: Entra does not clear them.
	if title := e.target(megan.UserPrincipalName).GetString("title"); title != "Contractor" {
		t.Errorf("title %q after its mapping was removed, want it kept", title)
	}
}

// TestIncrementalCyclesFollowChanges walks through the changes of the guide's feature list: profile update,
// unassignment (deactivation), reassignment (reactivation), disabled account, group membership changes, and
// deletion, each pushed by the next incremental cycle and nothing else.
func TestIncrementalCyclesFollowChanges(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	demo := e.sb.Demo
	adele, lee, megan, grady := demo.Users[0], demo.Users[1], demo.Users[2], demo.Users[3+1]
	group := demo.SmallstepUsers.ID
	e.configure(group, grady.ID)
	e.start()
	e.nextCycle()
	e.requests()
	id := func(u string) string { return e.target(u).ID }
	patch := func(ops string) string {
		return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`
	}
	probe := func(r refbackend.SCIMRequest) bool {
		return r.Method == http.MethodGet && strings.HasPrefix(r.RawQuery, "filter=userName+eq+%22") && r.Status == http.StatusOK
	}
	// Every update is preceded by the lookup of its object in the target by the matching attribute (ENTRA
	// how-provisioning-works.md, incremental cycles step 3).
	lookup := func(upn string) [2]string {
		return [2]string{"GET /Users?filter=userName+eq+%22" + strings.ReplaceAll(upn, "@", "%40") + "%22", ""}
	}
	groupLookup := [2]string{"GET /Groups?excludedAttributes=members&filter=displayName+eq+%22Smallstep+Users%22", ""}
	// expect checks one cycle's traffic: the probe, then exactly these requests and bodies.
	expect := func(step string, want ...[2]string) {
		t.Helper()
		e.nextCycle()
		reqs := e.requests()
		if len(reqs) == 0 || !probe(reqs[0]) {
			t.Fatalf("%s: the cycle did not start with the probe: %v", step, summaries(reqs))
		}
		reqs = reqs[1:]
		if len(reqs) != len(want) {
			t.Fatalf("%s: requests %v, want %d", step, summaries(reqs), len(want))
		}
		for i, w := range want {
			if summary(reqs[i]) != w[0] {
				t.Errorf("%s: request %d is %s, want %s", step, i, summary(reqs[i]), w[0])
			}
			if w[1] == "" {
				if reqs[i].Body != "" {
					t.Errorf("%s: %s has body %s, want none", step, w[0], reqs[i].Body)
				}
				continue
			}
			wantJSON(t, step+": "+w[0], reqs[i].Body, w[1])
		}
	}

	expect("no change")

	e.must(http.StatusNoContent, e.graph(http.MethodPatch, "/users/"+adele.ID, map[string]any{"jobTitle": "Head of Product"}))
	expect("profile update", lookup(adele.UserPrincipalName), [2]string{"PATCH /Users/" + id(adele.UserPrincipalName), patch(`{"op":"Replace","path":"title","value":"Head of Product"}`)})
	if got := e.target(adele.UserPrincipalName).GetString("title"); got != "Head of Product" {
		t.Errorf("title %q", got)
	}

	e.unassign(grady.ID)
	expect("unassignment", lookup(grady.UserPrincipalName), [2]string{"PATCH /Users/" + id(grady.UserPrincipalName), patch(`{"op":"Replace","path":"active","value":"False"}`)})
	if e.target(grady.UserPrincipalName).Active() {
		t.Error("Grady is still active after unassignment")
	}
	expect("disabled stays disabled")

	e.assign(grady.ID)
	expect("reassignment", lookup(grady.UserPrincipalName), [2]string{"PATCH /Users/" + id(grady.UserPrincipalName), patch(`{"op":"Replace","path":"active","value":"True"}`)})
	if !e.target(grady.UserPrincipalName).Active() {
		t.Error("Grady is not active after reassignment")
	}

	e.must(http.StatusNoContent, e.graph(http.MethodPatch, "/users/"+lee.ID, map[string]any{"accountEnabled": false}))
	expect("account disabled", lookup(lee.UserPrincipalName), [2]string{"PATCH /Users/" + id(lee.UserPrincipalName), patch(`{"op":"Replace","path":"active","value":"False"}`)})
	if e.target(lee.UserPrincipalName).Active() {
		t.Error("Lee is still active after his account was disabled")
	}
	e.must(http.StatusNoContent, e.graph(http.MethodPatch, "/users/"+lee.ID, map[string]any{"accountEnabled": true}))
	expect("account enabled", lookup(lee.UserPrincipalName), [2]string{"PATCH /Users/" + id(lee.UserPrincipalName), patch(`{"op":"Replace","path":"active","value":"True"}`)})

	groupTarget := e.sb.Backend.Groups()[0].ID
	e.must(http.StatusNoContent, e.graph(http.MethodPost, "/groups/"+group+"/members/$ref",
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + grady.ID}))
	// Grady is already in the target (assigned directly): only the membership changes.
	expect("member added", groupLookup, [2]string{"PATCH /Groups/" + groupTarget, patch(`{"op":"Add","path":"members","value":[{"$ref":null,"value":"` + id(grady.UserPrincipalName) + `"}]}`)})

	e.must(http.StatusNoContent, e.graph(http.MethodDelete, "/groups/"+group+"/members/"+megan.ID+"/$ref", nil))
	// Megan was in scope only through the group: she is deactivated, and leaves the group.
	expect("member removed",
		lookup(megan.UserPrincipalName),
		[2]string{"PATCH /Users/" + id(megan.UserPrincipalName), patch(`{"op":"Replace","path":"active","value":"False"}`)},
		groupLookup,
		[2]string{"PATCH /Groups/" + groupTarget, patch(`{"op":"Remove","path":"members","value":[{"value":"` + id(megan.UserPrincipalName) + `"}]}`)})
	wantMembers := []string{id(adele.UserPrincipalName), id(lee.UserPrincipalName), id(grady.UserPrincipalName)}
	if got := e.sb.Backend.GroupMembers(groupTarget); !slices.Equal(got, wantMembers) {
		t.Errorf("members %v, want %v", got, wantMembers)
	}

	adeleTarget := id(adele.UserPrincipalName)
	e.must(http.StatusNoContent, e.graph(http.MethodDelete, "/users/"+adele.ID, nil))
	// A user deleted in Entra is soft-deleted: disabled in the target, and kept in its groups there (the
	// service "doesn't automatically restore the group membership" on reactivation, ENTRA
	// how-provisioning-works.md known limitations). Adele managed Lee: Graph no longer shows him a manager, so
	// he changed and is looked up, but the removal is not sent ("Microsoft Entra ID currently can't provision
	// null attributes", ENTRA known-issues.md).
	expect("user deleted", lookup(adele.UserPrincipalName),
		[2]string{"PATCH /Users/" + adeleTarget, patch(`{"op":"Replace","path":"active","value":"False"}`)},
		lookup(lee.UserPrincipalName))
	if e.target(adele.UserPrincipalName).Active() || !slices.Contains(e.sb.Backend.GroupMembers(groupTarget), adeleTarget) {
		t.Error("Adele is active, or out of her group, after her deletion")
	}
	expect("nothing after the delete")
	// "In Microsoft Entra ID, users are hard-deleted 30 days after they're soft-deleted": then the service
	// deletes the user in the target (ENTRA how-provisioning-works.md, incremental cycles step 9).
	e.clock.Advance(30 * 24 * time.Hour)
	expect("user hard-deleted after 30 days", [2]string{"DELETE /Users/" + adeleTarget, ""}, groupLookup)
	if _, ok := e.sb.Backend.User(adeleTarget); ok {
		t.Error("Adele is still in the backend")
	}
	expect("nothing after the hard delete")

	var actions []string
	for _, l := range e.provisioningLog() {
		actions = append(actions, l["provisioningAction"].(string))
	}
	for _, want := range []string{"update", "disable", "delete"} {
		if !slices.Contains(actions, want) {
			t.Errorf("no %q entry in the provisioning logs: %v", want, actions)
		}
	}
}

// TestRemovingTheActiveMappingStopsDeactivation: without the active mapping Entra has nothing to send when a
// user leaves scope.
func TestRemovingTheActiveMappingStopsDeactivation(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	grady := e.sb.Demo.Users[4]
	e.configure(grady.ID)
	schema := e.schema()
	var pairs [][2]string
	for _, p := range designMappings() {
		if p[0] != "active" {
			pairs = append(pairs, p)
		}
	}
	keepUserMappings(t, schema, pairs...)
	e.putSchema(schema)
	e.start()
	e.nextCycle()
	if e.target(grady.UserPrincipalName).HasActive() {
		t.Error("active was sent without an active mapping")
	}
	e.requests()
	e.unassign(grady.ID)
	e.nextCycle()
	if reqs := e.requests(); len(reqs) != 1 {
		t.Errorf("requests after unassignment %v, want only the probe", summaries(reqs))
	}
	if !e.target(grady.UserPrincipalName).Active() {
		t.Error("Grady was deactivated without an active mapping")
	}
}

// TestRestartRunsAFullInitialCycleSoon: the portal's Restart runs an initial cycle at once, matching every
// object again; a target object deleted behind Entra's back is created again.
func TestRestartRunsAFullInitialCycleSoon(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	adele := e.sb.Demo.Users[0]
	e.configure(adele.ID)
	e.start()
	e.nextCycle()
	e.requests()
	e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/restart", map[string]any{"criteria": map[string]any{}}))
	if status := e.jobStatus(); status["code"] != "NotRun" {
		t.Errorf("status after restart %v", status["code"])
	}
	if n := e.cycle(0); n != 1 {
		t.Fatalf("%d cycles right after restart, want 1", n)
	}
	got := summaries(e.requests())
	if len(got) != 2 || got[1] != "GET /Users?filter=userName+eq+%22adele.vance%40contoso.onmicrosoft.com%22" {
		t.Errorf("restart cycle %v: want the probe and Adele matched again, nothing sent", got)
	}
	if status := e.jobStatus(); status["code"] != "Active" {
		t.Errorf("status after the restart cycle %v", status["code"])
	}
}

// TestPausedJobRunsNoCycle: pause stops cycles; start resumes them.
func TestPausedJobRunsNoCycle(t *testing.T) {
	e := newEnv(t, sandbox.Options{InitialCycleDelay: time.Minute})
	adele := e.sb.Demo.Users[0]
	e.configure(adele.ID)
	e.start()
	e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/pause", nil))
	if n := e.cycle(2 * time.Hour); n != 0 || len(e.sb.Backend.Users()) != 0 {
		t.Fatalf("a paused job ran %d cycles", n)
	}
	e.start()
	if n := e.cycle(0); n != 1 || len(e.sb.Backend.Users()) != 1 {
		t.Fatalf("the resumed job ran %d cycles; backend users %d", n, len(e.sb.Backend.Users()))
	}
}

// TestSyncAllProvisionsEveryUserAndGroup: with the SyncAll secret the scope is the whole directory, without
// any assignment; disabled users are still never created.
func TestSyncAllProvisionsEveryUserAndGroup(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	e.createApp()
	e.must(http.StatusNoContent, e.graph(http.MethodPut, e.sync()+"/secrets", map[string]any{"value": []map[string]any{
		{"key": "BaseAddress", "value": e.sb.SCIMURL}, {"key": "SecretToken", "value": e.sb.SCIMToken.Reveal()}, {"key": "SyncAll", "value": "true"},
	}}))
	e.start()
	e.nextCycle()
	var names []string
	for _, u := range e.sb.Backend.Users() {
		names = append(names, u.UserName())
	}
	var want []string
	for _, u := range append([]entra.User{e.sb.Demo.Admin}, e.sb.Demo.Users...) {
		if u.AccountEnabled {
			want = append(want, u.UserPrincipalName)
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("provisioned %v, want every enabled user %v", names, want)
	}
	if n := len(e.sb.Backend.Groups()); n != 2 {
		t.Errorf("groups %d, want both", n)
	}
	// Engineering's disabled member is not in the target, so not among its members.
	for _, g := range e.sb.Backend.Groups() {
		if g.DisplayName() == "Engineering" && len(g.MemberIDs()) != 2 {
			t.Errorf("Engineering members %v, want the 2 enabled ones", g.MemberIDs())
		}
	}
}

// TestRenamedUserKeepsItsTargetAcrossRestart: after a restart the service matches again; a user whose
// userName changed no longer matches by filter, and is found by the id the service kept, then renamed.
func TestRenamedUserKeepsItsTargetAcrossRestart(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	adele := e.sb.Demo.Users[0]
	e.configure(adele.ID)
	e.start()
	e.nextCycle()
	before := e.target(adele.UserPrincipalName).ID
	e.must(http.StatusNoContent, e.graph(http.MethodPatch, "/users/"+adele.ID, map[string]any{"userPrincipalName": "adele@contoso.onmicrosoft.com"}))
	e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/restart", map[string]any{"criteria": map[string]any{}}))
	e.requests()
	e.cycle(0)
	got := summaries(e.requests())
	want := []string{"GET /Users?filter=userName+eq+%22adele%40contoso.onmicrosoft.com%22", "GET /Users/" + before, "PATCH /Users/" + before}
	if len(got) != 4 || !slices.Equal(got[1:], want) {
		t.Errorf("requests %v, want the probe and %v", got, want)
	}
	if n := len(e.sb.Backend.Users()); n != 1 || e.target("adele@contoso.onmicrosoft.com").ID != before {
		t.Errorf("the renamed user was not updated in place: %d users", n)
	}
}

// TestRunCycleNow runs a started job's cycle without waiting for its time, and refuses a job not started.
func TestRunCycleNow(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	adele := e.sb.Demo.Users[0]
	e.configure(adele.ID)
	if err := e.sb.Tenant.RunCycleNow(context.Background(), e.jobID); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("RunCycleNow on a job not started: %v", err)
	}
	e.start()
	if err := e.sb.Tenant.RunCycleNow(context.Background(), e.jobID); err != nil {
		t.Fatal(err)
	}
	e.target(adele.UserPrincipalName)
	if due, _ := e.sb.Tenant.NextCycle(e.jobID); !due.Equal(e.clock.Now().Add(40 * time.Minute)) {
		t.Errorf("next cycle %v, want 40 minutes after the forced one", due)
	}
}

// TestEveryUpdateIsPrecededByALookup: in incremental cycles "the service queries the target system for a
// matching user using the specified matching attributes", and "If a matching user is found, it's updated using
// the attributes provided by the source system" (ENTRA how-provisioning-works.md, incremental cycles steps 3
// and 5). The backend's request log shows the query before every update, and the update is judged by what the
// target holds: a value changed in the SaaS behind Entra's back is set back when the user next changes.
func TestEveryUpdateIsPrecededByALookup(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	demo := e.sb.Demo
	adele, lee, grady := demo.Users[0], demo.Users[1], demo.Users[4]
	e.configure(demo.SmallstepUsers.ID, grady.ID)
	e.start()
	e.nextCycle()

	// Someone edits Adele's title in the SaaS directly.
	adeleTarget := e.target(adele.UserPrincipalName).ID
	req, err := http.NewRequest(http.MethodPatch, e.sb.SCIMURL+"/Users/"+adeleTarget, strings.NewReader(
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Intern"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.sb.SCIMToken.Reveal())
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	e.must(http.StatusNoContent, e.graph(http.MethodPatch, "/users/"+adele.ID, map[string]any{"department": "Design"}))
	e.must(http.StatusNoContent, e.graph(http.MethodPatch, "/users/"+lee.ID, map[string]any{"accountEnabled": false}))
	e.must(http.StatusNoContent, e.graph(http.MethodPost, "/groups/"+demo.SmallstepUsers.ID+"/members/$ref",
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + grady.ID}))
	e.unassign(grady.ID)
	e.requests()
	e.nextCycle()
	reqs := e.requests()

	updates := 0
	for i, r := range reqs {
		if r.Method != http.MethodPatch {
			continue
		}
		updates++
		resource := strings.Split(r.Path, "/")[1]
		id := strings.TrimPrefix(r.Path, "/"+resource+"/")
		looked := false
		for _, prev := range reqs[:i] {
			if prev.Method == http.MethodGet && strings.HasPrefix(prev.Path, "/"+resource) && prev.Status == http.StatusOK &&
				strings.Contains(prev.ResponseBody, `"id":"`+id+`"`) {
				looked = true
			}
		}
		if !looked {
			t.Errorf("%s was sent without a lookup of %s before it in the cycle: %v", summary(r), id, summaries(reqs))
		}
	}
	if updates < 3 {
		t.Fatalf("the cycle sent %d updates, want Adele's, Lee's and the group's: %v", updates, summaries(reqs))
	}
	got := e.target(adele.UserPrincipalName)
	if got.GetString("title") != "Product Manager" {
		t.Errorf("title %q: the drift in the target was not set back", got.GetString("title"))
	}
	if dept, _ := got.Attributes[enterprise].(map[string]any); dept["department"] != "Design" {
		t.Errorf("department %v", got.Attributes[enterprise])
	}
}
