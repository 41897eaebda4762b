package entra

import (
	"fmt"
	"strings"
)

// A user's reference attributes: the manager, which the default mapping sends to the enterprise extension's
// manager (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager ← [manager]). Microsoft's pages
// on how the service handles it, and what the code below does with each:
//
//   - "If the attribute mappings contain "reference" attributes, the service does more updates on the target
//     system to create and link the referenced objects. For example, a user may have a "Manager" attribute in
//     the target system, which is linked to another user created in the target system." (ENTRA
//     how-provisioning-works.md, step 6 of both cycles). The user is created without its manager; the manager
//     follows in a PATCH of its own, after every user of the cycle, carrying the manager's id in the target.
//   - "If a user and their manager are both in scope for provisioning, the service provisions the user and then
//     updates the manager. If on day one the user is in scope and the manager is out of scope, we'll provision
//     the user without the manager reference. When the manager comes into scope, the manager reference won't be
//     updated until you restart provisioning and cause the service to reevaluate all the users again." (ENTRA
//     known-issues.md, "Manager isn't provisioned"). A reference is resolved only for the users a cycle
//     evaluates (every user in an initial cycle; in an incremental one those that changed), and only to a
//     manager in scope that the service has provisioned; a manager coming into scope does not make its reports
//     change.
//   - "Microsoft Entra ID checks the current attribute value in the identity store before updating it. However,
//     only the manager attribute is the checked first for users." (ENTRA use-scim-to-provision-users-and-groups.md,
//     Example 4). The check reads manager.value from the answer of the lookup that precedes every update; a
//     manager the target already has is not sent again. The separate query of Example 4 is given there only as
//     the sample library's parameters, not as a request: it is not sent.
//   - The request: Example 5 of the same page sends {"op":"Add","path":"manager","value":[{"$ref":…,"value":
//     "<id>"}]}, a sample of the library that predates the enterprise extension's URN paths; the same page's
//     user schema example has the enterprise manager as the bare id ("manager": "123456"), Microsoft answered
//     "we are only sending ID" (Microsoft Q&A 188003), and the path of an update is the target attribute's name
//     (ENTRA application-provisioning-config-problem-scim-compatibility.md samples). So: the target attribute as
//     path, the manager's id in the target as value, Add when the target has none and Replace otherwise, in the
//     job's dialect.
//   - A user whose manager is removed keeps it in the target: "Microsoft Entra ID currently can't provision null
//     attributes" (ENTRA known-issues.md), unless the target attribute lets nulls flow (flowNullValues).
//   - A failed manager update is a reference failure: escrowed apart from the user, counted only toward the
//     absolute escrow threshold ("40,000 users failed and 21,000 manager updates failed",
//     application-provisioning-quarantine-status.md).

// referenceMappings are the mappings of reference attributes other than group members.
func (m *objectMapping) referenceMappings() []attrMapping {
	var out []attrMapping
	for _, a := range m.attrs {
		if a.def.reference && !strings.EqualFold(a.target, "members") {
			out = append(out, a)
		}
	}
	return out
}

// referenceValues reads a target user's reference attributes: the id in their value sub-attribute (RFC 7643
// §4.3: manager is complex, {"value": id, "$ref": uri}).
func referenceValues(m *objectMapping, found map[string]any) map[string]string {
	out := map[string]string{}
	for _, a := range m.referenceMappings() {
		p := a.path
		if p.sub == "" {
			p.sub = "value"
		}
		if v, ok := p.get(found); ok && v != "" {
			out[a.target] = v
		}
	}
	return out
}

// syncUserReferences resolves the references of the users this cycle evaluated (a failed reference update
// makes its user due again), and PATCHes those the target does not have yet.
func (r *runner) syncUserReferences() {
	refs := r.rule.users.referenceMappings()
	if len(refs) == 0 || r.aborted != nil {
		return
	}
	for _, u := range r.src.users {
		if r.stop() {
			return
		}
		if r.evaluated[str(u, "id")] {
			r.record(r.syncReferences(u, refs))
		}
	}
}

