package steps

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/secret"
)

// Inputs is everything a setup run needs from the person or script running it. Flags and environment fill it
// (cmd); an interactive run asks only for what is still empty (wizard). The run itself never asks.
type Inputs struct {
	TenantID     string   `json:"tenantId,omitempty"`     // directory (tenant) id; empty = the signed-in tenant
	AppName      string   `json:"appName"`                // display name of the enterprise application
	AppID        string   `json:"appId,omitempty"`        // application (client) id of an existing application to use, when the name is ambiguous
	AssignGroups []string `json:"assignGroups,omitempty"` // group display names or object ids
	AssignUsers  []string `json:"assignUsers,omitempty"`  // user principal names or object ids
	RedirectURI  string   `json:"redirectUri"`

	Backend      string        `json:"backend"` // backend.NameManual or backend.NameHTTP
	BackendURL   string        `json:"backendUrl,omitempty"`
	BackendToken secret.Value  `json:"-"`
	SCIMURL      string        `json:"scimUrl,omitempty"`
	SCIMToken    secret.Value  `json:"-"`
	SecretOut    string        `json:"secretOut,omitempty"` // file for the client secret when no backend takes it
	SecretExpiry time.Duration `json:"-"`                   // lifetime of the client secret; in JSON as secretExpiry, e.g. "4320h0m0s"
	// SCIMCompliant saves the tenant URL with Entra's aadOptscim062020 flag (CompliantFlag), for SCIM servers
	// that refuse Entra's default PATCH dialect. A tenant URL saved with the flag keeps it either way.
	SCIMCompliant bool `json:"scimCompliant,omitempty"`

	// HandOffAtTerminal says that an admin at a terminal takes the manual hand-off while the run applies: the
	// SCIM URL and token may be left empty, to be asked for then, and without SecretOut the client secret is
	// shown to the admin once, on request (or saved where they say). Scripted runs leave it false. A saved plan
	// does not record it: whoever applies the plan decides.
	HandOffAtTerminal bool `json:"-"`

	// Owners and Admins get those roles in the SaaS, through backends that can set roles (user principal
	// names or object ids; --owner, --admin).
	Owners []string `json:"owners,omitempty"`
	Admins []string `json:"admins,omitempty"`
}

// inputsJSON is Inputs in JSON: every input but the secrets, with the secret's lifetime as Go writes durations.
type inputsJSON struct {
	inputs
	SecretExpiry string `json:"secretExpiry"`
}

type inputs Inputs // Inputs without its JSON methods

// MarshalJSON writes the inputs without secrets.
func (in Inputs) MarshalJSON() ([]byte, error) {
	return json.Marshal(inputsJSON{inputs: inputs(in), SecretExpiry: in.SecretExpiry.String()})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (in *Inputs) UnmarshalJSON(raw []byte) error {
	var v inputsJSON
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	d, err := time.ParseDuration(v.SecretExpiry)
	if err != nil {
		return fmt.Errorf("secretExpiry %q: %w", v.SecretExpiry, err)
	}
	*in = Inputs(v.inputs)
	in.SecretExpiry = d
	return nil
}

// withoutSecrets is the inputs a plan records.
func (in Inputs) withoutSecrets() Inputs {
	in.BackendToken, in.SCIMToken = secret.Value{}, secret.Value{}
	return in
}

// clone copies the inputs, lists included, so that the copy (a state file's, a plan's) and the original can
// each change without the other. TestCloneSharesNoReferences fails for a list or map field added and not
// copied here.
func (in Inputs) clone() Inputs {
	in.AssignGroups, in.AssignUsers = slices.Clone(in.AssignGroups), slices.Clone(in.AssignUsers)
	in.Owners, in.Admins = slices.Clone(in.Owners), slices.Clone(in.Admins)
	return in
}

// Defaults from the contract for scripts.
const (
	DefaultAppName      = "Smallstep"
	DefaultRedirectURI  = "https://api.smallstep.com/auth/openid/callback"
	DefaultSecretExpiry = 180 * 24 * time.Hour // what the Entra portal recommends
	MaxSecretExpiry     = 2 * 365 * 24 * time.Hour
)

// InputError is a problem with what the user supplied: it names the input and the fix. Its exit code is 2.
type InputError struct {
	Problems []string
}

func (e *InputError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0]
	}
	return "invalid input:\n  - " + strings.Join(e.Problems, "\n  - ")
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsGUID reports whether s is a GUID such as Entra's object, tenant and application ids.
func IsGUID(s string) bool { return guidPattern.MatchString(s) }

