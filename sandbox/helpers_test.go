package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/sandbox/refbackend"
)

// fakeClock is the tenant's and backend's clock in these tests: provisioning runs only when a test advances it
// and asks for the cycles that are due, so nothing here sleeps.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a sandbox with a fake clock and an admin who configures provisioning through raw Graph calls.
type env struct {
	t     *testing.T
	sb    *sandbox.Sandbox
	clock *fakeClock
	token string // the admin, with user and group write scopes, valid for the whole (simulated) test
	http  *http.Client

	spID, jobID, userRoleID string
	assignments             map[string]string // principal id → assignment id
}

func newEnv(t *testing.T, opts sandbox.Options) *env {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	opts.Now = clock.Now
	opts.ManualCycles = true
	sb, err := sandbox.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	token, err := sb.Tenant.IssueToken(entra.TokenRequest{UserID: sb.Demo.Admin.ID, Scopes: entra.DirectoryAdminScopes(), Lifetime: 90 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, sb: sb, clock: clock, token: token, http: &http.Client{Timeout: 30 * time.Second}, assignments: map[string]string{}}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", r.status, err, r.body)
	}
	return out
}

// graph sends one Graph request as the admin.
func (e *env) graph(method, path string, body any) reply {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.sb.GraphURL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

func (e *env) must(status int, r reply) reply {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

func (e *env) sync() string { return "/servicePrincipals/" + e.spID + "/synchronization" }
func (e *env) job() string  { return e.sync() + "/jobs/" + e.jobID }

// createApp instantiates the non-gallery app and creates its scim job, as an admin does in the portal's
// "Create your own application" and the Provisioning blade.
func (e *env) createApp() {
	e.t.Helper()
	created := e.must(http.StatusCreated, e.graph(http.MethodPost, "/applicationTemplates/"+entra.NonGalleryTemplateID+"/instantiate",
		map[string]any{"displayName": "Smallstep"})).json(e.t)
	sp := created["servicePrincipal"].(map[string]any)
	e.spID = sp["id"].(string)
	for _, r := range sp["appRoles"].([]any) {
		if role := r.(map[string]any); role["displayName"] == "User" {
			e.userRoleID = role["id"].(string)
		}
	}
	job := e.must(http.StatusCreated, e.graph(http.MethodPost, e.sync()+"/jobs", map[string]any{"templateId": "scim"})).json(e.t)
	e.jobID = job["id"].(string)
}

// assign gives a user or group the app's User role.
func (e *env) assign(principalID string) {
	e.t.Helper()
	a := e.must(http.StatusCreated, e.graph(http.MethodPost, "/servicePrincipals/"+e.spID+"/appRoleAssignedTo", map[string]any{
		"principalId": principalID, "resourceId": e.spID, "appRoleId": e.userRoleID,
	})).json(e.t)
	e.assignments[principalID] = a["id"].(string)
}

func (e *env) unassign(principalID string) {
	e.t.Helper()
	e.must(http.StatusNoContent, e.graph(http.MethodDelete, "/servicePrincipals/"+e.spID+"/appRoleAssignedTo/"+e.assignments[principalID], nil))
	delete(e.assignments, principalID)
}

// saveCredentials PUTs the job's secrets: tenant URL and token.
func (e *env) saveCredentials(baseAddress, token string) {
	e.t.Helper()
	e.must(http.StatusNoContent, e.graph(http.MethodPut, e.sync()+"/secrets", map[string]any{"value": []map[string]any{
		{"key": "BaseAddress", "value": baseAddress}, {"key": "SecretToken", "value": token},
	}}))
}

func (e *env) start() {
	e.t.Helper()
	e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/start", nil))
}

// schema GETs the job's schema as an admin would before editing it.
func (e *env) schema() map[string]any {
	e.t.Helper()
	s := e.must(http.StatusOK, e.graph(http.MethodGet, e.job()+"/schema", nil)).json(e.t)
	delete(s, "@odata.context")
	return s
}

func (e *env) putSchema(s map[string]any) {
	e.t.Helper()
	e.must(http.StatusNoContent, e.graph(http.MethodPut, e.job()+"/schema", s))
}

// userMappings returns the attributeMappings of the schema's user object mapping, to edit in place.
func userMapping(t *testing.T, schema map[string]any) map[string]any {
	t.Helper()
	for _, r := range schema["synchronizationRules"].([]any) {
		for _, om := range r.(map[string]any)["objectMappings"].([]any) {
			if m := om.(map[string]any); m["sourceObjectName"] == "User" {
				return m
			}
		}
	}
	t.Fatal("the schema has no User object mapping")
	return nil
}

// keepUserMappings replaces the user mappings with the given target ← expression pairs (in order), with
// userName the matching attribute, as idpctl's mappings step does (README.md, step 5).
func keepUserMappings(t *testing.T, schema map[string]any, pairs ...[2]string) {
	t.Helper()
	m := userMapping(t, schema)
	var out []any
	for _, p := range pairs {
		priority := 0
		if p[0] == "userName" {
			priority = 1
		}
		out = append(out, map[string]any{
			"defaultValue": nil, "exportMissingReferences": false, "flowBehavior": "FlowWhenChanged", "flowType": "Always",
			"matchingPriority": priority, "targetAttributeName": p[0],
			// Only the expression text, as a client that edits the schema by hand sends it; the engine must not
			// need the parsed parameters.
			"source": map[string]any{"expression": p[1], "name": "", "type": "Function", "parameters": []any{}},
		})
	}
	m["attributeMappings"] = out
}

// designMappings are the user mappings idpctl's setup keeps (README.md, step 5; steps.wantedUserMappings).
func designMappings() [][2]string {
	return [][2]string{
		{"userName", "[userPrincipalName]"},
		{"active", `Switch([IsSoftDeleted], , "False", "True", "True", "False")`},
		{"displayName", "[displayName]"},
		{`emails[type eq "work"].value`, "Coalesce([mail], [userPrincipalName])"},
		{"name.givenName", "[givenName]"},
		{"name.familyName", "[surname]"},
		{"externalId", "[objectId]"},
	}
}

// configure sets up the job against the sandbox's backend: assignments, credentials, and start.
func (e *env) configure(assignees ...string) {
	e.t.Helper()
	e.createApp()
	for _, id := range assignees {
		e.assign(id)
	}
	e.saveCredentials(e.sb.SCIMURL, e.sb.SCIMToken.Reveal())
}

// cycle advances the clock by d and runs the cycles that became due; it returns how many ran.
func (e *env) cycle(d time.Duration) int {
	e.t.Helper()
	e.clock.Advance(d)
	n, err := e.sb.Tenant.RunDueCycles(context.Background())
	if err != nil {
		e.t.Fatalf("RunDueCycles: %v", err)
	}
	return n
}

// nextCycle advances to the job's next cycle and runs it.
// quarantinedThenRecovered provisions the first demo user to a target that refuses every token, runs the first
// cycle, which quarantines the job, and then lets the target accept tokens again: a job waiting to recover.
func (e *env) quarantinedThenRecovered() {
	e.t.Helper()
	e.configure(e.sb.Demo.Users[0].ID)
	e.sb.Backend.SetFaults(refbackend.Faults{RejectAllTokens: true})
	e.start()
	e.nextCycle()
	if e.jobStatus()["code"] != "Quarantine" {
		e.t.Fatal("a target refusing every token did not quarantine the job")
	}
	e.sb.Backend.SetFaults(refbackend.Faults{})
}

func (e *env) nextCycle() {
	e.t.Helper()
	due, ok := e.sb.Tenant.NextCycle(e.jobID)
	if !ok {
		e.t.Fatal("no cycle planned")
	}
	if n := e.cycle(max(due.Sub(e.clock.Now()), 0)); n != 1 {
		e.t.Fatalf("%d cycles ran, want 1", n)
	}
}

func (e *env) jobStatus() map[string]any {
	e.t.Helper()
	return e.must(http.StatusOK, e.graph(http.MethodGet, e.job(), nil)).json(e.t)["status"].(map[string]any)
}

// target finds the backend's user for a UPN.
func (e *env) target(upn string) refbackend.Resource {
	e.t.Helper()
	u, ok := e.sb.Backend.UserByUserName(upn)
	if !ok {
		e.t.Fatalf("the backend has no user %s", upn)
	}
	return u
}

// requests returns the SCIM requests the backend received since the last call, and forgets them.
func (e *env) requests() []refbackend.SCIMRequest {
	r := e.sb.Backend.Requests()
	e.sb.Backend.ClearRequests()
	return r
}

// summary is one request as METHOD path?query body, for comparing sequences.
func summary(r refbackend.SCIMRequest) string {
	s := r.Method + " " + r.Path
	if r.RawQuery != "" {
		s += "?" + r.RawQuery
	}
	return s
}

func summaries(rs []refbackend.SCIMRequest) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = summary(r)
	}
	return out
}

// canonicalJSON re-encodes a JSON document so documents compare regardless of key order and spacing.
func canonicalJSON(t *testing.T, doc string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func wantJSON(t *testing.T, what, got, want string) {
	t.Helper()
	if g, w := canonicalJSON(t, got), canonicalJSON(t, want); g != w {
		t.Errorf("%s\n got %s\nwant %s", what, g, w)
	}
}

// provisioningLog returns the provisioning log entries in the order they were written (Graph serves them
// newest first by activityDateTime, which the fake clock makes equal for many).
func (e *env) provisioningLog() []map[string]any {
	return e.sb.Tenant.ProvisioningLog()
}

// logFor returns the log entries of one source object (by display name or UPN) in order.
func logFor(entries []map[string]any, name string) []map[string]any {
	var out []map[string]any
	for _, e := range entries {
		if src, _ := e["sourceIdentity"].(map[string]any); src != nil && strings.EqualFold(src["displayName"].(string), name) {
			out = append(out, e)
		}
	}
	return out
}
