package entra

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// runner carries one run of the service over a job: a scheduled cycle or one provisionOnDemand call.
type runner struct {
	e       *engine
	j       *jobRun
	ctx     context.Context
	client  *scimClient
	rule    syncRule
	src     *sourceDirectory
	cycleID string
	// initial: match every in-scope object in the target again (initial cycle); incremental cycles process
	// only what changed since the watermark.
	initial  bool
	onDemand bool
	syncAll  bool
	// skipOutOfScopeDeletions is the secret SkipOutOfScopeDeletions (DOCS skip-out-of-scope-deletions.md).
	skipOutOfScopeDeletions bool
	// notAfter hides assignments made after it (on-demand replication lag); zero sees all.
	notAfter time.Time
	stats    cycleStats
	// keys are the state fingerprints of the objects processed in this run, by source id; evaluated are those
	// that were due, so processed whatever the outcome.
	keys      map[string]string
	evaluated map[string]bool
	// aborted is set when the context ended mid-run; nothing more is sent or recorded.
	aborted error
	// deleteThreshold is the job's QuarantineTooManyDeletesThreshold; stageDeletes: this cycle plans more
	// disables and deletes than that, so it logs them as staged instead of sending them.
	deleteThreshold int
	stageDeletes    bool
	// holdUntil is when the target allows the next request (its Retry-After); cutShort: the cycle stopped
	// for it before reaching every object.
	holdUntil time.Time
	cutShort  bool
	// escrowExpired: an escrow reached its 28 days; the job is disabled at the end of the cycle.
	escrowExpired bool
	// processed and total are the progress of the cycle, in objects.
	processed, total int
}

// cycleStats are the counters of synchronizationTaskExecution.
type cycleStats struct {
	imported, entitled, entitledForProvisioning, exported, escrowed, deltas, referenceDeltas int
	// staged are the disables and deletes held back by accidental deletions prevention.
	staged int
}

func (r *runner) now() time.Time { return r.e.t.now() }

// job settings and credentials the service reads at the start of a run.
type jobSettings struct {
	base, token             string
	syncAll                 bool
	skipOutOfScopeDeletions bool
}

func (t *Tenant) jobSettings(spID string) jobSettings {
	s := jobSettings{}
	s.base, _ = t.secretValue(spID, "BaseAddress")
	s.token, _ = t.secretValue(spID, "SecretToken")
	syncAll, _ := t.secretValue(spID, "SyncAll")
	s.syncAll = strings.EqualFold(syncAll, "true")
	skip, _ := t.secretValue(spID, "SkipOutOfScopeDeletions")
	s.skipOutOfScopeDeletions = strings.EqualFold(skip, "true")
	return s
}

// cycle runs one cycle of a job (its lock held); a context error aborts it without recording anything.
func (e *engine) cycle(ctx context.Context, j *jobRun, initial, forceDeletes bool) (cycleOutcome, error) {
	snap, ok := e.t.jobSnapshot(j.jobID)
	if !ok {
		return cycleOutcome{stop: true}, nil
	}
	began := e.t.now()
	settings := e.t.jobSettings(j.spID)
	schema, err := parseSyncSchema(snap.Schema)
	if err != nil {
		return e.failCycle(j, began, cycleFailure{err: newError(http.StatusBadRequest, "SchemaInvalid", err.Error())}), nil
	}
	rule, _ := schema.rule("")
	client, err := e.t.newSCIMClient(settings.base, settings.token, false)
	if err != nil {
		return e.failCycle(j, began, cycleFailure{err: newError(http.StatusInternalServerError, "InternalError", "Could not issue a token.")}), nil
	}
	// Every run starts with the random-GUID query Test Connection makes (AzureAD/SCIMReferenceCode#63, quoting
	// Microsoft support).
	answer, gerr, cerr := client.probe(ctx, rule.users.primaryMatching())
	if cerr != nil {
		return cycleOutcome{}, cerr
	}
	if gerr != nil {
		return e.failCycle(j, began, probeFailure(answer.status, answer.retryAfter, gerr)), nil
	}

	src := e.t.provisioningSource(j.spID)
	r := &runner{
		e: e, j: j, ctx: ctx, client: client, rule: rule, src: &src, cycleID: uuid.NewString(),
		initial: initial, syncAll: settings.syncAll, skipOutOfScopeDeletions: settings.skipOutOfScopeDeletions,
		deleteThreshold: deleteThreshold(snap.Settings),
	}
	// Accidental deletions prevention: "Anything above the threshold that you set requires an admin to
	// explicitly allow the processing of the deletions", evaluated "each cycle", disables counted with deletes
	// (ENTRA accidental-deletions.md). The job setting QuarantineTooManyDeletesThreshold carries the threshold
	// (500 on a new job, as in DOCS synchronization-synchronizationjob-get.md); 0 turns it off.
	if !forceDeletes && r.deleteThreshold > 0 && r.deletionsPlanned() > r.deleteThreshold {
		r.stageDeletes = true
	}
	r.total = len(src.users) + len(src.groups)
	r.progressed()
	r.syncAllObjects()
	if r.aborted != nil {
		return cycleOutcome{}, r.aborted
	}
	return e.finishCycle(j, r, began), nil
}

