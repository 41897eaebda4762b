package steps

import (
	"context"
	"fmt"

	"github.com/idpctl/idpctl/backend"
)

// handoff gives the SaaS what it needs for single sign-on (documented step 2, "In Smallstep") and gets back the
// SCIM URL and token for provisioning (step 3.1), through env.Backend: one call to a backend's API, or the
// values for the admin to paste, with the client secret in a file or shown at the terminal, and the SCIM
// endpoint the admin gave or enters there.
type handoff struct{}

// handoffPlan is the hand-off step's payload.
type handoffPlan struct {
	Register bool `json:"register"` // a new client secret goes to the SaaS; false: the SaaS has the current one
	// AskSCIM: no new secret, but the admin at the terminal still owes the SCIM values that an earlier run,
	// stopped at the hand-off, did not get.
	AskSCIM bool `json:"askScim,omitempty"`
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

// askSCIM reports that the hand-off at the terminal must ask for the SCIM endpoint although no new secret goes
// out: an earlier run stopped after the admin had the secret but before the SCIM values were saved.
func (s *handoff) askSCIM(env *Env) bool {
	return env.Inputs.HandOffAtTerminal && env.Inputs.SCIMURL == "" && env.State.Get().ProvisioningCredentials == ""
}

func (s *handoff) Plan(ctx context.Context, env *Env) (Change, error) {
	env.Out().SCIM.Set(env.Backend.KnownSCIM())
	newSecret, err := env.Out().NewSecret.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	p := handoffPlan{Register: newSecret != nil, AskSCIM: newSecret == nil && s.askSCIM(env)}
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
	dest := env.Backend.Destination()
	var r Resource
	switch {
	case dest.URL != "":
		r = Resource{Action: Create, Type: "backend registration", Name: dest.URL, Attrs: append(attrs, Later("SCIM URL"), Later("SCIM token"))}
	case dest.File != "":
		r = Resource{Action: Create, Type: "secret file", Name: dest.File, Attrs: append(attrs, Value("mode", "0600")),
			Note: "paste these values into your SaaS; the secret is in the file"}
	}
	switch {
	case p.AskSCIM:
		r = Resource{Action: Run, Type: "hand-off", Name: "at this terminal", Attrs: attrs[:3],
			Note: "you have the client secret from the earlier run; idpctl takes the SCIM URL and token your SaaS shows"}
	case dest.URL == "" && dest.File == "":
		r = Resource{Action: Run, Type: "hand-off", Name: "at this terminal", Attrs: attrs,
			Note: "idpctl shows these values to paste into your SaaS, the client secret once when you ask, then takes the SCIM URL and token your SaaS shows"}
	}
	if !p.Register && !p.AskSCIM {
		r = Resource{Action: NoOp, Type: r.Type, Name: r.Name}
	}
	return Change{Payload: p, Resources: []Resource{r}}, nil
}

func (s *handoff) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[handoffPlan](change)
	if err != nil {
		return err
	}
	given := env.Backend.KnownSCIM()
	if given != nil {
		env.Out().SCIM.Set(given) // known now: provisioning need not wait for the secret
	}
	if !p.Register && !p.AskSCIM {
		if given == nil {
			env.Out().SCIM.Set(nil)
		}
		env.Out().Delivered.Set(struct{}{})
		return nil
	}
	var newSecret *NewSecret
	if p.Register {
		if newSecret, err = env.Out().NewSecret.Wait(ctx); err != nil {
			return err
		}
		if newSecret == nil {
			return fmt.Errorf("the plan registers a new client secret, but the client secret step created none")
		}
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	reg := backend.Registration{TenantID: env.TenantID, ClientID: app.App.AppID, DiscoveryURL: MetadataURL(env.LoginHost, env.TenantID)}
	if newSecret != nil {
		reg.ClientSecret = newSecret.Value
	}
	scim, err := env.Backend.Register(ctx, reg)
	if err != nil {
		return fmt.Errorf("handing the registration to the %s backend: %w", env.Backend.Name(), err)
	}
	if err := env.State.Update(env.clock().Now(), func(d *StateData) {
		if newSecret != nil && d.Secret != nil && d.Secret.KeyID == newSecret.KeyID {
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
