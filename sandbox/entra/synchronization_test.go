package entra

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncFixture is a demo tenant with a fresh non-gallery app whose provisioning job exists.
type syncFixture struct {
	*fixture
	spID, jobID string
	base        string // /servicePrincipals/{sp}/synchronization
}

func newSyncFixture(t *testing.T, opts Options) *syncFixture {
	f := newFixture(t, opts)
	_, sp := f.instantiate("Smallstep")
	s := &syncFixture{fixture: f, spID: sp["id"].(string)}
	s.base = "/servicePrincipals/" + s.spID + "/synchronization"
	job := f.must(http.StatusCreated, f.request(http.MethodPost, s.base+"/jobs", map[string]any{"templateId": "scim"})).json(t)
	s.jobID = job["id"].(string)
	return s
}

func (s *syncFixture) job() map[string]any {
	return s.must(http.StatusOK, s.get(s.base+"/jobs/"+s.jobID)).json(s.t)
}

func TestSyncTemplatesAndJobs(t *testing.T) {
	f := newFixture(t, Options{})
	_, sp := f.instantiate("Smallstep")
	base := "/servicePrincipals/" + sp["id"].(string) + "/synchronization"
	templates := f.must(http.StatusOK, f.get(base+"/templates")).values(t)
	if len(templates) != 1 || templates[0]["id"] != "scim" {
		t.Fatalf("templates %v", templates)
	}
	expanded := f.must(http.StatusOK, f.get(base+"/templates?$expand=schema")).values(t)
	if _, ok := expanded[0]["schema"].(map[string]any); !ok {
		t.Error("$expand=schema gave no schema")
	}
	wantError(t, f.request(http.MethodPost, base+"/jobs", map[string]any{"templateId": "nope"}), http.StatusBadRequest, "BadRequest", "")
	job := f.must(http.StatusCreated, f.request(http.MethodPost, base+"/jobs", map[string]any{"templateId": "scim"})).json(t)
	if !regexp.MustCompile(`^scim\.[0-9a-f]{32}\.` + f.tenant.ID() + `$`).MatchString(job["id"].(string)) {
		t.Errorf("job id %v", job["id"])
	}
	schedule, status := job["schedule"].(map[string]any), job["status"].(map[string]any)
	if schedule["state"] != "Disabled" || schedule["interval"] != "P10675199DT2H48M5.4775807S" || status["code"] != "NotConfigured" || job["templateId"] != "scim" {
		t.Errorf("new job %v", job)
	}
	if list := f.must(http.StatusOK, f.get(base+"/jobs")).values(t); len(list) != 1 {
		t.Errorf("%d jobs listed", len(list))
	}
	// An app registration without a template is not provisioning-eligible.
	plain := f.must(http.StatusCreated, f.request(http.MethodPost, "/applications", map[string]any{"displayName": "plain"})).json(t)
	plainSP := f.must(http.StatusCreated, f.request(http.MethodPost, "/servicePrincipals", map[string]any{"appId": plain["appId"]})).json(t)
	if tpl := f.must(http.StatusOK, f.get("/servicePrincipals/"+plainSP["id"].(string)+"/synchronization/templates")).values(t); len(tpl) != 0 {
		t.Errorf("plain app offers templates %v", tpl)
	}
	f.must(http.StatusNoContent, f.request(http.MethodDelete, base+"/jobs/"+job["id"].(string), nil))
	wantError(t, f.get(base+"/jobs/"+job["id"].(string)), http.StatusNotFound, "Request_ResourceNotFound", "")
}