// deleteThreshold reads QuarantineTooManyDeletesThreshold from the job's synchronizationJobSettings.
func deleteThreshold(settings map[string]string) int {
	n, err := strconv.Atoi(strings.TrimSpace(settings["QuarantineTooManyDeletesThreshold"]))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// progressed writes the job's synchronizationProgress: objects processed of the objects read.
func (r *runner) progressed() {
	// A job deleted meanwhile has no status to update; the error says only that.
	_ = r.e.t.updateJob(r.j.jobID, func(job map[string]any) {
		jobStatusMap(job)["progress"] = []any{map[string]any{
			"completedUnits": r.processed, "totalUnits": r.total, "units": "Entries",
			"progressObservationDateTime": r.now().UTC().Format(graphTime),
		}}
	})
}

// stop reports whether the cycle ends here: its context ended, or the target asked with Retry-After not to be
// called again yet. A cycle does not sleep through a Retry-After: it leaves the objects it has not reached for
// the next cycle, which is planned after the wait (the objects stay due, as their watermark did not move).
func (r *runner) stop() bool {
	if r.aborted != nil {
		return true
	}
	if r.holdUntil.After(r.now()) {
		r.cutShort = true
		return true
	}
	return false
}

// syncAllObjects is the body of a cycle: users, then groups, then the references between them (managers,
// members), as the service orders its work (ENTRA how-provisioning-works.md).
func (r *runner) syncAllObjects() {
	if m := r.rule.users; m != nil {
		for _, u := range r.src.users {
			if r.stop() {
				return
			}
			r.record(r.syncUser(u, false))
			r.processed++
			r.progressed()
		}
		r.deleteGone(r.j.users, "Users", m, r.src.isUser)
	}
	if m := r.rule.groups; m != nil {
		for _, g := range r.src.groups {
			if r.stop() {
				return
			}
			r.record(r.syncGroup(g))
			r.processed++
			r.progressed()
		}
		r.deleteGone(r.j.groups, "Groups", m, func(id string) bool { _, ok := r.src.group(id); return ok })
	}
	// References come last, once the objects they point at exist in the target: "If the attribute mappings
	// contain "reference" attributes, the service does more updates on the target system to create and link the
	// referenced objects" (ENTRA how-provisioning-works.md, step 6 of both cycles).
	if r.rule.users != nil {
		r.syncUserReferences()
	}
	if r.rule.groups != nil {
		for _, g := range r.src.groups {
			if r.stop() {
				return
			}
			r.record(r.syncMembers(g, nil))
		}
	}
}

// record writes an event to the provisioning logs.
func (r *runner) record(ev *provisioningEvent) {
	if ev == nil || r.aborted != nil {
		return
	}
	if ev.ended.IsZero() {
		ev.ended = r.now()
	}
	if ev.status == "failure" {
		r.stats.escrowed++
	}
	r.e.t.AppendProvisioningLog(ev.logEntry(r.e.t.id, r.j.jobID, r.cycleID, r.src, r.rule.targetDirID))
}

// due reports whether an object needs processing in this run: always in initial and on-demand runs; in
// incremental cycles when its state moved since the watermark or an escrow retry of it is due.
func (r *runner) due(id, key string) bool {
	if r.keys == nil {
		r.keys, r.evaluated = map[string]string{}, map[string]bool{}
	}
	r.keys[id] = key
	due := r.j.seen[id] != key
	if esc, ok := r.j.escrows[id]; ok && esc.key == key {
		due = !esc.next.After(r.now())
	}
	if esc, ok := r.j.escrows["reference:"+id]; ok && !esc.next.After(r.now()) {
		// A failed reference update (members, manager) is retried with its object, which is looked up again
		// first like any other change.
		due = true
	}
	if r.initial || r.onDemand || due {
		r.evaluated[id] = true
		return true
	}
	return false
}

// done records a processed object: its fingerprint moves the watermark, and a success clears its escrow.
func (r *runner) done(id, key string, ev *provisioningEvent) {
	if ev != nil && ev.status == "failure" {
		return
	}
	r.j.seen[id] = key
	delete(r.j.escrows, id)
}

// failed records a failed export: the object goes to escrow and is retried later. Transient failures
// (throttling, 5xx, timeouts) come back at the next cycle ("retried in 40 minutes", ENTRA
// howto-analyze-provisioning-logs.md), or after the target's Retry-After when that is later; others 6, 12 and 24
// hours after the first failure and then daily (ENTRA application-provisioning-quarantine-status.md "Retry
// duration"). After 28 days the escrow is dropped and the job disabled.
func (r *runner) failed(id string, ev *provisioningEvent, err error) {
	r.escrow(id, id, false, ev, err)
}

// failedReference records a failure to set a reference (members, manager): escrowed apart from the object's
// own export, and counted only toward the absolute escrow threshold (ENTRA
// application-provisioning-quarantine-status.md).
func (r *runner) failedReference(id string, ev *provisioningEvent, err error) {
	r.escrow("reference:"+id, id, true, ev, err)
}

func (r *runner) escrow(key, id string, reference bool, ev *provisioningEvent, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		r.aborted = err
		return
	}
	var xerr *exportError
	if !errors.As(err, &xerr) {
		xerr = &exportError{code: "InternalError", category: "failure", transient: true, reason: err.Error()}
	}
	now := r.now()
	if xerr.retryAfter > 0 {
		// Retry-After is the target's own wait, in real time: not scaled.
		r.holdUntil = later(r.holdUntil, now.Add(xerr.retryAfter))
	}
	esc, ok := r.j.escrows[key]
	if !ok {
		esc = &escrowEntry{first: now, reference: reference}
		r.j.escrows[key] = esc
	}
	// A change of the object makes it due again before its retry time.
	esc.key = r.keys[id]
	switch {
	case xerr.transient:
		esc.next = now.Add(xerr.retryAfter)
	case esc.retries == 0:
		esc.next = esc.first.Add(r.e.scaled(6 * time.Hour))
	case esc.retries == 1:
		esc.next = esc.first.Add(r.e.scaled(12 * time.Hour))
	default:
		esc.next = esc.first.Add(r.e.scaled(24 * time.Hour * time.Duration(esc.retries-1)))
	}
	retryAt := esc.next
	if xerr.transient {
		retryAt = later(now.Add(r.e.scaled(cycleInterval)), esc.next)
	}
	copied := *xerr
	if now.Sub(esc.first) >= r.e.scaled(escrowLifetime) {
		delete(r.j.escrows, key)
		r.escrowExpired = true
		copied.reason = fmt.Sprintf("%s. This operation was retried %d times over 28 days and will not be retried again; the job is disabled.",
			strings.TrimSuffix(xerr.reason, "."), esc.retries)
	} else {
		copied.reason = fmt.Sprintf("%s. This operation was retried %d times. It will be retried again after this date: %s UTC",
			strings.TrimSuffix(xerr.reason, "."), esc.retries, retryAt.UTC().Format(graphTime))
		esc.retries++
	}
	ev.fail(&copied)
}

