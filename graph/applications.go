package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/applicationtemplates"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/idpctl/idpctl/secret"
)

// NonGalleryTemplateID is the application template "Create your own application" (integrate any other
// application you don't find in the gallery): the one that makes an enterprise app able to provision
// (DOCS applicationtemplate-instantiate.md).
const NonGalleryTemplateID = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"

// GetApplication reads an application by object id.
func (c *Client) GetApplication(ctx context.Context, objectID string) (Application, error) {
	return c.getApplication(ctx, objectID, []string{objectID})
}

// getApplication reads with the given replication refs: the waits pass none, so that a 404 comes back to them.
func (c *Client) getApplication(ctx context.Context, objectID string, refs []string) (Application, error) {
	a, err := send(ctx, c, call{op: "GET /applications/{id}", refs: refs}, func(ctx context.Context) (models.Applicationable, error) {
		return c.sdk.Applications().ByApplicationId(objectID).Get(ctx, nil)
	})
	return toApplication(a), err
}

// GetApplicationByAppID reads an application by its application (client) id.
func (c *Client) GetApplicationByAppID(ctx context.Context, appID string) (Application, error) {
	a, err := send(ctx, c, call{op: "GET /applications(appId='{appId}')", refs: []string{appID}},
		func(ctx context.Context) (models.Applicationable, error) {
			return c.sdk.ApplicationsWithAppId(&appID).Get(ctx, nil)
		})
	return toApplication(a), err
}

// FindApplications lists the applications matching every non-empty field of q, all pages.
func (c *Client) FindApplications(ctx context.Context, q ApplicationQuery) ([]Application, error) {
	var clauses []string
	if q.DisplayName != "" {
		clauses = append(clauses, "displayName eq "+quote(q.DisplayName))
	}
	if q.DisplayNamePrefix != "" {
		clauses = append(clauses, "startswith(displayName,"+quote(q.DisplayNamePrefix)+")")
	}
	if q.Tag != "" {
		clauses = append(clauses, "tags/any(t:t eq "+quote(q.Tag)+")")
	}
	if len(clauses) == 0 {
		return nil, errors.New("find applications: no criteria; set a display name, a display name prefix or a tag")
	}
	filter := strings.Join(clauses, " and ")
	top := maxPage
	cfg := &applications.ApplicationsRequestBuilderGetRequestConfiguration{
		QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{Filter: &filter, Top: &top},
	}
	list, err := pages(ctx, c, call{op: "GET /applications"}, 0,
		func(ctx context.Context) (page[models.Applicationable], error) {
			return c.sdk.Applications().Get(ctx, cfg)
		},
		func(ctx context.Context, link string) (page[models.Applicationable], error) {
			return c.sdk.Applications().WithUrl(link).Get(ctx, nil)
		})
	return convert(list, toApplication), err
}

// InstantiateTemplate creates an application and its service principal from an application template
// (NonGalleryTemplateID for a custom SAML/OIDC + SCIM app). Both are new: wait for them with
// WaitForApplication and WaitForServicePrincipal before relying on reads. Graph has been seen to answer 404
// and still create the application (as commonly observed), and the request is not retried on 503/504 for the same
// reason: instantiate under a unique name and look it up by that name when the answer is an error.
func (c *Client) InstantiateTemplate(ctx context.Context, templateID, displayName string) (Application, ServicePrincipal, error) {
	body := applicationtemplates.NewItemInstantiatePostRequestBody()
	body.SetDisplayName(&displayName)
	res, err := send(ctx, c, call{op: "POST /applicationTemplates/{id}/instantiate", create: true},
		func(ctx context.Context) (models.ApplicationServicePrincipalable, error) {
			return c.sdk.ApplicationTemplates().ByApplicationTemplateId(templateID).Instantiate().Post(ctx, body, nil)
		})
	if err != nil {
		return Application{}, ServicePrincipal{}, err
	}
	if res == nil || res.GetApplication() == nil || res.GetServicePrincipal() == nil {
		return Application{}, ServicePrincipal{}, fmt.Errorf("POST /applicationTemplates/{id}/instantiate: Graph's answer has no application or service principal; look for %q with FindApplications", displayName)
	}
	app, sp := toApplication(res.GetApplication()), toServicePrincipal(res.GetServicePrincipal())
	c.track(app.ObjectID, app.AppID, sp.ID)
	return app, sp, nil
}

// UpdateApplication PATCHes the fields u sets. The body is built from scratch, so only those fields are sent.
func (c *Client) UpdateApplication(ctx context.Context, objectID string, u ApplicationUpdate) error {
	body, n, err := applicationPatch(u)
	if err != nil {
		return fmt.Errorf("PATCH /applications/{id}: %w", err)
	}
	if n == 0 {
		return nil
	}
	_, err = send(ctx, c, call{op: "PATCH /applications/{id}", refs: []string{objectID}}, func(ctx context.Context) (models.Applicationable, error) {
		return c.sdk.Applications().ByApplicationId(objectID).Patch(ctx, body, nil)
	})
	return err
}