func TestSecretsAndJobLifecycle(t *testing.T) {
	s := newSyncFixture(t, Options{})
	wantError(t, s.request(http.MethodPost, s.base+"/jobs/"+s.jobID+"/start", nil), http.StatusBadRequest, "BadRequest", "")

	// Keys are PascalCase enum members; a wrong one fails inside the service (500, as Graph does).
	r := s.request(http.MethodPut, s.base+"/secrets", map[string]any{"value": []map[string]any{{"key": "baseAddress", "value": "https://scim.example.com"}}})
	if r.status != http.StatusInternalServerError {
		t.Errorf("bad key answered %d: %s", r.status, r.raw)
	}
	s.must(http.StatusNoContent, s.request(http.MethodPut, s.base+"/secrets", map[string]any{"value": []map[string]any{
		{"key": "BaseAddress", "value": "https://scim.example.com/scim/v2"},
		{"key": "SecretToken", "value": "very-secret-token"},
		{"key": "SyncAll", "value": "false"},
	}}))
	if keys := s.tenant.SecretKeys(s.spID); strings.Join(keys, ",") != "BaseAddress,SecretToken,SyncAll" {
		t.Errorf("saved keys %v", keys)
	}
	if strings.Contains(string(s.get(s.base+"/jobs/"+s.jobID).raw), "very-secret-token") {
		t.Error("job read shows the secret token")
	}
	// PUT replaces the set.
	s.must(http.StatusNoContent, s.request(http.MethodPut, s.base+"/secrets", map[string]any{"value": []map[string]any{
		{"key": "BaseAddress", "value": "https://scim.example.com/scim/v2"}, {"key": "SecretToken", "value": "very-secret-token"}}}))
	if keys := s.tenant.SecretKeys(s.spID); len(keys) != 2 {
		t.Errorf("after replace %v", keys)
	}

	s.must(http.StatusNoContent, s.request(http.MethodPost, s.base+"/jobs/"+s.jobID+"/start", nil))
	job := s.job()
	if job["schedule"].(map[string]any)["state"] != "Active" || job["schedule"].(map[string]any)["interval"] != "PT40M" || job["status"].(map[string]any)["code"] != "NotRun" {
		t.Errorf("started job %v %v", job["schedule"], job["status"])
	}
	s.must(http.StatusNoContent, s.request(http.MethodPost, s.base+"/jobs/"+s.jobID+"/pause", nil))
	if got := s.tenant.SyncJobs(s.spID)[0]; got.ScheduleState != "Paused" || got.StatusCode != "Paused" {
		t.Errorf("paused job %+v", got)
	}
	s.must(http.StatusNoContent, s.request(http.MethodPost, s.base+"/jobs/"+s.jobID+"/restart",
		map[string]any{"criteria": map[string]any{"resetScope": "Watermark,Escrows,QuarantineState"}}))
	if got := s.tenant.SyncJobs(s.spID)[0]; got.ScheduleState != "Active" || got.StatusCode != "NotRun" {
		t.Errorf("restarted job %+v", got)
	}
	s.must(http.StatusNoContent, s.request(http.MethodPost, s.base+"/jobs/"+s.jobID+"/restart", map[string]any{"criteria": map[string]any{}}))
	bad := s.request(http.MethodPost, s.base+"/jobs/"+s.jobID+"/restart", map[string]any{"criteria": map[string]any{"resetScope": "Everything"}})
	if bad.status < 400 {
		t.Errorf("unknown resetScope answered %d", bad.status)
	}
}

