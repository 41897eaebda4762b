package graph

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Method is a way of signing in (--auth).
type Method string

// The --auth values. MethodAuto is only an input to SelectMethod, which turns it into one of the others.
const (
	MethodAuto             Method = "auto"
	MethodBrowser          Method = "browser"
	MethodDeviceCode       Method = "device-code"
	MethodEnvironment      Method = "environment"
	MethodManagedIdentity  Method = "managed-identity"
	MethodWorkloadIdentity Method = "workload-identity"
	MethodToken            Method = "token"
)

// Methods lists the --auth values in the order --help shows them.
func Methods() []Method {
	return []Method{MethodAuto, MethodBrowser, MethodDeviceCode, MethodEnvironment, MethodManagedIdentity,
		MethodWorkloadIdentity, MethodToken}
}

// Delegated reports whether the method signs a person in with idpctl's sign-in client, asking for
// DelegatedScopes. The others sign in an application (or bring a token whose kind only its claims tell).
func (m Method) Delegated() bool { return m == MethodBrowser || m == MethodDeviceCode }

// GraphCommandLineToolsClientID is "Microsoft Graph Command Line Tools", the public client idpctl signs people
// in with unless --client-id names another: it takes incremental consent to any Graph delegated scope
// (microsoftgraph/msgraph-cli#48).
const GraphCommandLineToolsClientID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"

// The environment variables sign-in reads. The AZURE_* ones are azidentity's standard names
// (EnvironmentCredential, WorkloadIdentityCredential); the sign-in facts are the usual desktop and SSH ones.
const (
	EnvAccessToken        = "IDPCTL_ACCESS_TOKEN"
	envClientID           = "AZURE_CLIENT_ID"
	envTenantID           = "AZURE_TENANT_ID"
	envClientSecret       = "AZURE_CLIENT_SECRET"
	envCertificatePath    = "AZURE_CLIENT_CERTIFICATE_PATH"
	envCertificatePass    = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
	envSendCertChain      = "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN"
	envFederatedTokenFile = "AZURE_FEDERATED_TOKEN_FILE"
)

// SignInFacts is everything SelectMethod looks at: the environment and what is known about the machine.
type SignInFacts struct {
	// Getenv reads the environment (os.Getenv in the CLI).
	Getenv func(string) string
	// GOOS is the operating system (runtime.GOOS).
	GOOS string
	// Attended is true when a person watches the run and can act on a sign-in prompt: stderr is a terminal
	// and --non-interactive is off.
	Attended bool
}

func (f SignInFacts) env(name string) string {
	if f.Getenv == nil {
		return ""
	}
	return strings.TrimSpace(f.Getenv(name))
}

// BrowserAvailable reports whether a browser can open where idpctl runs, and if not, why: macOS and Windows
// have one unless the session is remote (SSH); elsewhere a desktop session says so with DISPLAY (X11) or
// WAYLAND_DISPLAY.
func (f SignInFacts) BrowserAvailable() (bool, string) {
	for _, v := range []string{"SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"} {
		if f.env(v) != "" {
			return false, "this is an SSH session (" + v + " is set)"
		}
	}
	switch f.GOOS {
	case "darwin", "windows":
		return true, ""
	}
	if f.env("DISPLAY") != "" || f.env("WAYLAND_DISPLAY") != "" {
		return true, ""
	}
	return false, "there is no desktop session (neither DISPLAY nor WAYLAND_DISPLAY is set)"
}

// SelectMethod turns an --auth value into the method to use, or an error naming what is missing. It is pure:
// the same value and facts always give the same answer.
//
// auto tries, in order: an access token in IDPCTL_ACCESS_TOKEN; a service principal's secret or certificate
// in the AZURE_* variables; workload identity (AZURE_FEDERATED_TOKEN_FILE); then, when a person is there, an
// interactive browser if one can open, else the device code flow. Managed identity is never guessed: it is
// only reachable on Azure and trying it elsewhere waits for a network timeout, so it must be asked for.
func SelectMethod(auth string, f SignInFacts) (Method, error) {
	m := Method(strings.ToLower(strings.TrimSpace(auth)))
	switch m {
	case "", MethodAuto:
		return selectAuto(f)
	case MethodToken:
		if f.env(EnvAccessToken) == "" {
			return "", fmt.Errorf("--auth token: %s is not set; set it to a Microsoft Graph access token "+
				"(for example from: az account get-access-token --resource-type ms-graph)", EnvAccessToken)
		}
	case MethodEnvironment:
		if missing := f.missingEnvironment(); len(missing) > 0 {
			return "", fmt.Errorf("--auth environment: %s not set; a service principal signs in with "+
				"AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH",
				joinMissing(missing))
		}
	case MethodWorkloadIdentity:
		if missing := f.missingWorkload(); len(missing) > 0 {
			return "", fmt.Errorf("--auth workload-identity: %s not set; workload identity signs in with "+
				"AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE (set by the AKS workload identity "+
				"webhook, or by you for another OIDC issuer)", joinMissing(missing))
		}
	case MethodBrowser:
		if ok, why := f.BrowserAvailable(); !ok {
			return "", fmt.Errorf("--auth browser: no browser can open here: %s; use --auth device-code and "+
				"sign in from any device", why)
		}
	case MethodManagedIdentity, MethodDeviceCode:
	default:
		names := make([]string, 0, len(Methods()))
		for _, m := range Methods() {
			names = append(names, string(m))
		}
		return "", fmt.Errorf("--auth %q: not a sign-in method; use one of %s", auth, strings.Join(names, ", "))
	}
	return m, nil
}