// applicationPatch builds the PATCH body and counts the properties it sets.
func applicationPatch(u ApplicationUpdate) (models.Applicationable, int, error) {
	app := models.NewApplication()
	n := 0
	if u.DisplayName != nil {
		app.SetDisplayName(u.DisplayName)
		n++
	}
	if u.SignInAudience != nil {
		app.SetSignInAudience(u.SignInAudience)
		n++
	}
	if u.Tags != nil {
		app.SetTags(u.Tags)
		n++
	}
	if u.RedirectURIs != nil || u.HomePageURL != nil || u.LogoutURL != nil || u.IDTokenIssuance != nil || u.AccessTokenIssuance != nil {
		web := models.NewWebApplication()
		if u.RedirectURIs != nil {
			web.SetRedirectUris(u.RedirectURIs)
		}
		if u.HomePageURL != nil {
			web.SetHomePageUrl(u.HomePageURL)
		}
		if u.LogoutURL != nil {
			web.SetLogoutUrl(u.LogoutURL)
		}
		if u.IDTokenIssuance != nil || u.AccessTokenIssuance != nil {
			g := models.NewImplicitGrantSettings()
			if u.IDTokenIssuance != nil {
				g.SetEnableIdTokenIssuance(u.IDTokenIssuance)
			}
			if u.AccessTokenIssuance != nil {
				g.SetEnableAccessTokenIssuance(u.AccessTokenIssuance)
			}
			web.SetImplicitGrantSettings(g)
		}
		app.SetWeb(web)
		n++
	}
	if u.IDTokenClaims != nil || u.AccessTokenClaims != nil || u.SAML2TokenClaims != nil {
		oc := models.NewOptionalClaims()
		if u.IDTokenClaims != nil {
			oc.SetIdToken(optionalClaimModels(u.IDTokenClaims))
		}
		if u.AccessTokenClaims != nil {
			oc.SetAccessToken(optionalClaimModels(u.AccessTokenClaims))
		}
		if u.SAML2TokenClaims != nil {
			oc.SetSaml2Token(optionalClaimModels(u.SAML2TokenClaims))
		}
		app.SetOptionalClaims(oc)
		n++
	}
	if u.RequiredResourceAccess != nil {
		list := make([]models.RequiredResourceAccessable, 0, len(u.RequiredResourceAccess))
		for _, r := range u.RequiredResourceAccess {
			rra := models.NewRequiredResourceAccess()
			rra.SetResourceAppId(&r.ResourceAppID)
			access := make([]models.ResourceAccessable, 0, len(r.Access))
			for _, a := range r.Access {
				id, err := uuid.Parse(a.ID)
				if err != nil {
					return nil, 0, fmt.Errorf("requiredResourceAccess of %s: permission id %q is not a GUID", r.ResourceAppID, a.ID)
				}
				ra := models.NewResourceAccess()
				ra.SetId(&id)
				ra.SetTypeEscaped(&a.Type)
				access = append(access, ra)
			}
			rra.SetResourceAccess(access)
			list = append(list, rra)
		}
		app.SetRequiredResourceAccess(list)
		n++
	}
	return app, n, nil
}

func optionalClaimModels(claims []OptionalClaim) []models.OptionalClaimable {
	out := make([]models.OptionalClaimable, 0, len(claims))
	for _, c := range claims {
		m := models.NewOptionalClaim()
		m.SetName(&c.Name)
		if c.Source != "" {
			m.SetSource(&c.Source)
		}
		m.SetEssential(&c.Essential)
		props := c.AdditionalProperties
		if props == nil {
			props = []string{} // Graph writes an empty list, never null
		}
		m.SetAdditionalProperties(props)
		out = append(out, m)
	}
	return out
}

// AddPassword creates a client secret. end zero leaves the lifetime to Graph (two years). The secret's value is
// in the result and nowhere else: Graph never returns it again.
func (c *Client) AddPassword(ctx context.Context, objectID, displayName string, end time.Time) (NewPassword, error) {
	cred := models.NewPasswordCredential()
	if displayName != "" {
		cred.SetDisplayName(&displayName)
	}
	if !end.IsZero() {
		end = end.UTC()
		cred.SetEndDateTime(&end)
	}
	body := applications.NewItemAddPasswordPostRequestBody()
	body.SetPasswordCredential(cred)
	p, err := send(ctx, c, call{op: "POST /applications/{id}/addPassword", refs: []string{objectID}, create: true},
		func(ctx context.Context) (models.PasswordCredentialable, error) {
			return c.sdk.Applications().ByApplicationId(objectID).AddPassword().Post(ctx, body, nil)
		})
	if err != nil {
		return NewPassword{}, err
	}
	if p == nil || str(p.GetSecretText()) == "" {
		return NewPassword{}, errors.New("POST /applications/{id}/addPassword: Graph's answer has no secretText; remove the new secret in the portal if one was created, and run again")
	}
	return NewPassword{
		KeyID:       uuidStr(p.GetKeyId()),
		DisplayName: str(p.GetDisplayName()),
		Hint:        str(p.GetHint()),
		Start:       when(p.GetStartDateTime()),
		End:         when(p.GetEndDateTime()),
		Secret:      secret.New(str(p.GetSecretText())),
	}, nil
}

// RemovePassword deletes a client secret by key id.
func (c *Client) RemovePassword(ctx context.Context, objectID, keyID string) error {
	id, err := uuid.Parse(keyID)
	if err != nil {
		return fmt.Errorf("POST /applications/{id}/removePassword: key id %q is not a GUID", keyID)
	}
	body := applications.NewItemRemovePasswordPostRequestBody()
	body.SetKeyId(&id)
	_, err = send(ctx, c, call{op: "POST /applications/{id}/removePassword", refs: []string{objectID}}, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.sdk.Applications().ByApplicationId(objectID).RemovePassword().Post(ctx, body, nil)
	})
	return err
}

// DeleteApplication deletes an application (and with it its service principal, grants and assignments).
func (c *Client) DeleteApplication(ctx context.Context, objectID string) error {
	_, err := send(ctx, c, call{op: "DELETE /applications/{id}", refs: []string{objectID}}, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.sdk.Applications().ByApplicationId(objectID).Delete(ctx, nil)
	})
	if err == nil {
		c.forget(objectID)
	}
	return err
}