func tf(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// syncUser evaluates one user and sends what its state requires: create, update, disable, or nothing.
func (r *runner) syncUser(u object, matchFirst bool) *provisioningEvent {
	m := r.rule.users
	id, upn := str(u, "id"), str(u, "userPrincipalName")
	scope := r.src.scope(id, "User", r.syncAll, r.notAfter)
	// A user in the deleted items is soft-deleted: IsSoftDeleted, as a disabled one (ENTRA
	// customize-application-attributes.md).
	enabled := boolean(u, "accountEnabled") && !r.src.softDeleted[id]
	entitled := scope.inScope && enabled
	env := r.src.env(u, "User", !entitled, scope)
	key := stateKey(env, scope)
	r.stats.imported++
	if scope.inScope {
		r.stats.entitled++
	}
	if entitled {
		r.stats.entitledForProvisioning++
	}
	if !r.due(id, key) || r.aborted != nil {
		return nil
	}
	if !r.initial && !r.onDemand {
		r.stats.deltas++
	}
	linked := r.j.users[id]
	now := r.now()
	ev := newEvent("User", id, upn, now)
	ev.targetType = m.targetObject
	if linked != nil {
		ev.targetID = linked.targetID
	}
	ev.step("EntryImport", "import", "success", fmt.Sprintf("Retrieved User '%s' from Azure Active Directory", upn), sourceDetails(env, "User"), now)

	// On-demand runs read the target before scoping, as the documented answer lists its steps.
	var match *matchResult
	if matchFirst {
		match = r.match(ev, "Users", m, env, upn, linked)
		if match == nil {
			return ev
		}
	}
	ev.step("EntrySynchronizationScoping", "scoping", "success", "Determine if User in scope by evaluating against each scoping filter", map[string]string{
		"Assigned": tf(scope.assigned), "IsActive": tf(enabled), "IsEffectivelyEntitledForProvisioning": tf(entitled),
		"IsInProvisioningScope": tf(scope.inScope), "ScopeEvaluationResult": "{}",
	}, r.now())

	desired, err := m.evaluate(env)
	if err != nil {
		ev.step("EntryExportAdd", "export", "failure", fmt.Sprintf("Failed to evaluate the attribute mappings of User '%s'", upn), nil, r.now())
		r.failed(id, ev, &exportError{code: "AttributeMappingEvaluationFailed", category: "failure", reason: err.Error()})
		return ev
	}
	if linked != nil && !r.initial && !r.onDemand && (entitled || (linked.active() && r.disables(scope))) {
		// Incremental: a changed user the service may have to update (or disable) is first queried in the
		// target by its matching attributes (ENTRA how-provisioning-works.md, incremental cycles step 3), so the
		// update is judged by what the target holds now, drift included.
		match = r.match(ev, "Users", m, env, upn, linked)
		if match == nil {
			return ev
		}
		if match.found == nil {
			// Gone from the target behind the service's back: an entitled user is created again.
			delete(r.j.users, id)
			linked = nil
		}
	}
	if match != nil && match.found != nil {
		refreshed := linkedObject{}
		if linked != nil {
			refreshed = *linked
		}
		refreshed.targetID, refreshed.exported = match.targetID, targetValues(m, match.found)
		refreshed.references = referenceValues(m, match.found)
		linked = &refreshed
		if !r.onDemand {
			r.j.users[id] = linked
		}
		ev.targetID = linked.targetID
	}

	if !entitled {
		return r.deprovisionUser(id, key, upn, ev, env, linked, scope, enabled, desired)
	}

	if linked != nil && !r.initial && !r.onDemand {
		changes := diffExported(m, desired, linked.exported)
		if len(changes) == 0 {
			r.done(id, key, nil)
			return nil
		}
		ev = r.updateUser(id, key, upn, ev, linked, changes, "update")
		if ev != nil && ev.status != "failure" {
			linked.outOfScope = false
		}
		return ev
	}
	if match == nil {
		match = r.match(ev, "Users", m, env, upn, linked)
		if match == nil {
			return ev
		}
	}
	if match.found != nil {
		linked = &linkedObject{targetID: match.targetID, exported: targetValues(m, match.found), references: referenceValues(m, match.found)}
		r.j.users[id] = linked
		ev.targetID = linked.targetID
		changes := diffExported(m, desired, linked.exported)
		if len(changes) == 0 {
			ev.step("EntrySynchronizationSkip", "export", "skipped",
				fmt.Sprintf("The state of the user in both the source and target systems already match. No change to the User '%s' currently needs to be made.", upn),
				map[string]string{"SkipReason": "RedundantExport"}, r.now())
			ev.skip("RedundantExport", "The state of the user in both the source and target systems already match.")
			ev.modified = sourceProperties(env, "User")
			r.done(id, key, ev)
			return ev
		}
		return r.updateUser(id, key, upn, ev, linked, changes, "update")
	}
	return r.createUser(id, key, upn, ev, desired)
}

// deprovisionUser handles a user that is not (or no longer) effectively entitled: never provisioned users are
// skipped; provisioned ones are disabled (ENTRA how-provisioning-works.md), once.
func (r *runner) deprovisionUser(id, key, upn string, ev *provisioningEvent, env *exprEnv, linked *linkedObject,
	scope scopeInfo, enabled bool, desired map[string]string) *provisioningEvent {
	m := r.rule.users
	skip := func(reason, text string) *provisioningEvent {
		ev.step("EntrySynchronizationSkip", "export", "skipped", text, map[string]string{"SkipReason": reason}, r.now())
		ev.skip(reason, text)
		ev.modified = sourceProperties(env, "User")
		r.done(id, key, ev)
		return ev
	}
	notEntitled := func() *provisioningEvent {
		text := fmt.Sprintf("User '%s' will be skipped: ", upn)
		switch {
		case !scope.inScope:
			text += "this object is not assigned to the application. If you did not expect the object to be skipped, assign the object to the application or change the scoping filter."
		case r.src.softDeleted[id]:
			text += "this object is deleted in Azure Active Directory (soft-deleted); deleted users are not provisioned."
		default:
			text += "this object is not active (accountEnabled is false); disabled users are not provisioned."
		}
		return skip("NotEffectivelyEntitled", text)
	}
	if linked == nil || !linked.active() {
		return notEntitled()
	}
	if r.onDemand && !enabled {
		// On-demand provisioning "can't disable or delete users who were disabled or deleted in Entra" (ENTRA
		// provision-on-demand.md).
		return notEntitled()
	}
	if !r.disables(scope) {
		r.done(id, key, nil)
		return nil
	}
	// A disable changes only what IsSoftDeleted decides (the active mapping): `Replace active "False"`.
	var changes []attrChange
	for _, ch := range diffExported(m, desired, linked.exported) {
		if referencesAttr(ch.mapping.expr, "IsSoftDeleted") {
			changes = append(changes, ch)
		}
	}
	if len(changes) == 0 {
		// Without an active mapping Entra sends nothing when a user leaves scope.
		r.done(id, key, nil)
		return nil
	}
	r.j.users[id] = linked
	ev.targetID = linked.targetID
	if r.stageDeletes {
		return r.stage(ev, "User", upn)
	}
	ev = r.updateUser(id, key, upn, ev, linked, changes, "disable")
	if ev.status != "failure" {
		linked.outOfScope = !scope.inScope
	}
	return ev
}

// matchResult is the outcome of looking an object up in the target by its matching attributes.
type matchResult struct {
	found    map[string]any
	targetID string
}

// match queries the target by each matching attribute in precedence order until one matches (ENTRA
// customize-application-attributes.md); an object the service is already linked to and that no longer matches (its
// matching attribute changed) is read by its id, which the service keeps as its anchor (ENTRA
// how-provisioning-works.md). It returns nil when a query failed (the event says why).
func (r *runner) match(ev *provisioningEvent, resource string, m *objectMapping, env *exprEnv, name string, linked *linkedObject) *matchResult {
	kind := strings.TrimSuffix(resource, "s")
	for _, a := range m.matching {
		if a.exprErr != nil {
			continue
		}
		v, err := a.expr.eval(env)
		if err != nil || v.isEmpty() {
			continue
		}
		found, ferr := r.client.find(r.ctx, resource, a.target, v.first())
		if ferr != nil {
			ev.step("EntryImport", "matching", "failure", fmt.Sprintf("Failed to retrieve %s '%s' from customappsso", kind, name), nil, r.now())
			r.failed(ev.sourceID, ev, ferr)
			return nil
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			id, _ := found[0]["id"].(string)
			if id == "" {
				ev.step("EntryImport", "matching", "failure", fmt.Sprintf("Failed to retrieve %s '%s' from customappsso", kind, name), nil, r.now())
				r.failed(ev.sourceID, ev, incompatible("a resource in a query answer has no id."))
				return nil
			}
			if resource == "Groups" && lookupFold(found[0], "members") != nil {
				ev.step("EntryImport", "matching", "failure", fmt.Sprintf("Failed to retrieve %s '%s' from customappsso", kind, name), nil, r.now())
				r.failed(ev.sourceID, ev, &exportError{code: "SystemForCrossDomainIdentityManagementMultipleEntriesInResponse", category: "nonServiceFailure",
					reason: "A GET request to retrieve a group with excludedAttributes=members returned its members (DOCS howto-analyze-provisioning-logs)."})
				return nil
			}
			details := map[string]string{"id": id}
			for _, am := range m.attrs {
				if v, ok := am.path.get(found[0]); ok {
					details[am.target] = v
				}
			}
			ev.step("EntryImport", "matching", "success", fmt.Sprintf("Retrieved '%s' from customappsso", name), details, r.now())
			return &matchResult{found: found[0], targetID: id}
		default:
			ev.step("EntryImport", "matching", "failure", fmt.Sprintf("More than one %s matching '%s' was found in customappsso", kind, name), nil, r.now())
			r.failed(ev.sourceID, ev, &exportError{code: "DuplicateTargetEntries", category: "nonServiceFailure",
				reason: fmt.Sprintf("The operation couldn't be completed because more than one %s in the target application was found with the configured matching attributes (%s).", kind, a.target)})
			return nil
		}
	}
	if linked != nil {
		found, err := r.client.get(r.ctx, resource, linked.targetID)
		switch {
		case err != nil && !isNotFound(err):
			ev.step("EntryImport", "matching", "failure", fmt.Sprintf("Failed to retrieve %s '%s' from customappsso", kind, name), nil, r.now())
			r.failed(ev.sourceID, ev, err)
			return nil
		case err == nil:
			ev.step("EntryImport", "matching", "success", fmt.Sprintf("Retrieved '%s' from customappsso", name), map[string]string{"id": linked.targetID}, r.now())
			return &matchResult{found: found, targetID: linked.targetID}
		}
	}
	ev.step("EntryImport", "matching", "success", fmt.Sprintf("No matching %s was found in customappsso for '%s'", kind, name), nil, r.now())
	return &matchResult{}
}

// createUser POSTs the user: the core and enterprise schemas, the mapped attributes, active as a JSON boolean
// (ENTRA use-scim-to-provision-users-and-groups.md "Create User").
func (r *runner) createUser(id, key, upn string, ev *provisioningEvent, desired map[string]string) *provisioningEvent {
	m := r.rule.users
	if !m.flowAdd {
		r.done(id, key, nil)
		return nil
	}
	ev.action = "create"
	r.decision(ev, "EntrySynchronizationAdd",
		fmt.Sprintf("User '%s' will be created in customappsso (User is active and assigned in Azure Active Directory, but no matching User was found in customappsso)", upn))
	doc := map[string]any{"schemas": []any{scimUserSchema, scimEnterpriseSchema}}
	sent := r.fill(doc, m, desired, ev)
	doc["meta"] = map[string]any{"resourceType": "User"}
	if _, ok := doc["roles"]; !ok {
		// Microsoft's "Create User" sample ends with "roles": [] when no role is mapped (ENTRA
		// use-scim-to-provision-users-and-groups.md).
		doc["roles"] = []any{}
	}
	targetID, err := r.client.create(r.ctx, "Users", doc)
	if err != nil {
		ev.step("EntryExportAdd", "export", "failure", fmt.Sprintf("Failed to create User '%s' in customappsso", upn), map[string]string{"ReportableIdentifier": upn}, r.now())
		r.failed(id, ev, err)
		return ev
	}
	r.j.users[id] = &linkedObject{targetID: targetID, exported: sent}
	ev.targetID = targetID
	ev.step("EntryExportAdd", "export", "success", fmt.Sprintf("User '%s' was created in customappsso", upn), map[string]string{"ReportableIdentifier": upn}, r.now())
	r.stats.exported++
	r.done(id, key, ev)
	return ev
}

// decision is the step a cycle's log shows between matching and export (DOCS provisioningobjectsummary-list.md
// example: EntrySynchronizationAdd); the documented provisionOnDemand answer goes from scoping straight to the
// export step, so on-demand runs leave it out.
func (r *runner) decision(ev *provisioningEvent, name, description string) {
	if !r.onDemand {
		ev.step(name, "matching", "success", description, nil, r.now())
	}
}

// fill writes the desired values into a resource document in mapping order and returns what was sent.
func (r *runner) fill(doc map[string]any, m *objectMapping, desired map[string]string, ev *provisioningEvent) map[string]string {
	sent := map[string]string{}
	for _, a := range m.attrs {
		v, ok := desired[a.target]
		if !ok {
			continue
		}
		a.path.set(doc, r.client.wireValue(a.def, v, true))
		sent[a.target] = v
		ev.modified = append(ev.modified, modifiedProperty{name: a.target, new: &v})
	}
	return sent
}

// updateUser PATCHes the changed attributes of a linked user.
func (r *runner) updateUser(id, key, upn string, ev *provisioningEvent, linked *linkedObject, changes []attrChange, action string) *provisioningEvent {
	if action == "update" && !r.rule.users.flowUpdate {
		r.done(id, key, nil)
		return nil
	}
	ev.action = action
	stepName := "EntryExportUpdate"
	done := fmt.Sprintf("User '%s' was updated in customappsso", upn)
	if action == "disable" {
		// UNVERIFIED step name; the portal shows soft deletes as their own export step.
		stepName = "EntryExportUpdateSoftDelete"
		done = fmt.Sprintf("User '%s' was disabled in customappsso", upn)
	}
	r.decision(ev, "EntrySynchronizationUpdate", fmt.Sprintf("User '%s' will be updated in customappsso", upn))
	for _, ch := range changes {
		ev.modified = append(ev.modified, modifiedProperty{name: ch.mapping.target, old: ch.old, new: ch.new})
	}
	if err := r.client.patch(r.ctx, "Users", linked.targetID, r.client.updateOps(changes)); err != nil {
		ev.step(stepName, "export", "failure", fmt.Sprintf("Failed to update User '%s' in customappsso", upn), map[string]string{"ReportableIdentifier": upn}, r.now())
		r.failed(id, ev, err)
		return ev
	}
	applyChanges(linked, changes)
	ev.step(stepName, "export", "success", done, map[string]string{"ReportableIdentifier": upn}, r.now())
	r.stats.exported++
	r.done(id, key, ev)
	return ev
}

// isNotFound: the target answered 404, so what a DELETE wanted gone is gone.
func isNotFound(err error) bool {
	var xerr *exportError
	return errors.As(err, &xerr) && xerr.status == http.StatusNotFound
}

func applyChanges(linked *linkedObject, changes []attrChange) {
	if linked.exported == nil {
		linked.exported = map[string]string{}
	}
	for _, ch := range changes {
		if ch.new == nil {
			delete(linked.exported, ch.mapping.target)
		} else {
			linked.exported[ch.mapping.target] = *ch.new
		}
	}
}

// targetValues reads the mapped attributes of a target resource, to compare them with the source.
func targetValues(m *objectMapping, found map[string]any) map[string]string {
	out := map[string]string{}
	for _, a := range m.attrs {
		if a.def.reference || strings.EqualFold(a.target, "members") {
			continue
		}
		if v, ok := a.path.get(found); ok {
			out[a.target] = v
		}
	}
	return out
}

// diffExported lists the attributes whose desired value differs from the exported one, in mapping order.
// Nulls are not provisioned (ENTRA customize-application-attributes.md, known-issues.md) unless the target
// attribute lets them flow; ObjectAddOnly attributes are never updated.
func diffExported(m *objectMapping, desired, exported map[string]string) []attrChange {
	var changes []attrChange
	for _, a := range m.attrs {
		if a.addOnly || a.def.reference || strings.EqualFold(a.target, "members") {
			continue
		}
		want, has := desired[a.target]
		old, had := exported[a.target]
		var oldPtr *string
		if had {
			oldPtr = &old
		}
		switch {
		case has && (!had || !sameValue(a.def, want, old)):
			changes = append(changes, attrChange{mapping: a, old: oldPtr, new: &want})
		case !has && had && a.def.flowNullValues:
			changes = append(changes, attrChange{mapping: a, old: oldPtr})
		}
	}
	return changes
}

// sourceDetails are the source attributes the import step shows.
func sourceDetails(env *exprEnv, kind string) map[string]string {
	out := map[string]string{}
	for _, p := range sourceProperties(env, kind) {
		out[p.name] = *p.new
	}
	return out
}

// sourceProperties are the source attributes a skipped event lists as modifiedProperties, as in the documented
// provisionOnDemand example.
func sourceProperties(env *exprEnv, kind string) []modifiedProperty {
	names := []string{"objectId", "accountEnabled", "displayName", "mailNickname", "userPrincipalName", "IsSoftDeleted", "appRoleAssignments"}
	if kind == "Group" {
		names = []string{"objectId", "displayName", "mailNickname", "securityEnabled", "mailEnabled", "IsSoftDeleted"}
	}
	var out []modifiedProperty
	for _, n := range names {
		v := env.attr(n)
		if v.isNull() {
			continue
		}
		s := strings.Join(v, ",")
		out = append(out, modifiedProperty{name: n, new: &s})
	}
	return out
}

// deleteGone sends DELETE for linked objects whose source object was hard-deleted (ENTRA
// how-provisioning-works.md). Users the service stopped managing when they left scope get no DELETE (same page,
// known limitations).
func (r *runner) deleteGone(links map[string]*linkedObject, resource string, m *objectMapping, exists func(string) bool) {
	for _, id := range slices.Sorted(maps.Keys(links)) {
		linked := links[id]
		if exists(id) {
			continue
		}
		if r.stop() {
			return
		}
		if linked.outOfScope || !m.flowDelete {
			delete(links, id)
			continue
		}
		kind := strings.TrimSuffix(resource, "s")
		name := linked.exported[m.primaryMatching()]
		if name == "" {
			name = linked.targetID
		}
		ev := newEvent(kind, id, name, r.now())
		ev.action, ev.targetID, ev.targetType = "delete", linked.targetID, m.targetObject
		ev.step("EntryImportDelete", "import", "success", fmt.Sprintf("Received %s '%s' change of type (Delete) from Azure Active Directory", kind, name), nil, r.now())
		if r.stageDeletes {
			r.record(r.stage(ev, kind, name))
			continue
		}
		if err := r.client.remove(r.ctx, resource, linked.targetID); err != nil && !isNotFound(err) {
			ev.step("EntryExportDelete", "export", "failure", fmt.Sprintf("Failed to delete %s '%s' in customappsso", kind, name), nil, r.now())
			r.failed(id, ev, err)
			r.record(ev)
			continue
		}
		ev.step("EntryExportDelete", "export", "success", fmt.Sprintf("%s '%s' was deleted in customappsso", kind, name), nil, r.now())
		delete(links, id)
		delete(r.j.seen, id)
		delete(r.j.escrows, id)
		delete(r.j.escrows, "reference:"+id)
		if resource == "Users" {
			// The target drops a deleted user from its groups; so does the service's record of them.
			for _, g := range r.j.groups {
				g.members = slices.DeleteFunc(g.members, func(m string) bool { return m == linked.targetID })
			}
		}
		r.stats.exported++
		r.record(ev)
	}
}

// syncGroup evaluates one group: create it (without members) or update it when in scope, delete it from the
// target when it leaves scope.
func (r *runner) syncGroup(g object) *provisioningEvent {
	m := r.rule.groups
	id, name := str(g, "id"), str(g, "displayName")
	scope := r.src.scope(id, "Group", r.syncAll, r.notAfter)
	env := r.src.env(g, "Group", !scope.inScope, scope)
	key := stateKey(env, scope)
	r.stats.imported++
	if scope.inScope {
		r.stats.entitled++
		r.stats.entitledForProvisioning++
	}
	if !r.due(id, key) || r.aborted != nil {
		return nil
	}
	linked := r.j.groups[id]
	now := r.now()
	ev := newEvent("Group", id, name, now)
	ev.targetType = m.targetObject
	if linked != nil {
		ev.targetID = linked.targetID
	}
	ev.step("EntryImport", "import", "success", fmt.Sprintf("Retrieved Group '%s' from Azure Active Directory", name), sourceDetails(env, "Group"), now)
	ev.step("EntrySynchronizationScoping", "scoping", "success", "Determine if Group in scope by evaluating against each scoping filter", map[string]string{
		"Assigned": tf(scope.assigned), "IsActive": "True", "IsEffectivelyEntitledForProvisioning": tf(scope.inScope),
		"IsInProvisioningScope": tf(scope.inScope), "ScopeEvaluationResult": "{}",
	}, r.now())
	if !scope.inScope {
		if linked == nil || !m.flowDelete {
			text := fmt.Sprintf("Group '%s' will be skipped: this object is not assigned to the application.", name)
			ev.step("EntrySynchronizationSkip", "export", "skipped", text, map[string]string{"SkipReason": "NotEffectivelyEntitled"}, r.now())
			ev.skip("NotEffectivelyEntitled", text)
			ev.modified = sourceProperties(env, "Group")
			r.done(id, key, ev)
			return ev
		}
		// A group leaving scope is deleted in the target (undocumented: the group deprovisioning diagram of ENTRA
		// use-scim-to-provision-users-and-groups.md exists only as an image; groups have no active attribute to
		// clear).
		ev.action = "delete"
		if r.stageDeletes {
			return r.stage(ev, "Group", name)
		}
		if err := r.client.remove(r.ctx, "Groups", linked.targetID); err != nil && !isNotFound(err) {
			ev.step("EntryExportDelete", "export", "failure", fmt.Sprintf("Failed to delete Group '%s' in customappsso", name), nil, r.now())
			r.failed(id, ev, err)
			return ev
		}
		ev.step("EntryExportDelete", "export", "success", fmt.Sprintf("Group '%s' was deleted in customappsso", name), nil, r.now())
		delete(r.j.groups, id)
		r.stats.exported++
		r.done(id, key, ev)
		return ev
	}
	desired, err := m.evaluate(env)
	if err != nil {
		ev.step("EntryExportAdd", "export", "failure", fmt.Sprintf("Failed to evaluate the attribute mappings of Group '%s'", name), nil, r.now())
		r.failed(id, ev, &exportError{code: "AttributeMappingEvaluationFailed", category: "failure", reason: err.Error()})
		return ev
	}
	// Every update is preceded by a query of the target (incremental cycles step 3 of ENTRA
	// how-provisioning-works.md), the group's displayName first, its id when it was renamed.
	var changes []attrChange
	{
		match := r.match(ev, "Groups", m, env, name, linked)
		if match == nil {
			return ev
		}
		if match.found == nil {
			return r.createGroup(id, key, name, ev, desired)
		}
		if linked == nil || linked.targetID != match.targetID {
			linked = &linkedObject{targetID: match.targetID}
		}
		linked.exported = targetValues(m, match.found)
		r.j.groups[id] = linked
		ev.targetID = linked.targetID
	}
	changes = diffExported(m, desired, linked.exported)
	if len(changes) == 0 {
		if !r.initial && !r.onDemand {
			r.done(id, key, nil)
			return nil
		}
		text := fmt.Sprintf("The state of the group in both the source and target systems already match. No change to the Group '%s' currently needs to be made.", name)
		ev.step("EntrySynchronizationSkip", "export", "skipped", text, map[string]string{"SkipReason": "RedundantExport"}, r.now())
		ev.skip("RedundantExport", "The state of the group in both the source and target systems already match.")
		r.done(id, key, ev)
		return ev
	}
	if !m.flowUpdate {
		r.done(id, key, nil)
		return nil
	}
	ev.action = "update"
	for _, ch := range changes {
		ev.modified = append(ev.modified, modifiedProperty{name: ch.mapping.target, old: ch.old, new: ch.new})
	}
	if err := r.client.patch(r.ctx, "Groups", linked.targetID, r.client.updateOps(changes)); err != nil {
		ev.step("EntryExportUpdate", "export", "failure", fmt.Sprintf("Failed to update Group '%s' in customappsso", name), nil, r.now())
		r.failed(id, ev, err)
		return ev
	}
	applyChanges(linked, changes)
	ev.step("EntryExportUpdate", "export", "success", fmt.Sprintf("Group '%s' was updated in customappsso", name), nil, r.now())
	r.stats.exported++
	r.done(id, key, ev)
	return ev
}

// createGroup POSTs the group with the ADSCIM schema and no members; members follow by PATCH once they exist
// in the target (ENTRA use-scim-to-provision-users-and-groups.md "Create Group").
func (r *runner) createGroup(id, key, name string, ev *provisioningEvent, desired map[string]string) *provisioningEvent {
	m := r.rule.groups
	if !m.flowAdd {
		r.done(id, key, nil)
		return nil
	}
	ev.action = "create"
	r.decision(ev, "EntrySynchronizationAdd",
		fmt.Sprintf("Group '%s' will be created in customappsso (Group is active and assigned in Azure Active Directory, but no matching Group was found in customappsso)", name))
	doc := map[string]any{"schemas": []any{scimGroupSchema, scimADGroupSchema}}
	sent := r.fill(doc, m, desired, ev)
	doc["meta"] = map[string]any{"resourceType": "Group"}
	targetID, err := r.client.create(r.ctx, "Groups", doc)
	if err != nil {
		ev.step("EntryExportAdd", "export", "failure", fmt.Sprintf("Failed to create Group '%s' in customappsso", name), map[string]string{"ReportableIdentifier": name}, r.now())
		r.failed(id, ev, err)
		return ev
	}
	r.j.groups[id] = &linkedObject{targetID: targetID, exported: sent}
	ev.targetID = targetID
	ev.step("EntryExportAdd", "export", "success", fmt.Sprintf("Group '%s' was created in customappsso", name), map[string]string{"ReportableIdentifier": name}, r.now())
	r.stats.exported++
	r.done(id, key, ev)
	return ev
}

// syncMembers brings a linked group's members in the target in line with its direct members in Entra that the
// service has provisioned (ENTRA known-issues.md: out-of-scope members are left out). only limits the members
// considered (on-demand runs provision the listed members only); nil considers all.
func (r *runner) syncMembers(g object, only []string) *provisioningEvent {
	m := r.rule.groups
	id, name := str(g, "id"), str(g, "displayName")
	linked := r.j.groups[id]
	if linked == nil || r.aborted != nil || !slices.ContainsFunc(m.attrs, func(a attrMapping) bool { return strings.EqualFold(a.target, "members") }) {
		return nil
	}
	var want []string
	for _, member := range r.src.members[id] {
		u, ok := r.j.users[member]
		if !ok || (only != nil && !slices.Contains(only, member)) {
			continue
		}
		want = append(want, u.targetID)
	}
	var add, remove []string
	for _, t := range want {
		if !slices.Contains(linked.members, t) {
			add = append(add, t)
		}
	}
	if only == nil {
		for _, t := range linked.members {
			if !slices.Contains(want, t) {
				remove = append(remove, t)
			}
		}
	}
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	r.stats.referenceDeltas++
	ev := newEvent("Group", id, name, r.now())
	ev.action, ev.targetID, ev.targetType = "update", linked.targetID, m.targetObject
	old := strings.Join(linked.members, ",")
	ev.step("EntryImport", "import", "success", fmt.Sprintf("Retrieved Group '%s' from Azure Active Directory", name), nil, r.now())
	ev.step("EntrySynchronizationUpdate", "referenceResolution", "success",
		fmt.Sprintf("Resolved the members of Group '%s' in customappsso: %d to add, %d to remove", name, len(add), len(remove)), nil, r.now())
	if err := r.client.patch(r.ctx, "Groups", linked.targetID, r.client.memberOps(add, remove)); err != nil {
		ev.step("EntryExportUpdate", "export", "failure", fmt.Sprintf("Failed to update the members of Group '%s' in customappsso", name), nil, r.now())
		r.failedReference(id, ev, err)
		return ev
	}
	delete(r.j.escrows, "reference:"+id)
	members := slices.DeleteFunc(slices.Clone(linked.members), func(t string) bool { return slices.Contains(remove, t) })
	linked.members = append(members, add...)
	updated := strings.Join(linked.members, ",")
	ev.modified = append(ev.modified, modifiedProperty{name: "members", old: &old, new: &updated})
	ev.step("EntryExportUpdate", "export", "success", fmt.Sprintf("Group '%s' was updated in customappsso", name), nil, r.now())
	r.stats.exported++
	return ev
}

// stage logs a disable or delete that accidental deletions prevention holds back: the provisioning logs show
// it with the action stagedDelete (ENTRA accidental-deletions.md: "filter Action with StagedAction or
// StagedDelete"), nothing is sent, and the object stays due for the next cycle. The skip reason's code is
// UNVERIFIED.
func (r *runner) stage(ev *provisioningEvent, kind, name string) *provisioningEvent {
	text := fmt.Sprintf("The %s '%s' was not disabled or deleted in customappsso: this cycle would disable or delete more objects than the accidental deletions threshold of %d.",
		kind, name, r.deleteThreshold)
	ev.action = "stagedDelete"
	ev.step("EntrySynchronizationSkip", "export", "skipped", text, map[string]string{"SkipReason": "StagedDelete"}, r.now())
	ev.skip("StagedDelete", text)
	r.stats.staged++
	return ev
}

// deletionsPlanned counts the disables and deletes this cycle would send: linked users that left scope, were
// disabled or deleted, and linked groups that left scope or were deleted. "When a user is set for removal from
// the target application ... it's counted against the deletion threshold ... Groups evaluated for deletion
// count towards the deletion threshold. In addition to deletions, the same functionality also works for
// disables." (ENTRA accidental-deletions.md)
func (r *runner) deletionsPlanned() int {
	n := 0
	if m := r.rule.users; m != nil && m.flowDelete {
		for id, linked := range r.j.users {
			u, ok := r.src.user(id)
			if !ok {
				if !linked.outOfScope {
					n++
				}
				continue
			}
			scope := r.src.scope(id, "User", r.syncAll, r.notAfter)
			if linked.active() && r.disables(scope) && (!scope.inScope || !boolean(u, "accountEnabled") || r.src.softDeleted[id]) {
				n++
			}
		}
	}
	if m := r.rule.groups; m != nil && m.flowDelete {
		for id := range r.j.groups {
			if _, ok := r.src.group(id); !ok || !r.src.scope(id, "Group", r.syncAll, r.notAfter).inScope {
				n++
			}
		}
	}
	return n
}

// disables reports whether the service disables a user of this scope that is no longer entitled: the user
// mappings set a target attribute from IsSoftDeleted ("If you see IsSoftDeleted in your attribute mappings, it's
// used to determine ... whether to send an update request with active = false", ENTRA
// how-provisioning-works.md), Delete is among the target object actions, and SkipOutOfScopeDeletions does not
// spare a user that left scope.
func (r *runner) disables(scope scopeInfo) bool {
	m := r.rule.users
	return m.flowDelete && (scope.inScope || !r.skipOutOfScopeDeletions) &&
		slices.ContainsFunc(m.attrs, func(a attrMapping) bool { return referencesAttr(a.expr, "IsSoftDeleted") })
}
