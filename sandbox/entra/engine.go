package entra

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// provisioner is the seam for Entra's provisioning service (the engine that pushes users and groups to a job's
// SCIM BaseAddress), implemented by engine in provisioning*.go and installed by New (tenant.go). The
// synchronization handlers call it after they have changed the job's state and released Tenant.mu, so an
// implementation may call back into the tenant and may start goroutines. What it reads and
// writes: Users, Groups (with MemberIDs), AppRoleAssignments (CreatedDateTime tells recent assignments),
// jobSnapshot (status, schedule, schema as raw JSON), secretValue (BaseAddress, SecretToken, SyncAll, ...),
// updateJob (status, quarantine, last execution) and AppendProvisioningLog; t.now and t.client are the clock
// and the outbound HTTP client to use.
type provisioner interface {
	// jobStarted: start moved the job to schedule state Active (from Disabled or Paused).
	jobStarted(spID, jobID string)
	// jobPaused: the job's schedule is Paused; no cycle may start until jobStarted or jobRestarted.
	jobPaused(spID, jobID string)
	// jobRestarted: restart asked for a new initial cycle; resetScope lists the criteria (empty means the
	// portal's "Restart provisioning").
	jobRestarted(spID, jobID string, resetScope []string)
	// schemaReplaced: a PUT replaced the job's schema (Entra then runs a new initial cycle).
	schemaReplaced(spID, jobID string)
	// jobDeleted: the job (or its service principal) is gone.
	jobDeleted(spID, jobID string)
	// provisionOnDemand provisions the request's subjects now and returns the stringKeyStringValuePair Graph
	// answers with; the handler has already validated the rule, the subjects and the rate limit.
	provisionOnDemand(ctx context.Context, spID, jobID string, req onDemandRequest) (onDemandResult, *graphError)
}

// onDemandRequest is one provisionOnDemand parameter: a rule of the job's schema and its subjects.
type onDemandRequest struct {
	RuleID   string
	Subjects []onDemandSubject
}

// onDemandSubject is a user, or a group with the members to provision with it.
type onDemandSubject struct {
	ObjectID       string
	ObjectTypeName string // "User" or "Group"
	MemberIDs      []string
}

// onDemandResult is the answer's key and value, each a JSON document in a string (DOCS
// synchronization-synchronizationjob-provisionondemand.md).
type onDemandResult struct {
	Key   string
	Value string
}

// jobSnapshot is what the provisioning engine reads of a job: its id, template, status, schedule and schema.
type jobSnapshot struct {
	ID       string
	SPID     string
	Template string
	Status   map[string]any
	Schedule map[string]any
	Schema   json.RawMessage
	// Settings are the job's synchronizationJobSettings by name (QuarantineTooManyDeletesThreshold, ...).
	Settings map[string]string
}

// jobSnapshot returns a copy of a job for the engine.
func (t *Tenant) jobSnapshot(jobID string) (jobSnapshot, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	j, ok := t.st.jobs[jobID]
	if !ok {
		return jobSnapshot{}, false
	}
	status, _ := deepCopy(j.data)["status"].(map[string]any)
	schedule, _ := deepCopy(j.data)["schedule"].(map[string]any)
	settings := map[string]string{}
	for _, kv := range objects(j.data, "synchronizationJobSettings") {
		settings[str(kv, "name")] = str(kv, "value")
	}
	return jobSnapshot{
		ID: jobID, SPID: j.spID, Template: str(j.data, "templateId"),
		Status: status, Schedule: schedule, Schema: append(json.RawMessage(nil), j.schema...), Settings: settings,
	}, true
}

// updateJob lets the engine change a job's Graph object (status, quarantine, last execution) under the lock.
func (t *Tenant) updateJob(jobID string, change func(job map[string]any)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	j, ok := t.st.jobs[jobID]
	if !ok {
		return fmt.Errorf("update job: no job %q", jobID)
	}
	change(j.data)
	return nil
}

// secretValue returns one saved synchronization secret of a service principal (BaseAddress, SecretToken, ...).
func (t *Tenant) secretValue(spID, key string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.st.secrets[spID] {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// AppendProvisioningLog adds a provisioningObjectSummary (DOCS resources/provisioningobjectsummary.md) to
// /auditLogs/provisioning. The provisioning engine writes these; tests may too. A missing id or
// activityDateTime is filled in.
func (t *Tenant) AppendProvisioningLog(entry map[string]any) {
	e := deepCopy(entry)
	if str(e, "id") == "" {
		e["id"] = newID()
	}
	if str(e, "activityDateTime") == "" {
		e["activityDateTime"] = t.now().UTC().Format(time.RFC3339Nano)
	}
	if str(e, "tenantId") == "" {
		e["tenantId"] = t.id
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.provisioning = append(t.st.provisioning, e)
}
