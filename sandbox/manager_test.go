package sandbox_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/refbackend"
)

// These tests follow Microsoft's pages on a user's manager:
//   GRAPH  api-reference/v1.0/api/user-list-manager.md, user-post-manager.md, user-delete-manager.md
//          (microsoftgraph/microsoft-graph-docs-contrib)
//   ENTRA  docs/identity/app-provisioning/how-provisioning-works.md ("Reference attributes", step 6 of both
//          cycles), known-issues.md ("Manager isn't provisioned", "Null attribute can't be provisioned"),
//          use-scim-to-provision-users-and-groups.md (Examples 4 and 5, the user schema example)
//          (MicrosoftDocs/entra-docs)
// The manager is provisioned only by a job whose mappings keep the enterprise manager (the default schema, as
// here); idpctl's setup removes that mapping (README.md, step 5 and "The sandbox").

const managerPath = enterprise + ":manager"

// setManager is PUT /users/{id}/manager/$ref as an administrator (GRAPH user-post-manager.md).
func (e *env) setManager(userID, managerID string) {
	e.t.Helper()
	e.must(http.StatusNoContent, e.graph(http.MethodPut, "/users/"+userID+"/manager/$ref",
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + managerID}))
}

// managerOf is the manager a target user holds: manager.value (RFC 7643 §4.3).
func (e *env) managerOf(upn string) string {
	e.t.Helper()
	return e.target(upn).GetString(managerPath + ".value")
}

