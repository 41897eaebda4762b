package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/oauth2permissiongrants"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
)

// MicrosoftGraphAppID is the application id of Microsoft Graph, the same in every tenant.
const MicrosoftGraphAppID = "00000003-0000-0000-c000-000000000000"

// GetServicePrincipal reads a service principal by object id.
func (c *Client) GetServicePrincipal(ctx context.Context, id string) (ServicePrincipal, error) {
	return c.getServicePrincipal(ctx, id, []string{id})
}

func (c *Client) getServicePrincipal(ctx context.Context, id string, refs []string) (ServicePrincipal, error) {
	sp, err := send(ctx, c, call{op: "GET /servicePrincipals/{id}", refs: refs}, func(ctx context.Context) (models.ServicePrincipalable, error) {
		return c.sdk.ServicePrincipals().ByServicePrincipalId(id).Get(ctx, nil)
	})
	return toServicePrincipal(sp), err
}

// GetServicePrincipalByAppID reads the service principal of an application id in this tenant, e.g.
// MicrosoftGraphAppID for the delegated scopes Microsoft Graph exposes.
func (c *Client) GetServicePrincipalByAppID(ctx context.Context, appID string) (ServicePrincipal, error) {
	sp, err := send(ctx, c, call{op: "GET /servicePrincipals(appId='{appId}')", refs: []string{appID}},
		func(ctx context.Context) (models.ServicePrincipalable, error) {
			return c.sdk.ServicePrincipalsWithAppId(&appID).Get(ctx, nil)
		})
	return toServicePrincipal(sp), err
}

// UpdateServicePrincipal PATCHes the fields u sets.
func (c *Client) UpdateServicePrincipal(ctx context.Context, id string, u ServicePrincipalUpdate) error {
	body := models.NewServicePrincipal()
	n := 0
	if u.DisplayName != nil {
		body.SetDisplayName(u.DisplayName)
		n++
	}
	if u.Tags != nil {
		body.SetTags(u.Tags)
		n++
	}
	if u.AppRoleAssignmentRequired != nil {
		body.SetAppRoleAssignmentRequired(u.AppRoleAssignmentRequired)
		n++
	}
	if n == 0 {
		return nil
	}
	_, err := send(ctx, c, call{op: "PATCH /servicePrincipals/{id}", refs: []string{id}}, func(ctx context.Context) (models.ServicePrincipalable, error) {
		return c.sdk.ServicePrincipals().ByServicePrincipalId(id).Patch(ctx, body, nil)
	})
	return err
}

// ListAppRoleAssignedTo lists the users, groups and service principals assigned to roles of a service principal.
func (c *Client) ListAppRoleAssignedTo(ctx context.Context, spID string) ([]AppRoleAssignment, error) {
	b := c.sdk.ServicePrincipals().ByServicePrincipalId(spID).AppRoleAssignedTo()
	top := maxPage
	cfg := &serviceprincipals.ItemAppRoleAssignedToRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ItemAppRoleAssignedToRequestBuilderGetQueryParameters{Top: &top},
	}
	list, err := pages(ctx, c, call{op: "GET /servicePrincipals/{id}/appRoleAssignedTo", refs: []string{spID}}, 0,
		func(ctx context.Context) (page[models.AppRoleAssignmentable], error) { return b.Get(ctx, cfg) },
		func(ctx context.Context, link string) (page[models.AppRoleAssignmentable], error) {
			return b.WithUrl(link).Get(ctx, nil)
		})
	return convert(list, toAppRoleAssignment), err
}

// AssignAppRoles assigns users and groups (principalIDs) to an app role of a service principal: one POST
// .../appRoleAssignedTo each, 20 to a JSON batch, a single one sent alone. It returns the assignment made and
// an error for each principal, in order. An assignment that already exists comes back as an error IsConflict
// reports (Graph answers 400 "Permission being assigned already exists on the object."): find it with
// ListAppRoleAssignedTo. A principal refused for another reason does not stop the others.
func (c *Client) AssignAppRoles(ctx context.Context, spID, appRoleID string, principalIDs []string) ([]AppRoleAssignment, []error) {
	const op = "POST /servicePrincipals/{id}/appRoleAssignedTo"
	made := make([]AppRoleAssignment, len(principalIDs))
	errs := make([]error, len(principalIDs))
	for _, check := range [][2]string{{"service principal", spID}, {"app role", appRoleID}} {
		if _, err := parseGUID(op, check[0], check[1]); err != nil {
			for i := range errs {
				errs[i] = err
			}
			return made, errs
		}
	}
	var reqs []rawRequest
	var index []int
	for i, p := range principalIDs {
		if _, err := parseGUID(op, "principal", p); err != nil {
			errs[i] = err
			continue
		}
		reqs = append(reqs, rawRequest{
			cl: call{op: op, refs: []string{spID, p}}, method: "POST", path: "/servicePrincipals/" + spID + "/appRoleAssignedTo",
			body: map[string]string{"principalId": p, "resourceId": spID, "appRoleId": appRoleID},
		})
		index = append(index, i)
	}
	for j, r := range c.sendAll(ctx, reqs) {
		i := index[j]
		if errs[i] = r.err; r.err != nil {
			continue
		}
		a, err := decodeObject[models.AppRoleAssignmentable](op, r.body, models.CreateAppRoleAssignmentFromDiscriminatorValue)
		if err != nil {
			errs[i] = err
			continue
		}
		made[i] = toAppRoleAssignment(a)
		// A new assignment replicates like any new object: a read right after may not find it.
		c.track(made[i].ID)
	}
	return made, errs
}

