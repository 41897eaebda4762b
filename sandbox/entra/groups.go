package entra

import (
	"net/http"
	"strings"
)

func groupCollection(context string) collection {
	return collection{
		directory:  true,
		context:    context,
		resource:   "Group",
		filterable: []string{"id", "displayName", "mail", "mailNickname", "securityEnabled", "mailEnabled", "groupTypes", "createdDateTime"},
		searchable: []string{"displayName", "description", "mail", "mailNickname"},
	}
}

func (t *Tenant) listGroups(c *call) response { return t.readDirectory(c, groupsCollection, readPage) }

func (t *Tenant) countGroups(c *call) response {
	return t.readDirectory(c, groupsCollection, readCount)
}

func (t *Tenant) getGroup(c *call) response {
	if err := checkObjectID(c.param("id")); err != nil {
		return c.fail(err, t.now())
	}
	return t.getEntity(c, "groups", t.byID(c, t.st.groups))
}

// createGroup is the admin action POST /groups (DOCS group-post-groups.md).
func (t *Tenant) createGroup(c *call) response {
	var body object
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	group := t.groupObject(object{})
	mergeTopLevel(group, body)
	var members []string
	if binds, ok := body["members@odata.bind"].([]any); ok {
		for _, b := range binds {
			s, _ := b.(string)
			members = append(members, lastSegment(s))
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range members {
		if _, _, ok := t.st.directoryObject(m); !ok {
			return c.fail(errResourceNotFound(m), t.now())
		}
	}
	t.st.add(t.st.groups, group, 0)
	t.st.members[str(group, "id")] = members
	resp := t.entity(c, "groups", deepCopy(group))
	resp.status = http.StatusCreated
	return resp
}

// memberItems returns a group's direct members as directory objects with their @odata.type.
func (t *Tenant) memberItems(c *call, onlyUsers bool) ([]object, *graphError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := c.param("id")
	if _, ok := t.st.get(t.st.groups, id); !ok {
		return nil, errResourceNotFound(id)
	}
	var items []object
	for _, m := range t.st.members[id] {
		o, kind, ok := t.st.directoryObject(m)
		if !ok || (onlyUsers && kind != "User") {
			continue
		}
		item := deepCopy(o)
		item["@odata.type"] = "#microsoft.graph." + strings.ToLower(kind[:1]) + kind[1:]
		items = append(items, item)
	}
	return items, nil
}

func memberCollection(context string) collection {
	col := userCollection(context)
	col.resource = "DirectoryObject"
	return col
}

func (t *Tenant) listMembers(c *call) response {
	items, err := t.memberItems(c, false)
	if err != nil {
		return c.fail(err, t.now())
	}
	return t.page(c, memberCollection("directoryObjects"), items)
}

func (t *Tenant) listUserMembers(c *call) response {
	items, err := t.memberItems(c, true)
	if err != nil {
		return c.fail(err, t.now())
	}
	return t.page(c, memberCollection("users"), items)
}

func (t *Tenant) countMembers(c *call) response {
	if eventual(c) && c.query.Get("$search") == "" && c.query.Get("$filter") == "" {
		// The picker's member count of large groups: counted without copying every member.
		t.mu.Lock()
		id := c.param("id")
		_, found := t.st.get(t.st.groups, id)
		n := 0
		for _, m := range t.st.members[id] {
			if _, _, ok := t.st.directoryObject(m); ok {
				n++
			}
		}
		t.mu.Unlock()
		if !found {
			return c.fail(errResourceNotFound(id), t.now())
		}
		return countResponse(n)
	}
	items, err := t.memberItems(c, false)
	if err != nil {
		return c.fail(err, t.now())
	}
	return t.count(c, memberCollection("directoryObjects"), items)
}

// addMemberRef adds a member by reference: {"@odata.id": ".../directoryObjects/{id}"} (DOCS group-post-members.md).
// An existing member answers the directory's 400 "One or more added object references already exist for the
// following modified properties: 'members'." (as commonly observed).
func (t *Tenant) addMemberRef(c *call) response {
	memberID, err := c.referencedID()
	if err != nil {
		return c.fail(err, t.now())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	groupID := c.param("id")
	if _, ok := t.st.get(t.st.groups, groupID); !ok {
		return c.fail(errResourceNotFound(groupID), t.now())
	}
	if _, _, ok := t.st.directoryObject(memberID); !ok {
		return c.fail(errResourceNotFound(memberID), t.now())
	}
	if err := t.addMember(groupID, memberID); err != nil {
		return c.fail(errBadRequest("One or more added object references already exist for the following modified properties: 'members'."), t.now())
	}
	return noContent()
}

// removeMemberRef removes a member. Removing a non-member answers 404 naming the group, not the member (observed
// behaviour quoted in public tool descriptions).
func (t *Tenant) removeMemberRef(c *call) response {
	t.mu.Lock()
	defer t.mu.Unlock()
	groupID, memberID := c.param("id"), c.param("member")
	if _, ok := t.st.get(t.st.groups, groupID); !ok {
		return c.fail(errResourceNotFound(groupID), t.now())
	}
	members := t.st.members[groupID]
	for i, m := range members {
		if m == memberID {
			t.st.members[groupID] = append(members[:i:i], members[i+1:]...)
			return noContent()
		}
	}
	return c.fail(errResourceNotFound(groupID), t.now())
}
