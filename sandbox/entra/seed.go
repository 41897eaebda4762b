package entra

import (
	"fmt"
	"slices"
	"strings"
)

// NewUser describes a user to seed. Mail "" seeds a user without a mailbox (mail null).
type NewUser struct {
	UserPrincipalName string
	DisplayName       string
	GivenName         string
	Surname           string
	Mail              string
	JobTitle          string
	Department        string
	Disabled          bool
	// UserType is "Member" (default) or "Guest".
	UserType string
}

// AddUser seeds a user and returns it.
func (t *Tenant) AddUser(u NewUser) (User, error) {
	if u.UserPrincipalName == "" || u.DisplayName == "" {
		return User{}, fmt.Errorf("add user: UserPrincipalName and DisplayName are required (got %q, %q)", u.UserPrincipalName, u.DisplayName)
	}
	data := t.userObject(object{
		"userPrincipalName": u.UserPrincipalName,
		"displayName":       u.DisplayName,
		"givenName":         nullable(u.GivenName),
		"surname":           nullable(u.Surname),
		"mail":              nullable(u.Mail),
		"jobTitle":          nullable(u.JobTitle),
		"department":        nullable(u.Department),
		"accountEnabled":    !u.Disabled,
		"userType":          nullable(u.UserType),
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.upnTaken(u.UserPrincipalName) {
		return User{}, fmt.Errorf("add user: userPrincipalName %q already exists", u.UserPrincipalName)
	}
	r := t.st.add(t.st.users, data, 0)
	return userView(r.data), nil
}

// userObject fills the properties Graph returns for a user.
func (t *Tenant) userObject(in object) object {
	upn := str(in, "userPrincipalName")
	nick, _, _ := strings.Cut(upn, "@")
	out := object{
		"id":                newID(),
		"businessPhones":    []any{},
		"displayName":       nil,
		"givenName":         nil,
		"surname":           nil,
		"mail":              nil,
		"mailNickname":      nick,
		"jobTitle":          nil,
		"department":        nil,
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": nil,
		"userPrincipalName": upn,
		"accountEnabled":    true,
		"userType":          "Member",
		"employeeId":        nil,
		"createdDateTime":   timestamp(t.now()),
	}
	for k, v := range in {
		if k == "passwordProfile" {
			continue // write-only
		}
		out[k] = v
	}
	if out["userType"] == nil {
		out["userType"] = "Member"
	}
	return out
}

func (t *Tenant) upnTaken(upn string) bool {
	for _, r := range t.st.users {
		if strings.EqualFold(str(r.data, "userPrincipalName"), upn) {
			return true
		}
	}
	return false
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// NewGroup describes a group to seed; a security group unless MailEnabled.
type NewGroup struct {
	DisplayName  string
	Description  string
	MailNickname string
	MailEnabled  bool
}

// AddGroup seeds a group and returns it.
func (t *Tenant) AddGroup(g NewGroup) (Group, error) {
	if g.DisplayName == "" {
		return Group{}, fmt.Errorf("add group: DisplayName is required")
	}
	nick := g.MailNickname
	if nick == "" {
		nick = strings.ToLower(strings.ReplaceAll(g.DisplayName, " ", ""))
	}
	data := t.groupObject(object{
		"displayName":     g.DisplayName,
		"description":     nullable(g.Description),
		"mailNickname":    nick,
		"mailEnabled":     g.MailEnabled,
		"securityEnabled": !g.MailEnabled,
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.st.add(t.st.groups, data, 0)
	return t.groupView(r.data), nil
}

func (t *Tenant) groupObject(in object) object {
	out := object{
		"id":              newID(),
		"deletedDateTime": nil,
		"classification":  nil,
		"createdDateTime": timestamp(t.now()),
		"description":     nil,
		"displayName":     nil,
		"groupTypes":      []any{},
		"mail":            nil,
		"mailEnabled":     false,
		"mailNickname":    nil,
		"securityEnabled": true,
		"visibility":      nil,
	}
	for k, v := range in {
		out[k] = v
	}
	return out
}

// AddGroupMember adds a user, group or service principal to a group.
func (t *Tenant) AddGroupMember(groupID, memberID string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addMember(groupID, memberID)
}

func (t *Tenant) addMember(groupID, memberID string) error {
	if _, ok := t.st.groups[groupID]; !ok {
		return fmt.Errorf("add group member: no group with id %q", groupID)
	}
	if _, _, ok := t.st.directoryObject(memberID); !ok {
		return fmt.Errorf("add group member: no user, group or service principal with id %q", memberID)
	}
	if slices.Contains(t.st.members[groupID], memberID) {
		return fmt.Errorf("add group member: %s is already a member of group %s: %w", memberID, groupID, errMemberExists)
	}
	t.st.members[groupID] = append(t.st.members[groupID], memberID)
	return nil
}

type seedError string

func (e seedError) Error() string { return string(e) }

const errMemberExists = seedError("the object is already a member of the group")

// AssignDirectoryRole makes a user a member of a directory role (by role template id, e.g.
// RoleGlobalAdministrator).
func (t *Tenant) AssignDirectoryRole(userID, roleTemplateID string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.st.users[userID]; !ok {
		return fmt.Errorf("assign directory role: no user with id %q", userID)
	}
	if _, ok := t.st.roleObjects[roleTemplateID]; !ok {
		return fmt.Errorf("assign directory role: unknown role template id %q", roleTemplateID)
	}
	if !slices.Contains(t.st.roleMembers[roleTemplateID], userID) {
		t.st.roleMembers[roleTemplateID] = append(t.st.roleMembers[roleTemplateID], userID)
	}
	return nil
}

// RemoveDirectoryRole takes a directory role away from a user.
func (t *Tenant) RemoveDirectoryRole(userID, roleTemplateID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.roleMembers[roleTemplateID] = slices.DeleteFunc(t.st.roleMembers[roleTemplateID], func(id string) bool { return id == userID })
}

// Service plan and SKU ids (ENTRA docs/identity/users/licensing-service-plan-reference.md).
const (
	ServicePlanEntraIDP1 = "41781fb2-bc02-4b7c-bd55-b576c07bb09d" // AAD_PREMIUM
	ServicePlanEntraIDP2 = "eec0eb4f-6444-4f95-aba0-50c24d67f998" // AAD_PREMIUM_P2
	skuEntraIDP1         = "078d2b04-f1bd-4111-bbd4-b4b1b354cef4" // AAD_PREMIUM
)

// AddEntraIDP1 gives the tenant an enabled Microsoft Entra ID P1 subscription, which group assignment needs.
func (t *Tenant) AddEntraIDP1(seats int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.skus = append(t.st.skus, object{
		"id":               t.id + "_" + skuEntraIDP1,
		"accountId":        t.id,
		"accountName":      t.displayName,
		"appliesTo":        "User",
		"capabilityStatus": "Enabled",
		"consumedUnits":    0,
		"skuId":            skuEntraIDP1,
		"skuPartNumber":    "AAD_PREMIUM",
		"subscriptionIds":  []any{newID()},
		"prepaidUnits":     object{"enabled": seats, "suspended": 0, "warning": 0, "lockedOut": 0},
		"servicePlans": []any{
			object{"servicePlanId": ServicePlanEntraIDP1, "servicePlanName": "AAD_PREMIUM", "provisioningStatus": "Success", "appliesTo": "User"},
			object{"servicePlanId": "8a256a2b-b617-496d-b51b-e76466e88db0", "servicePlanName": "MFA_PREMIUM", "provisioningStatus": "Success", "appliesTo": "User"},
			object{"servicePlanId": "932ad362-64a8-4783-9106-97849a1a30b9", "servicePlanName": "ADALLOM_S_DISCOVERY", "provisioningStatus": "Success", "appliesTo": "User"},
		},
	})
}

// hasPremium reports whether an enabled subscription carries Entra ID P1 or P2.
func (s *store) hasPremium() bool {
	for _, sku := range s.skus {
		if str(sku, "capabilityStatus") != "Enabled" {
			continue
		}
		for _, plan := range objects(sku, "servicePlans") {
			id := str(plan, "servicePlanId")
			if (id == ServicePlanEntraIDP1 || id == ServicePlanEntraIDP2) && str(plan, "provisioningStatus") == "Success" {
				return true
			}
		}
	}
	return false
}

// Demo is the directory SeedDemo creates.
type Demo struct {
	TenantID string
	Domain   string
	// Admin holds Global Administrator; AdminToken is a delegated token for Admin with FlowScopes, and
	// DirectoryAdminToken one with DirectoryAdminScopes (user and group writes).
	Admin               User
	AdminToken          string
	DirectoryAdminToken string
	// Users are the other users: Adele, Lee, Megan (no mailbox), Diego (disabled), Grady. Adele's manager is
	// Admin, Lee's is Adele, and Lee manages the other three.
	Users     []User
	NoMailbox User
	Disabled  User
	// SmallstepUsers has three members, the no-mailbox user among them; Engineering has three others.
	SmallstepUsers Group
	Engineering    Group
}

// SeedDemo fills the tenant with the demo directory `idpctl sandbox` serves: tenant Contoso with an admin, five
// users (one without a mailbox, one disabled) with their managers, two groups and an Entra ID P1 subscription.
func (t *Tenant) SeedDemo() (Demo, error) {
	d := Demo{TenantID: t.id, Domain: t.domain}
	upn := func(name string) string { return name + "@" + t.domain }
	admin, err := t.AddUser(NewUser{UserPrincipalName: upn("admin"), DisplayName: "Alex Wilber", GivenName: "Alex", Surname: "Wilber",
		Mail: upn("admin"), JobTitle: "IT Administrator", Department: "IT"})
	if err != nil {
		return d, err
	}
	if err := t.AssignDirectoryRole(admin.ID, RoleGlobalAdministrator); err != nil {
		return d, err
	}
	d.Admin = admin
	people := []NewUser{
		{UserPrincipalName: upn("adele.vance"), DisplayName: "Adele Vance", GivenName: "Adele", Surname: "Vance", Mail: upn("adele.vance"), JobTitle: "Product Manager", Department: "Product"},
		{UserPrincipalName: upn("lee.gu"), DisplayName: "Lee Gu", GivenName: "Lee", Surname: "Gu", Mail: upn("lee.gu"), JobTitle: "Engineer", Department: "Engineering"},
		{UserPrincipalName: upn("megan.bowen"), DisplayName: "Megan Bowen", GivenName: "Megan", Surname: "Bowen", JobTitle: "Contractor", Department: "Engineering"},
		{UserPrincipalName: upn("diego.siciliani"), DisplayName: "Diego Siciliani", GivenName: "Diego", Surname: "Siciliani", Mail: upn("diego.siciliani"), JobTitle: "Engineer", Department: "Engineering", Disabled: true},
		{UserPrincipalName: upn("grady.archie"), DisplayName: "Grady Archie", GivenName: "Grady", Surname: "Archie", Mail: upn("grady.archie"), JobTitle: "Designer", Department: "Engineering"},
	}
	for _, p := range people {
		u, err := t.AddUser(p)
		if err != nil {
			return d, err
		}
		d.Users = append(d.Users, u)
	}
	d.NoMailbox, d.Disabled = d.Users[2], d.Users[3]
	for _, m := range []struct{ user, manager string }{
		{d.Users[0].ID, admin.ID}, {d.Users[1].ID, d.Users[0].ID},
		{d.Users[2].ID, d.Users[1].ID}, {d.Users[3].ID, d.Users[1].ID}, {d.Users[4].ID, d.Users[1].ID},
	} {
		if err := t.SetManager(m.user, m.manager); err != nil {
			return d, err
		}
	}
	smallstep, err := t.AddGroup(NewGroup{DisplayName: "Smallstep Users", Description: "People who sign in to Smallstep"})
	if err != nil {
		return d, err
	}
	engineering, err := t.AddGroup(NewGroup{DisplayName: "Engineering", Description: "Engineering department"})
	if err != nil {
		return d, err
	}
	for _, m := range []struct{ group, user string }{
		{smallstep.ID, d.Users[0].ID}, {smallstep.ID, d.Users[1].ID}, {smallstep.ID, d.Users[2].ID},
		{engineering.ID, d.Users[1].ID}, {engineering.ID, d.Users[3].ID}, {engineering.ID, d.Users[4].ID},
	} {
		if err := t.AddGroupMember(m.group, m.user); err != nil {
			return d, err
		}
	}
	t.AddEntraIDP1(25)
	if d.SmallstepUsers, err = t.GroupByID(smallstep.ID); err != nil {
		return d, err
	}
	if d.Engineering, err = t.GroupByID(engineering.ID); err != nil {
		return d, err
	}
	if d.AdminToken, err = t.IssueToken(TokenRequest{UserID: admin.ID, Scopes: FlowScopes()}); err != nil {
		return d, err
	}
	d.DirectoryAdminToken, err = t.IssueToken(TokenRequest{UserID: admin.ID, Scopes: DirectoryAdminScopes()})
	return d, err
}
