package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/idpctl/idpctl/graph"
)

// MicrosoftGraphAppID is the application id of Microsoft Graph, the same in every tenant.
const MicrosoftGraphAppID = "00000003-0000-0000-c000-000000000000"

// Settings the guide asks for in step 2.
const (
	multiTenantAudience = "AzureADMultipleOrgs"
)

var (
	// oidcScopes are the Microsoft Graph delegated permissions of step 2.8, granted with admin consent.
	oidcScopes = []string{"openid", "profile", "email"}
	// idTokenClaims are the optional ID-token claims of step 2.10.
	idTokenClaims = []string{"email", "preferred_username"}
)

// ssoSettings configures the app registration for OIDC sign-in (documented steps 2.6-2.12) in one PATCH: the
// final display name and idpctl's tag, multi-tenant audience, the web redirect URI, the ID-token optional claims
// and the Microsoft Graph permissions. Values others added (more redirect URIs, claims, permissions) are kept.
type ssoSettings struct{}

// ssoPlan is the single sign-on step's payload.
type ssoPlan struct {
	GraphSPID string   `json:"graphServicePrincipalId"` // Microsoft Graph's service principal in this tenant
	ScopeIDs  []string `json:"scopeIds"`                // the ids of oidcScopes on it
	// Update is the PATCH of an existing application, nil when it has every setting. An application that apply
	// creates (NewApplication) gets a PATCH computed from it as created: the template's values exist only then.
	Update         *graph.ApplicationUpdate `json:"update,omitempty"`
	NewApplication bool                     `json:"newApplication,omitempty"`
	// Rename is the enterprise application's new display name, when it has another.
	Rename string `json:"rename,omitempty"`
}

func (s *ssoSettings) String() string { return "single sign-on settings" }

func (s *ssoSettings) Sets(_ Phase, out *Outputs) []Slot {
	return []Slot{&out.GraphSP, &out.AppSettled}
}

