package entra

import (
	"slices"
	"time"
)

// Deleted users. "When deleted, user resources are moved to a temporary container and can be restored within 30
// days. After that time, they're permanently deleted." (DOCS api-reference/v1.0/api/user-delete.md). A deleted
// user keeps its group memberships and app role assignments in the store, hidden from Graph reads (which find
// members and principals among live objects only), so a restore brings them back (DOCS
// directory-deleteditems-restore.md); the provisioning service sees the user as soft-deleted (IsSoftDeleted) and
// disables it in the target, and deletes it there only once it is permanently deleted
// (ENTRA how-provisioning-works.md, "Deprovisioning").

// softDeleteRetention is how long a deleted user can be restored.
const softDeleteRetention = 30 * 24 * time.Hour

// deletedUser is a soft-deleted user: its record, out of store.users, and when it was deleted.
type deletedUser struct {
	rec     *record
	deleted time.Time
}

func deletedUserCollection() collection {
	col := userCollection("directory/deletedItems/microsoft.graph.user")
	col.filterable = append(col.filterable, "deletedDateTime")
	return col
}

// softDeleteUser moves a user to the deleted items. Call with t.mu held.
func (t *Tenant) softDeleteUser(r *record) {
	id := str(r.data, "id")
	delete(t.st.users, id)
	r.data["deletedDateTime"] = t.now().UTC().Format(time.RFC3339)
	t.st.deletedUsers[id] = &deletedUser{rec: r, deleted: t.now()}
	t.st.touch()
}

// purgeDeletedUsers permanently deletes users deleted more than 30 days ago. Call with t.mu held.
func (t *Tenant) purgeDeletedUsers() {
	for id, d := range t.st.deletedUsers {
		if t.now().Sub(d.deleted) >= softDeleteRetention {
			t.hardDeleteUser(id)
		}
	}
}

// hardDeleteUser removes a deleted user with its group memberships, role memberships, app role assignments,
// grants and manager links. Call with t.mu held.
func (t *Tenant) hardDeleteUser(id string) {
	delete(t.st.deletedUsers, id)
	t.st.forgetManagerLinks(id)
	for gid, members := range t.st.members {
		t.st.members[gid] = slices.DeleteFunc(members, func(m string) bool { return m == id })
	}
	for role, members := range t.st.roleMembers {
		t.st.roleMembers[role] = slices.DeleteFunc(members, func(m string) bool { return m == id })
	}
	for aid, a := range t.st.assignments {
		if a.data["principalId"] == id {
			delete(t.st.assignments, aid)
		}
	}
	for gid, g := range t.st.grants {
		if g.data["principalId"] == id {
			delete(t.st.grants, gid)
		}
	}
}

// deletedUserObjects lists the deleted users, oldest deletion first. Call with t.mu held.
func (t *Tenant) deletedUserObjects() []object {
	t.purgeDeletedUsers()
	var recs []*deletedUser
	for _, d := range t.st.deletedUsers {
		recs = append(recs, d)
	}
	slices.SortFunc(recs, func(a, b *deletedUser) int { return a.rec.seq - b.rec.seq })
	out := make([]object, 0, len(recs))
	for _, d := range recs {
		out = append(out, deepCopy(d.rec.data))
	}
	return out
}

// listDeletedUsers is GET /directory/deletedItems/microsoft.graph.user (DOCS directory-deleteditems-list.md).
func (t *Tenant) listDeletedUsers(c *call) response {
	t.mu.Lock()
	items := t.deletedUserObjects()
	t.mu.Unlock()
	return t.page(c, deletedUserCollection(), items)
}

// deletedUserOf resolves {id} among the deleted users. Call with t.mu held.
func (t *Tenant) deletedUserOf(c *call) (*deletedUser, *graphError) {
	t.purgeDeletedUsers()
	d, ok := t.st.deletedUsers[c.param("id")]
	if !ok {
		return nil, errResourceNotFound(c.param("id"))
	}
	return d, nil
}

// getDeletedItem is GET /directory/deletedItems/{id} (DOCS directory-deleteditems-get.md).
func (t *Tenant) getDeletedItem(c *call) response {
	if !t.deletedItemPermitted(c, false) {
		return c.fail(errInsufficientPrivileges(), t.now())
	}
	t.mu.Lock()
	if d, ok := t.deletedObjectOf(c.param("id")); ok {
		out := deepCopy(d.rec.data)
		out["@odata.type"] = "#microsoft.graph." + d.kind
		t.mu.Unlock()
		return t.entity(c, "directory/deletedItems", out)
	}
	d, err := t.deletedUserOf(c)
	var out object
	if err == nil {
		out = deepCopy(d.rec.data)
		out["@odata.type"] = "#microsoft.graph.user"
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	return t.entity(c, "directory/deletedItems", out)
}

// restoreDeletedItem is POST /directory/deletedItems/{id}/restore (DOCS directory-deleteditems-restore.md): 200
// with the restored user, back with its memberships and assignments.
func (t *Tenant) restoreDeletedItem(c *call) response {
	if !t.deletedItemPermitted(c, true) {
		return c.fail(errInsufficientPrivileges(), t.now())
	}
	t.mu.Lock()
	if d, ok := t.deletedObjectOf(c.param("id")); ok {
		out := t.restoreObject(d)
		t.mu.Unlock()
		return t.entity(c, "directoryObjects", out)
	}
	d, err := t.deletedUserOf(c)
	var out object
	if err == nil && t.upnTaken(str(d.rec.data, "userPrincipalName")) {
		err = errUPNTaken()
	}
	if err == nil {
		id := str(d.rec.data, "id")
		delete(t.st.deletedUsers, id)
		d.rec.data["deletedDateTime"] = nil
		t.st.users[id] = d.rec
		t.st.touch()
		out = deepCopy(d.rec.data)
		out["@odata.type"] = "#microsoft.graph.user"
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	return t.entity(c, "directoryObjects", out)
}

// deleteDeletedItem is DELETE /directory/deletedItems/{id} (DOCS directory-deleteditems-delete.md): the user is
// permanently deleted, 204.
func (t *Tenant) deleteDeletedItem(c *call) response {
	if !t.deletedItemPermitted(c, true) {
		return c.fail(errInsufficientPrivileges(), t.now())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.deletedObjectOf(c.param("id")); ok {
		delete(t.st.deletedObjects, c.param("id"))
		return noContent()
	}
	if _, err := t.deletedUserOf(c); err != nil {
		return c.fail(err, t.now())
	}
	t.hardDeleteUser(c.param("id"))
	return noContent()
}

// DeletedUsers lists the soft-deleted users (restorable for 30 days).
func (t *Tenant) DeletedUsers() []User {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []User
	for _, o := range t.deletedUserObjects() {
		out = append(out, userView(o))
	}
	return out
}
