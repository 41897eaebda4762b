package wizard_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/idpctl/idpctl/backend"
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
		Backend:             backend.NameManual,
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

// The final screen at the three widths, with and without colour.
func TestWriteResultGolden(t *testing.T) {
	for _, width := range []int{40, 80, 120} {
		for _, color := range []bool{false, true} {
			t.Run(fmt.Sprintf("w%d-color-%v", width, color), func(t *testing.T) {
				var b bytes.Buffer
				if err := wizard.WriteResult(&b, applied(), wizard.ResultOptions{Width: width, Color: color, AdminCenter: "entra.microsoft.com"}); err != nil {
					t.Fatal(err)
				}
				out := b.String()
				golden.RequireEqual(t, out)
				if strings.Contains(out, "\x1b") != color {
					t.Errorf("colour %v, escape codes present: %v", color, !color)
				}
				for _, line := range strings.Split(out, "\n") {
					if w := lipgloss.Width(line); w > width {
						t.Errorf("line of %d columns at width %d: %q", w, width, line)
					}
				}
				// Values to copy are never broken mid-way, whatever the width.
				r := applied()
				for _, v := range []string{r.TenantID, r.ClientID, r.ApplicationObjectID, r.ServicePrincipalID} {
					if !strings.Contains(out, v) {
						t.Errorf("%s is broken across lines:\n%s", v, out)
					}
				}
			})
		}
	}
}

// A --sandbox run's tenant ends with the command: its next steps say so and how to keep one, not that running
// it again checks the setup or what to do in a SaaS that is gone.
func TestWriteResultSandboxGolden(t *testing.T) {
	for _, width := range []int{40, 80, 120} {
		t.Run(fmt.Sprintf("w%d", width), func(t *testing.T) {
			var b bytes.Buffer
			if err := wizard.WriteResult(&b, applied(), wizard.ResultOptions{Width: width, Sandbox: true}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			golden.RequireEqual(t, out)
			flat := strings.Join(strings.Fields(out), " ")
			for _, want := range []string{"end with this command", "run idpctl sandbox in another terminal", "--graph-url"} {
				if !strings.Contains(flat, want) {
					t.Errorf("the sandbox's next steps lack %q:\n%s", want, out)
				}
			}
			for _, absent := range []string{"idpctl status entra checks the setup", "Smallstep's Users tab", "Sign out of Smallstep"} {
				if strings.Contains(flat, absent) {
					t.Errorf("the sandbox's next steps say %q:\n%s", absent, out)
				}
			}
		})
	}
}

// What the final screen says, section by section.
func TestWriteResult(t *testing.T) {
	var b bytes.Buffer
	if err := wizard.WriteResult(&b, applied(), wizard.ResultOptions{Width: 400, AdminCenter: "entra.microsoft.com"}); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	r := applied()
	for _, want := range []string{
		"Changed\n  created enterprise application \"Smallstep\"\n\n",
		"  Client ID              563458bd-edc9-4eaf-93db-e0f02059a2b4\n",
		"  Client secret          in ./client-secret (mode 0600)\n",
		"In the Entra admin center\n",
		"  Enterprise application https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Overview/objectId/" + r.ServicePrincipalID + "/appId/" + r.ClientID + "\n",
		"  Provisioning           https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Provisioning/objectId/" + r.ServicePrincipalID + "/appId/" + r.ClientID + "\n",
		"  Provisioning logs      https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/ProvisioningActivity/objectId/" + r.ServicePrincipalID + "/appId/" + r.ClientID + "\n",
		"Users: 2 arrived, 1 skipped, 1 failed\n",
		"  arrived  grady.archie@contoso.onmicrosoft.com\n",
		"  arrived  adele.vance@contoso.onmicrosoft.com (group Smallstep Users)\n",
		"  skipped  diego.siciliani@contoso.onmicrosoft.com (group Smallstep Users): the account is disabled\n",
		"  failed   lee.gu@contoso.onmicrosoft.com: the SaaS answered 409: userName already exists\n",
		"Note: 1 group members were left to the provisioning cycle\n",
		`  1. In Smallstep, open "Connect an Entra ID IdP" and fill in the client ID, tenant ID and OIDC metadata URL above, and the client secret from ./client-secret.`,
		"  2. In Smallstep's Users tab, check that the users who arrived are there.\n",
		"  3. Sign out of Smallstep and sign in again: it offers to sign in with SSO.\n",
		"  4. Tell Smallstep which SSO users are Owners or Admins",
		"  5. Users and groups you assign later arrive with Entra's provisioning cycle",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the final screen lacks %q:\n%s", want, text)
		}
	}
	// A simulated tenant's run has no portal to link to; the admin who pasted the values at the hand-off is
	// not told to paste them again.
	b.Reset()
	wizard.WriteResult(&b, applied(), wizard.ResultOptions{Width: 200, HandedOff: true})
	if text := b.String(); strings.Contains(text, "Entra admin center") || strings.Contains(text, "Connect an Entra ID IdP") {
		t.Errorf("without a portal, after the hand-off:\n%s", text)
	}
}