// Check reports every problem found in the inputs at once, before anything reaches the tenant. The URL and
// token rules come from the backend package, which knows what Entra and the SaaS accept.
func (in Inputs) Check() error {
	invalid, missing := in.problems()
	return inputError(append(invalid, missing...))
}

// CheckGiven reports the problems of the values the inputs hold and none about what is missing: what a run
// that will ask for the missing inputs checks before it signs in.
func (in Inputs) CheckGiven() error {
	invalid, _ := in.problems()
	return inputError(invalid)
}

func inputError(problems []string) error {
	if len(problems) > 0 {
		return &InputError{Problems: problems}
	}
	return nil
}

// problems lists what is wrong with the values given (invalid) and what is not given (missing).
func (in Inputs) problems() (invalid, missing []string) {
	add := func(err error) {
		if err != nil {
			invalid = append(invalid, err.Error())
		}
	}
	addf := func(format string, args ...any) { invalid = append(invalid, fmt.Sprintf(format, args...)) }
	lacks := func(format string, args ...any) { missing = append(missing, fmt.Sprintf(format, args...)) }

	if in.TenantID != "" && !IsGUID(in.TenantID) {
		addf("--tenant-id %q: not a tenant id; use the Directory (tenant) ID, a GUID shown on the Entra admin center's Overview page", in.TenantID)
	}
	add(CheckAppName(in.AppName))
	if in.AppID != "" && !IsGUID(in.AppID) {
		addf("--app-id %q: not an application id; use the Application (client) ID, a GUID", in.AppID)
	}
	if len(in.AssignGroups) == 0 && len(in.AssignUsers) == 0 {
		lacks("nothing to assign: give at least one --assign-group or --assign-user, so that someone is provisioned")
	}
	for _, list := range []struct {
		flag, what string
		values     []string
	}{
		{"--assign-group", "a group name or object id", in.AssignGroups},
		{"--assign-user", "a user principal name or object id", in.AssignUsers},
		{"--owner", "a user principal name or object id", in.Owners},
		{"--admin", "a user principal name or object id", in.Admins},
	} {
		for _, v := range list.values {
			if strings.TrimSpace(v) == "" {
				addf("%s: an empty value; give %s", list.flag, list.what)
			}
		}
	}
	add(CheckRedirectURI(in.RedirectURI))

	switch in.Backend {
	case backend.NameManual:
		switch {
		case in.SCIMURL != "":
			add(backend.ValidateSCIMURL(in.SCIMURL))
		case !in.HandOffAtTerminal:
			lacks("--scim-url is missing: with --backend manual, give the SCIM URL your SaaS shows (Smallstep: Settings › Identity provider)")
		}
		switch {
		case !in.SCIMToken.IsZero():
			add(backend.ValidateToken("the SCIM token (IDPCTL_SCIM_TOKEN or --scim-token-file)", in.SCIMToken))
		case !in.HandOffAtTerminal:
			lacks("the SCIM token is missing: with --backend manual, set IDPCTL_SCIM_TOKEN or pass --scim-token-file")
		}
		if in.HandOffAtTerminal && (in.SCIMURL == "") != in.SCIMToken.IsZero() {
			lacks("the SCIM URL and token come together: give both (--scim-url and IDPCTL_SCIM_TOKEN or --scim-token-file), or neither to be asked for them")
		}
		if in.SecretOut == "" && !in.HandOffAtTerminal {
			lacks("--secret-out is missing: with --backend manual, the client secret must be written to a file (mode 0600) so you can paste it into your SaaS")
		}
	case backend.NameHTTP:
		bad, lack := in.backendAPIProblems()
		invalid, missing = append(invalid, bad...), append(missing, lack...)
		if in.SCIMURL != "" || !in.SCIMToken.IsZero() {
			addf("--scim-url and the SCIM token come from the backend with --backend http: drop them, or use --backend manual")
		}
	default:
		addf("--backend %q: use manual or http", in.Backend)
	}
	if in.SecretExpiry < 24*time.Hour || in.SecretExpiry > MaxSecretExpiry {
		addf("--secret-expiry %s: use a lifetime between 1 day and 2 years, e.g. 180d or 1y", in.SecretExpiry)
	}
	return invalid, missing
}

