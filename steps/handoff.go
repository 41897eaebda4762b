package steps

import (
	"context"
	"fmt"

	"github.com/idpctl/idpctl/backend"
)

// handoff gives the SaaS what it needs for single sign-on (documented step 2, "In Smallstep") and gets back the
// SCIM URL and token for provisioning (step 3.1). With --backend http that is one call to the backend; with
// --backend manual the client secret goes to --secret-out and the SCIM endpoint comes from the inputs.
type handoff struct{}

// handoffPlan is the hand-off step's payload.
type handoffPlan struct {
	Register bool `json:"register"` // a new client secret goes to the SaaS; false: the SaaS has the current one
}

func (s *handoff) String() string { return "backend hand-off" }

func (s *handoff) Sets(phase Phase, out *Outputs) []Slot {
	if phase == Planning {
		return []Slot{&out.SCIM}
	}
	return []Slot{&out.SCIM, &out.Delivered}
}

// MetadataURL is the OIDC metadata document URL of a tenant (documented step 2.14).
func MetadataURL(loginHost, tenantID string) string {
	return fmt.Sprintf("https://%s/%s/v2.0/.well-known/openid-configuration", loginHost, tenantID)
}

func (s *handoff) givenSCIM(env *Env) *backend.SCIM {
	if env.Inputs.Backend != BackendManual {
		return nil
	}
	return &backend.SCIM{BaseURL: env.Inputs.SCIMURL, Token: env.Inputs.SCIMToken}
}

func (s *handoff) Plan(ctx context.Context, env *Env) (Change, error) {
	env.Out().SCIM.Set(s.givenSCIM(env))
	newSecret, err := env.Out().NewSecret.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	p := handoffPlan{Register: newSecret != nil}
	clientID := Value("client id", app.App.AppID)
	if !app.Exists {
		clientID = Later("client id")
	}
	attrs := []Attr{
		Value("tenant id", env.TenantID),
		clientID,
		Value("OIDC metadata URL", MetadataURL(env.LoginHost, env.TenantID)),
		Sensitive("client secret"),
	}
	if env.Inputs.Backend == BackendHTTP {
		r := Resource{Action: Create, Type: "backend registration", Name: env.Inputs.BackendURL, Attrs: append(attrs, Later("SCIM URL"), Later("SCIM token"))}
		if !p.Register {
			r = Resource{Action: NoOp, Type: "backend registration", Name: env.Inputs.BackendURL}
		}
		return Change{Payload: p, Resources: []Resource{r}}, nil
	}
	r := Resource{Action: Create, Type: "secret file", Name: env.Inputs.SecretOut, Attrs: append(attrs, Value("mode", "0600")),
		Note: "paste these values into your SaaS; the secret is in the file"}
	if !p.Register {
		r = Resource{Action: NoOp, Type: "secret file", Name: env.Inputs.SecretOut}
	}
	return Change{Payload: p, Resources: []Resource{r}}, nil
}

func (s *handoff) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[handoffPlan](change)
	if err != nil {
		return err
	}
	given := s.givenSCIM(env)
	if given != nil {
		env.Out().SCIM.Set(given) // known now: provisioning need not wait for the secret
	}
	if !p.Register {
		if given == nil {
			env.Out().SCIM.Set(nil)
		}
		env.Out().Delivered.Set(struct{}{})
		return nil
	}
	newSecret, err := env.Out().NewSecret.Wait(ctx)
	if err != nil {
		return err
	}
	if newSecret == nil {
		return fmt.Errorf("the plan registers a new client secret, but the client secret step created none")
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	scim, err := env.Backend.Register(ctx, backend.Registration{
		TenantID:     env.TenantID,
		ClientID:     app.App.AppID,
		ClientSecret: newSecret.Value,
		DiscoveryURL: MetadataURL(env.LoginHost, env.TenantID),
	})
	if err != nil {
		return fmt.Errorf("handing the registration to the %s backend: %w", env.Backend.Name(), err)
	}
	if err := env.State.Update(env.now(), func(d *StateData) {
		if d.Secret != nil && d.Secret.KeyID == newSecret.KeyID {
			d.Secret.DeliveredTo = destination(env)
		}
	}); err != nil {
		return err
	}
	if given == nil {
		env.Out().SCIM.Set(&scim)
	}
	env.Out().Delivered.Set(struct{}{})
	return nil
}