func TestWriteResultBackendAndNoUsers(t *testing.T) {
	r := applied()
	r.SecretFile, r.Users, r.Notes, r.ProvisioningJobID, r.Backend = "", nil, nil, "", backend.NameHTTP
	var b bytes.Buffer
	if err := wizard.WriteResult(&b, r, wizard.ResultOptions{}); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if !strings.Contains(text, "  Client secret          handed to the backend\n") {
		t.Errorf("secret location missing:\n%s", text)
	}
	for _, absent := range []string{"Users\n", "Note:", "Provisioning job", "Users tab"} {
		if strings.Contains(text, absent) {
			t.Errorf("result shows %q although it is empty:\n%s", absent, text)
		}
	}
}

// Issue 10 item 3: a manual run that stopped before writing the secret file does not say the secret is in it;
// a secret handed over at the terminal is said to be with the admin.
func TestWriteResultSecretNotWritten(t *testing.T) {
	r := applied()
	r.SecretFile, r.Backend = "", backend.NameManual
	var b bytes.Buffer
	if err := wizard.WriteResult(&b, r, wizard.ResultOptions{Width: 120}); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if !strings.Contains(text, "  Client secret          not written: the run stopped before the hand-off; run it again\n") ||
		strings.Contains(text, "client-secret") || strings.Contains(text, "handed to the backend") {
		t.Errorf("a secret that was not written:\n%s", text)
	}
	r.SecretHandedOver = true
	b.Reset()
	wizard.WriteResult(&b, r, wizard.ResultOptions{Width: 120})
	if !strings.Contains(b.String(), "  Client secret          handed to you at the hand-off (idpctl keeps no copy)\n") {
		t.Errorf("a secret handed over:\n%s", b.String())
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

// A re-run that changed one thing counts what it left alone in words that agree with the number.
func TestWriteResultCountsUnchangedSteps(t *testing.T) {
	for _, n := range []int{1, 2} {
		r := applied()
		r.Steps = steps.Report{{Step: "client secret", Status: steps.StatusApplied, Summary: `created client secret "idpctl"`}}
		for range n {
			r.Steps = append(r.Steps, steps.StepReport{Step: "application", Status: steps.StatusUnchanged})
		}
		var b bytes.Buffer
		if err := wizard.WriteResult(&b, r, wizard.ResultOptions{}); err != nil {
			t.Fatal(err)
		}
		want := map[int]string{1: "  1 step found nothing to change\n", 2: "  2 steps found nothing to change\n"}[n]
		if !strings.Contains(b.String(), want) {
			t.Errorf("%d unchanged: no %q in\n%s", n, want, b.String())
		}
	}
}

// A large group is summed up: its counts, then only the users that need attention, at most 20 of them.
func TestWriteResultLargeGroup(t *testing.T) {
	r := applied()
	r.Users = []steps.UserResult{
		{ID: "s1", UserPrincipalName: "ines.ortiz@contoso.onmicrosoft.com", Via: "group Sales", Outcome: steps.Skipped, Reason: "the account is disabled"},
		{ID: "a1", UserPrincipalName: "aaron.abbott@contoso.onmicrosoft.com", Via: "group Sales", Outcome: steps.Arrived, OnDemand: true},
	}
	for i := range 24 {
		r.Users = append(r.Users, steps.UserResult{ID: fmt.Sprint("f", i), UserPrincipalName: fmt.Sprintf("failed%02d@contoso.onmicrosoft.com", i),
			Via: "group Sales", Outcome: steps.Failed, Reason: "the SaaS answered 500"})
	}
	r.UserCounts = &steps.UserCounts{Total: 2000, Arrived: 5, Skipped: 1, Failed: 24, Pending: 1970}
	r.UsersUnlisted = 2000 - len(r.Users)
	var b bytes.Buffer
	if err := wizard.WriteResult(&b, r, wizard.ResultOptions{Width: 400}); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	users := text[strings.Index(text, "Users:"):strings.Index(text, "\nNote:")]
	want := "Users: 5 arrived, 1 skipped, 24 failed, 1,970 pending\n" +
		"  skipped  ines.ortiz@contoso.onmicrosoft.com (group Sales): the account is disabled\n"
	for i := range 19 {
		want += fmt.Sprintf("  failed   failed%02d@contoso.onmicrosoft.com (group Sales): the SaaS answered 500\n", i)
	}
	want += "  and 5 more skipped or failed: --output json lists them\n"
	if users != want {
		t.Errorf("users:\n%s\nwant\n%s", users, want)
	}
	if strings.Contains(text, "aaron.abbott") {
		t.Errorf("an arrived user of a large group is listed:\n%s", text)
	}
}

// A large group that all arrived is one line: its count, no user listed (issue 12).
func TestWriteResultAllArrived(t *testing.T) {
	r := applied()
	r.Users, r.UserCounts, r.UsersUnlisted = []steps.UserResult{}, &steps.UserCounts{Total: 2000, Arrived: 2000}, 2000
	var b bytes.Buffer
	if err := wizard.WriteResult(&b, r, wizard.ResultOptions{Width: 80}); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if !strings.Contains(text, "\nUsers: 2,000 arrived\n\n") || strings.Contains(text, "  arrived  ") {
		t.Errorf("the users of a large group that all arrived:\n%s", text)
	}
	if !strings.Contains(text, "In Smallstep's Users tab, check that the users who arrived are there.") {
		t.Errorf("the next steps forget the users who arrived:\n%s", text)
	}
}

// The next steps send the admin to idpctl's own commands, and do not ask to tell the SaaS its Owners and
// Admins when the run named them: the SaaS took their roles, or a note says what is left.
func TestWriteResultNextSteps(t *testing.T) {
	r := applied()
	var b bytes.Buffer
	wizard.WriteResult(&b, r, wizard.ResultOptions{Width: 400})
	for _, want := range []string{
		"Tell Smallstep which SSO users are Owners or Admins",
		"idpctl provision entra --user UPN --group NAME brings them at once",
		"idpctl status entra checks the setup at any time",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("next steps lack %q:\n%s", want, b.String())
		}
	}
	r.Roles = []steps.RoleResult{{UserPrincipalName: "adele.vance@contoso.onmicrosoft.com", Role: backend.RoleOwner, Outcome: steps.RoleSet}}
	b.Reset()
	wizard.WriteResult(&b, r, wizard.ResultOptions{Width: 400})
	if strings.Contains(b.String(), "Owners or Admins") {
		t.Errorf("roles set, yet the next steps ask for them:\n%s", b.String())
	}
}

// A day-2 command's notes wrap at a terminal's width, between words and under their first word, as setup's
// do; elsewhere each is one line.
func TestWriteDay2ResultWraps(t *testing.T) {
	r := steps.Result{Notes: []string{"the application and its enterprise application stay in Entra's deleted items for 30 days and can be restored until then"}}
	var b bytes.Buffer
	if err := wizard.WriteDay2Result(&b, r, 60); err != nil {
		t.Fatal(err)
	}
	want := "Note: the application and its enterprise application stay\n" +
		"  in Entra's deleted items for 30 days and can be restored\n" +
		"  until then\n"
	if b.String() != want {
		t.Errorf("at 60 columns:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	wizard.WriteDay2Result(&b, r, 0)
	if b.String() != "Note: "+r.Notes[0]+"\n" {
		t.Errorf("without a width: %q", b.String())
	}
}
