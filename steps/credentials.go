package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/secret"
)

// Synchronization secret keys (Graph's synchronizationSecret enum; PascalCase is required).
const (
	secretBaseAddress   = "BaseAddress"
	secretToken         = "SecretToken"
	secretSyncAll       = "SyncAll"
	secretNotifications = "SyncNotificationSettings"
)

// defaultNotificationSettings is SyncNotificationSettings when no admin set it: no notification e-mail and no
// accidental-deletion threshold, as Microsoft's own request sends them (DOCS
// synchronization-serviceprincipal-put-synchronization.md). An admin's settings are kept instead.
const defaultNotificationSettings = `{"Enabled":false,"DeleteThresholdEnabled":false}`

// CompliantFlag is the tenant URL feature flag that switches Entra to its SCIM-compliant PATCH requests
// (ENTRA application-provisioning-config-problem-scim-compatibility.md): lowercase ops, "active" as a JSON
// boolean, several attributes in one replace, group members removed by a value-filter path. Entra's default
// sends "active": "False" as a string, which strict SCIM 2.0 servers refuse, so deactivation fails there.
// On-demand provisioning ignores the flag.
const CompliantFlag = "aadOptscim062020"

// CompliantNote says in a plan what saving the tenant URL with CompliantFlag changes.
const CompliantNote = CompliantFlag + ": Entra sends SCIM-compliant PATCH requests (lowercase ops, \"active\" as a JSON boolean, group members removed by path); on-demand provisioning keeps the default dialect"

// withCompliantFlag is the tenant URL with the flag added when compliant, as Microsoft documents it: a query
// parameter of the tenant URL. A URL that has it already is left as it is.
func withCompliantFlag(base string, compliant bool) string {
	if !compliant || hasCompliantFlag(base) {
		return base
	}
	if strings.Contains(base, "?") {
		return base + "&" + CompliantFlag
	}
	return base + "?" + CompliantFlag
}

// hasCompliantFlag reports whether a tenant URL carries CompliantFlag as a query parameter.
func hasCompliantFlag(tenantURL string) bool {
	_, query, ok := strings.Cut(tenantURL, "?")
	if !ok {
		return false
	}
	for _, part := range strings.Split(query, "&") {
		name, _, _ := strings.Cut(part, "=")
		if strings.EqualFold(name, CompliantFlag) {
			return true
		}
	}
	return false
}

// provisioningCredentials tests the SCIM endpoint and saves its URL and token in the tenant (documented step
// 3.5: "Test Connection", then "Save"). The endpoint is first probed directly, the way Entra will call it, so a
// wrong URL or token is reported precisely. Saving replaces the whole set of provisioning secrets, so the
// settings an admin made there (notification e-mail, deletion threshold, SkipOutOfScopeDeletions, ...) are read
// first and saved again; new credentials are tested by Entra before they replace working ones, and the saved set
// is tested after, as Microsoft's onboarding runbook does.
type provisioningCredentials struct{}

// credentialsPlan is the provisioning credentials step's payload.
type credentialsPlan struct {
	// Probed says the plan tested the SCIM endpoint already, so apply does not test it again.
	Probed bool `json:"probed,omitempty"`
	// SCIM is the fingerprint of the tenant URL and token the plan tested ("" when the backend hands them out
	// at apply). Only a fingerprint: a plan file is passed around for review, and applying it with another token
	// than the one tested must still be noticed (the plan is stale then).
	SCIM string `json:"scimFingerprint,omitempty"`
	// Compliant saves the tenant URL with CompliantFlag: asked for, or already in the saved tenant URL.
	Compliant bool `json:"scimCompliant,omitempty"`
	// Replace says credentials are saved already: apply has Entra test the new ones before replacing them, and
	// reads the saved set again to keep every setting in it.
	Replace bool `json:"replace,omitempty"`
	// Kept names the saved settings the plan found that apply saves again, for the record.
	Kept []string `json:"kept,omitempty"`
}

func (s *provisioningCredentials) String() string { return "provisioning credentials" }

func (s *provisioningCredentials) Sets(phase Phase, out *Outputs) []Slot {
	if phase == Planning {
		return nil
	}
	return []Slot{&out.Credentials}
}