func TestSchemaGetPutPatch(t *testing.T) {
	s := newSyncFixture(t, Options{})
	path := s.base + "/jobs/" + s.jobID + "/schema"
	schema := s.must(http.StatusOK, s.get(path)).json(t)
	rules := schema["synchronizationRules"].([]any)
	rule := rules[0].(map[string]any)
	mappings := rule["objectMappings"].([]any)
	users := mappings[0].(map[string]any)
	if users["name"] != "Provision Microsoft Entra ID Users" || mappings[1].(map[string]any)["name"] != "Provision Microsoft Entra ID Groups" {
		t.Fatalf("object mappings %v / %v", users["name"], mappings[1].(map[string]any)["name"])
	}
	attrs := users["attributeMappings"].([]any)
	if len(attrs) != 22 {
		t.Errorf("%d user mappings, want the 22 defaults", len(attrs))
	}
	first := attrs[0].(map[string]any)
	if first["targetAttributeName"] != "userName" || first["matchingPriority"] != float64(1) || first["source"].(map[string]any)["name"] != "userPrincipalName" {
		t.Errorf("matching mapping %v", first)
	}
	active := attrs[1].(map[string]any)["source"].(map[string]any)
	if active["type"] != "Function" || active["name"] != "Switch" || active["expression"] != `Switch([IsSoftDeleted], , "False", "True", "True", "False")` {
		t.Errorf("active mapping %v", active)
	}
	dirs := schema["directories"].([]any)
	if dirs[0].(map[string]any)["name"] != "Azure Active Directory" || dirs[1].(map[string]any)["name"] != "customappsso" {
		t.Errorf("directories %v, %v", dirs[0].(map[string]any)["name"], dirs[1].(map[string]any)["name"])
	}

	// Keep only a few user mappings and point externalId at objectId, then PUT the whole schema back.
	var kept []any
	for _, a := range attrs {
		m := a.(map[string]any)
		switch m["targetAttributeName"] {
		case "userName", "active", "displayName":
			kept = append(kept, m)
		case "externalId":
			m["source"] = map[string]any{"type": "Attribute", "name": "objectId", "expression": "[objectId]", "parameters": []any{}}
			kept = append(kept, m)
		}
	}
	users["attributeMappings"] = kept
	// The schema goes back as it came, @odata.context included.
	s.must(http.StatusNoContent, s.request(http.MethodPut, path, schema))
	var stored map[string]any
	if err := json.Unmarshal(s.tenant.SyncJobs(s.spID)[0].Schema, &stored); err != nil {
		t.Fatal(err)
	}
	storedUsers := stored["synchronizationRules"].([]any)[0].(map[string]any)["objectMappings"].([]any)[0].(map[string]any)
	if n := len(storedUsers["attributeMappings"].([]any)); n != 4 {
		t.Errorf("stored %d mappings, want 4", n)
	}

	// The SDKs' PATCH: 404 like the real service.
	r := s.request(http.MethodPatch, path, schema)
	wantError(t, r, http.StatusNotFound, "UnknownError", "")
	msg := r.json(t)["error"].(map[string]any)["message"].(string)
	if !strings.Contains(msg, "No HTTP resource was found that matches the request URI 'https://syncfabric.windowsazure.com/api/servicePrincipals('"+s.spID+"')/synchronization/jobs('"+s.jobID+"')/schema?api-version=2.0'.") {
		t.Errorf("PATCH message %q", msg)
	}

	wantError(t, s.request(http.MethodPut, path, map[string]any{"version": "x"}), http.StatusBadRequest, "BadRequest", "")
	wantError(t, s.request(http.MethodPut, path, map[string]any{"synchronizationRulez": []any{}}), http.StatusBadRequest, "BadRequest", "")
}

func TestProvisionOnDemandRateLimit(t *testing.T) {
	s := newSyncFixture(t, Options{})
	path := s.base + "/jobs/" + s.jobID + "/provisionOnDemand"
	body := func(ruleID, objectID, kind string) map[string]any {
		return map[string]any{"parameters": []map[string]any{{"ruleId": ruleID,
			"subjects": []map[string]any{{"objectId": objectID, "objectTypeName": kind}}}}}
	}
	const rule = "03f7d90d-bf71-41b1-bda6-aaf0ddbee5d8"
	user := s.demo.Users[0].ID
	wantError(t, s.request(http.MethodPost, path, body("not-a-rule", user, "User")), http.StatusBadRequest, "BadRequest", "")
	wantError(t, s.request(http.MethodPost, path, body(rule, user, "Device")), http.StatusBadRequest, "BadRequest", "")
	wantError(t, s.request(http.MethodPost, path, body(rule, s.demo.SmallstepUsers.ID, "User")), http.StatusNotFound, "Request_ResourceNotFound", "")

	for i := range 5 {
		r := s.must(http.StatusOK, s.request(http.MethodPost, path, body(rule, user, "User"))).json(t)
		var key map[string]any
		if err := json.Unmarshal([]byte(r["key"].(string)), &key); err != nil || key["result"] == nil {
			t.Fatalf("call %d: key is not a JSON document with a result: %v (%v)", i, r["key"], err)
		}
		if _, ok := r["value"].(string); !ok {
			t.Fatalf("value %v", r["value"])
		}
		s.clock.Advance(time.Second)
	}
	// Five calls in the last five seconds: the sixth waits until the first leaves the 10 s window.
	r := s.request(http.MethodPost, path, body(rule, user, "User"))
	wantError(t, r, http.StatusTooManyRequests, "TooManyRequests", "")
	if r.header.Get("Retry-After") != "5" {
		t.Errorf("Retry-After %q, want 5", r.header.Get("Retry-After"))
	}
	s.clock.Advance(5 * time.Second)
	s.must(http.StatusOK, s.request(http.MethodPost, path, body(rule, user, "User")))
}

