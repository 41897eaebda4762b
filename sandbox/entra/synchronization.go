package entra

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// scimTemplateSchema is the default schema of the non-gallery "scim" template: directories "Azure Active
// Directory" and "customappsso", one rule with the user and group mappings of Microsoft's example table (ENTRA
// use-scim-to-provision-users-and-groups.md), in the order vendor guides of the default UI show them.
//
//go:embed fixtures/scim-template-schema.json
var scimTemplateSchema []byte

// newJobInterval is the schedule interval of a job that was never started: TimeSpan.MaxValue, as the
// documented example of a new job shows (ENTRA application-provisioning-configuration-api.md); a started job runs
// every 40 minutes.
const (
	newJobInterval     = "P10675199DT2H48M5.4775807S"
	runningJobInterval = "PT40M"
	notYet             = "0001-01-01T00:00:00Z"
)

// syncTemplates lists the provisioning templates a service principal offers, by the template it was created
// from: the non-gallery app offers "scim" (new non-gallery apps get scim jobs; ENTRA
// application-provisioning-config-problem-scim-compatibility.md); an app registered without a template is not
// provisioning-eligible and offers none.
func (t *Tenant) syncTemplates(sp object) []object {
	var id, factory string
	switch str(sp, "applicationTemplateId") {
	case NonGalleryTemplateID:
		id, factory = "scim", "scim"
	case galleryDatabricksTemplateID:
		id, factory = "dataBricks", "dataBricks"
	default:
		return nil
	}
	return []object{{
		"id":            id,
		"applicationId": str(sp, "applicationTemplateId"),
		"default":       true,
		"description":   "Provision users and groups to a SCIM 2.0 endpoint.",
		"discoverable":  true,
		"factoryTag":    factory,
		"metadata": []any{
			object{"key": "EnableOnDemandProvisioning", "value": "true"},
			object{"key": "supportsProvisionOnDemand", "value": "true"},
		},
	}}
}

// Replication of a new service principal to the provisioning service (Faults.SyncReplicationLag): Terraform's
// provider retries 403 and 409 on synchronization calls for this reason (terraform-provider-azuread
// internal/services/synchronization/synchronization.go). The bodies Graph sends then are UNVERIFIED; these are
// guesses in Graph's usual shapes.
func errSyncNotReplicated(status int) *graphError {
	if status == http.StatusConflict {
		return newError(http.StatusConflict, "Conflict", "The service principal is still being provisioned. Try again later.")
	}
	return errInsufficientPrivileges()
}

// syncServicePrincipal resolves the service principal of a synchronization call: 404 while it replicates in the
// directory, then 403/409 while the provisioning service has not seen it. Call with t.mu held.
func (t *Tenant) syncServicePrincipal(c *call) (*record, *graphError) {
	if err := checkObjectID(c.param("sp")); err != nil {
		return nil, err
	}
	r, ok := t.st.get(t.st.sps, c.param("sp"))
	if !ok {
		return nil, errResourceNotFound(c.param("sp"))
	}
	spID := str(r.data, "id")
	if n := t.st.syncLag[spID]; n > 0 {
		t.st.syncLag[spID] = n - 1
		_, status := t.faults.syncLag()
		return nil, errSyncNotReplicated(status)
	}
	return r, nil
}

// syncJobOf resolves {job} of the service principal, with replication lag. Call with t.mu held.
func (t *Tenant) syncJobOf(c *call, spID string) (*syncJob, *graphError) {
	id := c.param("job")
	j, ok := t.st.jobs[id]
	if !ok || j.spID != spID {
		return nil, errResourceNotFound(id)
	}
	if j.lag > 0 {
		j.lag--
		return nil, errResourceNotFound(id)
	}
	return j, nil
}

func (c *call) syncContext(spID, suffix string) string {
	return "servicePrincipals('" + spID + "')/synchronization/" + suffix
}

