package steps

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/idpctl/idpctl/backend"
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
type clientSecret struct {
	keep  *graph.PasswordCredential // the current secret, when it stays
	stale []graph.PasswordCredential
}

func (s *clientSecret) String() string { return "client secret" }

// destination names where a client secret goes in this run.
func destination(env *Env) string {
	if env.Inputs.Backend == BackendHTTP {
		return "backend " + env.Inputs.BackendURL
	}
	abs, err := filepath.Abs(env.Inputs.SecretOut)
	if err != nil {
		abs = env.Inputs.SecretOut
	}
	return "file " + abs
}

func (s *clientSecret) Plan(ctx context.Context, env *Env) (Change, error) {
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	st := env.State.Get()
	now := env.now()
	var ours []graph.PasswordCredential
	for _, p := range app.App.Passwords {
		if strings.HasPrefix(p.DisplayName, secretPrefix) {
			ours = append(ours, p)
		}
	}
	s.keep = keptSecret(env, st, ours, now)
	var change Change
	if s.keep != nil {
		change.Resources = append(change.Resources, Resource{
			Action: NoOp, Type: "client secret", Name: s.keep.DisplayName,
			Attrs: []Attr{Value("expires", s.keep.End.Format(time.DateOnly))},
		})
		env.Out().NewSecret.Set(nil)
	} else {
		note := ""
		if len(ours) > 0 {
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
	for _, p := range ours {
		if s.keep != nil && p.KeyID == s.keep.KeyID {
			continue
		}
		s.stale = append(s.stale, p)
		change.Resources = append(change.Resources, Resource{
			Action: Delete, Type: "client secret", Name: p.DisplayName,
			Attrs: []Attr{Value("key id", p.KeyID), Value("expires", p.End.Format(time.DateOnly))},
		})
	}
	return change, nil
}

// keptSecret is the secret idpctl created that is known to be where it belongs and stays valid for a while,
// or nil. A secret file tells by itself: it holds the secret whose hint (Entra shows a secret's first three
// characters) it starts with, so a lost state file costs nothing. A backend cannot be asked, so the state file
// must say the secret was handed over, together with the SCIM credentials saved since.
func keptSecret(env *Env, st StateData, ours []graph.PasswordCredential, now time.Time) *graph.PasswordCredential {
	valid := func(p graph.PasswordCredential) bool { return p.End.After(now.Add(renewBefore)) }
	if env.Inputs.Backend == BackendManual {
		hint, ok := backend.SecretFileHint(env.Inputs.SecretOut)
		var match []graph.PasswordCredential
		for _, p := range ours {
			if ok && p.Hint == hint && valid(p) {
				match = append(match, p)
			}
		}
		if len(match) == 1 {
			return &match[0]
		}
		return nil
	}
	if st.Secret == nil || st.Secret.DeliveredTo != destination(env) || st.ProvisioningCredentials == "" {
		return nil
	}
	for _, p := range ours {
		if strings.EqualFold(p.KeyID, st.Secret.KeyID) && valid(p) {
			return &p
		}
	}
	return nil
}

func secretName(now time.Time) string { return secretPrefix + " " + now.UTC().Format(time.DateOnly) }

func (s *clientSecret) Apply(ctx context.Context, env *Env, _ Change) error {
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	if s.keep == nil {
		// Writes to one application are serialised: Entra answers quick successive credential writes with 409.
		if _, err := env.Out().AppSettled.Wait(ctx); err != nil {
			return err
		}
		now := env.now()
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
			return err
		}
	} else {
		keep := *s.keep
		if err := env.State.Update(env.now(), func(d *StateData) {
			d.Secret = &SecretRecord{KeyID: keep.KeyID, Hint: keep.Hint, Created: keep.Start.UTC(), DeliveredTo: destination(env)}
		}); err != nil {
			return err
		}
		env.Out().NewSecret.Set(nil)
	}
	stale := s.stale
	if s.keep == nil && !app.Created { // an application made in this run has no other secret
		// Read again: a secret an interrupted run asked for may have been created after this run's plan read
		// the application, and it must not stay behind either.
		current, err := env.Graph.GetApplication(ctx, app.App.ObjectID)
		if err != nil {
			return err
		}
		newKey, _ := env.Out().NewSecret.Get()
		stale = nil
		for _, p := range current.Passwords {
			if strings.HasPrefix(p.DisplayName, secretPrefix) && !strings.EqualFold(p.KeyID, newKey.KeyID) {
				stale = append(stale, p)
			}
		}
	}
	for _, p := range stale {
		if err := env.Graph.RemovePassword(ctx, app.App.ObjectID, p.KeyID); err != nil && !graph.IsNotFound(err) {
			return fmt.Errorf("removing the old client secret %q: %w", p.DisplayName, err)
		}
	}
	return nil
}
