package cmd

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/steps"
)

// idpctlSecrets are the application's client secrets idpctl made, and the others.
func (tn *tenant) secrets() (ours, others []entra.PasswordCredential) {
	tn.t.Helper()
	app, _, _ := tn.app()
	for _, p := range app.PasswordCredentials {
		if strings.HasPrefix(p.DisplayName, "idpctl") {
			ours = append(ours, p)
		} else {
			others = append(others, p)
		}
	}
	return ours, others
}

// foreignSecret adds a client secret as a person would in the admin center: idpctl must never remove it.
func (tn *tenant) foreignSecret() {
	tn.t.Helper()
	app, _, _ := tn.app()
	tn.graph(http.MethodPost, "/applications/"+app.ID+"/addPassword", `{"passwordCredential":{"displayName":"break-glass"}}`)
}

// With a backend that takes the secret over its API, one run leaves exactly one idpctl secret: a new one, which
// the backend holds. The secret someone else made and every provisioning setting stay.
func TestRotateSecretThroughTheBackend(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI())
	tn.foreignSecret()
	before, _ := tn.secrets()
	_, sp, _ := tn.app()
	keys := tn.sb.Tenant.SecretKeys(sp.ID)

	o := tn.run(invocation{}, tn.day2("rotate-secret", "--yes", "--non-interactive", "--output", "json")...)
	if o.code != 0 {
		t.Fatalf("rotate-secret: %v", o)
	}
	ours, others := tn.secrets()
	if len(ours) != 1 || ours[0].KeyID == before[0].KeyID {
		t.Fatalf("idpctl's secrets after rotation %+v, want one new one (the old was %s)", ours, before[0].KeyID)
	}
	if len(others) != 1 || others[0].DisplayName != "break-glass" {
		t.Errorf("the secret idpctl did not create: %+v", others)
	}
	regs := tn.sb.Backend.Registrations()
	if len(regs) != 1 || regs[0].ClientSecret.Hint() != ours[0].Hint || regs[0].SecretRotations != 1 {
		t.Errorf("backend registration %+v, want the new secret (hint %s) after one rotation", regs, ours[0].Hint)
	}
	if got := tn.sb.Tenant.SecretKeys(sp.ID); !slices.Equal(got, keys) {
		t.Errorf("provisioning settings %v after rotation, were %v", got, keys)
	}
	doc := jsonResult(t, o.stdout)
	if doc["command"] != "rotate-secret" || doc["error"] != nil {
		t.Errorf("result %v", doc)
	}
	// Both secrets carry the date they were made on, so the old one is named with its secret ID (the admin
	// center's column) too: the summary tells the two apart on the day of the setup.
	var summaries []string
	for _, s := range doc["steps"].([]any) {
		summaries = append(summaries, s.(map[string]any)["summary"].(string))
	}
	deleted := `deleted client secret "` + before[0].DisplayName + ` (secret ID ` + before[0].KeyID[:8] + `)"`
	if !strings.Contains(strings.Join(summaries, "\n"), deleted) {
		t.Errorf("summaries %q, want one to say %s", summaries, deleted)
	}
	noSecret(t, "stdout", o.stdout, map[string]string{"client secret": regs[0].ClientSecret.Reveal(), "backend token": tn.sb.BackendToken.Reveal()})

	// Status knows the new secret is the one in use.
	o = tn.run(invocation{}, tn.day2("status", "--output", "json")...)
	var health steps.Health
	if err := json.Unmarshal([]byte(o.stdout), &health); err != nil || o.code != 0 {
		t.Fatalf("status after rotation: %v", o)
	}
	for _, s := range health.Secrets {
		if s.InUse != (s.KeyID == ours[0].KeyID) {
			t.Errorf("status marks %+v in use, want %s", s, ours[0].KeyID)
		}
	}
}

// With a secret file the admin pastes the new secret: the old one keeps working until --finish.
func TestRotateSecretThroughAFile(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.manual())
	before, _ := tn.secrets()
	o := tn.run(invocation{}, tn.day2("rotate-secret", "--yes", "--non-interactive")...)
	if o.code != 0 || !strings.Contains(o.stdout, "idpctl rotate-secret entra --finish") {
		t.Fatalf("rotate-secret: %v", o)
	}
	ours, _ := tn.secrets()
	if len(ours) != 2 {
		t.Fatalf("after the first half: %+v, want the old and the new secret", ours)
	}
	newest := ours[slices.IndexFunc(ours, func(p entra.PasswordCredential) bool { return p.KeyID != before[0].KeyID })]
	if hint, _ := backend.SecretFileHint(tn.secretOut); hint != newest.Hint {
		t.Errorf("the secret file holds %q..., want the new secret %q...", hint, newest.Hint)
	}

	o = tn.run(invocation{}, tn.day2("rotate-secret", "--finish", "--yes", "--non-interactive")...)
	if o.code != 0 {
		t.Fatalf("rotate-secret --finish: %v", o)
	}
	if ours, _ := tn.secrets(); len(ours) != 1 || ours[0].KeyID != newest.KeyID {
		t.Errorf("after --finish: %+v, want only %s", ours, newest.KeyID)
	}
	// Finishing again has nothing left to do.
	tn.reset()
	if o := tn.run(invocation{}, tn.day2("rotate-secret", "--finish", "--yes", "--non-interactive")...); o.code != 0 || !strings.Contains(o.stderr, "No changes") {
		t.Errorf("a second --finish: %v", o)
	}
	tn.noWrites("a second --finish")
}