func (t *Tenant) listSyncTemplates(c *call) response {
	t.mu.Lock()
	sp, err := t.syncServicePrincipal(c)
	var templates []object
	if err == nil {
		templates = t.syncTemplates(sp.data)
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	if strings.Contains(strings.ToLower(c.query.Get("$expand")), "schema") {
		var schema object
		if jerr := json.Unmarshal(scimTemplateSchema, &schema); jerr != nil {
			return c.fail(newError(http.StatusInternalServerError, "InternalServerError", jerr.Error()), t.now())
		}
		for _, tpl := range templates {
			tpl["schema"] = deepCopy(schema)
		}
	}
	return t.page(c, collection{context: c.syncContext(c.param("sp"), "templates"), resource: "SynchronizationTemplate"}, templates)
}

func (t *Tenant) listJobs(c *call) response {
	t.mu.Lock()
	sp, err := t.syncServicePrincipal(c)
	var items []object
	if err == nil {
		var jobs []*syncJob
		for _, j := range t.st.jobs {
			if j.spID != str(sp.data, "id") {
				continue
			}
			if j.lag > 0 {
				j.lag--
				continue
			}
			jobs = append(jobs, j)
		}
		slices.SortFunc(jobs, func(a, b *syncJob) int { return a.seq - b.seq })
		for _, j := range jobs {
			items = append(items, deepCopy(j.data))
		}
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	return t.page(c, collection{context: c.syncContext(c.param("sp"), "jobs"), resource: "SynchronizationJob"}, items)
}

func (t *Tenant) getJob(c *call) response {
	t.mu.Lock()
	sp, err := t.syncServicePrincipal(c)
	var job object
	if err == nil {
		var j *syncJob
		if j, err = t.syncJobOf(c, str(sp.data, "id")); err == nil {
			job = deepCopy(j.data)
		}
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	return t.entity(c, c.syncContext(c.param("sp"), "jobs"), job)
}

// createJob creates a provisioning job from a template (DOCS synchronization-synchronization-post-jobs.md):
// 201, id "<template>.<32 hex>.<tenant id>", schedule Disabled, status NotConfigured.
func (t *Tenant) createJob(c *call) response {
	var body struct {
		TemplateID string `json:"templateId"`
	}
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	sp, err := t.syncServicePrincipal(c)
	if err != nil {
		return c.fail(err, t.now())
	}
	if !slices.ContainsFunc(t.syncTemplates(sp.data), func(tpl object) bool { return str(tpl, "id") == body.TemplateID }) {
		// UNVERIFIED: the synchronization service's answer to an unknown template is not documented.
		return c.fail(newError(http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("The template '%s' is not available for this service principal. Read the available templates from .../synchronization/templates.", body.TemplateID)), t.now())
	}
	suffix := make([]byte, 16)
	if _, rerr := rand.Read(suffix); rerr != nil {
		return c.fail(newError(http.StatusInternalServerError, "InternalServerError", rerr.Error()), t.now())
	}
	id := body.TemplateID + "." + hex.EncodeToString(suffix) + "." + t.id
	job := object{
		"id":         id,
		"templateId": body.TemplateID,
		"schedule":   object{"expiration": nil, "interval": newJobInterval, "state": "Disabled"},
		"status": object{
			"code":                               "NotConfigured",
			"countSuccessiveCompleteFailures":    0,
			"escrowsPruned":                      false,
			"lastExecution":                      nil,
			"lastSuccessfulExecution":            nil,
			"lastSuccessfulExecutionWithExports": nil,
			"progress":                           []any{},
			"quarantine":                         nil,
			"steadyStateFirstAchievedTime":       notYet,
			"steadyStateLastAchievedTime":        notYet,
			"synchronizedEntryCountByType":       []any{},
			"troubleshootingUrl":                 nil,
		},
		"synchronizationJobSettings": []any{
			object{"name": "AzureIngestionAttributeOptimization", "value": "False"},
			object{"name": "LookaheadQueryEnabled", "value": "False"},
			object{"name": "QuarantineTooManyDeletesThreshold", "value": "500"},
		},
	}
	t.st.seq++
	t.st.jobs[id] = &syncJob{seq: t.st.seq, spID: str(sp.data, "id"), data: job,
		schema: append(json.RawMessage(nil), scimTemplateSchema...), lag: t.faults.replicationLag()}
	resp := t.entity(c, c.syncContext(c.param("sp"), "jobs"), deepCopy(job))
	resp.status = http.StatusCreated
	return resp
}

func (t *Tenant) deleteJob(c *call) response {
	t.mu.Lock()
	sp, err := t.syncServicePrincipal(c)
	var spID, jobID string
	if err == nil {
		var j *syncJob
		if j, err = t.syncJobOf(c, str(sp.data, "id")); err == nil {
			spID, jobID = j.spID, str(j.data, "id")
			delete(t.st.jobs, jobID)
		}
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	t.engine.jobDeleted(spID, jobID)
	return noContent()
}

// changeJob runs change on the job of the request under the lock and, when it succeeds, notify afterwards.
func (t *Tenant) changeJob(c *call, change func(sp *record, j *syncJob) *graphError, notify func(spID, jobID string)) response {
	t.mu.Lock()
	sp, err := t.syncServicePrincipal(c)
	var spID, jobID string
	if err == nil {
		var j *syncJob
		if j, err = t.syncJobOf(c, str(sp.data, "id")); err == nil {
			spID, jobID = j.spID, str(j.data, "id")
			err = change(sp, j)
		}
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	if notify != nil {
		notify(spID, jobID)
	}
	return noContent()
}

func jobStatus(j *syncJob) map[string]any {
	s, _ := j.data["status"].(map[string]any)
	if s == nil {
		s = map[string]any{}
		j.data["status"] = s
	}
	return s
}

func jobSchedule(j *syncJob) map[string]any {
	s, _ := j.data["schedule"].(map[string]any)
	if s == nil {
		s = map[string]any{}
		j.data["schedule"] = s
	}
	return s
}

// activate puts a job on its 40-minute schedule: status NotRun until it has completed a cycle ("Job was
// configured, and possibly started, but hasn't completed its first run", DOCS
// resources/synchronization-synchronizationstatus.md), Active afterwards.
func activate(j *syncJob) {
	schedule := jobSchedule(j)
	schedule["state"] = "Active"
	schedule["interval"] = runningJobInterval
	status := jobStatus(j)
	status["quarantine"] = nil
	status["code"] = "NotRun"
	if last, _ := status["lastExecution"].(map[string]any); status["lastSuccessfulExecution"] != nil || (last != nil && str(last, "state") != "Failed") {
		status["code"] = "Active"
	}
}

// startJob turns provisioning on (DOCS synchronization-synchronizationjob-start.md): 204; resumes a paused job
// and clears quarantine.
func (t *Tenant) startJob(c *call) response {
	return t.changeJob(c, func(sp *record, j *syncJob) *graphError {
		if !t.hasSecret(j.spID, "BaseAddress") {
			// UNVERIFIED: the portal does not let a job start without saved admin credentials; the API's answer is
			// not documented, this is a plausible one.
			return newError(http.StatusBadRequest, "BadRequest",
				"The job cannot start because no credentials are saved for it. Save BaseAddress and SecretToken with PUT .../synchronization/secrets first.")
		}
		activate(j)
		return nil
	}, t.engine.jobStarted)
}

// hasSecret reports whether a secret with a non-empty value is saved. Call with t.mu held.
func (t *Tenant) hasSecret(spID, key string) bool {
	return slices.ContainsFunc(t.st.secrets[spID], func(p secretPair) bool { return p.Key == key && p.Value != "" })
}

func (t *Tenant) pauseJob(c *call) response {
	return t.changeJob(c, func(sp *record, j *syncJob) *graphError {
		jobSchedule(j)["state"] = "Paused"
		jobStatus(j)["code"] = "Paused"
		return nil
	}, t.engine.jobPaused)
}

// restartScopes are the members of synchronizationJobRestartScope (DOCS
// resources/synchronization-synchronizationjobrestartcriteria.md).
func restartScopes() []string {
	return []string{"None", "ConnectorDataStore", "Escrows", "Watermark", "QuarantineState", "Full", "ForceDeletes"}
}

// restartJob forces a new initial cycle (DOCS synchronization-synchronizationjob-restart.md): 204. An empty
// resetScope is the portal's "Restart provisioning" (quarantine, watermark and escrows are reset).
func (t *Tenant) restartJob(c *call) response {
	var body struct {
		Criteria *struct {
			ResetScope string `json:"resetScope"`
		} `json:"criteria"`
	}
	if len(strings.TrimSpace(string(c.body))) > 0 {
		if err := c.decodeJSON(&body); err != nil {
			return c.fail(err, t.now())
		}
	}
	var scopes []string
	if body.Criteria != nil {
		for _, s := range strings.Split(body.Criteria.ResetScope, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			if !slices.Contains(restartScopes(), s) {
				return c.fail(newError(http.StatusBadRequest, "BadRequest",
					fmt.Sprintf("Requested value '%s' was not found.", s)), t.now())
			}
			scopes = append(scopes, s)
		}
	}
	if slices.Equal(scopes, []string{"None"}) {
		// "None: Starts a paused or quarantined provisioning job. DO NOT USE. Use the Start synchronizationJob API
		// instead." (DOCS resources/synchronization-synchronizationjobrestartcriteria.md): a start, nothing reset.
		return t.startJob(c)
	}
	resets := func(scope string) bool {
		return len(scopes) == 0 || slices.Contains(scopes, scope) || slices.Contains(scopes, "Full")
	}
	return t.changeJob(c, func(sp *record, j *syncJob) *graphError {
		status := jobStatus(j)
		quarantine := status["quarantine"]
		activate(j)
		if resets("Escrows") {
			status["countSuccessiveCompleteFailures"] = 0
		}
		// A restart forces a new initial cycle, so the job has not completed its (new) first run; a quarantine
		// stays unless QuarantineState is reset ("QuarantineState - Temporarily lifts the quarantine", DOCS
		// resources/synchronization-synchronizationjobrestartcriteria.md).
		status["code"] = "NotRun"
		if quarantine != nil && !resets("QuarantineState") {
			status["quarantine"], status["code"] = quarantine, "Quarantine"
		}
		return nil
	}, func(spID, jobID string) { t.engine.jobRestarted(spID, jobID, scopes) })
}

// onDemandLimit is the documented limit of provisionOnDemand: 5 requests per 10 seconds (per job).
const (
	onDemandCalls  = 5
	onDemandWindow = 10 * time.Second
)

// provisionOnDemand provisions one user, or one group with up to 5 members, now (DOCS
// synchronization-synchronizationjob-provisionondemand.md): 200 with a stringKeyStringValuePair. Calls beyond the
// documented 5 per 10 seconds answer Graph's throttling response (429 TooManyRequests with Retry-After; the
// synchronization service's exact text is UNVERIFIED).
func (t *Tenant) provisionOnDemand(c *call) response {
	var body struct {
		Parameters []struct {
			RuleID   string `json:"ruleId"`
			Subjects []struct {
				ObjectID       string `json:"objectId"`
				ObjectTypeName string `json:"objectTypeName"`
				Links          *struct {
					Members []struct {
						ObjectID       string `json:"objectId"`
						ObjectTypeName string `json:"objectTypeName"`
					} `json:"members"`
				} `json:"links"`
			} `json:"subjects"`
		} `json:"parameters"`
	}
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	invalid := func(msg string) response { return c.fail(newError(http.StatusBadRequest, "BadRequest", msg), t.now()) }
	if len(body.Parameters) != 1 {
		return invalid("provisionOnDemand takes exactly one parameter (one rule and its subjects).")
	}
	param := body.Parameters[0]
	if len(param.Subjects) != 1 {
		return invalid("provisionOnDemand takes exactly one subject: one user, or one group with up to 5 members.")
	}
	subject := param.Subjects[0]
	req := onDemandRequest{RuleID: param.RuleID}
	s := onDemandSubject{ObjectID: subject.ObjectID, ObjectTypeName: subject.ObjectTypeName}
	if subject.Links != nil {
		if len(subject.Links.Members) > 5 {
			return invalid("A group can be provisioned on demand with at most 5 members.")
		}
		for _, m := range subject.Links.Members {
			s.MemberIDs = append(s.MemberIDs, m.ObjectID)
		}
	}
	req.Subjects = []onDemandSubject{s}

	t.mu.Lock()
	sp, err := t.syncServicePrincipal(c)
	var j *syncJob
	if err == nil {
		j, err = t.syncJobOf(c, str(sp.data, "id"))
	}
	if err == nil {
		err = t.checkOnDemandSubject(j, req)
	}
	if err == nil {
		err = t.takeOnDemandSlot(str(j.data, "id"))
	}
	var spID, jobID string
	if err == nil {
		spID, jobID = j.spID, str(j.data, "id")
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	result, gerr := t.engine.provisionOnDemand(c.ctx, spID, jobID, req)
	if gerr != nil {
		return c.fail(gerr, t.now())
	}
	return jsonResponse(http.StatusOK, object{
		"@odata.context": c.serviceRoot + "/$metadata#microsoft.graph.stringKeyStringValuePair",
		"key":            result.Key,
		"value":          result.Value,
	})
}

// checkOnDemandSubject checks the rule against the job's schema and the subject against the directory. Call
// with t.mu held.
func (t *Tenant) checkOnDemandSubject(j *syncJob, req onDemandRequest) *graphError {
	var schema struct {
		Rules []struct {
			ID string `json:"id"`
		} `json:"synchronizationRules"`
	}
	if err := json.Unmarshal(j.schema, &schema); err != nil {
		return newError(http.StatusInternalServerError, "InternalServerError", "The job's schema cannot be read.")
	}
	if !slices.ContainsFunc(schema.Rules, func(r struct {
		ID string `json:"id"`
	}) bool {
		return r.ID == req.RuleID
	}) {
		return newError(http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("The rule '%s' is not a synchronization rule of this job's schema.", req.RuleID))
	}
	s := req.Subjects[0]
	switch s.ObjectTypeName {
	case "User":
		if _, ok := t.st.users[s.ObjectID]; !ok {
			return errResourceNotFound(s.ObjectID)
		}
		if len(s.MemberIDs) > 0 {
			return newError(http.StatusBadRequest, "BadRequest", "Only a Group subject can have members.")
		}
	case "Group":
		if _, ok := t.st.groups[s.ObjectID]; !ok {
			return errResourceNotFound(s.ObjectID)
		}
		for _, m := range s.MemberIDs {
			if _, ok := t.st.users[m]; !ok {
				return errResourceNotFound(m)
			}
		}
	default:
		return newError(http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("objectTypeName '%s' is not supported; use User or Group.", s.ObjectTypeName))
	}
	return nil
}

// takeOnDemandSlot enforces the rate limit with a sliding 10-second window per job. Call with t.mu held.
func (t *Tenant) takeOnDemandSlot(jobID string) *graphError {
	now := t.now()
	recent := slices.DeleteFunc(t.st.onDemand[jobID], func(at time.Time) bool { return !at.After(now.Add(-onDemandWindow)) })
	if len(recent) >= onDemandCalls {
		t.st.onDemand[jobID] = recent
		wait := recent[0].Add(onDemandWindow).Sub(now)
		wait = time.Duration(math.Ceil(wait.Seconds()*1000)) * time.Millisecond
		return errTooManyRequests().withHeader("Retry-After", seconds(wait))
	}
	t.st.onDemand[jobID] = append(recent, now)
	return nil
}

// getSchema returns the job's synchronizationSchema.
func (t *Tenant) getSchema(c *call) response {
	t.mu.Lock()
	sp, err := t.syncServicePrincipal(c)
	var raw json.RawMessage
	if err == nil {
		var j *syncJob
		if j, err = t.syncJobOf(c, str(sp.data, "id")); err == nil {
			raw = append(json.RawMessage(nil), j.schema...)
		}
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	var schema object
	if jerr := json.Unmarshal(raw, &schema); jerr != nil {
		return c.fail(newError(http.StatusInternalServerError, "InternalServerError", "The job's schema cannot be read."), t.now())
	}
	schema["@odata.context"] = c.serviceRoot + "/$metadata#" + c.syncContext(c.param("sp"), "jobs('"+c.param("job")+"')/schema/$entity")
	return jsonResponse(http.StatusOK, schema)
}

// putSchema replaces the whole schema (DOCS synchronization-synchronizationschema-update.md): 204. The body was
// checked against synchronizationSchema; a schema without rules or with a mapping source of an unknown kind is
// refused.
func (t *Tenant) putSchema(c *call) response {
	var schema struct {
		Directories []json.RawMessage `json:"directories"`
		Rules       []struct {
			ID             string `json:"id"`
			ObjectMappings []struct {
				AttributeMappings []struct {
					TargetAttributeName string `json:"targetAttributeName"`
					Source              *struct {
						Type string `json:"type"`
					} `json:"source"`
				} `json:"attributeMappings"`
			} `json:"objectMappings"`
		} `json:"synchronizationRules"`
	}
	if err := c.decodeJSON(&schema); err != nil {
		return c.fail(err, t.now())
	}
	if len(schema.Rules) == 0 || len(schema.Directories) == 0 {
		return c.fail(newError(http.StatusBadRequest, "BadRequest",
			"The schema must contain its directories and synchronizationRules; PUT replaces the whole schema."), t.now())
	}
	for _, r := range schema.Rules {
		for _, om := range r.ObjectMappings {
			for _, am := range om.AttributeMappings {
				if am.TargetAttributeName == "" || am.Source == nil {
					return c.fail(newError(http.StatusBadRequest, "BadRequest",
						"Every attribute mapping needs a targetAttributeName and a source."), t.now())
				}
				switch am.Source.Type {
				case "", "Attribute", "Constant", "Function":
				default:
					return c.fail(newError(http.StatusInternalServerError, "InternalError",
						fmt.Sprintf("Requested value '%s' was not found.", am.Source.Type)), t.now())
				}
			}
		}
	}
	var stored object
	if err := json.Unmarshal(c.body, &stored); err != nil {
		return c.fail(errUnreadableBody(), t.now())
	}
	for k := range stored {
		if strings.HasPrefix(k, "@odata.") {
			delete(stored, k)
		}
	}
	raw, err := json.Marshal(stored)
	if err != nil {
		return c.fail(errUnreadableBody(), t.now())
	}
	return t.changeJob(c, func(sp *record, j *syncJob) *graphError {
		j.schema = raw
		return nil
	}, t.engine.schemaReplaced)
}

// patchSchema answers like the real service, which routes only GET and PUT for the schema: the SDKs' PATCH gets
// 404 UnknownError wrapping the synchronization backend's message (msgraph-sdk-python#820 quotes code
// UnknownError and this message; msgraph-sdk-powershell#1134, #2643 the same text).
func (t *Tenant) patchSchema(c *call) response {
	msg, err := json.Marshal(map[string]string{"Message": fmt.Sprintf(
		"No HTTP resource was found that matches the request URI 'https://syncfabric.windowsazure.com/api/servicePrincipals('%s')/synchronization/jobs('%s')/schema?api-version=2.0'.",
		c.param("sp"), c.param("job"))})
	if err != nil {
		return c.fail(newError(http.StatusInternalServerError, "InternalServerError", err.Error()), t.now())
	}
	return c.fail(newError(http.StatusNotFound, "UnknownError", string(msg)), t.now())
}

// putSecrets saves the admin credentials (DOCS synchronization-serviceprincipal-put-synchronization.md): 204.
// The body's keys were checked against the synchronizationSecret enum. PUT replaces the saved set (ENTRA
// hybrid/cloud-sync/how-to-inbound-synch-ms-graph.md: "we don't support PATCH requests for secrets, so you need to
// add all the values in the body of the PUT request"). A key sent with an empty value is removed, as
// terraform-provider-azuread relies on when it deletes secrets.
func (t *Tenant) putSecrets(c *call) response {
	var body struct {
		Value []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"value"`
	}
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	pairs := make([]secretPair, 0, len(body.Value))
	for _, kv := range body.Value {
		if kv.Value != "" {
			pairs = append(pairs, secretPair{Key: kv.Key, Value: kv.Value})
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	sp, err := t.syncServicePrincipal(c)
	if err != nil {
		return c.fail(err, t.now())
	}
	t.st.secrets[str(sp.data, "id")] = pairs
	return noContent()
}

// maskedSecretKeys are the secrets GET answers with "*" instead of their value. SecretToken (terraform-provider-
// azuread reads "*" back for it) and Password (Microsoft's skip-out-of-scope-deletions.md has the admin type
// the connection password again before saving the set back) are documented; the other credential keys of the
// synchronizationSecret enum are assumed to behave the same (UNVERIFIED).
func maskedSecretKeys() []string {
	return []string{"Password", "SecretToken", "ClientSecret", "ConsumerSecret", "TokenKey", "Oauth2AccessToken",
		"Oauth2RefreshToken", "Oauth2ClientSecret", "Oauth2AuthorizationCode", "ConnectionString"}
}

// getSecrets answers GET .../synchronization/secrets with the saved set, credentials masked (see
// maskedSecretKeys). Microsoft's OpenAPI description omits this operation; the service answers it (ENTRA
// skip-out-of-scope-deletions.md reads the set this way). The permission it needs is UNVERIFIED; reading the
// job's configuration needs Synchronization.Read.All, and the same is asked here.
func (t *Tenant) getSecrets(c *call) response {
	t.mu.Lock()
	sp, err := t.syncServicePrincipal(c)
	items := []any{}
	if err == nil {
		for _, p := range t.st.secrets[str(sp.data, "id")] {
			v := p.Value
			if slices.Contains(maskedSecretKeys(), p.Key) {
				v = "*"
			}
			items = append(items, object{"key": p.Key, "value": v})
		}
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	return jsonResponse(http.StatusOK, object{
		"@odata.context": c.serviceRoot + "/$metadata#" + c.syncContext(c.param("sp"), "secrets"),
		"value":          items,
	})
}