func selectAuto(f SignInFacts) (Method, error) {
	if f.env(EnvAccessToken) != "" {
		return MethodToken, nil
	}
	// A secret, a certificate or a federated token file shows the intent to sign in as a service principal:
	// an incomplete set is an error rather than a silent fall through to an interactive sign-in. AZURE_CLIENT_ID
	// alone shows nothing (it also selects a user-assigned managed identity).
	if f.env(envClientSecret) != "" || f.env(envCertificatePath) != "" {
		if missing := f.missingEnvironment(); len(missing) > 0 {
			return "", fmt.Errorf("--auth auto: a service principal's secret or certificate is set, but %s "+
				"not set: set them, or unset AZURE_CLIENT_SECRET and AZURE_CLIENT_CERTIFICATE_PATH to sign in as a person",
				joinMissing(missing))
		}
		return MethodEnvironment, nil
	}
	if f.env(envFederatedTokenFile) != "" {
		if missing := f.missingWorkload(); len(missing) > 0 {
			return "", fmt.Errorf("--auth auto: AZURE_FEDERATED_TOKEN_FILE is set for workload identity, but %s "+
				"not set: set them, or unset AZURE_FEDERATED_TOKEN_FILE", joinMissing(missing))
		}
		return MethodWorkloadIdentity, nil
	}
	if f.Attended {
		if ok, _ := f.BrowserAvailable(); ok {
			return MethodBrowser, nil
		}
		return MethodDeviceCode, nil
	}
	return "", errors.New("--auth auto: nobody is here to sign in and no credentials are set: set " +
		EnvAccessToken + " to a Graph access token; or AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET " +
		"(or AZURE_CLIENT_CERTIFICATE_PATH) for a service principal; or AZURE_TENANT_ID, AZURE_CLIENT_ID and " +
		"AZURE_FEDERATED_TOKEN_FILE for workload identity; or pass --auth managed-identity on Azure, or " +
		"--auth device-code to sign in from another device")
}

func (f SignInFacts) missingEnvironment() []string {
	var missing []string
	for _, v := range []string{envTenantID, envClientID} {
		if f.env(v) == "" {
			missing = append(missing, v)
		}
	}
	if f.env(envClientSecret) == "" && f.env(envCertificatePath) == "" {
		missing = append(missing, envClientSecret+" or "+envCertificatePath)
	}
	return missing
}

func (f SignInFacts) missingWorkload() []string {
	var missing []string
	for _, v := range []string{envTenantID, envClientID, envFederatedTokenFile} {
		if f.env(v) == "" {
			missing = append(missing, v)
		}
	}
	return missing
}

