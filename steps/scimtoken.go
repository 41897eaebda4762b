package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/idpctl/idpctl/backend"
)

// RotateSCIMToken is `idpctl rotate-secret entra --scim-token`: the SaaS issued a new SCIM token, and Entra's
// provisioning must use it. Setup's own credentials step saves it: the token is tested the way Entra will use
// it, then by Entra's connection test before it replaces the working one, and saved with every other
// provisioning setting as it is.
func RotateSCIMToken() []Step {
	return []Step{
		&existing{},                // the application setup made, and its provisioning job
		&newSCIMToken{},            // the new token, for the tenant URL given or the one saved
		&provisioningCredentials{}, // test it, then save it with the other provisioning settings kept
	}
}

// newSCIMToken hands the credentials step the SCIM endpoint to save: --scim-url, else the tenant URL saved in
// the tenant, with the new token.
type newSCIMToken struct{}

// newSCIMTokenPlan is the payload: the SCIM base URL (without the compliance flag, which the credentials step
// keeps as saved).
type newSCIMTokenPlan struct {
	BaseURL string `json:"baseUrl"`
}

func (s *newSCIMToken) String() string { return "SCIM token" }

func (s *newSCIMToken) Sets(_ Phase, out *Outputs) []Slot { return []Slot{&out.SCIM, &out.NewSecret} }

func (s *newSCIMToken) Plan(ctx context.Context, env *Env) (Change, error) {
	app, _, err := requireJob(ctx, env)
	if err != nil {
		return Change{}, err
	}
	if env.Inputs.SCIMToken.IsZero() {
		return Change{}, &InputError{Problems: []string{"the new SCIM token is missing: set IDPCTL_SCIM_TOKEN or pass --scim-token-file"}}
	}
	url, err := scimURL(ctx, env, app.SP.ID)
	if err != nil {
		return Change{}, err
	}
	p := newSCIMTokenPlan{BaseURL: url}
	s.set(env, p)
	return Change{Payload: p}, nil
}

func (s *newSCIMToken) Apply(_ context.Context, env *Env, change Change) error {
	p, err := payloadOf[newSCIMTokenPlan](change)
	if err != nil {
		return err
	}
	s.set(env, p)
	return nil
}

// set gives the credentials step the endpoint, and says no client secret is made in this run.
func (s *newSCIMToken) set(env *Env, p newSCIMTokenPlan) {
	env.Out().SCIM.Set(&backend.SCIM{BaseURL: p.BaseURL, Token: env.Inputs.SCIMToken})
	env.Out().NewSecret.Set(nil)
}

// scimURL is the SCIM base URL requests go to: --scim-url, else the tenant URL saved for provisioning.
func scimURL(ctx context.Context, env *Env, spID string) (string, error) {
	if env.Inputs.SCIMURL != "" {
		return env.Inputs.SCIMURL, nil
	}
	saved, err := env.Graph.GetSyncSecrets(ctx, spID)
	if err != nil {
		return "", fmt.Errorf("reading the saved provisioning secrets: %w", err)
	}
	url := withoutCompliantFlag(secretValue(saved, secretBaseAddress))
	if url == "" {
		return "", &InputError{Problems: []string{"no SCIM URL is saved for provisioning: give the one your SaaS shows with --scim-url"}}
	}
	return url, nil
}

// withoutCompliantFlag is a saved tenant URL without CompliantFlag: the SCIM base URL requests go to.
func withoutCompliantFlag(tenantURL string) string {
	base, query, ok := strings.Cut(tenantURL, "?")
	if !ok {
		return tenantURL
	}
	var keep []string
	for _, part := range strings.Split(query, "&") {
		if name, _, _ := strings.Cut(part, "="); !strings.EqualFold(name, CompliantFlag) && part != "" {
			keep = append(keep, part)
		}
	}
	if len(keep) == 0 {
		return base
	}
	return base + "?" + strings.Join(keep, "&")
}

// followSCIM moves provisioning to the SCIM endpoint a backend answered a registration with, when it is not the
// one saved: the same save as setup's, every other provisioning setting kept.
func followSCIM(ctx context.Context, env *Env, step Step, app AppRef, scim backend.SCIM) error {
	job, err := env.Out().Job.Wait(ctx)
	if err != nil || job == nil {
		return err
	}
	tenantURL := withCompliantFlag(scim.BaseURL, env.Inputs.SCIMCompliant)
	if env.State.Get().ProvisioningCredentials == fingerprint(tenantURL, scim.Token) {
		return nil
	}
	saved, err := env.Graph.GetSyncSecrets(ctx, app.SP.ID)
	if err != nil {
		return fmt.Errorf("reading the saved provisioning secrets: %w", err)
	}
	tenantURL = withCompliantFlag(scim.BaseURL, env.Inputs.SCIMCompliant || hasCompliantFlag(secretValue(saved, secretBaseAddress)))
	if env.State.Get().ProvisioningCredentials == fingerprint(tenantURL, scim.Token) {
		return nil
	}
	if _, err := backend.Probe(ctx, env.SCIMClient, env.clock(), scim); err != nil {
		return fmt.Errorf("the backend took the new client secret but answered with a SCIM endpoint that does not work, so provisioning keeps the saved one: %w", err)
	}
	env.progress(step, "the backend answered with another SCIM endpoint or token: saving it for provisioning")
	return saveCredentials(ctx, env, step, app.SP.ID, job.ID, tenantURL, scim.Token, true)
}
