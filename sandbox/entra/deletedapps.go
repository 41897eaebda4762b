package entra

import (
	"slices"
	"time"
)

// Deleted applications and service principals. "Soft-deleted application and service principal objects go into
// the deleted items container and remain available to restore for up to 30 days. After 30 days, they're
// permanently deleted" (ENTRA enterprise-apps/delete-recover-faq.md). "Restoring an application doesn't
// restore the associated service principal automatically" (DOCS directory-deleteditems-restore.md): each is
// restored on its own. What hung off a deleted service principal (provisioning jobs, assignments, grants) is not
// kept: a restored one comes back without them.

// deletedObject is a soft-deleted application or service principal.
type deletedObject struct {
	rec     *record
	kind    string // "application" or "servicePrincipal"
	deleted time.Time
}

// softDeleteObject moves an application or service principal record to the deleted items. Call with t.mu held.
func (t *Tenant) softDeleteObject(kind string, r *record) {
	if r == nil {
		return
	}
	r.data["deletedDateTime"] = t.now().UTC().Format(time.RFC3339)
	t.st.deletedObjects[str(r.data, "id")] = &deletedObject{rec: r, kind: kind, deleted: t.now()}
}

// purgeDeletedObjects permanently deletes what was deleted more than 30 days ago. Call with t.mu held.
func (t *Tenant) purgeDeletedObjects() {
	for id, d := range t.st.deletedObjects {
		if t.now().Sub(d.deleted) >= softDeleteRetention {
			delete(t.st.deletedObjects, id)
		}
	}
}

// deletedObjectsOf lists the deleted objects of one kind, oldest deletion first. Call with t.mu held.
func (t *Tenant) deletedObjectsOf(kind string) []object {
	t.purgeDeletedObjects()
	var recs []*deletedObject
	for _, d := range t.st.deletedObjects {
		if d.kind == kind {
			recs = append(recs, d)
		}
	}
	slices.SortFunc(recs, func(a, b *deletedObject) int { return a.rec.seq - b.rec.seq })
	out := make([]object, 0, len(recs))
	for _, d := range recs {
		out = append(out, deepCopy(d.rec.data))
	}
	return out
}

// listDeletedApplications is GET /directory/deletedItems/microsoft.graph.application (DOCS
// directory-deleteditems-list.md).
func (t *Tenant) listDeletedApplications(c *call) response {
	t.mu.Lock()
	items := t.deletedObjectsOf("application")
	t.mu.Unlock()
	col := applicationCollection()
	col.context = "directory/deletedItems/microsoft.graph.application"
	return t.page(c, col, items)
}

// listDeletedServicePrincipals is GET /directory/deletedItems/microsoft.graph.servicePrincipal.
func (t *Tenant) listDeletedServicePrincipals(c *call) response {
	t.mu.Lock()
	items := t.deletedObjectsOf("servicePrincipal")
	t.mu.Unlock()
	col := servicePrincipalCollection()
	col.context = "directory/deletedItems/microsoft.graph.servicePrincipal"
	return t.page(c, col, items)
}

// deletedObjectOf finds {id} among the deleted applications and service principals. Call with t.mu held.
func (t *Tenant) deletedObjectOf(id string) (*deletedObject, bool) {
	t.purgeDeletedObjects()
	d, ok := t.st.deletedObjects[id]
	return d, ok
}

// restoreObject brings a deleted application or service principal back. Call with t.mu held.
func (t *Tenant) restoreObject(d *deletedObject) object {
	id := str(d.rec.data, "id")
	delete(t.st.deletedObjects, id)
	d.rec.data["deletedDateTime"] = nil
	if d.kind == "application" {
		t.st.apps[id] = d.rec
	} else {
		t.st.sps[id] = d.rec
	}
	t.st.touch()
	out := deepCopy(d.rec.data)
	out["@odata.type"] = "#microsoft.graph." + d.kind
	return out
}

// deletedItemPermitted applies the permission of the deleted item's own type (DOCS
// directory-deleteditems-restore.md lists one per type: Application.ReadWrite.All for an application,
// User.ReadWrite.All for a user). write is false for reads.
func (t *Tenant) deletedItemPermitted(c *call, write bool) bool {
	t.mu.Lock()
	_, isObject := t.st.deletedObjects[c.param("id")]
	t.mu.Unlock()
	key := map[bool]map[bool]string{true: {true: "app.write", false: "app.read"}, false: {true: "user.write", false: "user.read"}}[isObject][write]
	return t.permitted(t.permissions()[key], c.caller)
}
