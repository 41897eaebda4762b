package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/secret"
)

// Synchronization secret keys (Graph's synchronizationSecret enum; PascalCase is required).
const (
	secretBaseAddress = "BaseAddress"
	secretToken       = "SecretToken"
	secretSyncAll     = "SyncAll"
)

// provisioningCredentials tests the SCIM endpoint and saves its URL and token in the tenant (documented step
// 3.5: "Test Connection", then "Save"). The endpoint is first probed directly, the way Entra will call it, so a
// wrong URL or token is reported precisely; then Graph's own connection test runs, then the credentials are saved.
type provisioningCredentials struct{}

// credentialsPlan is the provisioning credentials step's payload.
type credentialsPlan struct {
	// Probed says the plan tested the SCIM endpoint already, so apply does not test it again.
	Probed bool `json:"probed,omitempty"`
	// SCIM is the fingerprint of the SCIM URL and token the plan tested ("" when the backend hands them out
	// at apply). Only a fingerprint: a plan file is passed around for review, and applying it with another token
	// than the one tested must still be noticed (the plan is stale then).
	SCIM string `json:"scimFingerprint,omitempty"`
}

func (s *provisioningCredentials) String() string { return "provisioning credentials" }

func (s *provisioningCredentials) Sets(phase Phase, out *Outputs) []Slot {
	if phase == Planning {
		return nil
	}
	return []Slot{&out.Credentials}
}

// fingerprint is a one-way digest of a SCIM endpoint and token: enough to tell whether the saved credentials
// are the ones given, useless for recovering the token.
func fingerprint(scim backend.SCIM) string {
	sum := sha256.Sum256([]byte("idpctl scim credentials v1\x00" + scim.BaseURL + "\x00" + scim.Token.Reveal()))
	return hex.EncodeToString(sum[:])
}

func (s *provisioningCredentials) Plan(ctx context.Context, env *Env) (Change, error) {
	scim, err := env.Out().SCIM.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	job, err := env.Out().Job.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	newSecret, err := env.Out().NewSecret.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	st := env.State.Get()
	name := "SCIM endpoint"
	if scim == nil {
		// The backend hands out the endpoint: known only after registration, or unchanged since the last run.
		if newSecret == nil && st.ProvisioningCredentials != "" {
			return Change{Payload: credentialsPlan{}, Resources: []Resource{{Action: NoOp, Type: "provisioning credentials", Name: name}}}, nil
		}
		return Change{Payload: credentialsPlan{}, Resources: []Resource{
			{Action: Run, Type: "connection test", Name: name},
			{Action: Update, Type: "provisioning credentials", Name: name, Attrs: []Attr{Later("tenant URL"), Later("secret token")}},
		}}, nil
	}
	// Known now: check it before anything is written, so a wrong URL or token stops the run here.
	if err := s.probe(ctx, env, *scim); err != nil {
		return Change{}, err
	}
	p := credentialsPlan{Probed: true, SCIM: fingerprint(*scim)}
	if job != nil && st.ProvisioningCredentials == p.SCIM {
		return Change{Payload: p, Resources: []Resource{{Action: NoOp, Type: "provisioning credentials", Name: scim.BaseURL}}}, nil
	}
	return Change{Payload: p, Resources: []Resource{
		{Action: Run, Type: "connection test", Name: scim.BaseURL},
		{Action: Update, Type: "provisioning credentials", Name: scim.BaseURL, Attrs: []Attr{
			Value("tenant URL", scim.BaseURL), Sensitive("secret token"), Value("scope", "assigned users and groups"),
		}},
	}}, nil
}

func (s *provisioningCredentials) probe(ctx context.Context, env *Env, scim backend.SCIM) error {
	report, err := backend.Probe(ctx, env.SCIMClient, scim)
	if err != nil {
		return fmt.Errorf("testing the SCIM endpoint: %w", err)
	}
	for _, w := range report.Warnings {
		env.report().Progress(s.String(), w)
	}
	return nil
}

func (s *provisioningCredentials) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[credentialsPlan](change)
	if err != nil {
		return err
	}
	scim, err := env.Out().SCIM.Wait(ctx)
	if err != nil {
		return err
	}
	if !change.Pending() {
		env.Out().Credentials.Set(struct{}{})
		return nil
	}
	if scim == nil {
		return fmt.Errorf("internal error: the backend gave no SCIM endpoint")
	}
	fp := fingerprint(*scim)
	if p.SCIM != "" && p.SCIM != fp {
		return fmt.Errorf("the SCIM URL or token differs from the one the plan tested: give the same IDPCTL_SCIM_TOKEN or --scim-token-file, or plan again")
	}
	if env.State.Get().ProvisioningCredentials == fp {
		// A re-registration returned the endpoint already saved.
		env.Out().Credentials.Set(struct{}{})
		return nil
	}
	if !p.Probed {
		if err := s.probe(ctx, env, *scim); err != nil {
			return err
		}
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	creds := []graph.SyncSecret{
		{Key: secretBaseAddress, Value: secret.New(scim.BaseURL)},
		{Key: secretToken, Value: scim.Token},
	}
	env.progress(s, "running Entra's connection test against %s", scim.BaseURL)
	if err := env.Graph.ValidateCredentials(ctx, app.SP.ID, SCIMTemplateID, creds); err != nil {
		return fmt.Errorf("Entra's connection test failed: %w", err)
	}
	if _, err := env.Out().Job.Wait(ctx); err != nil {
		return err
	}
	// Sync only assigned users and groups, the portal's default and Microsoft's recommendation: without it a
	// replaced set of secrets could fall back to syncing the whole directory.
	saved := append(creds, graph.SyncSecret{Key: secretSyncAll, Value: secret.New("false")})
	if err := env.Graph.SaveSyncSecrets(ctx, app.SP.ID, saved); err != nil {
		return fmt.Errorf("saving the provisioning credentials: %w", err)
	}
	if err := env.State.Update(env.now(), func(d *StateData) { d.ProvisioningCredentials = fp }); err != nil {
		return err
	}
	env.Out().Credentials.Set(struct{}{})
	return nil
}
