package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/idpctl/idpctl/graph"
)

// secretPrefix starts the display name of every client secret idpctl creates, so it can tell its own secrets
// from those others created (which it never touches).
const secretPrefix = "idpctl"

// renewBefore is how close to its expiry a secret may get before a run replaces it.
const renewBefore = 30 * 24 * time.Hour

// clientSecret creates the client secret the SaaS signs in with (documented step 2.5). A re-run keeps the secret
// when idpctl can tell it reached its destination; otherwise it creates a new one and, once that one is handed
// over, removes the client secrets idpctl created before, so no secret it made is left behind unused.
//
// `idpctl rotate-secret entra` runs it with rotate set: a new secret whatever the current one. With keepOld (a
// secret file the admin still has to paste into the SaaS) the old secrets stay until the rotation is finished.
type clientSecret struct {
	rotate  bool
	keepOld bool
}

// secretPlan is the client secret step's payload. Secrets are listed as Graph lists them, without values.
type secretPlan struct {
	Keep   *graph.PasswordCredential  `json:"keep,omitempty"`   // the current secret, when it stays; nil: apply creates one
	Remove []graph.PasswordCredential `json:"remove,omitempty"` // the other secrets idpctl created
	// KeepOld leaves the other secrets idpctl created in place: the SaaS uses one of them until the admin has
	// pasted the new secret.
	KeepOld bool `json:"keepOld,omitempty"`
}

func (s *clientSecret) String() string { return "client secret" }

func (s *clientSecret) Sets(_ Phase, out *Outputs) []Slot {
	return []Slot{&out.NewSecret}
}

// destination names where a client secret goes in this run.
func destination(env *Env) string { return env.Backend.Destination().String() }

func (s *clientSecret) Plan(ctx context.Context, env *Env) (Change, error) {
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	st := env.State.Get()
	now := env.clock().Now()
	ours := idpctlSecrets(app.App)
	p := secretPlan{KeepOld: s.keepOld}
	if !s.rotate {
		p.Keep = keptSecret(env, st, ours, now)
	}
	var change Change
	if p.Keep != nil {
		change.Resources = append(change.Resources, Resource{
			Action: NoOp, Type: "client secret", Name: existingSecretName(*p.Keep),
			Attrs: []Attr{Value("expires", p.Keep.End.Format(time.DateOnly))},
		})
		env.Out().NewSecret.Set(nil)
	} else {
		note := ""
		if len(ours) > 0 && !p.KeepOld {
			note = "replaces the secrets idpctl created before, once the new one is handed over"
		}
		change.Resources = append(change.Resources, Resource{
			Action: Create, Type: "client secret", Name: secretName(now), Note: note,
			Attrs: []Attr{
				Value("expires", now.Add(env.Inputs.SecretExpiry).Format(time.DateOnly)),
				Sensitive("value"),
				Value("delivered to", destination(env)),
			},
		})
		env.Out().NewSecret.Set(&NewSecret{}) // a placeholder: in a plan, non-nil means "will be created"
	}
	for _, o := range ours {
		if p.Keep != nil && o.KeyID == p.Keep.KeyID {
			continue
		}
		if p.KeepOld {
			change.Resources = append(change.Resources, Resource{
				Action: NoOp, Type: "client secret", Name: existingSecretName(o),
				Note: "kept until the SaaS has the new secret: then run idpctl rotate-secret entra --finish",
			})
			continue
		}
		p.Remove = append(p.Remove, o)
		change.Resources = append(change.Resources, secretResource(Delete, o, ""))
	}
	change.Payload = p
	return change, nil
}

// secretResource is an existing client secret in a plan.
func secretResource(action Action, p graph.PasswordCredential, note string) Resource {
	return Resource{
		Action: action, Type: "client secret", Name: existingSecretName(p), Note: note,
		Attrs: []Attr{Value("key id", p.KeyID), Value("expires", p.End.Format(time.DateOnly))},
	}
}

// keptSecret is the secret idpctl created that is known to be where it belongs and stays valid for a while,
// or nil. A secret file tells by itself: it holds the secret whose hint (Entra shows a secret's first three
// characters) it starts with, so a lost state file costs nothing. A backend, or an admin who was shown the
// secret, cannot be asked, so the state file must say the secret was handed over, together with the SCIM
// credentials saved since.
func keptSecret(env *Env, st StateData, ours []graph.PasswordCredential, now time.Time) *graph.PasswordCredential {
	if _, fromFile := env.Backend.HeldSecretHint(); !fromFile && st.ProvisioningCredentials == "" {
		return nil
	}
	p := deliveredSecret(env, st, ours)
	if p == nil || !p.End.After(now.Add(renewBefore)) {
		return nil
	}
	return p
}