// The SaaS issued a new SCIM token: it is tested, saved, and every other provisioning setting stays as it was.
func TestRotateSCIMToken(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.manual())
	_, sp, job := tn.app()
	// Settings others made in the admin center: notification e-mails and skipping out-of-scope deletions.
	tn.graph(http.MethodPut, "/servicePrincipals/"+sp.ID+"/synchronization/secrets", `{"value":[`+
		`{"key":"BaseAddress","value":"`+tn.sb.SCIMURL+`"},{"key":"SecretToken","value":"`+tn.sb.SCIMToken.Reveal()+`"},`+
		`{"key":"SyncAll","value":"false"},{"key":"SkipOutOfScopeDeletions","value":"True"},`+
		`{"key":"SyncNotificationSettings","value":"{\"Enabled\":true,\"Recipients\":\"ops@contoso.com\",\"DeleteThresholdEnabled\":true,\"DeleteThresholdValue\":500}"}]}`)
	settings := func() map[string]string {
		var doc struct{ Value []struct{ Key, Value string } }
		if err := json.Unmarshal(tn.graph(http.MethodGet, "/servicePrincipals/"+sp.ID+"/synchronization/secrets", ""), &doc); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, kv := range doc.Value {
			out[kv.Key] = kv.Value
		}
		return out
	}
	was := settings()

	fresh, err := tn.sb.Backend.IssueSCIMToken()
	if err != nil {
		t.Fatal(err)
	}
	env := tn.env()
	env["IDPCTL_SCIM_TOKEN"] = fresh.Reveal()
	o := tn.run(invocation{env: env}, tn.day2("rotate-secret", "--scim-token", "--yes", "--non-interactive")...)
	if o.code != 0 {
		t.Fatalf("rotate-secret --scim-token: %v", o)
	}
	noSecret(t, "the output", o.stdout+o.stderr, map[string]string{"new SCIM token": fresh.Reveal()})
	if now := settings(); !mapsEqual(now, was) {
		t.Errorf("provisioning settings after the rotation %v, were %v", now, was)
	}
	// Entra provisions with the new token: the old one no longer works, and a cycle still succeeds.
	tn.sb.Backend.RevokeSCIMToken(tn.sb.SCIMToken)
	if err := tn.sb.Tenant.RunCycleNow(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, job := tn.app(); job.StatusCode == "Quarantine" {
		t.Errorf("the job is in quarantine after the old token was revoked: it still uses it (%v)", job.Raw["status"])
	}

	// A token the SaaS does not accept is refused before anything is written.
	env["IDPCTL_SCIM_TOKEN"] = "not-a-token-the-saas-issued"
	tn.reset()
	if o := tn.run(invocation{env: env}, tn.day2("rotate-secret", "--scim-token", "--yes", "--non-interactive")...); o.code != 1 || !strings.Contains(o.err.Error(), "rejected the SCIM token") {
		t.Errorf("a wrong token: %v", o)
	}
	tn.noWrites("a wrong SCIM token")
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

// On a terminal, once the secret is in the file, the command offers to remove the old one: a plan of deletes,
// confirmed like any other.
func TestRotateSecretThroughAFileOnATerminal(t *testing.T) {
	for _, finish := range []bool{true, false} {
		tn := newTenant(t)
		tn.mustSetUp(tn.manual())
		var asked []*steps.Plan
		o := tn.run(invocation{tty: true, answers: []bool{true, finish}, asked: &asked}, tn.day2("rotate-secret")...)
		if o.code != 0 || len(asked) != 2 {
			t.Fatalf("finish %v: %v, %d plan screens", finish, o, len(asked))
		}
		if c := asked[1].Counts(); c.Delete != 1 || c.Create != 0 || c.Update != 0 {
			t.Errorf("the second plan screen %+v, want only the old secret's removal", c)
		}
		ours, _ := tn.secrets()
		want := 2
		if finish {
			want = 1
		}
		if len(ours) != want {
			t.Errorf("finish %v: %d idpctl secrets, want %d", finish, len(ours), want)
		}
		if !finish && !strings.Contains(o.stderr, "The old secret stays until you run idpctl rotate-secret entra --finish") {
			t.Errorf("declined: %v", o)
		}
	}
}
