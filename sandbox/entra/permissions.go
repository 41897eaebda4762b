package entra

import "slices"

// permission is what Graph documents for one operation: the delegated scopes and application roles of which
// the token must carry at least one, and, for delegated calls, the directory roles of which the signed-in user
// must hold at least one (empty: none needed).
type permission struct {
	delegated   []string
	application []string
	adminRoles  []string
	// delegatedOnly marks /me: an app-only token gets Graph's 400 rather than a 403.
	delegatedOnly bool
}

// Directory role template ids (learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
const (
	RoleGlobalAdministrator           = "62e90394-69f5-4237-9190-012177145e10"
	RoleApplicationAdministrator      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	RoleCloudApplicationAdministrator = "158c047a-c907-4556-b7ef-446551a6b5f7"
	RolePrivilegedRoleAdministrator   = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	RoleUserAdministrator             = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	RoleGroupsAdministrator           = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	RoleGlobalReader                  = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	RoleReportsReader                 = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	RoleSecurityReader                = "5d6b6bb7-de71-4623-b4af-96380a352509"
	RoleSecurityAdministrator         = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	RoleHybridIdentityAdministrator   = "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2"
)

// The permission table. Scope lists follow each operation's "Permissions" table in the Graph v1.0 API reference
// (DOCS api-reference/v1.0/api/*.md, least privileged first); role lists follow the rbac includes of those pages
// and ENTRA grant-admin-consent.md. Directory.AccessAsUser.All is accepted wherever Graph accepts it for directory
// objects; the synchronization and audit APIs do not list it.
func (t *Tenant) permissions() map[string]permission {
	appAdmins := []string{RoleGlobalAdministrator, RoleApplicationAdministrator, RoleCloudApplicationAdministrator}
	syncAdmins := append(slices.Clone(appAdmins), RoleHybridIdentityAdministrator)
	userAdmins := []string{RoleGlobalAdministrator, RoleUserAdministrator}
	groupAdmins := []string{RoleGlobalAdministrator, RoleGroupsAdministrator, RoleUserAdministrator}
	logReaders := append(slices.Clone(appAdmins), RoleGlobalReader, RoleReportsReader, RoleSecurityReader, RoleSecurityAdministrator)

	appRead := []string{"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}
	appWrite := []string{"Application.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}
	appWriteApp := []string{"Application.ReadWrite.OwnedBy", "Application.ReadWrite.All", "Directory.ReadWrite.All"}
	appReadApp := []string{"Application.Read.All", "Application.ReadWrite.OwnedBy", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	assignRead := append(slices.Clone(appRead), "AppRoleAssignment.ReadWrite.All")
	assignWrite := []string{"AppRoleAssignment.ReadWrite.All", "Application.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}
	grantRead := []string{"DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}
	grantWrite := []string{"DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}
	userRead := []string{"User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}
	userWrite := []string{"User.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}
	groupRead := []string{"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}
	groupWrite := []string{"Group.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}
	memberWrite := []string{"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}
	syncRead := []string{"Synchronization.Read.All", "Synchronization.ReadWrite.All"}
	syncWrite := []string{"Synchronization.ReadWrite.All"}
	syncWriteApp := []string{"Synchronization.ReadWrite.All", "Application.ReadWrite.OwnedBy"}

	return map[string]permission{
		// applicationTemplates list/get document no permission beyond a valid token.
		"templates.read":     {},
		"templates.instance": {delegated: appWrite, application: appWriteApp, adminRoles: appAdmins},
		"app.read":           {delegated: appRead, application: appReadApp},
		"app.write":          {delegated: appWrite, application: appWriteApp, adminRoles: appAdmins},
		"sp.read":            {delegated: appRead, application: appReadApp},
		"sp.write":           {delegated: appWrite, application: appWriteApp, adminRoles: appAdmins},
		"assign.read":        {delegated: assignRead, application: assignRead},
		"assign.write":       {delegated: assignWrite, application: assignWrite, adminRoles: appAdmins},
		"grant.read":         {delegated: grantRead, application: grantRead},
		"grant.write":        {delegated: grantWrite, application: grantWrite, adminRoles: appAdmins},
		// The deleted items hold users, applications and service principals: the route takes either's
		// permission, and the handler the one of the item's type (deletedItemPermitted).
		"deleted.read":   {delegated: concat(userRead, appRead), application: concat(userRead, appReadApp)},
		"deleted.write":  {delegated: concat(userWrite, appWrite), application: concat(userWrite, appWriteApp), adminRoles: concat(userAdmins, appAdmins)},
		"user.read":      {delegated: userRead, application: userRead},
		"user.write":     {delegated: userWrite, application: userWrite, adminRoles: userAdmins},
		"group.read":     {delegated: groupRead, application: groupRead},
		"group.write":    {delegated: groupWrite, application: groupWrite, adminRoles: groupAdmins},
		"member.write":   {delegated: memberWrite, application: memberWrite, adminRoles: groupAdmins},
		"me":             {delegated: append([]string{"User.Read", "User.ReadWrite"}, userRead...), delegatedOnly: true},
		"me.memberOf":    {delegated: append([]string{"User.Read", "Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}, groupRead...), delegatedOnly: true},
		"organization":   {delegated: []string{"User.Read", "Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}, application: []string{"Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}},
		"skus":           {delegated: []string{"Organization.Read.All", "LicenseAssignment.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}, application: []string{"Organization.Read.All", "LicenseAssignment.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}},
		"sync.read":      {delegated: syncRead, application: syncRead},
		"sync.write":     {delegated: syncWrite, application: syncWriteApp, adminRoles: syncAdmins},
		"batch":          {},
		"auditlogs.read": {delegated: []string{"AuditLog.Read.All"}, application: []string{"AuditLog.Read.All"}, adminRoles: logReaders},
	}
}

// permitted applies a permission to the caller. Directory roles are read from the tenant, not the token's wids
// claim, so a role removed after sign-in is no longer honoured (as Graph evaluates roles at request time).
func (t *Tenant) permitted(p permission, who *principal) bool {
	if who.appOnly {
		if p.application == nil && p.delegated == nil {
			return true
		}
		return who.hasAnyRole(p.application)
	}
	if p.delegated != nil && !who.hasAnyScope(p.delegated) {
		return false
	}
	if len(p.adminRoles) == 0 {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, role := range p.adminRoles {
		if slices.Contains(t.st.roleMembers[role], who.userID) {
			return true
		}
	}
	return false
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
