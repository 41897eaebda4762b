package wizard

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/idpctl/idpctl/steps"
)

// WriteJSON writes v as the one JSON object of --output json.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteResult writes the outcome of an applied run for people: the values to keep, then who arrived.
func WriteResult(w io.Writer, r steps.Result) error {
	var b strings.Builder
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "  %-22s %s\n", k, v)
		}
	}
	b.WriteString("Entra ID application\n")
	row("Tenant ID", r.TenantID)
	row("Client ID", r.ClientID)
	row("OIDC metadata URL", r.OIDCMetadataURL)
	row("Redirect URI", r.RedirectURI)
	row("Client secret", secretWhere(r))
	row("Object ID", r.ApplicationObjectID)
	row("Service principal ID", r.ServicePrincipalID)
	row("Provisioning job", r.ProvisioningJobID)
	if len(r.Users) > 0 {
		b.WriteString("\n")
		writeUsers(&b, r.Users)
	}
	for _, n := range r.Notes {
		b.WriteString("\nNote: " + n + "\n")
	}
	b.WriteString("\nNext\n")
	if r.SecretFile != "" {
		// The guide's "In Smallstep" part of step 2: the SaaS has no API for it yet.
		b.WriteString("  In Smallstep, open \"Connect an Entra ID IdP\" and fill in the client ID, tenant ID and OIDC\n")
		b.WriteString("  metadata URL above, and the client secret from " + r.SecretFile + ".\n")
	}
	b.WriteString("  Sign out of the SaaS and sign in with SSO, then choose who is an Owner or Admin there.\n")
	b.WriteString("  Entra now provisions changes about every 40 minutes; running this command again checks the setup.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func secretWhere(r steps.Result) string {
	switch {
	case r.SecretFile != "":
		return "in " + r.SecretFile + " (mode 0600)"
	case r.Backend == steps.BackendHTTP:
		return "handed to the backend"
	default:
		return "not written: the run stopped before the hand-off; run it again"
	}
}

// WriteDay2Result writes the outcome of a day-2 command for people: each step's outcome was shown as it ran,
// so this is what remains to be said: users provisioned, and notes on what to do next.
func WriteDay2Result(w io.Writer, r steps.Result) error {
	var b strings.Builder
	writeUsers(&b, r.Users)
	for _, n := range r.Notes {
		b.WriteString("Note: " + n + "\n")
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeUsers(b *strings.Builder, users []steps.UserResult) {
	if len(users) == 0 {
		return
	}
	b.WriteString("Users\n")
	for _, u := range users {
		line := fmt.Sprintf("  %-8s %s", u.Outcome, u.UserPrincipalName)
		if u.Via != "user" && u.Via != "" {
			line += " (" + u.Via + ")"
		}
		if u.Reason != "" {
			line += ": " + u.Reason
		}
		b.WriteString(line + "\n")
	}
}
