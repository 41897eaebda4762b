package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/secret"
)

const (
	jobID     = "scim.e1b6c1d2a3f44c5e9b7d8a6f5e4d3c2b.5b9c7a4e-0c39-4b0e-8f3d-1c1f6f7d2a10"
	syncPath  = "/servicePrincipals/" + spObjectID + "/synchronization"
	jobPath   = syncPath + "/jobs/" + jobID
	scimURL   = "https://scim.example.com/scim/v2"
	scimToken = "scim-token-7f3a9c1e5b2d8f4a6c0e"
)

// quarantinedJobJSON follows DOCS synchronization-synchronizationjob-get.md.
const quarantinedJobJSON = `{
  "id": "` + jobID + `",
  "templateId": "scim",
  "schedule": {"expiration": null, "interval": "PT40M", "state": "Active"},
  "status": {
    "code": "Quarantine",
    "countSuccessiveCompleteFailures": 3,
    "escrowsPruned": false,
    "steadyStateFirstAchievedTime": "0001-01-01T00:00:00Z",
    "steadyStateLastAchievedTime": "0001-01-01T00:00:00Z",
    "troubleshootingUrl": "",
    "lastExecution": {
      "activityIdentifier": "2a1f3b4c-5d6e-4f7a-8b9c-0d1e2f3a4b5c", "countEntitled": 0, "countEntitledForProvisioning": 0,
      "countEscrowed": 2, "countEscrowedRaw": 2, "countExported": 0, "countExports": 0, "countImported": 5,
      "countImportedDeltas": 0, "countImportedReferenceDeltas": 0, "state": "Failed",
      "timeBegan": "2026-11-29T10:20:00Z", "timeEnded": "2026-11-29T10:21:30Z",
      "error": {"code": "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable", "message": "Unable to connect to the SCIM endpoint.", "tenantActionable": true}
    },
    "lastSuccessfulExecution": null,
    "lastSuccessfulExecutionWithExports": null,
    "progress": [],
    "quarantine": {
      "currentBegan": "2026-11-29T10:21:30Z", "nextAttempt": "2026-11-30T10:21:30Z", "reason": "EncounteredQuarantineException",
      "seriesBegan": "2026-11-29T10:21:30Z", "seriesCount": 1,
      "error": {"code": "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable", "message": "Unable to connect to the SCIM endpoint.", "tenantActionable": true}
    },
    "synchronizedEntryCountByType": []
  },
  "synchronizationJobSettings": [{"name": "QuarantineTooManyDeletesThreshold", "value": "500"}]
}`

