package entra

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// provisionOnDemand runs the cycle's pipeline now for one user, or one group with the members listed (DOCS
// synchronization-synchronizationjob-provisionondemand.md, ENTRA provision-on-demand.md): test connection,
// import, match in the target, scoping, export. It always uses the default SCIM dialect (the aadOptscim062020
// flag "currently doesn't work with on-demand provisioning", ENTRA
// application-provisioning-config-problem-scim-compatibility.md) and works whether or not the job is started. Each
// object's outcome is also written to the provisioning logs.
func (e *engine) provisionOnDemand(ctx context.Context, spID, jobID string, req onDemandRequest) (onDemandResult, *graphError) {
	// The replication delay counts from the request's arrival, not from when a cycle running on the job lets
	// it go on.
	arrived := e.t.now()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return onDemandResult{}, newError(http.StatusServiceUnavailable, "ServiceUnavailable", "The provisioning service is shutting down.")
	}
	j := e.job(spID, jobID)
	e.mu.Unlock()
	if err := j.acquire(ctx); err != nil {
		return onDemandResult{}, newError(http.StatusGatewayTimeout, "GatewayTimeout", "The request was cancelled while a provisioning cycle of the job was running.")
	}
	defer j.release()

	internal := func(err error) (onDemandResult, *graphError) {
		return onDemandResult{}, newError(http.StatusInternalServerError, "InternalServerError", err.Error())
	}
	snap, ok := e.t.jobSnapshot(jobID)
	if !ok {
		return onDemandResult{}, errResourceNotFound(jobID)
	}
	schema, err := parseSyncSchema(snap.Schema)
	if err != nil {
		return internal(err)
	}
	rule, ok := schema.rule(req.RuleID)
	if !ok {
		return onDemandResult{}, newError(http.StatusBadRequest, "BadRequest", fmt.Sprintf("The rule '%s' is not a synchronization rule of this job's schema.", req.RuleID))
	}
	settings := e.t.jobSettings(spID)
	client, err := e.t.newSCIMClient(settings.base, settings.token, true)
	if err != nil {
		return internal(err)
	}
	src := e.t.provisioningSource(spID)
	r := &runner{
		e: e, j: j, ctx: ctx, client: client, rule: rule, src: &src, cycleID: uuid.NewString(), onDemand: true,
		syncAll: settings.syncAll, skipOutOfScopeDeletions: settings.skipOutOfScopeDeletions,
	}
	if e.opts.OnDemandAssignmentLag > 0 {
		r.notAfter = arrived.Add(-e.scaled(e.opts.OnDemandAssignmentLag))
	}
	subject := req.Subjects[0]
	kind := "User"
	if strings.EqualFold(subject.ObjectTypeName, "Group") {
		kind = "Group"
	}

	// Step 1, "Test connection": shown only when it fails (ENTRA provision-on-demand.md).
	mapping := rule.users
	if kind == "Group" {
		mapping = rule.groups
	}
	began := e.t.now()
	answer, gerr, cerr := client.probe(ctx, rule.users.primaryMatching())
	if cerr != nil {
		return onDemandResult{}, newError(http.StatusGatewayTimeout, "GatewayTimeout", "The request was cancelled while testing the connection.")
	}
	if gerr != nil {
		gerr = probeFailure(answer.status, answer.retryAfter, gerr).err
		ev := newEvent(kind, subject.ObjectID, subject.ObjectID, began)
		if mapping != nil {
			ev.targetType = mapping.targetObject
		}
		ev.step("TestConnection", "import", "failure", "Test the connection to customappsso: "+gerr.message, nil, e.t.now())
		ev.fail(&exportError{code: gerr.code, reason: gerr.message, category: "nonServiceFailure"})
		ev.ended = e.t.now()
		r.record(ev)
		return resultOf(ev, r)
	}
	if mapping == nil {
		return onDemandResult{}, newError(http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("The rule '%s' has no enabled mapping for %s objects.", rule.id, kind))
	}

	var ev *provisioningEvent
	if kind == "User" {
		u, ok := src.user(subject.ObjectID)
		if !ok {
			return onDemandResult{}, errResourceNotFound(subject.ObjectID)
		}
		ev = r.syncUser(u, true)
		if r.aborted != nil {
			return onDemandResult{}, newError(http.StatusGatewayTimeout, "GatewayTimeout", "The request was cancelled during provisioning.")
		}
		if ev == nil {
			// Nothing to send and nothing to report (e.g. a disable the mappings do not express): report it as
			// the documented redundant-export skip.
			ev = newEvent("User", str(u, "id"), str(u, "userPrincipalName"), began)
			ev.targetType = mapping.targetObject
			ev.skip("RedundantExport", "The state of the user in both the source and target systems already match.")
		}
		r.record(ev)
		return resultOf(ev, r)
	}

	g, ok := src.group(subject.ObjectID)
	if !ok {
		return onDemandResult{}, errResourceNotFound(subject.ObjectID)
	}
	ev = r.syncGroup(g)
	if r.aborted != nil {
		return onDemandResult{}, newError(http.StatusGatewayTimeout, "GatewayTimeout", "The request was cancelled during provisioning.")
	}
	r.record(ev)
	// The listed members follow, each as a user run, then the group's member PATCH for those provisioned.
	var failed []string
	for _, memberID := range subject.MemberIDs {
		if !src.memberSet[subject.ObjectID][memberID] {
			failed = append(failed, memberID+" (not a member of the group)")
			continue
		}
		u, ok := src.user(memberID)
		if !ok {
			continue
		}
		mev := r.syncUser(u, true)
		r.record(mev)
		if mev != nil && mev.status == "failure" {
			failed = append(failed, str(u, "userPrincipalName"))
		}
	}
	if ev.status != "failure" {
		mev := r.syncMembers(g, subject.MemberIDs)
		r.record(mev)
		if mev != nil {
			ev.modified = append(ev.modified, mev.modified...)
			ev.steps = append(ev.steps, mev.steps[len(mev.steps)-1])
			if mev.status == "failure" {
				ev.fail(mev.err)
			} else if ev.status == "skipped" {
				ev.status, ev.action, ev.skipReason, ev.skipText = "success", "update", "", ""
			}
		}
	}
	if r.aborted != nil {
		return onDemandResult{}, newError(http.StatusGatewayTimeout, "GatewayTimeout", "The request was cancelled during provisioning.")
	}
	if len(failed) > 0 && ev.status != "failure" {
		ev.fail(&exportError{code: "MemberProvisioningFailed", category: "nonServiceFailure",
			reason: "These members could not be provisioned with the group: " + strings.Join(failed, ", ") + ". See the provisioning logs for each."})
	}
	return resultOf(ev, r)
}

func resultOf(ev *provisioningEvent, r *runner) (onDemandResult, *graphError) {
	if ev.ended.IsZero() {
		ev.ended = r.now()
	}
	result, err := ev.onDemandResult(r.src, r.rule.targetDirID)
	if err != nil {
		return onDemandResult{}, newError(http.StatusInternalServerError, "InternalServerError", err.Error())
	}
	return result, nil
}