func joinMissing(names []string) string {
	switch len(names) {
	case 1:
		return names[0] + " is"
	case 2:
		return names[0] + " and " + names[1] + " are"
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " are"
}

// access is one thing the setup flow does in Graph and the permissions that allow it: the one place that
// decides what idpctl asks for at sign-in (DelegatedScopes), what an app-only identity must be granted
// (ApplicationPermissions), and what preflight checks in a token. Accepted alternatives follow the
// "Permissions" tables of the Graph v1.0 API reference for each call (the same tables sandbox/entra enforces).
type access struct {
	purpose string
	// need lists requirements that must all hold. Each is a set of alternatives, the first being the one
	// idpctl asks for; the others are broader permissions Graph accepts as well.
	need [][]string
	// delegatedOnly marks /me: an app-only identity has no signed-in user.
	delegatedOnly bool
	// groupsOnly marks what only group assignment needs.
	groupsOnly bool
	// optional marks what the run can do without, less well: its absence is a warning.
	optional bool
}

// Directory.AccessAsUser.All lets a delegated token do in the directory whatever the signed-in user may; the
// synchronization and audit-log APIs do not list it.
const accessAsUser = "Directory.AccessAsUser.All"

func accessTable() []access {
	return []access{
		{purpose: "read the signed-in user and their directory roles (GET /me, /me/transitiveMemberOf)", delegatedOnly: true,
			need: [][]string{{"User.Read", "User.ReadWrite", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", accessAsUser}}},
		{purpose: "create the enterprise application from its template, configure single sign-on and add its client secret",
			need: [][]string{{"Application.ReadWrite.All", "Directory.ReadWrite.All", accessAsUser}}},
		{purpose: "assign users and groups to the application",
			need: [][]string{{"AppRoleAssignment.ReadWrite.All", "Directory.ReadWrite.All", accessAsUser}}},
		{purpose: "grant admin consent to the application's openid, profile and email scopes",
			need: [][]string{{"DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All", accessAsUser}}},
		{purpose: "set up, start and test provisioning (synchronization jobs, secrets, schema, provision on demand)",
			need: [][]string{{"Synchronization.ReadWrite.All"}}},
		// Directory.Read.All is asked for because the provisioning log needs it (below); it covers these reads too,
		// so User.Read.All, GroupMember.Read.All and Organization.Read.All are accepted but not asked for.
		{purpose: "find the users to assign",
			need: [][]string{{"Directory.Read.All", "User.Read.All", "User.ReadWrite.All", "Directory.ReadWrite.All", accessAsUser}}},
		{purpose: "find the groups to assign and their members", groupsOnly: true,
			need: [][]string{{"Directory.Read.All", "GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.ReadWrite.All", accessAsUser}}},
		// Without groups, a missing licence is only a warning, so its read is not required either.
		{purpose: "read the tenant's subscriptions to check for Entra ID P1 or P2", groupsOnly: true,
			need: [][]string{{"Directory.Read.All", "Organization.Read.All", "Organization.ReadWrite.All", "Directory.ReadWrite.All"}}},
		// GET /auditLogs/provisioning documents "AuditLog.Read.All and Directory.Read.All", both (a known issue of
		// that API, per its reference page). Without them users are still confirmed through the SCIM endpoint.
		{purpose: "read the provisioning log to confirm the users arrived", optional: true,
			need: [][]string{{"AuditLog.Read.All"}, {"Directory.Read.All", "Directory.ReadWrite.All"}}},
	}
}

// oidcScopes are asked for by every delegated sign-in (MSAL adds them itself): openid for the ID token that
// names the account, profile for its display name, offline_access for the refresh token that lets the next
// run sign in without asking.
func oidcScopes() []string { return []string{"openid", "profile", "offline_access"} }

// DelegatedScopes are the Microsoft Graph permissions idpctl asks for when a person signs in (--auth browser or
// device-code), plus the three OpenID Connect scopes every sign-in carries. All but openid, profile,
// offline_access and User.Read need an administrator's consent.
func DelegatedScopes() []string {
	out := oidcScopes()
	for _, a := range accessTable() {
		for _, req := range a.need {
			if !slices.Contains(out, req[0]) {
				out = append(out, req[0])
			}
		}
	}
	return out
}

// ApplicationPermissions are the Microsoft Graph application permissions a service principal, managed identity
// or workload identity needs granted (with admin consent) to run setup.
func ApplicationPermissions() []string {
	var out []string
	for _, a := range accessTable() {
		if a.delegatedOnly {
			continue
		}
		for _, req := range a.need {
			if !slices.Contains(out, req[0]) {
				out = append(out, req[0])
			}
		}
	}
	return out
}

// signInScopes are the scopes a delegated sign-in asks the credential for, qualified with the cloud's Graph
// resource (national clouds refuse the global host). The OpenID Connect ones are left to MSAL, which adds
// them to every request and treats them specially in its cache.
func signInScopes(c Cloud) []string {
	var out []string
	for _, s := range DelegatedScopes() {
		if slices.Contains(oidcScopes(), s) {
			continue
		}
		out = append(out, c.GraphResource()+"/"+s)
	}
	return out
}

// accessGap is an access the token lacks: its purpose and, for each unmet requirement, what to ask for.
type accessGap struct {
	purpose string
	missing []string
}

// missingAccess compares granted permissions (a delegated token's scp, or an app-only token's roles) with
// accessTable. required gaps stop the run; optional ones are warnings.
func missingAccess(granted []string, appOnly, groups bool) (required, optional []accessGap) {
	has := func(name string) bool {
		return slices.ContainsFunc(granted, func(g string) bool { return strings.EqualFold(g, name) })
	}
	for _, a := range accessTable() {
		if (a.delegatedOnly && appOnly) || (a.groupsOnly && !groups) {
			continue
		}
		gap := accessGap{purpose: a.purpose}
		for _, req := range a.need {
			if !slices.ContainsFunc(req, has) {
				gap.missing = append(gap.missing, req[0])
			}
		}
		switch {
		case len(gap.missing) == 0:
		case a.optional:
			optional = append(optional, gap)
		default:
			required = append(required, gap)
		}
	}
	return required, optional
}
