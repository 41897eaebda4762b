package entra

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"
)

// sourceDirectory is the provisioning service's read of the tenant at the start of a run: every user and group
// with its members, and the assignments to the job's service principal. The engine reads it as the service does,
// internally, so replication lag of Graph reads does not apply.
type sourceDirectory struct {
	spID          string
	spDisplayName string
	appID         string
	users         []object        // in creation order, soft-deleted ones included
	softDeleted   map[string]bool // user id → in the deleted items (restorable; its scope is kept)
	groups        []object
	members       map[string][]string // group id → direct member ids
	// userByID, groupByID and memberSet index the lists above: a cycle looks objects and memberships up for
	// every user, which scanning made quadratic in a 100,000-user directory.
	userByID, groupByID map[string]object
	memberSet           map[string]map[string]bool // group id → its direct member ids
	managers            map[string]string          // user id → its manager's id, as Graph shows it (both users live)
	assignments         []AppRoleAssignment
	roles               map[string]assignedRole // app role id (lower-case) → role
	exists              bool
}

func (t *Tenant) provisioningSource(spID string) sourceDirectory {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.purgeDeletedUsers()
	d := sourceDirectory{
		spID: spID, members: map[string][]string{}, managers: map[string]string{}, roles: map[string]assignedRole{}, softDeleted: map[string]bool{},
		userByID: map[string]object{}, groupByID: map[string]object{}, memberSet: map[string]map[string]bool{},
	}
	sp, ok := t.st.sps[spID]
	if !ok {
		return d
	}
	d.exists = true
	d.spDisplayName, d.appID = str(sp.data, "displayName"), str(sp.data, "appId")
	for _, r := range objects(sp.data, "appRoles") {
		d.roles[strings.ToLower(str(r, "id"))] = assignedRole{DisplayName: str(r, "displayName"), Value: str(r, "value")}
	}
	users := slices.Collect(maps.Values(t.st.users))
	for id, del := range t.st.deletedUsers {
		users = append(users, del.rec)
		d.softDeleted[id] = true
	}
	slices.SortFunc(users, func(a, b *record) int { return a.seq - b.seq })
	for _, r := range users {
		u := deepCopy(r.data)
		d.users = append(d.users, u)
		if _, seen := d.userByID[str(u, "id")]; !seen {
			d.userByID[str(u, "id")] = u
		}
	}
	for user, manager := range t.st.managers {
		_, userLive := t.st.users[user]
		_, managerLive := t.st.users[manager]
		if userLive && managerLive {
			d.managers[user] = manager
		}
	}
	for _, r := range sortedRecords(t.st.groups) {
		g := deepCopy(r.data)
		d.groups = append(d.groups, g)
		id := str(g, "id")
		d.groupByID[id] = g
		d.members[id] = slices.Clone(t.st.members[id])
		d.memberSet[id] = make(map[string]bool, len(d.members[id]))
		for _, m := range d.members[id] {
			d.memberSet[id][m] = true
		}
	}
	for _, r := range sortedRecords(t.st.assignments) {
		if str(r.data, "resourceId") == spID {
			d.assignments = append(d.assignments, assignmentView(r.data))
		}
	}
	return d
}

// scopeInfo is what the scoping step decides about one object.
type scopeInfo struct {
	// assigned: the object, or (for users) a group it is a direct member of, is assigned to the app.
	assigned bool
	// inScope: assigned, or the job syncs all users and groups (secret SyncAll).
	inScope bool
	roles   []assignedRole
}

// scope evaluates assignment of a user or group. Only direct members of assigned groups count (nested groups
// are not provisioned, ENTRA how-provisioning-works.md). Assignments created after notAfter are not seen yet
// (on-demand provisioning's replication delay, ENTRA provision-on-demand.md).
func (d *sourceDirectory) scope(id, kind string, syncAll bool, notAfter time.Time) scopeInfo {
	var s scopeInfo
	visible := func(a AppRoleAssignment) bool { return notAfter.IsZero() || !a.CreatedDateTime.After(notAfter) }
	addRole := func(roleID string) {
		if r, ok := d.roles[strings.ToLower(roleID)]; ok && !slices.Contains(s.roles, r) {
			s.roles = append(s.roles, r)
		}
	}
	for _, a := range d.assignments {
		if !visible(a) {
			continue
		}
		switch {
		case a.PrincipalID == id:
			s.assigned = true
			addRole(a.AppRoleID)
		case kind == "User" && a.PrincipalType == "Group" && d.memberSet[a.PrincipalID][id]:
			s.assigned = true
			addRole(a.AppRoleID)
		}
	}
	s.inScope = s.assigned || syncAll
	return s
}