// syncReferences brings one user's references in the target in line with the source.
func (r *runner) syncReferences(u object, refs []attrMapping) *provisioningEvent {
	m := r.rule.users
	id, upn := str(u, "id"), str(u, "userPrincipalName")
	linked := r.j.users[id]
	if _, failed := r.j.escrows[id]; failed && linked != nil {
		// Its own export failed: its references wait for it.
		return nil
	}
	scope := r.src.scope(id, "User", r.syncAll, r.notAfter)
	if linked == nil || !scope.inScope || !boolean(u, "accountEnabled") || r.src.softDeleted[id] {
		// Not in the target, or no longer provisioned: a reference update that failed is moot.
		delete(r.j.escrows, "reference:"+id)
		return nil
	}
	env := r.src.env(u, "User", false, scope)
	var changes []attrChange
	var resolved []string
	for _, a := range refs {
		want, name := r.referencedTarget(a, env)
		old, had := linked.references[a.target]
		var oldPtr *string
		if had {
			oldPtr = &old
		}
		switch {
		case want != "" && want != old:
			changes = append(changes, attrChange{mapping: a, old: oldPtr, new: &want})
			resolved = append(resolved, fmt.Sprintf("%s '%s'", a.path.attr, name))
		case want == "" && had && a.def.flowNullValues:
			changes = append(changes, attrChange{mapping: a, old: oldPtr})
			resolved = append(resolved, fmt.Sprintf("no %s", a.path.attr))
		}
	}
	if len(changes) == 0 {
		delete(r.j.escrows, "reference:"+id)
		return nil
	}
	r.stats.referenceDeltas++
	ev := newEvent("User", id, upn, r.now())
	ev.action, ev.targetID, ev.targetType = "update", linked.targetID, m.targetObject
	ev.step("EntryImport", "import", "success", fmt.Sprintf("Retrieved User '%s' from Azure Active Directory", upn), nil, r.now())
	ev.step("EntrySynchronizationUpdate", "referenceResolution", "success",
		fmt.Sprintf("Resolved the references of User '%s' in customappsso: %s", upn, strings.Join(resolved, ", ")), nil, r.now())
	for _, ch := range changes {
		ev.modified = append(ev.modified, modifiedProperty{name: ch.mapping.target, old: ch.old, new: ch.new})
	}
	if err := r.client.patch(r.ctx, "Users", linked.targetID, r.client.updateOps(changes)); err != nil {
		ev.step("EntryExportUpdate", "export", "failure", fmt.Sprintf("Failed to update User '%s' in customappsso", upn), map[string]string{"ReportableIdentifier": upn}, r.now())
		r.failedReference(id, ev, err)
		return ev
	}
	delete(r.j.escrows, "reference:"+id)
	if linked.references == nil {
		linked.references = map[string]string{}
	}
	for _, ch := range changes {
		if ch.new == nil {
			delete(linked.references, ch.mapping.target)
		} else {
			linked.references[ch.mapping.target] = *ch.new
		}
	}
	ev.step("EntryExportUpdate", "export", "success", fmt.Sprintf("User '%s' was updated in customappsso", upn), map[string]string{"ReportableIdentifier": upn}, r.now())
	r.stats.exported++
	return ev
}

// referencedTarget evaluates a reference mapping to the source user it names and returns that user's id in the
// target and its name, or "" when it names none, or one out of scope or not provisioned: "we'll provision the
// user without the manager reference" (ENTRA known-issues.md).
func (r *runner) referencedTarget(a attrMapping, env *exprEnv) (string, string) {
	if a.exprErr != nil {
		return "", ""
	}
	v, err := a.expr.eval(env)
	if err != nil || v.isEmpty() {
		return "", ""
	}
	sourceID := v.first()
	linked := r.j.users[sourceID]
	referenced, ok := r.src.user(sourceID)
	if linked == nil || !ok || !r.src.scope(sourceID, "User", r.syncAll, r.notAfter).inScope {
		return "", ""
	}
	return linked.targetID, str(referenced, "userPrincipalName")
}
