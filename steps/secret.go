package steps

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
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
// when idpctl knows it reached its destination; otherwise it creates a new one and, once that one is handed over,
// removes the client secrets idpctl created before, so no secret it made is left behind unused.
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
	if st.Secret != nil && st.Secret.DeliveredTo == destination(env) {
		i := slices.IndexFunc(ours, func(p graph.PasswordCredential) bool { return strings.EqualFold(p.KeyID, st.Secret.KeyID) })
		if i >= 0 && ours[i].End.After(now.Add(renewBefore)) && s.stillDelivered(env, st, ours[i]) {
			s.keep = &ours[i]
		}
	}
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

// stillDelivered checks what can be checked of a secret's delivery: a secret file must still hold it (Entra's
// hint, its first three characters, must match); a backend must have received the SCIM credentials saved since.
func (s *clientSecret) stillDelivered(env *Env, st StateData, cred graph.PasswordCredential) bool {
	if env.Inputs.Backend == BackendHTTP {
		return st.ProvisioningCredentials != ""
	}
	hint, ok := backend.SecretFileHint(env.Inputs.SecretOut)
	return ok && cred.Hint != "" && hint == cred.Hint
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
		env.Out().NewSecret.Set(nil)
	}
	for _, p := range s.stale {
		if err := env.Graph.RemovePassword(ctx, app.App.ObjectID, p.KeyID); err != nil && !graph.IsNotFound(err) {
			return fmt.Errorf("removing the old client secret %q: %w", p.DisplayName, err)
		}
	}
	return nil
}