func (d *sourceDirectory) user(id string) (object, bool) {
	u, ok := d.userByID[id]
	return u, ok
}

func (d *sourceDirectory) group(id string) (object, bool) {
	g, ok := d.groupByID[id]
	return g, ok
}

func (d *sourceDirectory) isUser(id string) bool {
	_, ok := d.user(id)
	return ok
}

// sourceAliases are the names the "Azure Active Directory" directory of the schema gives Graph properties
// (ENTRA customize-application-attributes.md lists the source attributes by these names).
func sourceAliases() map[string]string {
	return map[string]string{
		"objectid":                   "id",
		"physicaldeliveryofficename": "officeLocation",
		"mobile":                     "mobilePhone",
		"facsimiletelephonenumber":   "faxNumber",
	}
}

// env builds the attributes an expression sees for a user or group: every Graph property by its name, the
// directory schema's names for the renamed ones, IsSoftDeleted (computed: out of scope, disabled, or deleted,
// ENTRA customize-application-attributes.md), appRoleAssignments, and the references: a group's members, a user's
// manager (its object id).
func (d *sourceDirectory) env(o object, kind string, softDeleted bool, scope scopeInfo) *exprEnv {
	env := &exprEnv{attrs: map[string]value{}, roles: scope.roles}
	for k, v := range o {
		env.attrs[strings.ToLower(k)] = jsonValue(v)
	}
	for alias, prop := range sourceAliases() {
		env.attrs[alias] = jsonValue(o[prop])
	}
	if kind == "User" {
		// "When the userPrincipalName attribute is included in your attribute mappings as a source attribute,
		// and a B2B user is being provisioned, the #EXT# and your domain is stripped from the
		// userPrincipalName, so only their original alias@theirdomain is used for matching or provisioning";
		// originalUserPrincipalName keeps the whole name (ENTRA how-provisioning-works.md, B2B (guest) users).
		upn := str(o, "userPrincipalName")
		env.attrs["originaluserprincipalname"] = single(upn)
		env.attrs["userprincipalname"] = single(guestAddress(upn))
		if phones := strs(o, "businessPhones"); len(phones) > 0 {
			env.attrs["telephonenumber"] = single(phones[0])
		}
		var roleNames value
		for _, r := range scope.roles {
			roleNames = append(roleNames, r.DisplayName)
		}
		env.attrs["approleassignments"] = roleNames
		env.attrs["manager"] = nil
		if manager, ok := d.managers[str(o, "id")]; ok {
			env.attrs["manager"] = single(manager)
		}
	}
	if kind == "Group" {
		env.attrs["members"] = value(d.members[str(o, "id")])
	}
	env.attrs["issoftdeleted"] = boolValue(softDeleted)
	return env
}

func jsonValue(v any) value {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return single(v)
	case bool:
		return boolValue(v)
	case float64:
		raw, _ := json.Marshal(v)
		return single(string(raw))
	case []any:
		var out value
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// stateKey is a fingerprint of everything that decides what the engine sends for an object; an incremental
// cycle processes only objects whose fingerprint moved since it last processed them (Entra's watermark).
func stateKey(env *exprEnv, scope scopeInfo, extra ...string) string {
	keys := make([]string, 0, len(env.attrs))
	for k := range env.attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strings.Join(env.attrs[k], "\x1f"))
		b.WriteByte('\x1e')
	}
	if scope.inScope {
		b.WriteString("inScope")
	}
	for _, e := range extra {
		b.WriteString(e)
	}
	return b.String()
}

// guestAddress turns a B2B user's alias_theirdomain#EXT#@yourdomain back into alias@theirdomain; other names
// are returned as they are.
func guestAddress(upn string) string {
	i := strings.Index(strings.ToUpper(upn), "#EXT#")
	if i < 0 {
		return upn
	}
	local := upn[:i]
	at := strings.LastIndexByte(local, '_')
	if at < 0 {
		return local
	}
	return local[:at] + "@" + local[at+1:]
}