// deliveredSecret is the secret idpctl created that the SaaS has, as far as idpctl can tell: the one whose hint
// the backend reports (a secret file tells by itself), or the one the state file records as handed to this
// backend (or shown to the admin).
func deliveredSecret(env *Env, st StateData, ours []graph.PasswordCredential) *graph.PasswordCredential {
	if hint, known := env.Backend.HeldSecretHint(); known {
		var match []graph.PasswordCredential
		for _, p := range ours {
			if hint != "" && p.Hint == hint {
				match = append(match, p)
			}
		}
		if len(match) == 1 {
			return &match[0]
		}
		return nil
	}
	if st.Secret == nil || st.Secret.DeliveredTo != destination(env) {
		return nil
	}
	for _, p := range ours {
		if strings.EqualFold(p.KeyID, st.Secret.KeyID) {
			return &p
		}
	}
	return nil
}

// discardTimeout bounds the removal of a secret that was not handed over, which runs also when the run was
// cancelled (Ctrl-C stops cleanly).
const discardTimeout = 30 * time.Second

// discard removes a client secret this run created that never reached its destination: a secret with nowhere to
// go is one more live credential and nothing else. Only a destination that tells which secret it holds (a
// secret file) can say the secret never got there; a backend whose answer was lost may have taken it, and an
// admin at the terminal may have copied it, so those are left for the next run, which the state file tells
// the secret was not confirmed. It is best effort: if it fails, the next run removes the secret.
func (s *clientSecret) discard(ctx context.Context, env *Env, app AppRef, created graph.NewPassword) {
	if hint, known := env.Backend.HeldSecretHint(); !known || hint == created.Hint {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discardTimeout)
	defer cancel()
	if err := env.Graph.RemovePassword(ctx, app.App.ObjectID, created.KeyID); err != nil && !graph.IsNotFound(err) {
		return
	}
	_ = env.State.Update(env.clock().Now(), func(d *StateData) {
		if d.Secret != nil && strings.EqualFold(d.Secret.KeyID, created.KeyID) && d.Secret.DeliveredTo == "" {
			d.Secret = nil
		}
	})
}

// existingSecretName names a client secret that exists: its description, which holds the day it was made, and
// the start of its secret ID (the admin center's column), so that two made the same day are told apart.
func existingSecretName(p graph.PasswordCredential) string {
	id := p.KeyID
	if len(id) > 8 {
		id = id[:8]
	}
	if id == "" {
		return p.DisplayName
	}
	return p.DisplayName + " (secret ID " + id + ")"
}

func secretName(now time.Time) string { return secretPrefix + " " + now.UTC().Format(time.DateOnly) }

func (s *clientSecret) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[secretPlan](change)
	if err != nil {
		return err
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	if p.Keep == nil {
		// Writes to one application are serialised: Entra answers quick successive credential writes with 409.
		if _, err := env.Out().AppSettled.Wait(ctx); err != nil {
			return err
		}
		now := env.clock().Now()
		created, err := env.Graph.AddPassword(ctx, app.App.ObjectID, secretName(now), now.Add(env.Inputs.SecretExpiry))
		if err != nil {
			return fmt.Errorf("creating the client secret: %w", err)
		}
		// Remember the key id at once: if the run dies before the secret is handed over, the next run knows
		// this secret never arrived and removes it.
		if err := env.State.Update(now, func(d *StateData) {
			d.Secret = &SecretRecord{KeyID: created.KeyID, Hint: created.Hint, Created: now.UTC()}
		}); err != nil {
			return err
		}
		env.Out().NewSecret.Set(&NewSecret{KeyID: created.KeyID, Value: created.Secret})
		if _, err := env.Out().Delivered.Wait(ctx); err != nil {
			s.discard(ctx, env, app, created)
			return err
		}
	} else {
		keep := *p.Keep
		if err := env.State.Update(env.clock().Now(), func(d *StateData) {
			d.Secret = &SecretRecord{KeyID: keep.KeyID, Hint: keep.Hint, Created: keep.Start.UTC(), DeliveredTo: destination(env)}
		}); err != nil {
			return err
		}
		env.Out().NewSecret.Set(nil)
	}
	if p.KeepOld {
		return nil
	}
	stale := p.Remove
	if p.Keep == nil && !app.Created { // an application made in this run has no other secret
		// Read again: a secret an interrupted run asked for may have been created after this run's plan read
		// the application, and it must not stay behind either.
		current, err := env.Graph.GetApplication(ctx, app.App.ObjectID)
		if err != nil {
			return err
		}
		newKey, _ := env.Out().NewSecret.Get()
		stale = nil
		for _, cred := range current.Passwords {
			if strings.HasPrefix(cred.DisplayName, secretPrefix) && !strings.EqualFold(cred.KeyID, newKey.KeyID) {
				stale = append(stale, cred)
			}
		}
	}
	for _, cred := range stale {
		if err := env.Graph.RemovePassword(ctx, app.App.ObjectID, cred.KeyID); err != nil && !graph.IsNotFound(err) {
			return fmt.Errorf("removing the old client secret %q: %w", cred.DisplayName, err)
		}
	}
	return nil
}