// scimStub is a SCIM endpoint that answers Entra's probes.
type scimStub struct {
	mu       sync.Mutex
	token    string
	mode     string // "good", "html"
	requests []*http.Request
}

func (s *scimStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r)
	mode := s.mode
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if mode == "html" {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>login</html>"))
		return
	}
	w.Header().Set("Content-Type", "application/scim+json")
	_, _ = w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[],"startIndex":1,"itemsPerPage":20}`))
}

func TestValidateCredentials(t *testing.T) {
	stub := &scimStub{token: "scim-token-123456", mode: "good"}
	scim := httptest.NewServer(stub)
	t.Cleanup(scim.Close)
	s := newSyncFixture(t, Options{HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	creds := func(base, token string) []map[string]any {
		return []map[string]any{{"key": "BaseAddress", "value": base}, {"key": "SecretToken", "value": token}}
	}
	jobless := s.base + "/jobs/validateCredentials"

	s.must(http.StatusNoContent, s.request(http.MethodPost, jobless, map[string]any{"templateId": "scim", "useSavedCredentials": false,
		"credentials": creds(scim.URL+"/scim/v2/", stub.token)}))
	stub.mu.Lock()
	got := stub.requests
	stub.mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("%d SCIM requests, want the user and the group probe", len(got))
	}
	userProbe := regexp.MustCompile(`^filter=userName\+eq\+%22[0-9a-f-]{36}%22$`)
	if got[0].URL.Path != "/scim/v2/Users" || !userProbe.MatchString(got[0].URL.RawQuery) {
		t.Errorf("user probe %s?%s", got[0].URL.Path, got[0].URL.RawQuery)
	}
	if got[1].URL.Path != "/scim/v2/Groups" || !strings.HasPrefix(got[1].URL.RawQuery, "excludedAttributes=members&filter=displayName+eq+%22") {
		t.Errorf("group probe %s?%s", got[1].URL.Path, got[1].URL.RawQuery)
	}

	// Wrong token: the SCIM endpoint's 401, without the token in the message.
	r := s.request(http.MethodPost, jobless, map[string]any{"templateId": "scim", "credentials": creds(scim.URL+"/scim/v2", "wrong-token-value")})
	wantError(t, r, http.StatusBadRequest, "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable", "")
	if msg := string(r.raw); !strings.Contains(msg, "Unauthorized") || strings.Contains(msg, "wrong-token-value") {
		t.Errorf("401 message %s", msg)
	}

	// Not a SCIM answer.
	stub.mu.Lock()
	stub.mode = "html"
	stub.mu.Unlock()
	wantError(t, s.request(http.MethodPost, jobless, map[string]any{"templateId": "scim", "credentials": creds(scim.URL+"/scim/v2", stub.token)}),
		http.StatusBadRequest, "SystemForCrossDomainIdentityManagementCredentialValidationFailure", "")
	stub.mu.Lock()
	stub.mode = "good"
	stub.mu.Unlock()

	// Unreachable: a port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/scim"
	l.Close()
	wantError(t, s.request(http.MethodPost, jobless, map[string]any{"templateId": "scim", "credentials": creds(dead, stub.token)}),
		http.StatusBadRequest, "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable", "")
	wantError(t, s.request(http.MethodPost, jobless, map[string]any{"templateId": "scim", "credentials": creds("not a url", stub.token)}),
		http.StatusBadRequest, "SystemForCrossDomainIdentityManagementInvalidCredentials", "Please provide a valid tenant URL for your application.")

	// With the job and saved credentials.
	s.must(http.StatusNoContent, s.request(http.MethodPut, s.base+"/secrets", map[string]any{"value": creds(scim.URL+"/scim/v2", stub.token)}))
	s.must(http.StatusNoContent, s.request(http.MethodPost, s.base+"/jobs/"+s.jobID+"/validateCredentials", map[string]any{"useSavedCredentials": true}))
	wantError(t, s.request(http.MethodPost, s.base+"/jobs/"+s.jobID+"/validateCredentials", map[string]any{"credentials": creds(scim.URL+"/scim/v2", "nope-nope")}),
		http.StatusBadRequest, "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable", "")
}

func TestProvisioningLogs(t *testing.T) {
	s := newSyncFixture(t, Options{PageSize: 2})
	at := func(day int) string { return time.Date(2026, 3, day, 10, 0, 0, 0, time.UTC).Format(time.RFC3339) }
	for i, day := range []int{1, 3, 2, 4} {
		s.tenant.AppendProvisioningLog(map[string]any{
			"activityDateTime": at(day), "jobId": s.jobID, "cycleId": "c1", "provisioningAction": "create",
			"servicePrincipal":       map[string]any{"id": s.spID, "displayName": "Smallstep"},
			"sourceIdentity":         map[string]any{"id": s.demo.Users[i].ID, "displayName": s.demo.Users[i].DisplayName},
			"provisioningStatusInfo": map[string]any{"status": "success"},
		})
	}
	s.tenant.AppendProvisioningLog(map[string]any{"activityDateTime": at(5), "jobId": "other", "servicePrincipal": map[string]any{"id": "other"}})

	q := "/auditLogs/provisioning?$filter=" + urlEscape("servicePrincipal/id eq '"+s.spID+"' and activityDateTime gt 2026-03-01T12:00:00Z and activityDateTime lt 2026-03-05") + "&$orderby=" + urlEscape("activityDateTime desc") + "&$top=2"
	page := s.must(http.StatusOK, s.get(q)).json(t)
	entries := valuesOf(page)
	if len(entries) != 2 || entries[0]["activityDateTime"] != at(4) || entries[1]["activityDateTime"] != at(3) {
		t.Fatalf("first page %v", entries)
	}
	next := strings.TrimPrefix(page["@odata.nextLink"].(string), s.srv.URL+"/v1.0")
	rest := s.must(http.StatusOK, s.get(next)).values(t)
	if len(rest) != 1 || rest[0]["activityDateTime"] != at(2) {
		t.Errorf("second page %v", rest)
	}
	byJob := s.must(http.StatusOK, s.get("/auditLogs/provisioning?$count=true&$top=10&$filter="+urlEscape("jobId eq '"+s.jobID+"'"))).json(t)
	if len(valuesOf(byJob)) != 4 || byJob["@odata.count"] != float64(4) {
		t.Errorf("jobId filter found %d (count %v)", len(valuesOf(byJob)), byJob["@odata.count"])
	}
	// Graph documents no default order: without $orderby the sandbox answers in the order entries were written,
	// so a client that wants the newest first has to ask.
	var days []any
	for _, e := range valuesOf(byJob) {
		days = append(days, e["activityDateTime"])
	}
	if want := []any{at(1), at(3), at(2), at(4)}; !reflect.DeepEqual(days, want) {
		t.Errorf("order without $orderby %v, want %v", days, want)
	}
	// Filters are case sensitive on this resource.
	if n := len(s.must(http.StatusOK, s.get("/auditLogs/provisioning?$filter="+urlEscape("jobId eq '"+strings.ToUpper(s.jobID)+"'"))).values(t)); n != 0 {
		t.Errorf("case-insensitive match found %d", n)
	}
	if len(s.tenant.ProvisioningLog()) != 5 {
		t.Error("accessor count")
	}
}
