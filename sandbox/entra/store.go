package entra

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"
)

// object is a Graph entity as JSON values (string, float64, bool, nil, []any, map[string]any). Keeping entities
// as JSON lets PATCH, $select and $filter work on any property exactly as the client sent it.
type object = map[string]any

// record is one stored entity.
type record struct {
	seq  int
	data object
	// lag is the number of reads and writes that still do not see the object: replication lag (Faults).
	lag int
}

// syncJob is a provisioning job of a service principal. schema is kept as raw JSON: the engine interprets it,
// and a client's PUT must come back byte-for-byte equivalent.
type syncJob struct {
	seq    int
	spID   string
	data   object // id, templateId, schedule, status, synchronizationJobSettings
	schema json.RawMessage
	lag    int
}

// secretPair is one saved synchronization secret (BaseAddress, SecretToken, ...).
type secretPair struct {
	Key   string
	Value string
}

// store is the whole directory. Every access holds Tenant.mu.
type store struct {
	seq          int
	users        map[string]*record
	deletedUsers map[string]*deletedUser // soft-deleted users, restorable for 30 days (deleteditems.go)
	// deletedObjects are soft-deleted applications and service principals, restorable for 30 days (deletedapps.go).
	deletedObjects map[string]*deletedObject
	groups         map[string]*record
	apps           map[string]*record
	sps            map[string]*record
	assignments    map[string]*record
	grants         map[string]*record
	members        map[string][]string // group id -> member object ids, in the order added
	managers       map[string]string   // user id -> the id of the user's manager (managers.go)
	roleMembers    map[string][]string // directory role template id -> user ids
	roleObjects    map[string]object   // directory role template id -> activated directoryRole object
	skus           []object
	jobs           map[string]*syncJob
	secrets        map[string][]secretPair        // service principal id -> saved secrets
	provisioning   []object                       // provisioningObjectSummary entries, oldest first
	onDemand       map[string][]time.Time         // job id -> times of recent provisionOnDemand calls
	syncLag        map[string]int                 // service principal id -> synchronization calls still refused
	indexes        map[directoryName]*searchIndex // $search indexes, built on first use; touch drops them
}

func newStore() *store {
	return &store{
		users:          map[string]*record{},
		deletedUsers:   map[string]*deletedUser{},
		deletedObjects: map[string]*deletedObject{},
		groups:         map[string]*record{},
		apps:           map[string]*record{},
		sps:            map[string]*record{},
		assignments:    map[string]*record{},
		grants:         map[string]*record{},
		members:        map[string][]string{},
		managers:       map[string]string{},
		roleMembers:    map[string][]string{},
		roleObjects:    map[string]object{},
		jobs:           map[string]*syncJob{},
		secrets:        map[string][]secretPair{},
		onDemand:       map[string][]time.Time{},
		syncLag:        map[string]int{},
		indexes:        map[directoryName]*searchIndex{},
	}
}

func (s *store) add(m map[string]*record, data object, lag int) *record {
	s.seq++
	r := &record{seq: s.seq, data: data, lag: lag}
	m[data["id"].(string)] = r
	s.indexAdded(m, r)
	return r
}

// get looks an object up by id the way a client request does: an object still replicating is not found, and
// each such miss brings it one step closer to visible.
func (s *store) get(m map[string]*record, id string) (*record, bool) {
	r, ok := m[id]
	if !ok {
		return nil, false
	}
	if r.lag > 0 {
		r.lag--
		return nil, false
	}
	return r, true
}

// list returns the visible objects in creation order; objects still replicating are left out (and counted).
func (s *store) list(m map[string]*record) []*record {
	out := make([]*record, 0, len(m))
	for _, r := range m {
		if r.lag > 0 {
			r.lag--
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *record) int { return a.seq - b.seq })
	return out
}

// directoryObject finds a user, group or service principal by id without replication effects, for checks the
// service makes internally (an assignment's principal, a group member).
func (s *store) directoryObject(id string) (object, string, bool) {
	if r, ok := s.users[id]; ok {
		return r.data, "User", true
	}
	if r, ok := s.groups[id]; ok {
		return r.data, "Group", true
	}
	if r, ok := s.sps[id]; ok {
		return r.data, "ServicePrincipal", true
	}
	return nil, "", false
}

// liveMembers are a group's members without the soft-deleted users, whose memberships wait for a restore.
func (s *store) liveMembers(groupID string) []string {
	return slices.DeleteFunc(slices.Clone(s.members[groupID]), func(id string) bool { _, deleted := s.deletedUsers[id]; return deleted })
}

func (s *store) rolesOf(userID string) []string {
	var out []string
	for role, members := range s.roleMembers {
		if slices.Contains(members, userID) {
			out = append(out, role)
		}
	}
	slices.Sort(out)
	return out
}

func (s *store) groupsOf(memberID string) []string {
	var out []string
	for _, r := range s.list(s.groups) {
		id := r.data["id"].(string)
		if slices.Contains(s.members[id], memberID) {
			out = append(out, id)
		}
	}
	return out
}

func (s *store) spByAppID(appID string) (*record, bool) {
	for _, r := range s.sps {
		if r.data["appId"] == appID {
			return r, true
		}
	}
	return nil, false
}