func TestSyncJobs(t *testing.T) {
	unavailable := &SyncError{Code: "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable",
		Message: "Unable to connect to the SCIM endpoint.", TenantActionable: true}
	quarantined := SyncJob{
		ID: jobID, TemplateID: "scim", ScheduleState: "Active", Interval: 40 * time.Minute,
		Status: SyncStatus{
			Code: "Quarantine",
			Quarantine: &Quarantine{
				Reason: "EncounteredQuarantineException", Error: unavailable,
				CurrentBegan: time.Date(2026, 11, 29, 10, 21, 30, 0, time.UTC), NextAttempt: time.Date(2026, 11, 30, 10, 21, 30, 0, time.UTC),
				SeriesBegan: time.Date(2026, 11, 29, 10, 21, 30, 0, time.UTC), SeriesCount: 1,
			},
			LastExecution: &SyncExecution{State: "Failed", TimeBegan: time.Date(2026, 11, 29, 10, 20, 0, 0, time.UTC),
				TimeEnded: time.Date(2026, 11, 29, 10, 21, 30, 0, time.UTC), CountImported: 5, CountEscrowed: 2, Error: unavailable},
			CountSuccessiveCompleteFailures: 3,
		},
	}
	created := `{"id":"` + jobID + `","templateId":"scim","schedule":{"expiration":null,"interval":"PT40M","state":"Disabled"},
	  "status":{"code":"NotConfigured","countSuccessiveCompleteFailures":0,"escrowsPruned":false,"lastExecution":null,
	  "steadyStateFirstAchievedTime":"0001-01-01T00:00:00Z","steadyStateLastAchievedTime":"0001-01-01T00:00:00Z","quarantine":null}}`
	f := newFakeGraph(t,
		stub{method: "GET", path: syncPath + "/templates", resp: `{"value":[
		  {"id":"scim","factoryTag":"scim","applicationId":"8adf8e6e-67b2-4cf2-a259-e3dc5476c621","default":true,"description":null,"discoverable":true,"metadata":[]},
		  {"id":"customappsso","factoryTag":"CustomSCIM","applicationId":"8adf8e6e-67b2-4cf2-a259-e3dc5476c621","default":false,"discoverable":true,"metadata":[]}]}`},
		stub{method: "POST", path: syncPath + "/jobs", status: http.StatusCreated,
			body: `{"templateId":"scim"}`, resp: created},
		stub{method: "GET", path: syncPath + "/jobs", resp: `{"value":[` + quarantinedJobJSON + `]}`},
		stub{method: "GET", path: jobPath, resp: quarantinedJobJSON},
		stub{method: "DELETE", path: jobPath, status: http.StatusNoContent},
	)
	c, _ := newTestClient(t, f)
	ctx := context.Background()
	templates, err := c.ListSyncTemplates(ctx, spObjectID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListSyncTemplates", templates, []SyncTemplate{{ID: "scim", FactoryTag: "scim"}, {ID: "customappsso", FactoryTag: "CustomSCIM"}})
	job, err := c.CreateSyncJob(ctx, spObjectID, "scim")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "CreateSyncJob", job, SyncJob{ID: jobID, TemplateID: "scim", ScheduleState: "Disabled", Interval: 40 * time.Minute,
		Status: SyncStatus{Code: "NotConfigured"}})
	if !c.replicating([]string{jobID}) {
		t.Error("the new job is not tracked as freshly created")
	}
	jobs, err := c.ListSyncJobs(ctx, spObjectID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListSyncJobs", jobs, []SyncJob{quarantined})
	got, err := c.GetSyncJob(ctx, spObjectID, jobID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "GetSyncJob", got, quarantined)
	if err := c.DeleteSyncJob(ctx, spObjectID, jobID); err != nil {
		t.Fatal(err)
	}
	if c.replicating([]string{jobID}) {
		t.Error("a deleted job is still tracked: a 404 for it would be retried")
	}
}

func TestSyncCredentials(t *testing.T) {
	creds := []SyncSecret{{Key: "BaseAddress", Value: secret.New(scimURL)}, {Key: "SecretToken", Value: secret.New(scimToken)}}
	credJSON := `[{"key":"BaseAddress","value":"` + scimURL + `"},{"key":"SecretToken","value":"` + scimToken + `"}]`
	f := newFakeGraph(t,
		stub{method: "POST", path: syncPath + "/jobs/validateCredentials", status: http.StatusNoContent,
			body: `{"useSavedCredentials":false,"templateId":"scim","credentials":` + credJSON + `}`},
		stub{method: "POST", path: jobPath + "/validateCredentials", status: http.StatusNoContent,
			body: `{"useSavedCredentials":false,"credentials":` + credJSON + `}`},
		stub{method: "POST", path: jobPath + "/validateCredentials", status: http.StatusNoContent, body: `{"useSavedCredentials":true}`},
		stub{method: "PUT", path: syncPath + "/secrets", status: http.StatusNoContent,
			body: `{"value":[{"key":"BaseAddress","value":"` + scimURL + `"},{"key":"SecretToken","value":"` + scimToken + `"},{"key":"SyncAll","value":"false"}]}`},
		// A failed test connection whose message quotes the token back: the client must not pass it on.
		stub{method: "POST", path: syncPath + "/jobs/validateCredentials", status: http.StatusBadRequest,
			body: `{"useSavedCredentials":false,"templateId":"scim","credentials":` + credJSON + `}`,
			resp: graphError("SystemForCrossDomainIdentityManagementCredentialValidationFailure",
				"The SCIM endpoint answered 401 to the bearer token "+scimToken+".", "r5")},
	)
	c, _ := newTestClient(t, f)
	ctx := context.Background()
	if err := c.ValidateCredentials(ctx, spObjectID, "scim", creds); err != nil {
		t.Fatal(err)
	}
	if err := c.ValidateJobCredentials(ctx, spObjectID, jobID, creds); err != nil {
		t.Fatal(err)
	}
	if err := c.ValidateJobCredentials(ctx, spObjectID, jobID, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.SaveSyncSecrets(ctx, spObjectID, append(creds, SyncSecret{Key: "SyncAll", Value: secret.New("false")})); err != nil {
		t.Fatal(err)
	}
	err := c.ValidateCredentials(ctx, spObjectID, "scim", creds)
	e := mustGraphError(t, err)
	if strings.Contains(err.Error(), scimToken) || strings.Contains(e.Message, scimToken) {
		t.Errorf("the error repeats the SCIM token: %v", err)
	}
	if e.Code != "SystemForCrossDomainIdentityManagementCredentialValidationFailure" || !strings.Contains(e.Message, "answered 401") {
		t.Errorf("error = %+v", e)
	}
	// Key names are Graph's PascalCase enum: a camelCase one is refused before anything is sent.
	if err := c.SaveSyncSecrets(ctx, spObjectID, []SyncSecret{{Key: "baseAddress", Value: secret.New(scimURL)}}); err == nil ||
		!strings.Contains(err.Error(), "baseAddress") {
		t.Errorf("camelCase key: err = %v", err)
	}
}

func TestSyncSchemaIsRawJSONWithPUT(t *testing.T) {
	schema, err := os.ReadFile("testdata/job-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(schema, []byte(`"mailNickname"`), []byte(`"objectId"`), 1)
	f := newFakeGraph(t,
		stub{method: "GET", path: jobPath + "/schema", header: http.Header{"Accept": {"application/json"}}, resp: string(schema)},
		stub{method: "PUT", path: jobPath + "/schema", status: http.StatusNoContent, body: string(edited)},
	)
	c, _ := newTestClient(t, f)
	got, err := c.GetSyncSchema(context.Background(), spObjectID, jobID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, schema) {
		t.Error("GetSyncSchema did not return Graph's JSON byte for byte")
	}
	if err := c.PutSyncSchema(context.Background(), spObjectID, jobID, edited); err != nil {
		t.Fatal(err)
	}
	if err := c.PutSyncSchema(context.Background(), spObjectID, jobID, []byte(`{"synchronizationRules": [`)); err == nil {
		t.Error("PutSyncSchema with broken JSON: want an error before any request")
	}
}

func TestJobControl(t *testing.T) {
	f := newFakeGraph(t,
		stub{method: "POST", path: jobPath + "/start", status: http.StatusNoContent},
		stub{method: "POST", path: jobPath + "/pause", status: http.StatusNoContent},
		stub{method: "POST", path: jobPath + "/restart", status: http.StatusNoContent, body: `{"criteria":{}}`},
		stub{method: "POST", path: jobPath + "/restart", status: http.StatusNoContent, body: `{"criteria":{"resetScope":"Escrows,Watermark,QuarantineState"}}`},
	)
	c, _ := newTestClient(t, f)
	ctx := context.Background()
	if err := c.StartSyncJob(ctx, spObjectID, jobID); err != nil {
		t.Fatal(err)
	}
	if err := c.PauseSyncJob(ctx, spObjectID, jobID); err != nil {
		t.Fatal(err)
	}
	if err := c.RestartSyncJob(ctx, spObjectID, jobID, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.RestartSyncJob(ctx, spObjectID, jobID, "watermark, Escrows,QuarantineState"); err != nil {
		t.Fatal(err)
	}
	err := c.RestartSyncJob(ctx, spObjectID, jobID, "Watermark,Everything")
	if err == nil || !strings.Contains(err.Error(), `"Everything"`) {
		t.Errorf("unknown scope: err = %v; it must not silently become the full restart", err)
	}
}

// onDemandKey and onDemandValue are DOCS synchronization-synchronizationjob-provisionondemand.md's example.
const (
	onDemandKey   = `{"result":"Skipped","details":{"errorCode":"RedundantExport","errorMessage":"The state of the user in both the source and target systems already match."}}`
	onDemandValue = `{"action":"Other","changeId":"g8ba3be8-1d7f-4a60-ae31-a8980da0a389","endTime":"2020-06-26T13:58:24.7682084Z",` +
		`"modifiedProperties":[{"displayName":"objectId","oldValue":null,"newValue":"52cf7b7a-52be-4a9b-9c69-e4d4a4a14f76"}],` +
		`"provisioningSteps":[` +
		`{"name":"EntryImport","type":"Import","status":"Success","description":"Retrieved User 'BillBob@contoso.com' from Azure Active Directory","timestamp":"2020-06-26T13:58:24.5494971Z","details":{"objectId":"52cf7b7a-52be-4a9b-9c69-e4d4a4a14f76"}},` +
		`{"name":"EntrySynchronizationSkip","type":"Export","status":"Skipped","description":"The state of the user in both the source and target systems already match.","timestamp":"2020-06-26T13:58:24.7682084Z","details":{"SkipReason":"RedundantExport"}}],` +
		`"reportableIdentifier":"BillBob@contoso.com","startTime":"2020-06-26T13:58:24.5494971Z",` +
		`"statusInfo":{"status":"Skipped","errorCode":null,"reason":null,"additionalDetails":null,"errorCategory":null,"recommendedAction":null},` +
		`"sourceIdentity":{"id":"62cf7b7a-52be-4a9b-9c69-e5d4a4a14f67","type":"User","displayName":null,"details":null},` +
		`"targetIdentity":{"id":"52507a19-96ec-4e73-9250-3e65ffd2d926","type":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","displayName":null,"details":null},` +
		`"targetSystem":{"id":null,"name":"customappsso","details":null}}`
)

func TestProvisionOnDemand(t *testing.T) {
	answer := func(key, value string) string {
		return `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.stringKeyStringValuePair","key":` +
			jsonString(key) + `,"value":` + jsonString(value) + `}`
	}
	f := newFakeGraph(t,
		stub{method: "POST", path: jobPath + "/provisionOnDemand",
			body: `{"parameters":[{"ruleId":"AD2SCIM","subjects":[{"objectId":"` + adeleID + `","objectTypeName":"User"}]}]}`,
			resp: answer(onDemandKey, onDemandValue)},
		stub{method: "POST", path: jobPath + "/provisionOnDemand",
			body: `{"parameters":[{"ruleId":"AD2SCIM","subjects":[{"objectId":"` + groupID + `","objectTypeName":"Group",
			  "links":{"members":[{"objectId":"` + adeleID + `","objectTypeName":"User"},{"objectId":"` + alexID + `","objectTypeName":"User"}]}}]}]}`,
			resp: answer(`{"result":"Success","details":{}}`, `{"action":"Create","provisioningSteps":[],"statusInfo":{"status":"Success"},"targetIdentity":{"id":"a1b2"},"newFieldFromTheFuture":[1,2]}`)},
		stub{method: "POST", path: jobPath + "/provisionOnDemand",
			body: `{"parameters":[{"ruleId":"AD2SCIM","subjects":[{"objectId":"` + alexID + `","objectTypeName":"User"}]}]}`,
			resp: answer(`not json`, `{"statusInfo":{"status":"Failure","errorCode":"SystemForCrossDomainIdentityManagementBadResponse","reason":"The SCIM endpoint answered 500."}}`)},
	)
	c, _ := newTestClient(t, f)
	ctx := context.Background()
	got, err := c.ProvisionOnDemand(ctx, spObjectID, jobID, "AD2SCIM", OnDemandSubject{ObjectID: adeleID, ObjectTypeName: "User"})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "documented example", got, OnDemandResult{
		Result: "Skipped", ErrorCode: "RedundantExport", Reason: "The state of the user in both the source and target systems already match.",
		Action: "Other", TargetID: "52507a19-96ec-4e73-9250-3e65ffd2d926",
		RawSteps: []OnDemandStep{
			{Name: "EntryImport", Type: "Import", Status: "Success", Description: "Retrieved User 'BillBob@contoso.com' from Azure Active Directory"},
			{Name: "EntrySynchronizationSkip", Type: "Export", Status: "Skipped", Description: "The state of the user in both the source and target systems already match."},
		},
		RawKey: onDemandKey, RawValue: onDemandValue,
	})

	got, err = c.ProvisionOnDemand(ctx, spObjectID, jobID, "AD2SCIM", OnDemandSubject{ObjectID: groupID, ObjectTypeName: "Group", Members: []string{adeleID, alexID}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Result != "Success" || got.Action != "Create" || got.TargetID != "a1b2" || got.ErrorCode != "" {
		t.Errorf("group = %+v", got)
	}

	got, err = c.ProvisionOnDemand(ctx, spObjectID, jobID, "AD2SCIM", OnDemandSubject{ObjectID: alexID, ObjectTypeName: "User"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Result != "Failure" || got.ErrorCode != "SystemForCrossDomainIdentityManagementBadResponse" ||
		got.Reason != "The SCIM endpoint answered 500." || got.RawKey != "not json" {
		t.Errorf("unreadable key, status in value: %+v", got)
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func TestListProvisioningEvents(t *testing.T) {
	since := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	event := func(id, status, userID string) string {
		return `{"id":"` + id + `","activityDateTime":"2026-11-29T10:30:00Z","tenantId":"` + tenantID + `",
		  "jobId":"` + jobID + `","cycleId":"11e5b3f1-9c3a-4d22-8d3a-6a2f0c9e7b10","changeId":"` + id + `","provisioningAction":"create",
		  "durationInMilliseconds":812,
		  "provisioningStatusInfo":{"status":"` + status + `","errorInformation":` +
			map[string]string{"success": "null", "failure": `{"errorCode":"SystemForCrossDomainIdentityManagementBadResponse","reason":"The SCIM endpoint answered 409.","additionalDetails":null,"errorCategory":"NonServiceFailure","recommendedAction":null}`}[status] + `},
		  "provisioningSteps":[],"modifiedProperties":[],
		  "servicePrincipal":{"id":"` + spObjectID + `","displayName":"Smallstep"},
		  "sourceSystem":{"id":"66e4a8cc-1b7b-435e-95f8-f06cea133828","displayName":"Azure Active Directory","details":{}},
		  "targetSystem":{"id":"b5d2c1f0-7e6a-4b3c-9d8e-1f0a2b3c4d5e","displayName":"customappsso","details":{}},
		  "initiatedBy":{"id":"","displayName":"Azure AD Provisioning Service","initiatorType":"system"},
		  "sourceIdentity":{"id":"` + userID + `","displayName":"Adele Vance","identityType":"User","details":{}},
		  "targetIdentity":{"id":"9f1c","displayName":"Adele Vance","identityType":"urn:ietf:params:scim:schemas:core:2.0:User","details":{}}}`
	}
	f := newFakeGraph(t)
	filter := "servicePrincipal/id eq '" + spObjectID + "' and jobId eq '" + jobID + "' and activityDateTime gt 2026-11-29T10:00:00Z"
	next := f.srv.URL + "/v1.0/auditLogs/provisioning?$top=2&$skiptoken=abc"
	f.plan = []stub{
		{method: "GET", path: "/auditLogs/provisioning", query: q("$filter", filter, "$orderby", "activityDateTime desc", "$top", "2"),
			resp: `{"@odata.nextLink":"` + next + `","value":[` + event("e1", "failure", adeleID) + `]}`},
		{method: "GET", path: "/auditLogs/provisioning", query: q("$top", "2", "$skiptoken", "abc"),
			resp: `{"value":[` + event("e2", "success", alexID) + `,` + event("e3", "success", alexID) + `]}`},
	}
	c, _ := newTestClient(t, f)
	got, err := c.ListProvisioningEvents(context.Background(), ProvisioningQuery{
		ServicePrincipalID: strings.ToUpper(spObjectID), JobID: jobID, Since: since, Top: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 29, 10, 30, 0, 0, time.UTC)
	diff(t, "ListProvisioningEvents (two pages, cut at Top)", got, []ProvisioningEvent{
		{ID: "e1", ActivityTime: at, JobID: jobID, CycleID: "11e5b3f1-9c3a-4d22-8d3a-6a2f0c9e7b10", Action: "create", Status: "failure",
			ErrorCode: "SystemForCrossDomainIdentityManagementBadResponse", Reason: "The SCIM endpoint answered 409.",
			SourceID: adeleID, SourceDisplayName: "Adele Vance", TargetID: "9f1c", ServicePrincipalID: spObjectID},
		{ID: "e2", ActivityTime: at, JobID: jobID, CycleID: "11e5b3f1-9c3a-4d22-8d3a-6a2f0c9e7b10", Action: "create", Status: "success",
			SourceID: alexID, SourceDisplayName: "Adele Vance", TargetID: "9f1c", ServicePrincipalID: spObjectID},
	})
}

// TestGetSyncSecrets reads the saved set as the service answers it: settings in clear, credentials masked with
// "*" (terraform-provider-azuread's reading of the live service; ENTRA skip-out-of-scope-deletions.md step 3).
func TestGetSyncSecrets(t *testing.T) {
	notify := `{\"Enabled\":true,\"Recipients\":\"alerts@contoso.com\",\"DeleteThresholdEnabled\":true,\"DeleteThresholdValue\":50}`
	f := newFakeGraph(t,
		stub{method: "GET", path: syncPath + "/secrets", header: http.Header{"Accept": {"application/json"}},
			resp: `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#servicePrincipals('` + spObjectID + `')/synchronization/secrets",
			  "value":[{"key":"BaseAddress","value":"` + scimURL + `"},{"key":"SecretToken","value":"*"},
			  {"key":"SyncNotificationSettings","value":"` + notify + `"},{"key":"SkipOutOfScopeDeletions","value":"True"}]}`},
		stub{method: "GET", path: syncPath + "/secrets", resp: `{"value":[]}`},
		stub{method: "GET", path: syncPath + "/secrets", resp: `{"value":"SecretToken=` + scimToken + `"}`},
	)
	c, _ := newTestClient(t, f)
	ctx := context.Background()
	got, err := c.GetSyncSecrets(ctx, spObjectID)
	if err != nil {
		t.Fatal(err)
	}
	var keys, masked []string
	for _, s := range got {
		keys = append(keys, s.Key)
		if s.Masked() {
			masked = append(masked, s.Key)
		}
	}
	diff(t, "keys", keys, []string{"BaseAddress", "SecretToken", "SyncNotificationSettings", "SkipOutOfScopeDeletions"})
	diff(t, "masked", masked, []string{"SecretToken"})
	if v := got[2].Value.Reveal(); !strings.Contains(v, `"DeleteThresholdValue":50`) {
		t.Errorf("SyncNotificationSettings = %q", v)
	}
	if none, err := c.GetSyncSecrets(ctx, spObjectID); err != nil || len(none) != 0 {
		t.Errorf("no saved secrets: %v, %v", none, err)
	}
	// An answer that is not the documented shape is an error that does not quote it (it may hold a token).
	if _, err := c.GetSyncSecrets(ctx, spObjectID); err == nil || strings.Contains(err.Error(), scimToken) {
		t.Errorf("malformed answer: err = %v", err)
	}
}

// TestParseExpression sends the expression and returns the service's source structure, as in DOCS
// synchronization-synchronizationschema-parseexpression.md (request and response of its example).
func TestParseExpression(t *testing.T) {
	expr := `Replace([preferredLanguage], "-", , , "_", ,  )`
	f := newFakeGraph(t,
		stub{method: "POST", path: jobPath + "/schema/parseExpression", body: `{"expression":` + jsonString(expr) + `}`,
			resp: `{"error":null,"evaluationSucceeded":false,"evaluationResult":null,"parsingSucceeded":true,
			  "parsedExpression":{"expression":"Replace([preferredLanguage], \"-\", , , \"_\", , )","name":"Replace","type":"Function",
			    "parameters":[
			      {"key":"source","value":{"expression":"[preferredLanguage]","name":"preferredLanguage","parameters":[],"type":"Attribute"}},
			      {"key":"Find","value":{"expression":"\"-\"","name":"-","parameters":[],"type":"Constant"}},
			      {"key":"Replacement","value":{"expression":"\"_\"","name":"_","parameters":[],"type":"Constant"}}]}}`},
		stub{method: "POST", path: jobPath + "/schema/parseExpression", body: `{"expression":"Coalesce([mail]"}`,
			resp: `{"error":{"code":"InvalidExpression","message":"Expected ) at position 15."},"evaluationSucceeded":false,
			  "evaluationResult":null,"parsingSucceeded":false,"parsedExpression":null}`},
	)
	c, _ := newTestClient(t, f)
	ctx := context.Background()
	got, err := c.ParseExpression(ctx, spObjectID, jobID, expr)
	if err != nil {
		t.Fatal(err)
	}
	constant := func(v string) MappingSource {
		return MappingSource{Type: "Constant", Name: v, Expression: `"` + v + `"`, Parameters: []MappingParameter{}}
	}
	diff(t, "parsed", got, MappingSource{Type: "Function", Name: "Replace", Expression: `Replace([preferredLanguage], "-", , , "_", , )`,
		Parameters: []MappingParameter{
			{Key: "source", Value: MappingSource{Type: "Attribute", Name: "preferredLanguage", Expression: "[preferredLanguage]", Parameters: []MappingParameter{}}},
			{Key: "Find", Value: constant("-")},
			{Key: "Replacement", Value: constant("_")},
		}})
	// Graph's JSON form, so it can be placed in a raw schema: parameters [] rather than null.
	raw, _ := json.Marshal(got.Parameters[0].Value)
	if string(raw) != `{"type":"Attribute","name":"preferredLanguage","expression":"[preferredLanguage]","parameters":[]}` {
		t.Errorf("JSON form = %s", raw)
	}
	_, err = c.ParseExpression(ctx, spObjectID, jobID, "Coalesce([mail]")
	if err == nil || !strings.Contains(err.Error(), "Coalesce([mail]") || !strings.Contains(err.Error(), "Expected ) at position 15") {
		t.Errorf("unparsable expression: err = %v", err)
	}
}
