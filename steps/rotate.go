package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/graph"
)

// RotateSecret is `idpctl rotate-secret entra`: a new client secret, handed to the SaaS before the old ones go,
// so there is never a moment without a valid secret. A backend with an API confirms it took the new secret by
// answering the registration, and the old secrets idpctl created are removed in the same run. A secret file
// cannot say when the admin has pasted it into the SaaS, so then the old secrets stay until FinishRotation.
func RotateSecret(in Inputs) []Step {
	manual := in.Backend == backend.NameManual
	return []Step{
		&existing{}, // the application setup made
		&clientSecret{rotate: true, keepOld: manual}, // a new client secret; the old ones removed once it is delivered
		&secretHandover{}, // the new secret to the backend or the secret file
	}
}

// FinishRotation is `idpctl rotate-secret entra --finish`: once the SaaS has the secret in the secret file (or
// the one last handed to the backend), the other client secrets idpctl created are removed.
func FinishRotation() []Step {
	return []Step{
		&existing{},      // the application setup made
		&secretCleanup{}, // the client secrets idpctl created that the SaaS no longer uses
	}
}

// idpctlSecrets are the client secrets idpctl created: it names them, and it never touches any other.
func idpctlSecrets(app graph.Application) []graph.PasswordCredential {
	var ours []graph.PasswordCredential
	for _, p := range app.Passwords {
		if strings.HasPrefix(p.DisplayName, secretPrefix) {
			ours = append(ours, p)
		}
	}
	return ours
}

// secretHandover gives a new client secret to the SaaS. A backend with an API takes it with the registration
// (idempotent for the same tenant and client, the new secret replacing the old) and, by answering, says it took
// it; should it answer with another SCIM endpoint or token, provisioning is moved to it with every other
// provisioning setting kept. Otherwise the secret goes to the secret file for the admin to paste.
type secretHandover struct{}

// handoverPlan is the handover step's payload: nothing to carry, the new secret exists only in apply.
type handoverPlan struct{}

func (s *secretHandover) String() string { return "secret handover" }

func (s *secretHandover) Sets(phase Phase, out *Outputs) []Slot {
	if phase == Planning {
		return nil
	}
	return []Slot{&out.Delivered}
}

func (s *secretHandover) Plan(ctx context.Context, env *Env) (Change, error) {
	if env.Inputs.Backend == backend.NameHTTP {
		return Change{Payload: handoverPlan{}, Resources: []Resource{{
			Action: Update, Type: "backend registration", Name: env.Inputs.BackendURL,
			Attrs: []Attr{Sensitive("client secret")},
			Note:  "the backend takes the new secret with the registration; if it answers with a new SCIM endpoint or token, provisioning is updated to it",
		}}}, nil
	}
	return Change{Payload: handoverPlan{}, Resources: []Resource{{
		Action: Update, Type: "secret file", Name: env.Inputs.SecretOut, Attrs: []Attr{Sensitive("client secret"), Value("mode", "0600")},
		Note: "paste it into your SaaS (Smallstep: Connect an Entra ID IdP › Client Secret)",
	}}}, nil
}

func (s *secretHandover) Apply(ctx context.Context, env *Env, change Change) error {
	if _, err := payloadOf[handoverPlan](change); err != nil {
		return err
	}
	newSecret, err := env.Out().NewSecret.Wait(ctx)
	if err != nil {
		return err
	}
	if newSecret == nil {
		return fmt.Errorf("internal error: the client secret step created no secret to hand over")
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	if env.Inputs.Backend == backend.NameHTTP {
		scim, err := env.Backend.Register(ctx, backend.Registration{
			TenantID: env.TenantID, ClientID: app.App.AppID, ClientSecret: newSecret.Value, DiscoveryURL: MetadataURL(env.LoginHost, env.TenantID),
		})
		if err != nil {
			return fmt.Errorf("handing the new client secret to the %s backend (the old secret stays, nothing else changed): %w", env.Backend.Name(), err)
		}
		if err := s.delivered(env, newSecret); err != nil {
			return err
		}
		env.progress(s, "the backend took the new client secret")
		if err := followSCIM(ctx, env, s, app, scim); err != nil {
			return err
		}
	} else {
		if err := backend.WriteSecretFile(env.Inputs.SecretOut, newSecret.Value); err != nil {
			return err
		}
		if err := s.delivered(env, newSecret); err != nil {
			return err
		}
		env.Note(fmt.Sprintf("the new client secret is in %s: paste it into your SaaS (Smallstep: Connect an Entra ID IdP › Client Secret), sign in with SSO to check it, then run idpctl rotate-secret entra --finish to remove the old one", env.Inputs.SecretOut))
	}
	env.Out().Delivered.Set(struct{}{})
	return nil
}

// delivered records where the new secret went, so status knows which secret is in use and --finish which to keep.
func (s *secretHandover) delivered(env *Env, newSecret *NewSecret) error {
	return env.State.Update(env.clock().Now(), func(d *StateData) {
		if d.Secret != nil && d.Secret.KeyID == newSecret.KeyID {
			d.Secret.DeliveredTo = destination(env)
		}
	})
}

// secretCleanup removes the client secrets idpctl created that the SaaS does not use: every one but the secret in
// the secret file, or the one last handed to the backend.
type secretCleanup struct{}

// cleanupPlan is the cleanup step's payload.
type cleanupPlan struct {
	Keep   graph.PasswordCredential   `json:"keep"`
	Remove []graph.PasswordCredential `json:"remove,omitempty"`
}

func (s *secretCleanup) String() string { return "old client secrets" }

func (s *secretCleanup) Sets(Phase, *Outputs) []Slot { return nil }

func (s *secretCleanup) Plan(ctx context.Context, env *Env) (Change, error) {
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	ours := idpctlSecrets(app.App)
	keep := deliveredSecret(env, env.State.Get(), ours)
	if keep == nil {
		where := "the secret file " + env.Inputs.SecretOut
		if env.Inputs.Backend == backend.NameHTTP {
			where = "the state file (it records which secret the backend took)"
		}
		return Change{}, fmt.Errorf("cannot tell which client secret the SaaS uses: %s names none of the %s idpctl created; give the --secret-out file the rotation wrote, or run idpctl rotate-secret entra again", where, plural(len(ours), "secret"))
	}
	p := cleanupPlan{Keep: *keep}
	change := Change{Resources: []Resource{secretResource(NoOp, *keep, "the one the SaaS has")}}
	for _, o := range ours {
		if strings.EqualFold(o.KeyID, keep.KeyID) {
			continue
		}
		p.Remove = append(p.Remove, o)
		change.Resources = append(change.Resources, secretResource(Delete, o, ""))
	}
	change.Payload = p
	return change, nil
}

func (s *secretCleanup) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[cleanupPlan](change)
	if err != nil {
		return err
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	for _, cred := range p.Remove {
		if err := env.Graph.RemovePassword(ctx, app.App.ObjectID, cred.KeyID); err != nil && !graph.IsNotFound(err) {
			return fmt.Errorf("removing the old client secret %q: %w", cred.DisplayName, err)
		}
	}
	return env.State.Update(env.clock().Now(), func(d *StateData) {
		d.Secret = &SecretRecord{KeyID: p.Keep.KeyID, Hint: p.Keep.Hint, Created: p.Keep.Start.UTC(), DeliveredTo: destination(env)}
	})
}