// TestManagerThroughGraph: "Returns the user or organizational contact assigned as the user's manager" (GRAPH
// user-list-manager.md); PUT .../manager/$ref "Assign a user's manager" with an @odata.id, 204; DELETE
// .../manager/$ref "Remove a user's manager", 204; both need User.ReadWrite.All or Directory.ReadWrite.All
// (GRAPH user-post-manager.md, user-delete-manager.md), which the setup token does not carry.
func TestManagerThroughGraph(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	admin, adele, lee, grady := e.sb.Demo.Admin, e.sb.Demo.Users[0], e.sb.Demo.Users[1], e.sb.Demo.Users[4]

	// The demo directory has managers: Adele reports to the admin, Lee to Adele.
	got := e.must(http.StatusOK, e.graph(http.MethodGet, "/users/"+lee.UserPrincipalName+"/manager", nil)).json(t)
	if got["id"] != adele.ID || got["displayName"] != "Adele Vance" || got["@odata.type"] != "#microsoft.graph.user" ||
		!strings.HasSuffix(got["@odata.context"].(string), "/$metadata#directoryObjects/$entity") {
		t.Errorf("Lee's manager %v", got)
	}
	if id := e.must(http.StatusOK, e.graph(http.MethodGet, "/users/"+adele.ID+"/manager?$select=id", nil)).json(t)["id"]; id != admin.ID {
		t.Errorf("Adele's manager %v, want the admin", id)
	}
	ref := e.must(http.StatusOK, e.graph(http.MethodGet, "/users/"+lee.ID+"/manager/$ref", nil)).json(t)
	if !strings.HasSuffix(ref["@odata.id"].(string), "/directoryObjects/"+adele.ID) {
		t.Errorf("Lee's manager reference %v", ref)
	}

	e.setManager(lee.ID, grady.ID)
	if id := e.must(http.StatusOK, e.graph(http.MethodGet, "/users/"+lee.ID+"/manager", nil)).json(t)["id"]; id != grady.ID {
		t.Errorf("Lee's manager after PUT %v, want Grady", id)
	}
	e.must(http.StatusNoContent, e.graph(http.MethodDelete, "/users/"+lee.ID+"/manager/$ref", nil))
	gone := e.must(http.StatusNotFound, e.graph(http.MethodGet, "/users/"+lee.ID+"/manager", nil)).json(t)["error"].(map[string]any)
	if gone["code"] != "Request_ResourceNotFound" || !strings.Contains(gone["message"].(string), "'manager'") {
		t.Errorf("a user without a manager: %v", gone)
	}
	e.must(http.StatusNotFound, e.graph(http.MethodDelete, "/users/"+lee.ID+"/manager/$ref", nil))

	// Bad references: a manager that does not exist, a group, a body without exactly one @odata.id.
	e.must(http.StatusNotFound, e.graph(http.MethodPut, "/users/"+lee.ID+"/manager/$ref",
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/00000000-0000-0000-0000-000000000000"}))
	e.must(http.StatusBadRequest, e.graph(http.MethodPut, "/users/"+lee.ID+"/manager/$ref",
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/groups/" + e.sb.Demo.Engineering.ID}))
	e.must(http.StatusBadRequest, e.graph(http.MethodPut, "/users/"+lee.ID+"/manager/$ref", map[string]any{"id": adele.ID}))

	// The setup token reads managers but cannot change them; the user administrator's token idpctl sandbox
	// prints can.
	admins := e.token
	e.token = e.sb.AccessToken.Reveal()
	e.must(http.StatusOK, e.graph(http.MethodGet, "/users/"+adele.ID+"/manager", nil))
	e.must(http.StatusForbidden, e.graph(http.MethodPut, "/users/"+lee.ID+"/manager/$ref",
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + adele.ID}))
	e.token = e.sb.AdminToken.Reveal()
	e.setManager(lee.ID, grady.ID)
	e.token = admins

	// A deleted manager is not shown while in the deleted items, and is back after a restore.
	e.setManager(lee.ID, adele.ID)
	e.must(http.StatusNoContent, e.graph(http.MethodDelete, "/users/"+adele.ID, nil))
	e.must(http.StatusNotFound, e.graph(http.MethodGet, "/users/"+lee.ID+"/manager", nil))
	e.must(http.StatusOK, e.graph(http.MethodPost, "/directory/deletedItems/"+adele.ID+"/restore", nil))
	e.must(http.StatusOK, e.graph(http.MethodGet, "/users/"+lee.ID+"/manager", nil))
}

// TestManagerIsLinkedAfterTheUserIsProvisioned: "If the attribute mappings contain "reference" attributes, the
// service does more updates on the target system to create and link the referenced objects" (ENTRA
// how-provisioning-works.md, step 6); "If a user and their manager are both in scope for provisioning, the
// service provisions the user and then updates the manager" (ENTRA known-issues.md). The user is created
// without a manager; once the manager exists in the target, a PATCH of its own sets the enterprise manager to
// the manager's id in the target ("we are only sending ID", Microsoft Q&A 188003; the SCIM tutorial's user
// schema example carries "manager": "123456"). Only the manager is "checked first" (ENTRA
// use-scim-to-provision-users-and-groups.md, Example 4): a manager the target already has is not sent again.
func TestManagerIsLinkedAfterTheUserIsProvisioned(t *testing.T) {
	for _, c := range []struct {
		dialect, flag, op string
	}{
		{"default", "", "Add"},
		// "Requests to add a single-value string attribute" with the flag: lowercase (ENTRA
		// application-provisioning-config-problem-scim-compatibility.md).
		{"aadOptscim062020", "?aadOptscim062020", "add"},
	} {
		t.Run(c.dialect, func(t *testing.T) {
			e := newEnv(t, sandbox.Options{})
			adele, grady := e.sb.Demo.Users[0], e.sb.Demo.Users[4]
			// Adele, created first, reports to Grady, created last: she is provisioned before her manager.
			e.setManager(adele.ID, grady.ID)
			e.createApp()
			e.assign(adele.ID)
			e.assign(grady.ID)
			e.saveCredentials(e.sb.SCIMURL+c.flag, e.sb.SCIMToken.Reveal())
			e.start()
			e.nextCycle()
			reqs := e.requests()
			var got []string
			for _, r := range reqs[1:] {
				got = append(got, r.Method+" "+strings.SplitN(r.Path, "/", 3)[1])
			}
			if strings.Join(got, ", ") != "GET Users, POST Users, GET Users, POST Users, PATCH Users" {
				t.Fatalf("requests %v: want both users matched and created, then one PATCH", summaries(reqs))
			}
			adeleTarget, gradyTarget := e.target(adele.UserPrincipalName).ID, e.target(grady.UserPrincipalName).ID
			if strings.Contains(reqs[2].Body, "manager") {
				t.Errorf("Adele was created with a manager: %s", reqs[2].Body)
			}
			patch := reqs[5]
			if patch.Path != "/Users/"+adeleTarget {
				t.Errorf("the PATCH went to %s, want Adele (%s)", patch.Path, adeleTarget)
			}
			wantJSON(t, "the manager PATCH", patch.Body, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
				{"op":"`+c.op+`","path":"`+managerPath+`","value":"`+gradyTarget+`"}]}`)
			if m := e.managerOf(adele.UserPrincipalName); m != gradyTarget {
				t.Errorf("Adele's manager in the target %q, want Grady's id %q", m, gradyTarget)
			}
			entries := logFor(e.provisioningLog(), adele.UserPrincipalName)
			if len(entries) != 2 || entries[0]["provisioningAction"] != "create" || entries[1]["provisioningAction"] != "update" {
				t.Fatalf("Adele's log entries %v", entries)
			}
			if mp, _ := json.Marshal(entries[1]["modifiedProperties"]); !strings.Contains(string(mp),
				`{"displayName":"`+managerPath+`","newValue":"`+gradyTarget+`","oldValue":null}`) {
				t.Errorf("the manager update's modifiedProperties %s", mp)
			}
			if last := e.jobStatus()["lastExecution"].(map[string]any); last["countImportedReferenceDeltas"] != float64(1) || last["countExported"] != float64(3) {
				t.Errorf("lastExecution %v", last)
			}

			// A restart evaluates every user again; the lookups show the manager in place, so nothing is sent.
			e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/restart", map[string]any{"criteria": map[string]any{"resetScope": "Watermark"}}))
			e.cycle(0)
			for _, r := range e.requests() {
				if r.Method != http.MethodGet {
					t.Errorf("a restart over an up-to-date target sent %s %s %s", r.Method, r.Path, r.Body)
				}
			}
		})
	}
}

// TestManagerOutOfScopeWaitsForARestart: "If on day one the user is in scope and the manager is out of scope,
// we'll provision the user without the manager reference. When the manager comes into scope, the manager
// reference won't be updated until you restart provisioning and cause the service to reevaluate all the users
// again." (ENTRA known-issues.md, "Manager isn't provisioned")
func TestManagerOutOfScopeWaitsForARestart(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	adele, lee := e.sb.Demo.Users[0], e.sb.Demo.Users[1]
	e.configure(lee.ID)
	e.start()
	e.nextCycle()
	if m := e.managerOf(lee.UserPrincipalName); m != "" {
		t.Fatalf("Lee got manager %q while Adele is out of scope", m)
	}
	for _, r := range e.requests() {
		if r.Method == http.MethodPatch {
			t.Errorf("a manager out of scope was sent: %s %s", r.Path, r.Body)
		}
	}

	e.assign(adele.ID)
	e.nextCycle()
	e.nextCycle()
	if _, ok := e.sb.Backend.UserByUserName(adele.UserPrincipalName); !ok {
		t.Fatal("Adele was not provisioned once assigned")
	}
	if m := e.managerOf(lee.UserPrincipalName); m != "" {
		t.Fatalf("Lee got manager %q without a restart", m)
	}

	e.requests()
	e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/restart", map[string]any{"criteria": map[string]any{"resetScope": ""}}))
	if n := e.cycle(0); n != 1 {
		t.Fatalf("%d cycles after the restart", n)
	}
	adeleTarget := e.target(adele.UserPrincipalName).ID
	if m := e.managerOf(lee.UserPrincipalName); m != adeleTarget {
		t.Errorf("Lee's manager after the restart %q, want Adele's id %q", m, adeleTarget)
	}
	var patches []string
	for _, r := range e.requests() {
		if r.Method == http.MethodPatch {
			patches = append(patches, r.Path)
		}
	}
	// Only Lee's manager: Adele's own manager (the admin) is still out of scope.
	if len(patches) != 1 || patches[0] != "/Users/"+e.target(lee.UserPrincipalName).ID {
		t.Errorf("PATCHes after the restart %v, want Lee's manager only", patches)
	}
}

// TestManagerChangesFollowTheUser: a new manager makes the user a changed object, which the next incremental
// cycle looks up and then updates (ENTRA how-provisioning-works.md, incremental cycles steps 3 and 6), with
// Replace since the target holds a value. A removed manager is not cleared in the target: "Microsoft Entra ID
// currently can't provision null attributes. If an attribute is null on the user object, it is skipped."
// (ENTRA known-issues.md)
func TestManagerChangesFollowTheUser(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	adele, lee, grady := e.sb.Demo.Users[0], e.sb.Demo.Users[1], e.sb.Demo.Users[4]
	e.configure(adele.ID, lee.ID, grady.ID)
	e.start()
	e.nextCycle()
	leeTarget, gradyTarget := e.target(lee.UserPrincipalName).ID, e.target(grady.UserPrincipalName).ID
	if m := e.managerOf(lee.UserPrincipalName); m != e.target(adele.UserPrincipalName).ID {
		t.Fatalf("Lee's manager %q after the initial cycle", m)
	}
	e.requests()

	e.setManager(lee.ID, grady.ID)
	e.nextCycle()
	got := e.requests()[1:]
	lookup := "GET /Users?filter=userName+eq+%22" + strings.ReplaceAll(lee.UserPrincipalName, "@", "%40") + "%22"
	if len(got) != 2 || summary(got[0]) != lookup || summary(got[1]) != "PATCH /Users/"+leeTarget {
		t.Fatalf("requests after the manager changed %v, want Lee's lookup and one PATCH", summaries(got))
	}
	wantJSON(t, "the new manager", got[1].Body, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"Replace","path":"`+managerPath+`","value":"`+gradyTarget+`"}]}`)

	// A manager changed in the SaaS behind Entra's back is set back the next time the user changes: the lookup
	// shows another manager ("checks the current attribute value in the identity store before updating it",
	// ENTRA use-scim-to-provision-users-and-groups.md, Example 4).
	req, err := http.NewRequest(http.MethodPatch, e.sb.SCIMURL+"/Users/"+leeTarget, strings.NewReader(
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"`+managerPath+`","value":{"value":"someone-else"}}]}`))
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
	e.must(http.StatusNoContent, e.graph(http.MethodPatch, "/users/"+lee.ID, map[string]any{"jobTitle": "Staff Engineer"}))
	e.requests()
	e.nextCycle()
	got = e.requests()[1:]
	if len(got) != 3 || summary(got[0]) != lookup || summary(got[1]) != "PATCH /Users/"+leeTarget || summary(got[2]) != "PATCH /Users/"+leeTarget {
		t.Fatalf("requests after drift %v, want Lee's lookup, his title, then his manager", summaries(got))
	}
	wantJSON(t, "the manager set back", got[2].Body, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"Replace","path":"`+managerPath+`","value":"`+gradyTarget+`"}]}`)

	e.must(http.StatusNoContent, e.graph(http.MethodDelete, "/users/"+lee.ID+"/manager/$ref", nil))
	e.nextCycle()
	got = e.requests()[1:]
	if len(got) != 1 || summary(got[0]) != lookup {
		t.Fatalf("requests after the manager was removed %v, want only Lee's lookup", summaries(got))
	}
	if m := e.managerOf(lee.UserPrincipalName); m != gradyTarget {
		t.Errorf("Lee's manager in the target %q after its removal in Entra, want it kept (%q)", m, gradyTarget)
	}
}

// TestFailedManagerUpdateIsAReferenceEscrow: a manager update the target refuses is retried by later cycles
// although the user does not change again, and counts as a reference failure ("40,000 users failed and 21,000
// manager updates failed", ENTRA application-provisioning-quarantine-status.md, Escrow thresholds); a transient
// failure is "retried in 40 minutes" (DOCS howto-analyze-provisioning-logs, error codes).
func TestFailedManagerUpdateIsAReferenceEscrow(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	adele, lee := e.sb.Demo.Users[0], e.sb.Demo.Users[1]
	e.configure(adele.ID, lee.ID)
	e.sb.Backend.SetFaults(refbackend.Faults{Rules: []refbackend.FaultRule{
		{Method: http.MethodPatch, Path: "/Users/", Status: http.StatusInternalServerError, Times: 1},
	}})
	e.start()
	e.nextCycle()
	if m := e.managerOf(lee.UserPrincipalName); m != "" {
		t.Fatalf("Lee's manager %q although the PATCH failed", m)
	}
	entries := logFor(e.provisioningLog(), lee.UserPrincipalName)
	failed := entries[len(entries)-1]
	info := failed["provisioningStatusInfo"].(map[string]any)
	if failed["provisioningAction"] != "update" || info["status"] != "failure" || info["errorInformation"].(map[string]any)["errorCode"] != "InternalServerError" {
		t.Errorf("the failed manager update's entry %v", failed)
	}
	if last := e.jobStatus()["lastExecution"].(map[string]any); last["state"] != "EntryLevelErrors" {
		t.Errorf("lastExecution %v", last)
	}

	// The retry looks Lee up first, as every update is preceded by a lookup (ENTRA how-provisioning-works.md,
	// incremental cycles step 3).
	e.requests()
	e.nextCycle()
	leeTarget := e.target(lee.UserPrincipalName).ID
	want := []string{"GET /Users?filter=userName+eq+%22" + strings.ReplaceAll(lee.UserPrincipalName, "@", "%40") + "%22", "PATCH /Users/" + leeTarget}
	if got := summaries(e.requests()); len(got) != 3 || got[1] != want[0] || got[2] != want[1] {
		t.Errorf("the retry cycle sent %v, want the probe, then %v", got, want)
	}
	adeleTarget := e.target(adele.UserPrincipalName).ID
	if m := e.managerOf(lee.UserPrincipalName); m != adeleTarget {
		t.Errorf("Lee's manager after the retry %q, want %q", m, adeleTarget)
	}
	if last := e.jobStatus()["lastExecution"].(map[string]any); last["state"] != "Succeeded" {
		t.Errorf("lastExecution after the retry %v", last)
	}
}

// TestFailedManagerUpdateOfAUserThatLeftScopeIsDropped: a manager update that failed is not retried for a user
// the service no longer provisions (unassigned: disabled, and no longer managed, ENTRA how-provisioning-works.md
// known limitations), so later cycles leave that user alone.
func TestFailedManagerUpdateOfAUserThatLeftScopeIsDropped(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	adele, lee := e.sb.Demo.Users[0], e.sb.Demo.Users[1]
	e.configure(adele.ID, lee.ID)
	// A 400 is not transient: the escrow is retried 6 hours later (ENTRA quarantine-status, Retry duration).
	e.sb.Backend.SetFaults(refbackend.Faults{Rules: []refbackend.FaultRule{
		{Method: http.MethodPatch, Path: "/Users/", Status: http.StatusBadRequest, Times: 1},
	}})
	e.start()
	e.nextCycle()
	if m := e.managerOf(lee.UserPrincipalName); m != "" {
		t.Fatalf("Lee's manager %q although the PATCH failed", m)
	}
	e.unassign(lee.ID)
	e.nextCycle()
	if e.target(lee.UserPrincipalName).Active() {
		t.Fatal("Lee was not disabled when unassigned")
	}
	e.requests()
	logged := len(logFor(e.provisioningLog(), lee.UserPrincipalName))
	if n := e.cycle(7 * time.Hour); n != 1 {
		t.Fatalf("%d cycles", n)
	}
	if got := summaries(e.requests()); len(got) != 1 {
		t.Errorf("a cycle after the retry time sent %v, want only the probe", got)
	}
	if entries := logFor(e.provisioningLog(), lee.UserPrincipalName); len(entries) != logged {
		t.Errorf("the cycle after the retry time processed Lee again: %v", entries[logged:])
	}
}
