package entra

import (
	"net/http"
)

// errMeNeedsUser is Graph's answer to /me with an app-only token.
func errMeNeedsUser() *graphError {
	return newError(http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
}

func (t *Tenant) getMe(c *call) response {
	if c.caller.appOnly {
		return c.fail(errMeNeedsUser(), t.now())
	}
	t.mu.Lock()
	r, ok := t.st.users[c.caller.userID]
	var user object
	if ok {
		user = deepCopy(r.data)
	}
	t.mu.Unlock()
	if !ok {
		return c.fail(errResourceNotFound(c.caller.userID), t.now())
	}
	return t.entity(c, "users", user)
}

// myMemberships returns the signed-in user's directory roles and groups as directory objects.
func (t *Tenant) myMemberships(c *call, rolesOnly bool) ([]object, *graphError) {
	if c.caller.appOnly {
		return nil, errMeNeedsUser()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var items []object
	for _, role := range t.st.rolesOf(c.caller.userID) {
		items = append(items, deepCopy(t.st.roleObjects[role]))
	}
	if rolesOnly {
		return items, nil
	}
	for _, gid := range t.st.groupsOf(c.caller.userID) {
		g := deepCopy(t.st.groups[gid].data)
		g["@odata.type"] = "#microsoft.graph.group"
		items = append(items, g)
	}
	return items, nil
}

func membershipCollection(context string) collection {
	return collection{
		directory:  true,
		context:    context,
		resource:   "DirectoryObject",
		filterable: []string{"id", "displayName", "roleTemplateId", "securityEnabled", "mailEnabled"},
		searchable: []string{"displayName"},
	}
}

func (t *Tenant) listMyMemberOf(c *call) response {
	items, err := t.myMemberships(c, false)
	if err != nil {
		return c.fail(err, t.now())
	}
	return t.page(c, membershipCollection("directoryObjects"), items)
}

func (t *Tenant) listMyDirectoryRoles(c *call) response {
	items, err := t.myMemberships(c, true)
	if err != nil {
		return c.fail(err, t.now())
	}
	return t.page(c, membershipCollection("directoryRoles"), items)
}

func (t *Tenant) listOrganization(c *call) response {
	org := object{
		"id":                         t.id,
		"deletedDateTime":            nil,
		"businessPhones":             []any{},
		"city":                       nil,
		"country":                    nil,
		"countryLetterCode":          "US",
		"createdDateTime":            "2020-01-01T00:00:00Z",
		"displayName":                t.displayName,
		"onPremisesSyncEnabled":      nil,
		"preferredLanguage":          "en",
		"tenantType":                 "AAD",
		"technicalNotificationMails": []any{},
		"verifiedDomains": []any{object{
			"capabilities": "Email, OfficeCommunicationsOnline",
			"isDefault":    true,
			"isInitial":    true,
			"name":         t.domain,
			"type":         "Managed",
		}},
	}
	t.mu.Lock()
	var plans []any
	for _, sku := range t.st.skus {
		for _, plan := range objects(sku, "servicePlans") {
			plans = append(plans, object{
				"assignedDateTime": "2020-01-01T00:00:00Z", "capabilityStatus": sku["capabilityStatus"],
				"service": "AADPremiumService", "servicePlanId": plan["servicePlanId"],
			})
		}
	}
	t.mu.Unlock()
	org["assignedPlans"] = append([]any{}, plans...)
	return t.page(c, collection{context: "organization", resource: "Organization", filterable: []string{"id"}}, []object{org})
}

// listSubscribedSkus supports only $select, as documented (DOCS subscribedsku-list.md).
func (t *Tenant) listSubscribedSkus(c *call) response {
	if c.query.Get("$filter") != "" {
		return c.fail(newError(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query."), t.now())
	}
	t.mu.Lock()
	var items []object
	for _, sku := range t.st.skus {
		items = append(items, deepCopy(sku))
	}
	t.mu.Unlock()
	return t.page(c, collection{context: "subscribedSkus", resource: "SubscribedSku"}, items)
}
