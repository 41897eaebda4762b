package entra

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// The read accessors below let tests (and the provisioning engine) see tenant state without going through
// HTTP. They ignore replication lag and return copies.

// User is a directory user.
type User struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
	GivenName         string
	Surname           string
	// Mail is "" for a user without a mailbox (Graph's mail: null).
	Mail           string
	MailNickname   string
	JobTitle       string
	Department     string
	UserType       string
	AccountEnabled bool
	// Raw is the whole Graph object.
	Raw map[string]any
}

func userView(o object) User {
	return User{
		ID: str(o, "id"), UserPrincipalName: str(o, "userPrincipalName"), DisplayName: str(o, "displayName"),
		GivenName: str(o, "givenName"), Surname: str(o, "surname"), Mail: str(o, "mail"),
		MailNickname: str(o, "mailNickname"), JobTitle: str(o, "jobTitle"), Department: str(o, "department"),
		UserType: str(o, "userType"), AccountEnabled: boolean(o, "accountEnabled"), Raw: deepCopy(o),
	}
}

// Group is a directory group with its direct members.
type Group struct {
	ID              string
	DisplayName     string
	Description     string
	MailNickname    string
	SecurityEnabled bool
	MemberIDs       []string
	Raw             map[string]any
}

func (t *Tenant) groupView(o object) Group {
	id := str(o, "id")
	return Group{
		ID: id, DisplayName: str(o, "displayName"), Description: str(o, "description"),
		MailNickname: str(o, "mailNickname"), SecurityEnabled: boolean(o, "securityEnabled"),
		MemberIDs: t.st.liveMembers(id), Raw: deepCopy(o),
	}
}

// Application is an app registration.
type Application struct {
	ID                  string
	AppID               string
	DisplayName         string
	SignInAudience      string
	RedirectURIs        []string
	IdentifierURIs      []string
	Tags                []string
	PasswordCredentials []PasswordCredential
	Raw                 map[string]any
}

// PasswordCredential is a client secret as stored: the secret text itself is never kept.
type PasswordCredential struct {
	KeyID         string
	DisplayName   string
	Hint          string
	StartDateTime time.Time
	EndDateTime   time.Time
}

func applicationView(o object) Application {
	web, _ := o["web"].(map[string]any)
	a := Application{
		ID: str(o, "id"), AppID: str(o, "appId"), DisplayName: str(o, "displayName"),
		SignInAudience: str(o, "signInAudience"), RedirectURIs: strs(web, "redirectUris"),
		IdentifierURIs: strs(o, "identifierUris"), Tags: strs(o, "tags"), Raw: deepCopy(o),
	}
	for _, p := range objects(o, "passwordCredentials") {
		start, _ := asTime(str(p, "startDateTime"))
		end, _ := asTime(str(p, "endDateTime"))
		a.PasswordCredentials = append(a.PasswordCredentials, PasswordCredential{
			KeyID: str(p, "keyId"), DisplayName: str(p, "displayName"), Hint: str(p, "hint"), StartDateTime: start, EndDateTime: end,
		})
	}
	return a
}

// ServicePrincipal is an enterprise application.
type ServicePrincipal struct {
	ID                        string
	AppID                     string
	DisplayName               string
	AppRoleAssignmentRequired bool
	Tags                      []string
	AppRoles                  []AppRole
	Raw                       map[string]any
}

// AppRole is a role an application declares.
type AppRole struct {
	ID                 string
	DisplayName        string
	Value              string
	AllowedMemberTypes []string
}

func servicePrincipalView(o object) ServicePrincipal {
	sp := ServicePrincipal{
		ID: str(o, "id"), AppID: str(o, "appId"), DisplayName: str(o, "displayName"),
		AppRoleAssignmentRequired: boolean(o, "appRoleAssignmentRequired"), Tags: strs(o, "tags"), Raw: deepCopy(o),
	}
	for _, r := range objects(o, "appRoles") {
		sp.AppRoles = append(sp.AppRoles, AppRole{ID: str(r, "id"), DisplayName: str(r, "displayName"), Value: str(r, "value"), AllowedMemberTypes: strs(r, "allowedMemberTypes")})
	}
	return sp
}

// AppRoleAssignment grants a user, group or service principal a role of a resource service principal.
type AppRoleAssignment struct {
	ID                   string
	AppRoleID            string
	PrincipalID          string
	PrincipalType        string
	PrincipalDisplayName string
	ResourceID           string
	ResourceDisplayName  string
	CreatedDateTime      time.Time
}

func assignmentView(o object) AppRoleAssignment {
	created, _ := asTime(str(o, "createdDateTime"))
	return AppRoleAssignment{
		ID: str(o, "id"), AppRoleID: str(o, "appRoleId"), PrincipalID: str(o, "principalId"),
		PrincipalType: str(o, "principalType"), PrincipalDisplayName: str(o, "principalDisplayName"),
		ResourceID: str(o, "resourceId"), ResourceDisplayName: str(o, "resourceDisplayName"), CreatedDateTime: created,
	}
}

