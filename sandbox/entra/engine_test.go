package entra

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recordingEngine stands in for the provisioning engine to check the seam: which hooks run, with what, and that
// they run without the tenant's lock held (each one reads the tenant back).
type recordingEngine struct {
	mu     sync.Mutex
	tenant *Tenant
	calls  []string
}

func (e *recordingEngine) record(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, s)
}

func (e *recordingEngine) state(jobID string) string {
	snap, ok := e.tenant.jobSnapshot(jobID)
	if !ok {
		return "gone"
	}
	return snap.Schedule["state"].(string) + "/" + snap.Status["code"].(string)
}

func (e *recordingEngine) jobStarted(sp, job string) { e.record("started " + e.state(job)) }
func (e *recordingEngine) jobPaused(sp, job string)  { e.record("paused " + e.state(job)) }
func (e *recordingEngine) jobRestarted(sp, job string, scope []string) {
	e.record("restarted " + strings.Join(scope, ",") + " " + e.state(job))
}
func (e *recordingEngine) schemaReplaced(sp, job string) { e.record("schema " + e.state(job)) }
func (e *recordingEngine) jobDeleted(sp, job string)     { e.record("deleted " + e.state(job)) }

func (e *recordingEngine) provisionOnDemand(_ context.Context, sp, job string, req onDemandRequest) (onDemandResult, *graphError) {
	token, _ := e.tenant.secretValue(sp, "SecretToken")
	e.record("onDemand " + req.Subjects[0].ObjectTypeName + " " + strings.Join(req.Subjects[0].MemberIDs, ",") + " token=" + token)
	e.tenant.AppendProvisioningLog(map[string]any{"jobId": job, "servicePrincipal": map[string]any{"id": sp}})
	if err := e.tenant.updateJob(job, func(j map[string]any) { j["status"].(map[string]any)["code"] = "Active" }); err != nil {
		return onDemandResult{}, newError(http.StatusInternalServerError, "InternalServerError", err.Error())
	}
	return onDemandResult{Key: `{"result":"Success"}`, Value: `{"provisioningSteps":[]}`}, nil
}

func TestProvisioningEngineSeam(t *testing.T) {
	s := newSyncFixture(t, Options{})
	engine := &recordingEngine{tenant: s.tenant}
	s.tenant.engine = engine
	job := s.base + "/jobs/" + s.jobID
	s.must(http.StatusNoContent, s.request(http.MethodPut, s.base+"/secrets", map[string]any{"value": []map[string]any{
		{"key": "BaseAddress", "value": "https://scim.example.com"}, {"key": "SecretToken", "value": "tok-123456"}}}))
	s.must(http.StatusNoContent, s.request(http.MethodPost, job+"/start", nil))
	s.must(http.StatusNoContent, s.request(http.MethodPost, job+"/pause", nil))
	s.must(http.StatusNoContent, s.request(http.MethodPost, job+"/restart", map[string]any{"criteria": map[string]any{"resetScope": "Full"}}))
	schema := s.must(http.StatusOK, s.get(job+"/schema")).json(t)
	delete(schema, "@odata.context")
	s.must(http.StatusNoContent, s.request(http.MethodPut, job+"/schema", schema))
	group := s.demo.SmallstepUsers
	r := s.must(http.StatusOK, s.request(http.MethodPost, job+"/provisionOnDemand", map[string]any{"parameters": []map[string]any{{
		"ruleId": "03f7d90d-bf71-41b1-bda6-aaf0ddbee5d8",
		"subjects": []map[string]any{{"objectId": group.ID, "objectTypeName": "Group",
			"links": map[string]any{"members": []map[string]any{{"objectId": group.MemberIDs[0], "objectTypeName": "User"}}}}}}}})).json(t)
	if r["key"] != `{"result":"Success"}` {
		t.Errorf("answer %v", r)
	}
	if s.tenant.SyncJobs(s.spID)[0].StatusCode != "Active" || len(s.tenant.ProvisioningLog()) != 1 {
		t.Error("engine writes did not land")
	}
	app := s.tenant.Applications()[0]
	s.must(http.StatusNoContent, s.request(http.MethodDelete, "/applications/"+app.ID, nil))

	want := []string{
		"started Active/NotRun",
		"paused Paused/Paused",
		"restarted Full Active/NotRun",
		"schema Active/NotRun",
		"onDemand Group " + group.MemberIDs[0] + " token=tok-123456",
		"deleted gone",
	}
	engine.mu.Lock()
	defer engine.mu.Unlock()
	got, _ := json.Marshal(engine.calls)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Errorf("hooks\n got %s\nwant %s", got, wantJSON)
	}
}

func TestObjectIdentifiersAreChecked(t *testing.T) {
	f := newFixture(t, Options{})
	wantError(t, f.get("/applications/not-a-guid"), http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier 'not-a-guid'.")
	wantError(t, f.get("/servicePrincipals/42/synchronization/jobs"), http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier '42'.")
	wantError(t, f.get("/groups/x"), http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier 'x'.")
}
