package entra

import "net/http"

// routeTable lists every operation the tenant serves with the permission entry it requires (permissions.go).
func (t *Tenant) routeTable() []route {
	p := t.permissions()
	const sync = "/servicePrincipals/{sp}/synchronization"
	r := func(method, pattern, perm string, h func(*Tenant, *call) response) route {
		return newRoute(method, pattern, p[perm], h)
	}
	withEntity := func(rt route, entity string) route {
		rt.entity = entity
		return rt
	}
	raw := func(rt route) route {
		rt.rawBody = true
		return rt
	}
	return []route{
		r(http.MethodGet, "/applicationTemplates", "templates.read", (*Tenant).listApplicationTemplates),
		r(http.MethodGet, "/applicationTemplates/{id}", "templates.read", (*Tenant).getApplicationTemplate),
		r(http.MethodPost, "/applicationTemplates/{id}/instantiate", "templates.instance", (*Tenant).instantiateTemplate),

		r(http.MethodGet, "/applications", "app.read", (*Tenant).listApplications),
		r(http.MethodPost, "/applications", "app.write", (*Tenant).createApplication),
		r(http.MethodGet, "/applications/{id}", "app.read", (*Tenant).getApplication),
		r(http.MethodPatch, "/applications/{id}", "app.write", (*Tenant).patchApplication),
		r(http.MethodDelete, "/applications/{id}", "app.write", (*Tenant).deleteApplication),
		r(http.MethodGet, "/applications(appId=)/{appId}", "app.read", (*Tenant).getApplication),
		r(http.MethodPatch, "/applications(appId=)/{appId}", "app.write", (*Tenant).patchApplication),
		r(http.MethodDelete, "/applications(appId=)/{appId}", "app.write", (*Tenant).deleteApplication),
		r(http.MethodPost, "/applications/{id}/addPassword", "app.write", (*Tenant).addPassword),
		r(http.MethodPost, "/applications/{id}/removePassword", "app.write", (*Tenant).removePassword),

		r(http.MethodGet, "/servicePrincipals", "sp.read", (*Tenant).listServicePrincipals),
		withEntity(r(http.MethodPost, "/servicePrincipals", "sp.write", (*Tenant).createServicePrincipal), "microsoft.graph.servicePrincipal"),
		r(http.MethodGet, "/servicePrincipals/{id}", "sp.read", (*Tenant).getServicePrincipal),
		r(http.MethodPatch, "/servicePrincipals/{id}", "sp.write", (*Tenant).patchServicePrincipal),
		r(http.MethodDelete, "/servicePrincipals/{id}", "sp.write", (*Tenant).deleteServicePrincipal),
		r(http.MethodGet, "/servicePrincipals(appId=)/{appId}", "sp.read", (*Tenant).getServicePrincipal),
		r(http.MethodGet, "/servicePrincipals/{id}/appRoleAssignedTo", "assign.read", (*Tenant).listAppRoleAssignedTo),
		r(http.MethodPost, "/servicePrincipals/{id}/appRoleAssignedTo", "assign.write", (*Tenant).createAppRoleAssignedTo),
		r(http.MethodDelete, "/servicePrincipals/{id}/appRoleAssignedTo/{assignment}", "assign.write", (*Tenant).deleteAppRoleAssignedTo),

		r(http.MethodGet, "/oauth2PermissionGrants", "grant.read", (*Tenant).listGrants),
		r(http.MethodPost, "/oauth2PermissionGrants", "grant.write", (*Tenant).createGrant),
		r(http.MethodGet, "/oauth2PermissionGrants/{id}", "grant.read", (*Tenant).getGrant),
		r(http.MethodPatch, "/oauth2PermissionGrants/{id}", "grant.write", (*Tenant).patchGrant),
		r(http.MethodDelete, "/oauth2PermissionGrants/{id}", "grant.write", (*Tenant).deleteGrant),

		r(http.MethodGet, "/users", "user.read", (*Tenant).listUsers),
		r(http.MethodGet, "/users/$count", "user.read", (*Tenant).countUsers),
		withEntity(r(http.MethodPost, "/users", "user.write", (*Tenant).createUser), "microsoft.graph.user"),
		r(http.MethodGet, "/users/{id}", "user.read", (*Tenant).getUser),
		withEntity(r(http.MethodPatch, "/users/{id}", "user.write", (*Tenant).patchUser), "microsoft.graph.user"),
		r(http.MethodDelete, "/users/{id}", "user.write", (*Tenant).deleteUser),
		r(http.MethodGet, "/users/{id}/manager", "user.read", (*Tenant).getManager),
		r(http.MethodGet, "/users/{id}/manager/$ref", "user.read", (*Tenant).getManagerRef),
		r(http.MethodPut, "/users/{id}/manager/$ref", "user.write", (*Tenant).putManagerRef),
		r(http.MethodDelete, "/users/{id}/manager/$ref", "user.write", (*Tenant).deleteManagerRef),
		r(http.MethodGet, "/directory/deletedItems/microsoft.graph.user", "user.read", (*Tenant).listDeletedUsers),
		r(http.MethodGet, "/directory/deletedItems/microsoft.graph.application", "app.read", (*Tenant).listDeletedApplications),
		r(http.MethodGet, "/directory/deletedItems/microsoft.graph.servicePrincipal", "sp.read", (*Tenant).listDeletedServicePrincipals),
		r(http.MethodGet, "/directory/deletedItems/{id}", "deleted.read", (*Tenant).getDeletedItem),
		r(http.MethodPost, "/directory/deletedItems/{id}/restore", "deleted.write", (*Tenant).restoreDeletedItem),
		r(http.MethodDelete, "/directory/deletedItems/{id}", "deleted.write", (*Tenant).deleteDeletedItem),

		r(http.MethodGet, "/groups", "group.read", (*Tenant).listGroups),
		r(http.MethodGet, "/groups/$count", "group.read", (*Tenant).countGroups),
		withEntity(r(http.MethodPost, "/groups", "group.write", (*Tenant).createGroup), "microsoft.graph.group"),
		r(http.MethodGet, "/groups/{id}", "group.read", (*Tenant).getGroup),
		r(http.MethodGet, "/groups/{id}/members", "group.read", (*Tenant).listMembers),
		r(http.MethodGet, "/groups/{id}/members/microsoft.graph.user", "group.read", (*Tenant).listUserMembers),
		r(http.MethodGet, "/groups/{id}/members/$count", "group.read", (*Tenant).countMembers),
		r(http.MethodPost, "/groups/{id}/members/$ref", "member.write", (*Tenant).addMemberRef),
		r(http.MethodDelete, "/groups/{id}/members/{member}/$ref", "member.write", (*Tenant).removeMemberRef),

		r(http.MethodGet, "/me", "me", (*Tenant).getMe),
		r(http.MethodGet, "/me/memberOf", "me.memberOf", (*Tenant).listMyMemberOf),
		r(http.MethodGet, "/me/transitiveMemberOf", "me.memberOf", (*Tenant).listMyMemberOf),
		r(http.MethodGet, "/me/memberOf/microsoft.graph.directoryRole", "me.memberOf", (*Tenant).listMyDirectoryRoles),
		r(http.MethodGet, "/me/transitiveMemberOf/microsoft.graph.directoryRole", "me.memberOf", (*Tenant).listMyDirectoryRoles),
		r(http.MethodGet, "/organization", "organization", (*Tenant).listOrganization),
		r(http.MethodGet, "/subscribedSkus", "skus", (*Tenant).listSubscribedSkus),

		r(http.MethodGet, sync+"/templates", "sync.read", (*Tenant).listSyncTemplates),
		r(http.MethodGet, sync+"/jobs", "sync.read", (*Tenant).listJobs),
		r(http.MethodPost, sync+"/jobs", "sync.write", (*Tenant).createJob),
		r(http.MethodPost, sync+"/jobs/validateCredentials", "sync.write", (*Tenant).validateCredentials),
		r(http.MethodGet, sync+"/jobs/{job}", "sync.read", (*Tenant).getJob),
		r(http.MethodDelete, sync+"/jobs/{job}", "sync.write", (*Tenant).deleteJob),
		r(http.MethodPost, sync+"/jobs/{job}/start", "sync.write", (*Tenant).startJob),
		r(http.MethodPost, sync+"/jobs/{job}/pause", "sync.write", (*Tenant).pauseJob),
		r(http.MethodPost, sync+"/jobs/{job}/restart", "sync.write", (*Tenant).restartJob),
		r(http.MethodPost, sync+"/jobs/{job}/provisionOnDemand", "sync.write", (*Tenant).provisionOnDemand),
		r(http.MethodPost, sync+"/jobs/{job}/validateCredentials", "sync.write", (*Tenant).validateCredentials),
		r(http.MethodGet, sync+"/jobs/{job}/schema", "sync.read", (*Tenant).getSchema),
		r(http.MethodPut, sync+"/jobs/{job}/schema", "sync.write", (*Tenant).putSchema),
		r(http.MethodPost, sync+"/jobs/{job}/schema/parseExpression", "sync.write", (*Tenant).parseExpression),
		raw(r(http.MethodPatch, sync+"/jobs/{job}/schema", "sync.write", (*Tenant).patchSchema)),
		r(http.MethodGet, sync+"/secrets", "sync.read", (*Tenant).getSecrets),
		r(http.MethodPut, sync+"/secrets", "sync.write", (*Tenant).putSecrets),

		r(http.MethodGet, "/auditLogs/provisioning", "auditlogs.read", (*Tenant).listProvisioningLogs),

		raw(r(http.MethodPost, "/$batch", "batch", (*Tenant).batch)),
	}
}
