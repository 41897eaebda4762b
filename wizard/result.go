package wizard

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/steps"
)

// WriteJSON writes v as the one JSON object of --output json.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ResultOptions shape the final screen.
type ResultOptions struct {
	Width int  // lines wrap to it without breaking values mid-word; 0: no wrapping (stdout is a file or pipe)
	Color bool // headings and outcomes in colour (only when stdout is a terminal that takes it)
	// AdminCenter is the Entra admin center's host for the links (graph.Cloud's AdminCenterHost); "" leaves the
	// links out, as for a simulated tenant, where they would lead nowhere.
	AdminCenter string
	// HandedOff says the admin took the hand-off at the terminal in this run and pasted the values into the SaaS
	// there: the guide's "In Smallstep" step is done.
	HandedOff bool
	// Sandbox says the tenant and SaaS were simulated for this run alone (--sandbox): they end with it, so the
	// guide's steps in the SaaS and "run it again" would point at something that is gone.
	Sandbox bool
}

// WriteResult writes the final screen of an applied run: what changed, the values to keep, links to the
// application in the Entra admin center, each user's outcome, and the guide's next steps.
func WriteResult(w io.Writer, r steps.Result, opts ResultOptions) error {
	width := opts.Width
	if width <= 0 {
		width = math.MaxInt32 // one line per value, for whatever reads the file
	}
	t := theme{color: opts.Color}
	var b strings.Builder
	line := func(text string) { b.WriteString(wrapProse(text, width) + "\n") }
	row := func(k, v string) {
		if v == "" {
			return
		}
		if 2+22+1+len(v) <= width {
			fmt.Fprintf(&b, "  %-22s %s\n", k, v)
			return
		}
		// Too long beside its name: on a line of its own, so that it is never broken mid-word.
		b.WriteString("  " + k + "\n" + wrapIndented(v, 4, width) + "\n")
	}

	if changed, unchanged := changes(r.Steps); len(changed) > 0 {
		b.WriteString(t.bold("Changed") + "\n")
		for _, c := range changed {
			line("  " + c)
		}
		if unchanged > 0 {
			what := fmt.Sprintf("%d steps", unchanged)
			if unchanged == 1 {
				what = "1 step"
			}
			line(t.dim("  " + what + " found nothing to change"))
		}
		b.WriteString("\n")
	} else if len(r.Steps) > 0 {
		line("Nothing to change: the tenant already matched the setup.")
		b.WriteString("\n")
	}

	b.WriteString(t.bold("Entra ID application") + "\n")
	row("Tenant ID", r.TenantID)
	row("Client ID", r.ClientID)
	row("OIDC metadata URL", r.OIDCMetadataURL)
	row("Redirect URI", r.RedirectURI)
	row("Client secret", secretWhere(r))
	row("Object ID", r.ApplicationObjectID)
	row("Service principal ID", r.ServicePrincipalID)
	row("Provisioning job", r.ProvisioningJobID)

	if links := adminCenterLinks(opts.AdminCenter, r); len(links) > 0 {
		b.WriteString("\n" + t.bold("In the Entra admin center") + "\n")
		for _, l := range links {
			row(l[0], l[1])
		}
	}
	if len(r.Users) > 0 || r.UserCounts != nil {
		b.WriteString("\n")
		writeUsers(&b, r, t, width)
	}
	for _, n := range r.Notes {
		b.WriteString("\n")
		line("Note: " + n)
	}
	b.WriteString("\n" + t.bold("Next") + "\n")
	for i, step := range nextSteps(r, opts) {
		// Continuation lines start under the step's text, not under its number.
		number := fmt.Sprintf("  %d. ", i+1)
		lines := strings.Split(wrapWords(step, max(width-len(number), 10), ""), "\n")
		b.WriteString(number + strings.Join(lines, "\n"+strings.Repeat(" ", len(number))) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// changes lists what the applied steps did, and counts the steps that changed nothing.
func changes(report steps.Report) (changed []string, unchanged int) {
	for _, s := range report {
		switch s.Status {
		case steps.StatusApplied:
			changed = append(changed, s.Summary)
		case steps.StatusUnchanged:
			unchanged++
		}
	}
	return changed, unchanged
}

// userLine is one user's outcome: "arrived  adele@contoso.com (group Smallstep Users)", with the reason for a
// user that did not arrive. When the user principal name does not fit beside the outcome, it goes under it,
// whole.
func userLine(u steps.UserResult, t theme, width int) string {
	if 2+9+len(u.UserPrincipalName) > width {
		rest := u.UserPrincipalName
		if u.Via != "user" && u.Via != "" {
			rest += " (" + u.Via + ")"
		}
		if u.Reason != "" {
			rest += ": " + u.Reason
		}
		return "  " + paintOutcome(u.Outcome, u.Outcome, t) + "\n" + wrapIndented(rest, 4, width) + "\n"
	}
	outcome := fmt.Sprintf("%-8s", u.Outcome)
	text := paintOutcome(u.Outcome, outcome, t) + " " + u.UserPrincipalName
	if u.Via != "user" && u.Via != "" {
		text += " (" + u.Via + ")"
	}
	if u.Reason != "" {
		text += ": " + u.Reason
	}
	return wrapProse("  "+text, width) + "\n"
}

// paintOutcome colours text as the outcome it shows: arrived green, failed red, skipped and pending yellow.
func paintOutcome(outcome, text string, t theme) string {
	switch outcome {
	case steps.Arrived:
		return t.good(text)
	case steps.Failed:
		return t.bad(text)
	case steps.Skipped, steps.Pending:
		return t.warn(text)
	}
	return text
}

// adminCenterLinks are the application's pages in the Entra admin center: its overview, its provisioning page
// (where "Restart provisioning" is) and its provisioning logs. They are the portal's own blade addresses, the
// form the Entra admin center puts in the address bar (Microsoft documents no deep-link scheme; these forms
// are the ones admin tools such as Maester generate), so they may change with the portal.
func adminCenterLinks(host string, r steps.Result) [][2]string {
	if host == "" || r.ServicePrincipalID == "" || r.ClientID == "" {
		return nil
	}
	blade := "https://" + host + "/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/"
	return [][2]string{
		{"Enterprise application", blade + "Overview/objectId/" + r.ServicePrincipalID + "/appId/" + r.ClientID},
		{"Provisioning", blade + "Provisioning/objectId/" + r.ServicePrincipalID + "/appId/" + r.ClientID},
		{"Provisioning logs", blade + "ProvisioningActivity/objectId/" + r.ServicePrincipalID + "/appId/" + r.ClientID},
	}
}

// nextSteps are what the guide leaves to the admin once Entra is set up (its step 2 "In Smallstep" when no
// backend took the registration, and step 6), in order; after a --sandbox run, what is true of a tenant that
// is gone, and how to keep one.
func nextSteps(r steps.Result, opts ResultOptions) []string {
	if opts.Sandbox {
		return []string{
			"The simulated tenant and SaaS end with this command: running it again starts new ones and finds nothing of this run.",
			"To keep a sandbox to run setup, status, roles or teardown against, run idpctl sandbox in another terminal and, in this one, paste the exports it prints and run the setup command it prints (with its --graph-url).",
			"For your own tenant, run idpctl setup entra without --sandbox.",
		}
	}
	var next []string
	if r.SecretFile != "" && !opts.HandedOff {
		// The guide's "In Smallstep" part of step 2: the SaaS has no API for it yet.
		next = append(next, `In Smallstep, open "Connect an Entra ID IdP" and fill in the client ID, tenant ID and OIDC metadata URL above, and the client secret from `+r.SecretFile+".")
	}
	if userCounts(r).Arrived > 0 {
		next = append(next, "In Smallstep's Users tab, check that the users who arrived are there.")
	}
	next = append(next, "Sign out of Smallstep and sign in again: it offers to sign in with SSO.")
	if len(r.Roles) == 0 {
		// Owners and Admins named in the run have their role, or a note says who is left and why.
		next = append(next, "Tell Smallstep which SSO users are Owners or Admins (Admins read and write users and devices; Owners can also make Admins).")
	}
	next = append(next,
		"Users and groups you assign later arrive with Entra's provisioning cycle, about every 40 minutes; idpctl provision entra --user UPN --group NAME brings them at once.",
		"idpctl status entra checks the setup at any time: drift, the client secret's expiry, provisioning failures.")
	return next
}

func secretWhere(r steps.Result) string {
	switch {
	case r.SecretFile != "":
		return "in " + r.SecretFile + " (mode 0600)"
	case r.Backend == backend.NameHTTP:
		return "handed to the backend"
	case r.SecretHandedOver:
		return "handed to you at the hand-off (idpctl keeps no copy)"
	default:
		return "not written: the run stopped before the hand-off; run it again"
	}
}

// WriteDay2Result writes the outcome of a day-2 command for people: each step's outcome was shown as it ran,
// so this is what remains to be said: users provisioned, and notes on what to do next.
// Lines are wrapped at width, a terminal's (0: one line each, for whatever reads the output).
func WriteDay2Result(w io.Writer, r steps.Result, width int) error {
	if width <= 0 {
		width = math.MaxInt32
	}
	var b strings.Builder
	writeUsers(&b, r, theme{}, width)
	for _, n := range r.Notes {
		b.WriteString(wrapProse("Note: "+n, width) + "\n")
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Users are listed one by one up to listUsers; beyond, the result is their counts and the users that need
// attention (skipped or failed), at most listUsers of those: a 2,000-member group is a line, not 2,000.
const listUsers = 20

func writeUsers(b *strings.Builder, r steps.Result, t theme, width int) {
	if len(r.Users) == 0 && r.UserCounts == nil {
		return
	}
	counts := userCounts(r)
	b.WriteString(wrapProse(t.bold("Users")+": "+counts.String(), width) + "\n")
	everyone := r.UsersUnlisted == 0 && len(r.Users) <= listUsers
	shown := 0
	for _, u := range r.Users {
		if !everyone && u.Outcome != steps.Skipped && u.Outcome != steps.Failed || shown == listUsers {
			continue
		}
		shown++
		b.WriteString(userLine(u, t, width))
	}
	if more := counts.Skipped + counts.Failed - shown; !everyone && more > 0 {
		b.WriteString(wrapProse("  and "+steps.Thousands(more)+" more skipped or failed: --output json lists them", width) + "\n")
	}
}

// userCounts are the run's users by outcome: the confirmation's counts, or those of the users listed when a
// result has no counts (a day-2 command's).
func userCounts(r steps.Result) steps.UserCounts {
	if r.UserCounts != nil {
		return *r.UserCounts
	}
	counts := steps.UserCounts{Total: len(r.Users)}
	for _, u := range r.Users {
		switch u.Outcome {
		case steps.Arrived:
			counts.Arrived++
		case steps.Skipped:
			counts.Skipped++
		case steps.Failed:
			counts.Failed++
		case steps.Pending:
			counts.Pending++
		}
	}
	return counts
}