func (s *ssoSettings) Plan(ctx context.Context, env *Env) (Change, error) {
	graphSP, err := env.Graph.GetServicePrincipalByAppID(ctx, MicrosoftGraphAppID)
	if err != nil {
		return Change{}, fmt.Errorf("reading Microsoft Graph's service principal: %w", err)
	}
	env.Out().GraphSP.Set(graphSP.ID)
	p := ssoPlan{GraphSPID: graphSP.ID}
	if p.ScopeIDs, err = scopeIDs(graphSP, oidcScopes); err != nil {
		return Change{}, err
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	scopeNames := map[string]string{}
	for _, sc := range graphSP.Scopes {
		scopeNames[strings.ToLower(sc.ID)] = sc.Value
	}
	// For an application apply will create, every setting is new.
	u, attrs := update(app.App, env.Inputs, p.ScopeIDs, scopeNames)
	name := env.Inputs.AppName
	var change Change
	switch {
	case !app.Exists:
		p.NewApplication = true
		change.Resources = append(change.Resources, Resource{Action: Create, Type: "app registration settings", Name: name, Attrs: attrs})
	case len(attrs) > 0:
		p.Update = &u
		change.Resources = append(change.Resources, Resource{Action: Update, Type: "app registration settings", Name: name, Attrs: attrs})
	default:
		change.Resources = append(change.Resources, Resource{Action: NoOp, Type: "app registration settings", Name: name})
	}
	if app.Exists && app.SP.DisplayName != name {
		p.Rename = name
		change.Resources = append(change.Resources, Resource{
			Action: Update, Type: "enterprise application name", Name: name, Attrs: []Attr{Set("display name", app.SP.DisplayName, name)},
		})
	}
	change.Payload = p
	env.Out().AppSettled.Set(struct{}{})
	return change, nil
}

// update is the one PATCH that gives the application the settings of step 2, computed from the application as
// it is, and the changes it makes for the plan (scopeNames, by lower-case id, name the permissions there).
// Complex properties go whole: the web object with the values the application already has (its home page
// carries the non-gallery marker), optionalClaims with every token type.
func update(current graph.Application, in Inputs, scopeIDs []string, scopeNames map[string]string) (graph.ApplicationUpdate, []Attr) {
	var (
		u     graph.ApplicationUpdate
		attrs []Attr
	)
	if current.DisplayName != in.AppName {
		u.DisplayName = &in.AppName
		attrs = append(attrs, Set("display name", current.DisplayName, in.AppName))
	}
	if !slices.Contains(current.Tags, Tag) {
		u.Tags = append(slices.Clone(current.Tags), Tag)
		attrs = append(attrs, Set("tags", strings.Join(current.Tags, ", "), strings.Join(u.Tags, ", ")))
	}
	if current.SignInAudience != multiTenantAudience {
		aud := multiTenantAudience
		u.SignInAudience = &aud
		attrs = append(attrs, Set("sign-in audience", current.SignInAudience, aud))
	}
	if !slices.Contains(current.RedirectURIs, in.RedirectURI) {
		u.RedirectURIs = append(slices.Clone(current.RedirectURIs), in.RedirectURI)
		u.HomePageURL, u.LogoutURL = nonEmpty(current.HomePageURL), nonEmpty(current.LogoutURL)
		u.IDTokenIssuance, u.AccessTokenIssuance = &current.IDTokenIssuance, &current.AccessTokenIssuance
		attrs = append(attrs, Set("web redirect URIs", strings.Join(current.RedirectURIs, ", "), strings.Join(u.RedirectURIs, ", ")))
	}
	if claims, changed := withIDTokenClaims(current.IDTokenClaims); changed {
		u.IDTokenClaims = claims
		u.AccessTokenClaims = nonNil(current.AccessTokenClaims)
		u.SAML2TokenClaims = nonNil(current.SAML2TokenClaims)
		attrs = append(attrs, Set("ID token optional claims", claimNames(current.IDTokenClaims), claimNames(claims)))
	}
	if rra, changed := withGraphScopes(current.RequiredResourceAccess, scopeIDs); changed {
		u.RequiredResourceAccess = rra
		attrs = append(attrs, Set("Microsoft Graph permissions", scopeNamesOf(current.RequiredResourceAccess, scopeNames), scopeNamesOf(rra, scopeNames)))
	}
	return u, attrs
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil(claims []graph.OptionalClaim) []graph.OptionalClaim {
	if claims == nil {
		return []graph.OptionalClaim{}
	}
	return claims
}

func (s *ssoSettings) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[ssoPlan](change)
	if err != nil {
		return err
	}
	env.Out().GraphSP.Set(p.GraphSPID)
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	u, rename := p.Update, p.Rename
	if p.NewApplication {
		// Created in this run: its template values exist only now.
		if next, attrs := update(app.App, env.Inputs, p.ScopeIDs, nil); len(attrs) > 0 {
			u = &next
		}
		if app.SP.DisplayName != env.Inputs.AppName {
			rename = env.Inputs.AppName
		}
	}
	if u != nil {
		if err := env.Graph.UpdateApplication(ctx, app.App.ObjectID, *u); err != nil {
			return fmt.Errorf("updating the app registration: %w", err)
		}
	}
	if rename != "" {
		if err := env.Graph.UpdateServicePrincipal(ctx, app.SP.ID, graph.ServicePrincipalUpdate{DisplayName: &rename}); err != nil {
			return fmt.Errorf("renaming the enterprise application: %w", err)
		}
	}
	if err := env.State.Update(env.clock().Now(), func(d *StateData) { d.PendingDisplayName, d.PendingSince = "", time.Time{} }); err != nil {
		return err
	}
	env.Out().AppSettled.Set(struct{}{})
	return nil
}

// scopeIDs looks up delegated permission ids by value on Microsoft Graph's service principal (never hard-coded:
// the service principal's oauth2PermissionScopes is where Graph publishes them).
func scopeIDs(graphSP graph.ServicePrincipal, values []string) ([]string, error) {
	var ids []string
	for _, v := range values {
		i := slices.IndexFunc(graphSP.Scopes, func(s graph.PermissionScope) bool { return s.Value == v })
		if i < 0 {
			return nil, fmt.Errorf("Microsoft Graph's service principal in this tenant has no delegated permission %q", v)
		}
		ids = append(ids, graphSP.Scopes[i].ID)
	}
	return ids, nil
}

func withIDTokenClaims(current []graph.OptionalClaim) ([]graph.OptionalClaim, bool) {
	claims := slices.Clone(current)
	changed := false
	for _, name := range idTokenClaims {
		if !slices.ContainsFunc(claims, func(c graph.OptionalClaim) bool { return c.Name == name }) {
			claims = append(claims, graph.OptionalClaim{Name: name})
			changed = true
		}
	}
	return claims, changed
}

func claimNames(claims []graph.OptionalClaim) string {
	var names []string
	for _, c := range claims {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

// withGraphScopes adds the delegated scopes to the Microsoft Graph entry of requiredResourceAccess, keeping
// everything else.
func withGraphScopes(current []graph.RequiredResourceAccess, ids []string) ([]graph.RequiredResourceAccess, bool) {
	rra := slices.Clone(current)
	i := slices.IndexFunc(rra, func(r graph.RequiredResourceAccess) bool {
		return strings.EqualFold(r.ResourceAppID, MicrosoftGraphAppID)
	})
	if i < 0 {
		rra = append(rra, graph.RequiredResourceAccess{ResourceAppID: MicrosoftGraphAppID})
		i = len(rra) - 1
	}
	entry := rra[i]
	entry.Access = slices.Clone(entry.Access)
	changed := false
	for _, id := range ids {
		if !slices.ContainsFunc(entry.Access, func(a graph.ResourceAccess) bool { return strings.EqualFold(a.ID, id) && a.Type == "Scope" }) {
			entry.Access = append(entry.Access, graph.ResourceAccess{ID: id, Type: "Scope"})
			changed = true
		}
	}
	rra[i] = entry
	return rra, changed
}

func scopeNamesOf(rra []graph.RequiredResourceAccess, names map[string]string) string {
	var out []string
	for _, r := range rra {
		if !strings.EqualFold(r.ResourceAppID, MicrosoftGraphAppID) {
			continue
		}
		for _, a := range r.Access {
			if n, ok := names[strings.ToLower(a.ID)]; ok {
				out = append(out, n)
			}
		}
	}
	return strings.Join(out, " ")
}