// deepCopy clones a JSON value so callers outside the lock cannot alias stored state. It gives what a JSON
// round trip would, without encoding: pages of a 10,000-member group and the provisioning service's view of a
// 100,000-user directory copy every object they read.
func deepCopy(o object) object {
	if o == nil {
		return nil
	}
	out, _ := copyJSONValue(o).(object)
	return out
}

// copyJSONValue copies the values encoding/json decodes to (maps, slices, strings, float64, bool, nil) directly
// and anything else stored as it was written through JSON, which turns it into those.
func copyJSONValue(v any) any {
	switch v := v.(type) {
	case nil, string, float64, bool:
		return v
	case map[string]any:
		if v == nil {
			return nil
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = copyJSONValue(e)
		}
		return out
	case []any:
		if v == nil {
			return nil
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyJSONValue(e)
		}
		return out
	}
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(err)
	}
	return out
}

func str(o object, key string) string {
	s, _ := o[key].(string)
	return s
}

func strs(o object, key string) []string {
	raw, _ := o[key].([]any)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func boolean(o object, key string) bool {
	b, _ := o[key].(bool)
	return b
}

func objects(o object, key string) []object {
	raw, _ := o[key].([]any)
	out := make([]object, 0, len(raw))
	for _, v := range raw {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func newID() string { return uuid.NewString() }

// directoryRoleNames are the roles every tenant defines that idpctl cares about.
func directoryRoleNames() map[string]string {
	return map[string]string{
		RoleGlobalAdministrator:           "Global Administrator",
		RoleApplicationAdministrator:      "Application Administrator",
		RoleCloudApplicationAdministrator: "Cloud Application Administrator",
		RolePrivilegedRoleAdministrator:   "Privileged Role Administrator",
		RoleUserAdministrator:             "User Administrator",
		RoleGroupsAdministrator:           "Groups Administrator",
		RoleGlobalReader:                  "Global Reader",
		RoleReportsReader:                 "Reports Reader",
		RoleSecurityReader:                "Security Reader",
		RoleSecurityAdministrator:         "Security Administrator",
		RoleHybridIdentityAdministrator:   "Hybrid Identity Administrator",
	}
}

// seedBuiltins adds what every tenant has: activated directory roles and the Microsoft Graph service principal
// with the delegated scope ids every tenant's Graph service principal publishes.
func (t *Tenant) seedBuiltins() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for template, name := range directoryRoleNames() {
		t.st.roleObjects[template] = object{
			"@odata.type":     "#microsoft.graph.directoryRole",
			"id":              newID(),
			"deletedDateTime": nil,
			"description":     name + " role.",
			"displayName":     name,
			"roleTemplateId":  template,
		}
	}
	scope := func(id, value, kind, display string) any {
		return object{
			"id": id, "value": value, "type": kind, "isEnabled": true,
			"adminConsentDisplayName": display, "adminConsentDescription": display + ".",
			"userConsentDisplayName": display, "userConsentDescription": display + ".",
		}
	}
	role := func(id, value, display string) any {
		return object{
			"id": id, "value": value, "displayName": display, "description": display + ".",
			"allowedMemberTypes": []any{"Application"}, "isEnabled": true, "origin": "Application",
		}
	}
	graph := object{
		"id":                        newID(),
		"deletedDateTime":           nil,
		"accountEnabled":            true,
		"appId":                     GraphAppID,
		"appDisplayName":            "Microsoft Graph",
		"appOwnerOrganizationId":    "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
		"appRoleAssignmentRequired": false,
		"displayName":               "Microsoft Graph",
		"servicePrincipalNames":     []any{GraphAppID, "https://graph.microsoft.com", "https://graph.microsoft.com/"},
		"servicePrincipalType":      "Application",
		"signInAudience":            "AzureADMultipleOrgs",
		"tags":                      []any{},
		"appRoles": []any{
			role("df021288-bdef-4463-88db-98f22de89214", "User.Read.All", "Read all users' full profiles"),
			role("7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All", "Read directory data"),
			role("1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "Application.ReadWrite.All", "Read and write all applications"),
		},
		"oauth2PermissionScopes": []any{
			scope("37f7f235-527c-4136-accd-4a02d197296e", "openid", "User", "Sign users in"),
			scope("14dad69e-099b-42c9-810b-d002981feec1", "profile", "User", "View users' basic profile"),
			scope("64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "email", "User", "View users' email address"),
			scope("7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "offline_access", "User", "Maintain access to data you have given it access to"),
			scope("e1fe6dd8-ba31-4d61-89e7-88639da4683d", "User.Read", "User", "Sign in and read user profile"),
			scope("a154be20-db9c-4678-8ab7-66f6cc099a59", "User.Read.All", "Admin", "Read all users' full profiles"),
			scope("06da0dbc-49e2-44d2-8312-53f166ab848a", "Directory.Read.All", "Admin", "Read directory data"),
			scope("5f8c59db-677d-491f-a6b8-5f174b11ec1d", "Group.Read.All", "Admin", "Read all groups"),
		},
	}
	t.st.add(t.st.sps, graph, 0)
}