// DeleteAppRoleAssignment removes an assignment from a service principal.
func (c *Client) DeleteAppRoleAssignment(ctx context.Context, spID, assignmentID string) error {
	_, err := send(ctx, c, call{op: "DELETE /servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}", refs: []string{spID, assignmentID}},
		func(ctx context.Context) (struct{}, error) {
			return struct{}{}, c.sdk.ServicePrincipals().ByServicePrincipalId(spID).AppRoleAssignedTo().ByAppRoleAssignmentId(assignmentID).Delete(ctx, nil)
		})
	if err == nil {
		c.forget(assignmentID)
	}
	return err
}

// DeleteServicePrincipal deletes a service principal (an enterprise application). Entra keeps it in the
// deleted items for 30 days, restorable (DOCS serviceprincipal-delete.md; ENTRA delete-recover-faq.md).
func (c *Client) DeleteServicePrincipal(ctx context.Context, id string) error {
	_, err := send(ctx, c, call{op: "DELETE /servicePrincipals/{id}", refs: []string{id}}, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.sdk.ServicePrincipals().ByServicePrincipalId(id).Delete(ctx, nil)
	})
	if err == nil {
		c.forget(id)
	}
	return err
}

// ListPermissionGrants lists the delegated permission grants of a client service principal.
func (c *Client) ListPermissionGrants(ctx context.Context, clientID string) ([]PermissionGrant, error) {
	filter := "clientId eq " + quote(clientID)
	cfg := &oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilderGetRequestConfiguration{
		QueryParameters: &oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilderGetQueryParameters{Filter: &filter},
	}
	list, err := pages(ctx, c, call{op: "GET /oauth2PermissionGrants", refs: []string{clientID}}, 0,
		func(ctx context.Context) (page[models.OAuth2PermissionGrantable], error) {
			return c.sdk.Oauth2PermissionGrants().Get(ctx, cfg)
		},
		func(ctx context.Context, link string) (page[models.OAuth2PermissionGrantable], error) {
			return c.sdk.Oauth2PermissionGrants().WithUrl(link).Get(ctx, nil)
		})
	return convert(list, toPermissionGrant), err
}

// CreatePermissionGrant grants delegated consent (g.ID is ignored). A grant for the same client, resource and
// principal that already exists comes back as an error IsConflict reports (409
// Request_MultipleObjectsWithSameKeyValue): find it with ListPermissionGrants and update its scope instead.
func (c *Client) CreatePermissionGrant(ctx context.Context, g PermissionGrant) (PermissionGrant, error) {
	body := models.NewOAuth2PermissionGrant()
	body.SetClientId(&g.ClientID)
	body.SetResourceId(&g.ResourceID)
	body.SetConsentType(&g.ConsentType)
	if g.PrincipalID != "" {
		body.SetPrincipalId(&g.PrincipalID)
	}
	body.SetScope(&g.Scope)
	refs := []string{g.ClientID, g.ResourceID}
	if g.PrincipalID != "" {
		refs = append(refs, g.PrincipalID)
	}
	created, err := send(ctx, c, call{op: "POST /oauth2PermissionGrants", refs: refs}, func(ctx context.Context) (models.OAuth2PermissionGrantable, error) {
		return c.sdk.Oauth2PermissionGrants().Post(ctx, body, nil)
	})
	if err != nil {
		return PermissionGrant{}, err
	}
	out := toPermissionGrant(created)
	c.track(out.ID)
	return out, nil
}

// UpdatePermissionGrantScope replaces the scope string of a grant (PATCH replaces, it does not add: pass the
// union of the scopes to keep).
func (c *Client) UpdatePermissionGrantScope(ctx context.Context, id, scope string) error {
	body := models.NewOAuth2PermissionGrant()
	scope = strings.Join(strings.Fields(scope), " ")
	body.SetScope(&scope)
	_, err := send(ctx, c, call{op: "PATCH /oauth2PermissionGrants/{id}", refs: []string{id}}, func(ctx context.Context) (models.OAuth2PermissionGrantable, error) {
		return c.sdk.Oauth2PermissionGrants().ByOAuth2PermissionGrantId(id).Patch(ctx, body, nil)
	})
	return err
}

// DeletePermissionGrant revokes a delegated permission grant (DOCS oauth2permissiongrant-delete.md).
func (c *Client) DeletePermissionGrant(ctx context.Context, id string) error {
	_, err := send(ctx, c, call{op: "DELETE /oauth2PermissionGrants/{id}", refs: []string{id}}, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.sdk.Oauth2PermissionGrants().ByOAuth2PermissionGrantId(id).Delete(ctx, nil)
	})
	if err == nil {
		c.forget(id)
	}
	return err
}

func parseGUID(op, what, v string) (uuid.UUID, error) {
	id, err := uuid.Parse(v)
	if err != nil {
		return uuid.UUID{}, fmt.Errorf("%s: the %s id %q is not a GUID", op, what, v)
	}
	return id, nil
}
