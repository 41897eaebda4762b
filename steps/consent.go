package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/idpctl/idpctl/graph"
)

// adminConsent grants tenant-wide admin consent for the Microsoft Graph openid, profile and email permissions
// (documented step 2.8, "Grant admin consent"): one AllPrincipals oauth2PermissionGrant from the application's
// service principal to Microsoft Graph's.
type adminConsent struct{}

// consentPlan is the admin consent step's payload.
type consentPlan struct {
	GrantID string `json:"grantId,omitempty"` // the existing grant to update; "" to create one
	Scope   string `json:"scope"`             // the scope the grant must have
}

func (s *adminConsent) String() string { return "admin consent" }

func (s *adminConsent) Sets(_ Phase, _ *Outputs) []Slot {
	return nil
}

func (s *adminConsent) Plan(ctx context.Context, env *Env) (Change, error) {
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	graphSP, err := env.Out().GraphSP.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	name := "Microsoft Graph: " + strings.Join(oidcScopes, " ")
	var existing *graph.PermissionGrant
	if app.Exists {
		grants, err := env.Graph.ListPermissionGrants(ctx, app.SP.ID)
		if err != nil {
			return Change{}, err
		}
		for _, g := range grants {
			if g.ConsentType == "AllPrincipals" && strings.EqualFold(g.ResourceID, graphSP) {
				existing = &g
				break
			}
		}
	}
	if existing == nil {
		p := consentPlan{Scope: strings.Join(oidcScopes, " ")}
		return Change{Payload: p, Resources: []Resource{{
			Action: Create, Type: "admin consent", Name: name,
			Attrs: []Attr{Value("consent type", "AllPrincipals (all users)"), Value("scope", p.Scope)},
		}}}, nil
	}
	union, changed := unionScope(existing.Scope, oidcScopes)
	p := consentPlan{GrantID: existing.ID, Scope: union}
	if !changed {
		return Change{Payload: p, Resources: []Resource{{Action: NoOp, Type: "admin consent", Name: name}}}, nil
	}
	return Change{Payload: p, Resources: []Resource{{
		Action: Update, Type: "admin consent", Name: name, Attrs: []Attr{Set("scope", existing.Scope, union)},
	}}}, nil
}

func (s *adminConsent) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[consentPlan](change)
	if err != nil {
		return err
	}
	if !change.Pending() {
		return nil
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	graphSP, err := env.Out().GraphSP.Wait(ctx)
	if err != nil {
		return err
	}
	if p.GrantID != "" {
		return s.update(ctx, env, p.GrantID, p.Scope)
	}
	_, err = env.Graph.CreatePermissionGrant(ctx, graph.PermissionGrant{
		ClientID: app.SP.ID, ResourceID: graphSP, ConsentType: "AllPrincipals", Scope: p.Scope,
	})
	if !graph.IsConflict(err) {
		return err
	}
	// Someone (or a retried request) granted consent meanwhile: Graph allows one AllPrincipals grant per
	// client and resource, so find it and make sure it has the scopes.
	grants, err := env.Graph.ListPermissionGrants(ctx, app.SP.ID)
	if err != nil {
		return err
	}
	for _, g := range grants {
		if g.ConsentType == "AllPrincipals" && strings.EqualFold(g.ResourceID, graphSP) {
			if union, changed := unionScope(g.Scope, oidcScopes); changed {
				return s.update(ctx, env, g.ID, union)
			}
			return nil
		}
	}
	return fmt.Errorf("granting admin consent: Graph reported a conflicting grant but lists none for %s", app.SP.ID)
}

func (s *adminConsent) update(ctx context.Context, env *Env, id, scope string) error {
	if err := env.Graph.UpdatePermissionGrantScope(ctx, id, scope); err != nil {
		return fmt.Errorf("updating admin consent: %w", err)
	}
	return nil
}

// unionScope adds the wanted scopes to a space-separated scope string; PATCH replaces the whole string, so the
// scopes others granted are kept by sending them back.
func unionScope(current string, wanted []string) (string, bool) {
	scopes := strings.Fields(current)
	changed := false
	for _, w := range wanted {
		if !slices.ContainsFunc(scopes, func(s string) bool { return strings.EqualFold(s, w) }) {
			scopes = append(scopes, w)
			changed = true
		}
	}
	return strings.Join(scopes, " "), changed
}