// PermissionGrant is an oauth2PermissionGrant (delegated consent).
type PermissionGrant struct {
	ID          string
	ClientID    string
	ConsentType string
	PrincipalID string
	ResourceID  string
	Scope       string
}

func grantView(o object) PermissionGrant {
	return PermissionGrant{
		ID: str(o, "id"), ClientID: str(o, "clientId"), ConsentType: str(o, "consentType"),
		PrincipalID: str(o, "principalId"), ResourceID: str(o, "resourceId"), Scope: str(o, "scope"),
	}
}

// SyncJob is a provisioning (synchronization) job.
type SyncJob struct {
	ID                 string
	ServicePrincipalID string
	TemplateID         string
	StatusCode         string
	ScheduleState      string
	ScheduleInterval   string
	// Schema is the job's synchronizationSchema as raw JSON.
	Schema json.RawMessage
	Raw    map[string]any
}

func jobView(j *syncJob) SyncJob {
	status, _ := j.data["status"].(map[string]any)
	schedule, _ := j.data["schedule"].(map[string]any)
	return SyncJob{
		ID: str(j.data, "id"), ServicePrincipalID: j.spID, TemplateID: str(j.data, "templateId"),
		StatusCode: str(status, "code"), ScheduleState: str(schedule, "state"), ScheduleInterval: str(schedule, "interval"),
		Schema: slices.Clone(j.schema), Raw: deepCopy(j.data),
	}
}

func sortedRecords(m map[string]*record) []*record {
	out := make([]*record, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *record) int { return a.seq - b.seq })
	return out
}

// viewsOf returns the objects of m that keep accepts, in creation order, as view makes them for tests.
func viewsOf[T any](t *Tenant, m map[string]*record, keep func(object) bool, view func(object) T) []T {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []T
	for _, r := range sortedRecords(m) {
		if keep == nil || keep(r.data) {
			out = append(out, view(r.data))
		}
	}
	return out
}

// Users returns every user in creation order.
func (t *Tenant) Users() []User { return viewsOf(t, t.st.users, nil, userView) }

// UserByID returns one user.
func (t *Tenant) UserByID(id string) (User, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.st.users[id]
	if !ok {
		return User{}, fmt.Errorf("no user with id %q", id)
	}
	return userView(r.data), nil
}

// Groups returns every group in creation order.
func (t *Tenant) Groups() []Group { return viewsOf(t, t.st.groups, nil, t.groupView) }

// GroupByID returns one group with its members.
func (t *Tenant) GroupByID(id string) (Group, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.st.groups[id]
	if !ok {
		return Group{}, fmt.Errorf("no group with id %q", id)
	}
	return t.groupView(r.data), nil
}

// Applications returns every app registration in creation order.
func (t *Tenant) Applications() []Application { return viewsOf(t, t.st.apps, nil, applicationView) }

// ServicePrincipals returns every service principal (Microsoft Graph's included) in creation order.
func (t *Tenant) ServicePrincipals() []ServicePrincipal {
	return viewsOf(t, t.st.sps, nil, servicePrincipalView)
}

// AppRoleAssignments returns the assignments to roles of one resource service principal ("" for all).
func (t *Tenant) AppRoleAssignments(resourceID string) []AppRoleAssignment {
	of := func(o object) bool {
		_, deleted := t.st.deletedUsers[str(o, "principalId")]
		return !deleted && (resourceID == "" || str(o, "resourceId") == resourceID)
	}
	return viewsOf(t, t.st.assignments, of, assignmentView)
}

// PermissionGrants returns every oauth2PermissionGrant.
func (t *Tenant) PermissionGrants() []PermissionGrant { return viewsOf(t, t.st.grants, nil, grantView) }

// SyncJobs returns the provisioning jobs of a service principal ("" for all).
func (t *Tenant) SyncJobs(servicePrincipalID string) []SyncJob {
	t.mu.Lock()
	defer t.mu.Unlock()
	var jobs []*syncJob
	for _, j := range t.st.jobs {
		if servicePrincipalID == "" || j.spID == servicePrincipalID {
			jobs = append(jobs, j)
		}
	}
	slices.SortFunc(jobs, func(a, b *syncJob) int { return a.seq - b.seq })
	out := make([]SyncJob, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, jobView(j))
	}
	return out
}

// SecretKeys returns the keys of the synchronization secrets saved for a service principal; values stay inside.
func (t *Tenant) SecretKeys(servicePrincipalID string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, p := range t.st.secrets[servicePrincipalID] {
		out = append(out, p.Key)
	}
	return out
}

// ProvisioningLog returns the provisioningObjectSummary entries, oldest first, as JSON objects.
func (t *Tenant) ProvisioningLog() []map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]map[string]any, 0, len(t.st.provisioning))
	for _, e := range t.st.provisioning {
		out = append(out, deepCopy(e))
	}
	return out
}