// fingerprint is a one-way digest of a tenant URL and SCIM token: enough to tell whether the saved credentials
// are the ones given, useless for recovering the token.
func fingerprint(tenantURL string, token secret.Value) string {
	sum := sha256.Sum256([]byte("idpctl scim credentials v1\x00" + tenantURL + "\x00" + token.Reveal()))
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
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	var saved []graph.SyncSecret
	if app.Exists {
		if saved, err = env.Graph.GetSyncSecrets(ctx, app.SP.ID); err != nil {
			return Change{}, fmt.Errorf("reading the saved provisioning secrets: %w", err)
		}
		if err := carriable(saved); err != nil {
			return Change{}, err
		}
	}
	savedURL := secretValue(saved, secretBaseAddress)
	p := credentialsPlan{Compliant: env.Inputs.SCIMCompliant || hasCompliantFlag(savedURL), Replace: savedURL != ""}
	for _, sv := range saved {
		if !replacedKey(sv.Key) {
			p.Kept = append(p.Kept, sv.Key)
		}
	}
	complete := slices.Contains(p.Kept, secretSyncAll) && slices.Contains(p.Kept, secretNotifications)
	st := env.State.Get()
	name := "SCIM endpoint"
	if scim == nil {
		// The backend hands out the endpoint: known only after registration, or unchanged since the last run.
		if newSecret == nil && st.ProvisioningCredentials != "" {
			if p.Compliant && !hasCompliantFlag(savedURL) {
				return Change{}, fmt.Errorf("--scim-compliant: saving the tenant URL again needs the SCIM token, and the backend hands it out only with a new client secret; add %s to the tenant URL in the Entra admin center (Provisioning › Admin credentials), or run with --backend manual --scim-url and the token", CompliantFlag)
			}
			return Change{Payload: credentialsPlan{}, Resources: []Resource{{Action: NoOp, Type: "provisioning credentials", Name: name}}}, nil
		}
		url := Later("tenant URL")
		if p.Compliant {
			url = Later("tenant URL, with ?" + CompliantFlag)
		}
		return Change{Payload: p, Resources: s.resources(p, name, saved, url)}, nil
	}
	// Known now: check it before anything is written, so a wrong URL or token stops the run here.
	report, err := s.probe(ctx, env, *scim)
	if err != nil {
		return Change{}, err
	}
	tenantURL := withCompliantFlag(scim.BaseURL, p.Compliant)
	p.Probed, p.SCIM = true, fingerprint(tenantURL, scim.Token)
	resources := s.resources(p, tenantURL, saved, Value("tenant URL", tenantURL))
	if report.RefusesStringBooleans && !p.Compliant {
		// The SaaS looks strict about booleans: Entra's default dialect would not deactivate users there.
		suggestion := "the SCIM endpoint refuses \"False\" as a boolean; Entra's default requests disable users with \"active\": \"False\", so run with --scim-compliant"
		env.report().Progress(s.String(), suggestion)
		resources[len(resources)-1].Note = suggestion
	}
	if job != nil && st.ProvisioningCredentials == p.SCIM && complete {
		return Change{Payload: p, Resources: []Resource{{Action: NoOp, Type: "provisioning credentials", Name: tenantURL, Note: resources[len(resources)-1].Note}}}, nil
	}
	return Change{Payload: p, Resources: resources}, nil
}

// resources are what saving the credentials does: Entra's test of new credentials before they replace working
// ones, the save, and Entra's test of the saved set.
func (s *provisioningCredentials) resources(p credentialsPlan, name string, saved []graph.SyncSecret, tenantURL Attr) []Resource {
	scope := "assigned users and groups"
	if strings.EqualFold(secretValue(saved, secretSyncAll), "true") {
		scope = "all users and groups (the saved setting, kept)"
	}
	notifications := "off (none saved)"
	if secretValue(saved, secretNotifications) != "" {
		notifications = "the saved settings, kept"
	}
	attrs := []Attr{tenantURL, Sensitive("secret token"), Value("scope", scope), Value("notification e-mail and deletion threshold", notifications)}
	var others []string
	for _, k := range p.Kept {
		if k != secretSyncAll && k != secretNotifications {
			others = append(others, k)
		}
	}
	if len(others) > 0 {
		attrs = append(attrs, Value("other saved settings, kept", strings.Join(others, ", ")))
	}
	update := Resource{Action: Update, Type: "provisioning credentials", Name: name, Attrs: attrs}
	if p.Compliant {
		update.Note = CompliantNote
	}
	var out []Resource
	if p.Replace {
		out = append(out, Resource{Action: Run, Type: "connection test", Name: name, Note: "the new credentials, before they replace the saved ones"})
	}
	return append(out, update, Resource{Action: Run, Type: "connection test", Name: name, Note: "the saved credentials (Test Connection)"})
}

// replacedKey reports whether a run writes the secret itself rather than keeping the saved value.
func replacedKey(key string) bool { return key == secretBaseAddress || key == secretToken }

// carriable refuses a saved set that a run would lose part of: Graph does not give credentials back ("*"), so
// only the SCIM token, which the run replaces, may be one.
func carriable(saved []graph.SyncSecret) error {
	for _, sv := range saved {
		if sv.Masked() && !replacedKey(sv.Key) {
			return fmt.Errorf("the saved provisioning secrets hold a %s, which Graph does not give back, and saving the SCIM credentials replaces the whole set: remove it in the Entra admin center (Provisioning › Admin credentials) if the app does not need it, or set the credentials there by hand", sv.Key)
		}
	}
	return nil
}