// CheckAppName applies the rules for the enterprise application's display name.
func CheckAppName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("--app-name is empty: give the enterprise application a name, e.g. --app-name %q", DefaultAppName)
	case name != strings.TrimSpace(name):
		return fmt.Errorf("--app-name %q: remove the leading or trailing spaces", name)
	case len(name) > 120:
		return fmt.Errorf("--app-name: %d characters is too long; use at most 120", len(name))
	}
	return nil
}

// backendAPIProblems checks what --backend http needs: the backend's URL and its token, either invalid or
// missing (a run that asks for the rest reports only the invalid ones).
func (in Inputs) backendAPIProblems() (invalid, missing []string) {
	if in.BackendURL == "" {
		missing = append(missing, "--backend-url is missing: with --backend http, give the backend's base URL")
	} else if err := backend.ValidateBackendURL(in.BackendURL); err != nil {
		invalid = append(invalid, err.Error())
	}
	if in.BackendToken.IsZero() {
		missing = append(missing, "IDPCTL_BACKEND_TOKEN is not set: with --backend http, set it to the backend's API token")
	} else if err := backend.ValidateToken("IDPCTL_BACKEND_TOKEN", in.BackendToken); err != nil {
		invalid = append(invalid, err.Error())
	}
	return invalid, missing
}

// CheckDelivery reports, before anything changes, what would keep a new client secret from reaching the SaaS:
// the backend's URL and token, or the secret file (day-2 commands; setup's Check covers its own inputs).
func (in Inputs) CheckDelivery() error {
	var problems []string
	switch in.Backend {
	case backend.NameHTTP:
		invalid, missing := in.backendAPIProblems()
		problems = append(invalid, missing...)
	case backend.NameManual:
		if in.SecretOut == "" {
			problems = append(problems, "--secret-out is missing: with --backend manual the new client secret is written to a file (mode 0600) for you to paste into your SaaS")
		}
	default:
		problems = append(problems, fmt.Sprintf("--backend %q: use manual or http", in.Backend))
	}
	if len(problems) > 0 {
		return &InputError{Problems: problems}
	}
	return nil
}

// CheckRedirectURI applies Entra's rules for web redirect URIs: https (http only for localhost), at most 256
// characters, none of the characters Entra refuses. Messages show the URI without user info, query or fragment
// (backend.ShowURL), which could hold a password or token pasted with it.
func CheckRedirectURI(raw string) error {
	fix := "use the callback URL your SaaS documents, e.g. " + DefaultRedirectURI
	if raw == "" {
		return fmt.Errorf("--redirect-uri is empty: %s", fix)
	}
	if len(raw) > 256 {
		return fmt.Errorf("--redirect-uri: %d characters; Entra accepts at most 256", len(raw))
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return fmt.Errorf("--redirect-uri: not a valid URL; %s", fix)
	}
	shown := backend.ShowURL(u)
	if u.User != nil {
		return fmt.Errorf("--redirect-uri %q: remove the user name and password before the @", shown)
	}
	if strings.ContainsAny(raw, "!$'(),; ") {
		return fmt.Errorf("--redirect-uri %q: Entra does not accept the characters ! $ ' ( ) , ; or spaces", shown)
	}
	if u.Host == "" {
		return fmt.Errorf("--redirect-uri %q: not an absolute URL; %s", shown, fix)
	}
	if strings.Contains(u.Host, "*") {
		return fmt.Errorf("--redirect-uri %q: Entra does not accept wildcards in web redirect URIs", shown)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1"):
	default:
		return fmt.Errorf("--redirect-uri %q: must use https (http only for localhost); %s", shown, fix)
	}
	return nil
}
