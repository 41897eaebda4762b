package entra

import (
	"net/http"
	"strings"
)

// NonGalleryTemplateID is the "Create your own application" template (DOCS applicationtemplate-instantiate.md).
const NonGalleryTemplateID = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"

// Gallery template ids of this sandbox. Real gallery ids exist for these apps; these are made up for the sandbox
// and only stand for "some gallery app".
const (
	galleryDatabricksTemplateID = "9c9818d2-2900-49e8-8ba4-22688be7c5ba"
	gallerySmallstepTemplateID  = "6a8f5e5e-21a8-4c5a-b2a4-2f3c5c1b7d10"
)

// applicationTemplates returns the application gallery this tenant offers.
func applicationTemplates() []object {
	return []object{
		{
			"id":                         NonGalleryTemplateID,
			"displayName":                "Custom",
			"homePageUrl":                nil,
			"supportedSingleSignOnModes": []any{"password", "saml", "notSupported", "oidc"},
			"supportedProvisioningTypes": []any{"sync"},
			"logoUrl":                    "https://az495088.vo.msecnd.net/app-logo/customappsso_215.png",
			"categories":                 []any{},
			"publisher":                  "Microsoft Corporation",
			"description":                nil,
		},
		{
			"id":                         galleryDatabricksTemplateID,
			"displayName":                "Azure Databricks SCIM Provisioning Connector",
			"homePageUrl":                "https://azure.microsoft.com/services/databricks/",
			"supportedSingleSignOnModes": []any{"notSupported"},
			"supportedProvisioningTypes": []any{"sync"},
			"logoUrl":                    "https://az495088.vo.msecnd.net/app-logo/databricks_215.png",
			"categories":                 []any{"developerServices", "dataServices"},
			"publisher":                  "Databricks",
			"description":                "Provision users and groups to Azure Databricks.",
		},
		{
			"id":                         gallerySmallstepTemplateID,
			"displayName":                "Smallstep SSH",
			"homePageUrl":                "https://smallstep.com/sso-ssh/",
			"supportedSingleSignOnModes": []any{"oidc"},
			"supportedProvisioningTypes": []any{},
			"logoUrl":                    "https://az495088.vo.msecnd.net/app-logo/smallstepssh_215.png",
			"categories":                 []any{"security"},
			"publisher":                  "Smallstep Labs",
			"description":                "Single sign-on for SSH.",
		},
	}
}

func findTemplate(id string) (object, bool) {
	for _, tpl := range applicationTemplates() {
		if strings.EqualFold(str(tpl, "id"), id) {
			return tpl, true
		}
	}
	return nil, false
}

func (t *Tenant) listApplicationTemplates(c *call) response {
	return t.page(c, collection{
		context:    "applicationTemplates",
		resource:   "ApplicationTemplate",
		filterable: []string{"id", "displayName", "categories", "publisher"},
	}, applicationTemplates())
}

func (t *Tenant) getApplicationTemplate(c *call) response {
	tpl, ok := findTemplate(c.param("id"))
	if !ok {
		return c.fail(errResourceNotFound(c.param("id")), t.now())
	}
	return t.entity(c, "applicationTemplates", tpl)
}

// instantiateTemplate creates an application and its service principal from a template, as the example response of
// DOCS concepts/application-proxy-configure-api.md shows for the non-gallery template: single-tenant app with a
// customappsso home page, a user_impersonation scope, app roles User and msiam_access (random ids, the same on app
// and service principal), and a service principal that requires assignment.
func (t *Tenant) instantiateTemplate(c *call) response {
	tpl, ok := findTemplate(c.param("id"))
	if !ok {
		return c.fail(errResourceNotFound(c.param("id")), t.now())
	}
	var body struct {
		DisplayName                string `json:"displayName"`
		ServiceManagementReference string `json:"serviceManagementReference"`
	}
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	if strings.TrimSpace(body.DisplayName) == "" {
		// UNVERIFIED wording; the directory names the missing property this way elsewhere (sandbox/openapi).
		return c.fail(errBadRequest("Invalid value specified for property 'displayName' of resource 'Application'."), t.now())
	}
	templateID := str(tpl, "id")
	nonGallery := templateID == NonGalleryTemplateID

	app := t.newApplicationObject(body.DisplayName)
	app["applicationTemplateId"] = templateID
	if body.ServiceManagementReference != "" {
		app["serviceManagementReference"] = body.ServiceManagementReference
	}
	homePage := str(tpl, "homePageUrl")
	if nonGallery {
		homePage = "https://account.activedirectory.windowsazure.com:444/applications/default.aspx?metadata=customappsso|ISV9.1|primary|z"
	}
	web := app["web"].(map[string]any)
	web["homePageUrl"] = nullable(homePage)

	scopeID := newID()
	scope := object{
		"adminConsentDescription": "Allow the application to access " + body.DisplayName + " on behalf of the signed-in user.",
		"adminConsentDisplayName": "Access " + body.DisplayName,
		"id":                      scopeID,
		"isEnabled":               true,
		"type":                    "User",
		"userConsentDescription":  "Allow the application to access " + body.DisplayName + " on your behalf.",
		"userConsentDisplayName":  "Access " + body.DisplayName,
		"value":                   "user_impersonation",
	}
	app["api"].(map[string]any)["oauth2PermissionScopes"] = []any{scope}
	roles := []any{templateRole("User"), templateRole("msiam_access")}
	app["appRoles"] = roles

	tags := []any{"WindowsAzureActiveDirectoryIntegratedApp"}
	if nonGallery {
		tags = []any{"WindowsAzureActiveDirectoryCustomSingleSignOnApplication", "WindowsAzureActiveDirectoryIntegratedApp"}
	} else {
		tags = append(tags, "WindowsAzureActiveDirectoryGalleryApplicationNonPrimaryV1")
	}
	sp := t.newServicePrincipalObject(app)
	sp["applicationTemplateId"] = templateID
	sp["appRoleAssignmentRequired"] = true
	sp["tags"] = tags
	sp["homepage"] = nullable(homePage)
	sp["preferredSingleSignOnMode"] = nil

	t.mu.Lock()
	lag := t.faults.replicationLag()
	t.st.add(t.st.apps, app, lag)
	t.st.add(t.st.sps, sp, lag)
	t.startSyncLag(str(sp, "id"))
	out := object{
		"@odata.context":   c.serviceRoot + "/$metadata#microsoft.graph.applicationServicePrincipal",
		"application":      deepCopy(app),
		"servicePrincipal": deepCopy(sp),
	}
	t.mu.Unlock()
	return jsonResponse(http.StatusCreated, out)
}

func templateRole(name string) any {
	return object{
		"allowedMemberTypes": []any{"User"},
		"description":        name,
		"displayName":        name,
		"id":                 newID(),
		"isEnabled":          true,
		"origin":             "Application",
		"value":              nil,
	}
}