// secretValue is the saved value of a key, "" when it is not saved.
func secretValue(saved []graph.SyncSecret, key string) string {
	for _, sv := range saved {
		if sv.Key == key {
			return sv.Value.Reveal()
		}
	}
	return ""
}

// secretSet is the whole set to save: the tenant URL and token, every other setting saved before, and
// SyncAll and SyncNotificationSettings, which are always sent (Microsoft's runbook does; without SyncAll a new
// set could fall back to syncing the whole directory): sync only assigned users and groups, the portal's default
// and Microsoft's recommendation, unless an admin chose otherwise.
func secretSet(creds, saved []graph.SyncSecret) []graph.SyncSecret {
	set := slices.Clone(creds)
	for _, sv := range saved {
		if !replacedKey(sv.Key) && !sv.Masked() {
			set = append(set, sv)
		}
	}
	has := func(key string) bool {
		return slices.ContainsFunc(set, func(s graph.SyncSecret) bool { return s.Key == key })
	}
	if !has(secretSyncAll) {
		set = append(set, graph.SyncSecret{Key: secretSyncAll, Value: secret.New("false")})
	}
	if !has(secretNotifications) {
		set = append(set, graph.SyncSecret{Key: secretNotifications, Value: secret.New(defaultNotificationSettings)})
	}
	return set
}

func (s *provisioningCredentials) probe(ctx context.Context, env *Env, scim backend.SCIM) (backend.ProbeReport, error) {
	report, err := backend.Probe(ctx, env.SCIMClient, env.clock(), scim)
	if err != nil {
		return report, fmt.Errorf("testing the SCIM endpoint: %w", err)
	}
	for _, w := range report.Warnings {
		env.report().Progress(s.String(), w)
	}
	return report, nil
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
	tenantURL := withCompliantFlag(scim.BaseURL, p.Compliant)
	fp := fingerprint(tenantURL, scim.Token)
	if p.SCIM != "" && p.SCIM != fp {
		return fmt.Errorf("the SCIM URL or token differs from the one the plan tested: give the same IDPCTL_SCIM_TOKEN or --scim-token-file, or plan again")
	}
	if env.State.Get().ProvisioningCredentials == fp && slices.Contains(p.Kept, secretSyncAll) && slices.Contains(p.Kept, secretNotifications) {
		// A re-registration returned the endpoint already saved, with a complete set.
		env.Out().Credentials.Set(struct{}{})
		return nil
	}
	if !p.Probed {
		if _, err := s.probe(ctx, env, *scim); err != nil {
			return err
		}
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	job, err := env.Out().Job.Wait(ctx)
	if err != nil {
		return err
	}
	if err := saveCredentials(ctx, env, s, app.SP.ID, job.ID, tenantURL, scim.Token, p.Replace); err != nil {
		return err
	}
	env.Out().Credentials.Set(struct{}{})
	return nil
}

// saveCredentials saves a tenant URL and SCIM token for a job with every other saved setting, has Entra test
// the saved set, and records the fingerprint. With replace, credentials are saved already: working ones are
// replaced only by ones Entra's own test accepts, and the saved set is read again, now, so a setting an admin
// changed since the plan is kept as it is.
func saveCredentials(ctx context.Context, env *Env, step Step, spID, jobID, tenantURL string, token secret.Value, replace bool) error {
	creds := []graph.SyncSecret{
		{Key: secretBaseAddress, Value: secret.New(tenantURL)},
		{Key: secretToken, Value: token},
	}
	var saved []graph.SyncSecret
	if replace {
		env.progress(step, "running Entra's connection test against %s", tenantURL)
		if err := env.Graph.ValidateCredentials(ctx, spID, SCIMTemplateID, creds); err != nil {
			return fmt.Errorf("Entra's connection test failed: %w", err)
		}
		var err error
		if saved, err = env.Graph.GetSyncSecrets(ctx, spID); err != nil {
			return fmt.Errorf("reading the saved provisioning secrets: %w", err)
		}
		if err := carriable(saved); err != nil {
			return err
		}
	}
	if err := env.Graph.SaveSyncSecrets(ctx, spID, secretSet(creds, saved)); err != nil {
		return fmt.Errorf("saving the provisioning credentials: %w", err)
	}
	env.progress(step, "running Entra's connection test with the saved credentials")
	if err := env.Graph.ValidateJobCredentials(ctx, spID, jobID, nil); err != nil {
		return fmt.Errorf("Entra's connection test with the saved credentials failed (fix the SCIM endpoint and run again): %w", err)
	}
	return env.State.Update(env.clock().Now(), func(d *StateData) { d.ProvisioningCredentials = fingerprint(tenantURL, token) })
}
