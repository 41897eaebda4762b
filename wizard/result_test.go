package wizard_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/steps"
	"github.com/idpctl/idpctl/wizard"
)

func applied() steps.Result {
	return steps.Result{
		TenantID:            "3b321653-975d-483d-b6de-ef7ea74cbd99",
		ClientID:            "563458bd-edc9-4eaf-93db-e0f02059a2b4",
		ApplicationObjectID: "d7e719b8-efc5-4e53-ae6d-e3e4359d5537",
		ServicePrincipalID:  "3c0eeee6-442a-44d8-b1e2-e2168e0a2216",
		OIDCMetadataURL:     "https://login.microsoftonline.com/3b321653-975d-483d-b6de-ef7ea74cbd99/v2.0/.well-known/openid-configuration",
		ProvisioningJobID:   "scim.ea291dc7c6c1da32c03a78f9c0d4621e.3b321653-975d-483d-b6de-ef7ea74cbd99",
		RedirectURI:         steps.DefaultRedirectURI,
		Backend:             steps.BackendManual,
		SecretFile:          "./client-secret",
		Steps:               steps.Report{{Step: "application", Status: steps.StatusApplied, Summary: `created enterprise application "Smallstep"`}},
		Users: []steps.UserResult{
			{ID: "u1", UserPrincipalName: "grady.archie@contoso.onmicrosoft.com", Via: "user", Outcome: steps.Arrived},
			{ID: "u2", UserPrincipalName: "adele.vance@contoso.onmicrosoft.com", Via: "group Smallstep Users", Outcome: steps.Arrived},
			{ID: "u3", UserPrincipalName: "diego.siciliani@contoso.onmicrosoft.com", Via: "group Smallstep Users", Outcome: steps.Skipped, Reason: "the account is disabled"},
			{ID: "u4", UserPrincipalName: "lee.gu@contoso.onmicrosoft.com", Via: "user", Outcome: steps.Failed, Reason: "the SaaS answered 409: userName already exists"},
		},
		Notes: []string{"1 group members were left to the provisioning cycle"},
	}
}

func TestWriteResult(t *testing.T) {
	var b bytes.Buffer
	if err := wizard.WriteResult(&b, applied()); err != nil {
		t.Fatal(err)
	}
	want := `Entra ID application
  Tenant ID              3b321653-975d-483d-b6de-ef7ea74cbd99
  Client ID              563458bd-edc9-4eaf-93db-e0f02059a2b4
  OIDC metadata URL      https://login.microsoftonline.com/3b321653-975d-483d-b6de-ef7ea74cbd99/v2.0/.well-known/openid-configuration
  Redirect URI           https://api.smallstep.com/auth/openid/callback
  Client secret          in ./client-secret (mode 0600)
  Object ID              d7e719b8-efc5-4e53-ae6d-e3e4359d5537
  Service principal ID   3c0eeee6-442a-44d8-b1e2-e2168e0a2216
  Provisioning job       scim.ea291dc7c6c1da32c03a78f9c0d4621e.3b321653-975d-483d-b6de-ef7ea74cbd99

Users
  arrived  grady.archie@contoso.onmicrosoft.com
  arrived  adele.vance@contoso.onmicrosoft.com (group Smallstep Users)
  skipped  diego.siciliani@contoso.onmicrosoft.com (group Smallstep Users): the account is disabled
  failed   lee.gu@contoso.onmicrosoft.com: the SaaS answered 409: userName already exists

Note: 1 group members were left to the provisioning cycle

Next
  In Smallstep, open "Connect an Entra ID IdP" and fill in the client ID, tenant ID and OIDC
  metadata URL above, and the client secret from ./client-secret.
  Sign out of the SaaS and sign in with SSO, then choose who is an Owner or Admin there.
  Entra now provisions changes about every 40 minutes; running this command again checks the setup.
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteResultBackendAndNoUsers(t *testing.T) {
	r := applied()
	r.SecretFile, r.Users, r.Notes, r.ProvisioningJobID, r.Backend = "", nil, nil, "", steps.BackendHTTP
	var b bytes.Buffer
	if err := wizard.WriteResult(&b, r); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if !strings.Contains(text, "  Client secret          handed to the backend\n") {
		t.Errorf("secret location missing:\n%s", text)
	}
	for _, absent := range []string{"Users", "Note:", "Provisioning job"} {
		if strings.Contains(text, absent) {
			t.Errorf("result shows %q although it is empty:\n%s", absent, text)
		}
	}
}

// Issue 10 item 3: a manual run that stopped before writing the secret file does not say the secret is in it.
func TestWriteResultSecretNotWritten(t *testing.T) {
	r := applied()
	r.SecretFile, r.Backend = "", steps.BackendManual
	var b bytes.Buffer
	if err := wizard.WriteResult(&b, r); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if !strings.Contains(text, "  Client secret          not written: the run stopped before the hand-off; run it again\n") ||
		strings.Contains(text, "client-secret") || strings.Contains(text, "handed to the backend") {
		t.Errorf("a secret that was not written:\n%s", text)
	}
}

func TestWriteJSONIsOneObject(t *testing.T) {
	var b bytes.Buffer
	if err := wizard.WriteJSON(&b, applied()); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&b)
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Error("more than one JSON value")
	}
	for _, k := range []string{"tenantId", "clientId", "applicationObjectId", "servicePrincipalId", "oidcMetadataUrl", "provisioningJobId", "steps", "users"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON lacks %q: %v", k, doc)
		}
	}
	users, _ := doc["users"].([]any)
	if len(users) != 4 {
		t.Fatalf("users = %v", doc["users"])
	}
	if u := users[2].(map[string]any); u["outcome"] != "skipped" || u["reason"] != "the account is disabled" || u["via"] != "group Smallstep Users" {
		t.Errorf("skipped user = %v", u)
	}
}
