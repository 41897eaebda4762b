package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/idpctl/idpctl/secret"
)

// SignInError is a failed sign-in, explained: what happened in one sentence and what to do. The failure as
// azidentity reported it (Entra's full answer, with trace and correlation ids) is logged under --debug and
// kept for errors.As through Unwrap; it is not part of Error().
type SignInError struct {
	// Code is Entra's AADSTS error number, 0 when the failure carried none (a network error, an expired
	// IDPCTL_ACCESS_TOKEN, no managed identity).
	Code   int
	Reason string
	Fix    string
	err    error
}

func (e *SignInError) Error() string {
	var b strings.Builder
	b.WriteString("sign-in failed: ")
	b.WriteString(strings.TrimSuffix(e.Reason, "."))
	if e.Code != 0 {
		fmt.Fprintf(&b, " (AADSTS%d)", e.Code)
	}
	b.WriteString(". To fix: ")
	b.WriteString(e.Fix)
	if !strings.HasSuffix(e.Fix, ".") {
		b.WriteString(".")
	}
	return b.String()
}

func (e *SignInError) Unwrap() error { return e.err }

// IsSignInFailure reports a failed sign-in (*SignInError anywhere in err's chain): exit code 4.
func IsSignInFailure(err error) bool {
	var e *SignInError
	return errors.As(err, &e)
}

// signInContext is what the explanations name.
type signInContext struct {
	method   Method
	clientID string
	tenantID string
	cloud    Cloud
}

func (s signInContext) tenant() string {
	if s.tenantID == "" || s.tenantID == organizations {
		return "your tenant"
	}
	return "tenant " + s.tenantID
}

// client names the sign-in client: the default one by name.
func (s signInContext) client() string {
	if strings.EqualFold(s.clientID, GraphCommandLineToolsClientID) {
		return "Microsoft Graph Command Line Tools (" + s.clientID + ")"
	}
	return "client " + s.clientID
}

// adminConsentFix is how an administrator grants the delegated scopes to the sign-in client.
func (s signInContext) adminConsentFix() string {
	return "sign in once as an Application Administrator, Cloud Application Administrator or Global " +
		"Administrator and accept the permissions with \"Consent on behalf of your organization\", or have one " +
		"grant admin consent to " + s.client() + " in the Entra admin center (Enterprise applications > the " +
		"application > Permissions); idpctl asks for: " + strings.Join(DelegatedScopes(), ", ")
}

// explanation is one AADSTS code's meaning, written for the person running idpctl. Meanings follow
// learn.microsoft.com/entra/identity-platform/reference-error-codes (MicrosoftDocs/entra-docs
// docs/identity-platform/reference-error-codes.md).
type explanation func(s signInContext) (reason, fix string)

func aadstsExplanations() map[int]explanation {
	consent := func(s signInContext) (string, string) {
		return "no administrator has consented to " + s.client() + " using the Microsoft Graph permissions " +
			"idpctl asks for in " + s.tenant(), s.adminConsentFix()
	}
	adminConsent := func(s signInContext) (string, string) {
		return "the permissions idpctl asks for need an administrator's consent, and this account cannot give it",
			s.adminConsentFix()
	}
	disabled := func(s signInContext) (string, string) {
		return "the sign-in application " + s.client() + " is disabled in " + s.tenant(),
			"an administrator can enable it (Entra admin center > Enterprise applications > the application > " +
				"Properties > Enabled for users to sign in: Yes), or pass --client-id with a public client " +
				"registered in your tenant"
	}
	notFound := func(s signInContext) (string, string) {
		return "the sign-in application " + s.client() + " does not exist in " + s.tenant(),
			"check --client-id, --tenant-id and --cloud; a --client-id of your own must be registered in (or " +
				"consented to by) that tenant, in that cloud"
	}
	conditionalAccess := func(s signInContext) (string, string) {
		return "a Conditional Access policy of " + s.tenant() + " blocked this sign-in",
			"find the policy in the tenant's sign-in logs (Entra admin center > Monitoring > Sign-in logs, " +
				"failure 53003) and sign in from a device, network or with a method it allows, or ask an " +
				"administrator to allow " + s.client()
	}
	device := func(s signInContext) (string, string) {
		return "a Conditional Access policy of " + s.tenant() + " requires a managed or compliant device, " +
				"which this one is not",
			"run idpctl on a device your organisation manages, or use --auth device-code and complete the " +
				"sign-in in a browser on such a device"
	}
	mfa := func(s signInContext) (string, string) {
		return "this account must complete multi-factor authentication, which this sign-in could not do",
			"sign in interactively (--auth browser, or --auth device-code) and complete the MFA prompt"
	}
	mfaEnrol := func(s signInContext) (string, string) {
		return "this account must register for multi-factor authentication before it can sign in",
			"register security info at https://aka.ms/mysecurityinfo, then run again"
	}
	notInTenant := func(s signInContext) (string, string) {
		return "the account that signed in is not a member or guest of " + s.tenant(),
			"sign in with an account of that tenant (pick another account in the sign-in page), or pass the " +
				"--tenant-id of the account's own tenant"
	}
	expiredPassword := func(s signInContext) (string, string) {
		return "the account's password has expired",
			"change it at https://aka.ms/sspr (or ask an administrator to reset it), then run again"
	}
	refresh := func(s signInContext) (string, string) {
		return "the remembered sign-in has expired or was revoked",
			"run again and sign in anew"
	}
	badSecret := func(s signInContext) (string, string) {
		return "AZURE_CLIENT_SECRET is not a valid secret of application " + s.clientID,
			"use the secret's Value (not its Secret ID) from App registrations > the application > Certificates & " +
				"secrets, or create a new secret"
	}
	return map[int]explanation{
		65001: consent,
		65004: func(s signInContext) (string, string) {
			return "the permission request was declined in the consent prompt",
				"run again and accept the permissions, or " + s.adminConsentFix()
		},
		90094: adminConsent,
		90095: adminConsent,
		65002: func(s signInContext) (string, string) {
			return s.client() + " is a Microsoft application that is not preauthorized for the Microsoft Graph " +
					"permissions idpctl needs, and cannot be consented to them",
				"drop --client-id to use Microsoft Graph Command Line Tools, or pass the id of a public client " +
					"registered in your tenant"
		},
		7000112: disabled,
		70001:   disabled,
		700016:  notFound,
		700011:  notFound,
		53003:   conditionalAccess,
		530032:  conditionalAccess,
		53000:   device,
		53001:   device,
		53002: func(s signInContext) (string, string) {
			return "a Conditional Access policy allows only approved client applications, and " + s.client() +
					" is not one of them",
				"ask an administrator to allow it, or pass --client-id with an application the policy allows"
		},
		530035: func(s signInContext) (string, string) {
			return "the tenant's security defaults blocked this sign-in as unsafe",
				"sign in interactively (--auth browser or --auth device-code) with multi-factor authentication"
		},
		50076: mfa,
		50074: mfa,
		50078: mfa,
		50079: mfaEnrol,
		50072: mfaEnrol,
		50020: notInTenant,
		90072: notInTenant,
		50034: notInTenant,
		51004: notInTenant,
		16000: notInTenant,
		50055: expiredPassword,
		50144: expiredPassword,
		50057: func(s signInContext) (string, string) {
			return "the account is disabled", "sign in with another account, or ask an administrator to enable this one"
		},
		50053: func(s signInContext) (string, string) {
			return "the account is locked after too many failed sign-ins, or the sign-in came from a blocked address",
				"wait and try again, or ask an administrator to check the sign-in logs (failure 50053)"
		},
		50126: func(s signInContext) (string, string) {
			return "the user name or password is wrong", "run again and check both"
		},
		50105: func(s signInContext) (string, string) {
			return "the account is not assigned to the sign-in application " + s.client() + ", which requires assignment",
				"an administrator can assign you (Enterprise applications > the application > Users and groups) " +
					"or set \"Assignment required\" to No"
		},
		500011: func(s signInContext) (string, string) {
			return "Microsoft Graph was not found in " + s.tenant() + "; the sign-in went to the wrong tenant or cloud",
				"check --tenant-id and --cloud (" + s.cloud.Name + " signs in at " + s.cloud.AuthorityHost + ")"
		},
		90002: func(s signInContext) (string, string) {
			return s.tenant() + " does not exist in the " + s.cloud.Name + " cloud",
				"check --tenant-id (the Directory (tenant) ID on the Entra admin center's Overview page) and --cloud"
		},
		90038: func(s signInContext) (string, string) {
			return s.tenant() + " belongs to another national cloud than " + s.cloud.Name,
				"pass the tenant's cloud with --cloud (public, usgov or china)"
		},
		500021: func(s signInContext) (string, string) {
			return "tenant restrictions on this network do not allow signing in to " + s.tenant(),
				"run idpctl from a network that allows it, or ask your network administrator"
		},
		7000215: badSecret,
		7000222: func(s signInContext) (string, string) {
			return "AZURE_CLIENT_SECRET has expired",
				"create a new secret for application " + s.clientID + " (App registrations > Certificates & secrets) and set it"
		},
		700027: func(s signInContext) (string, string) {
			return "the certificate in AZURE_CLIENT_CERTIFICATE_PATH is not one of application " + s.clientID + "'s credentials",
				"upload the certificate's public part to App registrations > the application > Certificates & secrets, or point AZURE_CLIENT_CERTIFICATE_PATH at the registered one"
		},
		70043:  refresh,
		700082: refresh,
		70008:  refresh,
		50173:  refresh,
		50089:  refresh,
		70019: func(s signInContext) (string, string) {
			return "the device code expired before the sign-in was completed",
				"run again and finish signing in within 15 minutes"
		},
		50194: func(s signInContext) (string, string) {
			return s.client() + " accepts sign-ins only from its own tenant",
				"pass --tenant-id with the tenant that registered it"
		},
		50011: func(s signInContext) (string, string) {
			return s.client() + " does not list the redirect URI a browser sign-in returns to",
				"add http://localhost as a redirect URI of the \"Mobile and desktop applications\" platform to the " +
					"application, or use --auth device-code"
		},
		7000218: func(s signInContext) (string, string) {
			return s.client() + " does not allow public client flows, which browser and device code sign-in use",
				"turn on \"Allow public client flows\" in App registrations > the application > Authentication, " +
					"or drop --client-id"
		},
		50059: func(s signInContext) (string, string) {
			return "Entra could not tell which tenant to sign in to", "pass --tenant-id"
		},
	}
}

var aadstsPattern = regexp.MustCompile(`AADSTS(\d{4,8})`)

// entraAnswer is the body of a refused token request (OAuth 2.0 error response with Entra's extensions).
type entraAnswer struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
}

// signInCode finds the AADSTS number and Entra's description in a failure: from the token endpoint's answer
// when azidentity kept it, else from the text (browser sign-ins report the authorize endpoint's error in text).
func signInCode(err error) (code int, description string) {
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		if body, rerr := runtime.Payload(afe.RawResponse); rerr == nil {
			var a entraAnswer
			if json.Unmarshal(body, &a) == nil {
				if len(a.Codes) > 0 {
					code = a.Codes[0]
				}
				description = a.Description
			}
		}
	}
	if code == 0 {
		if m := aadstsPattern.FindStringSubmatch(err.Error()); m != nil {
			code, _ = strconv.Atoi(m[1])
		}
	}
	if description == "" {
		description = err.Error()
	}
	return code, firstSentence(description)
}

// firstSentence keeps Entra's description without its trace and correlation ids and timestamps.
func firstSentence(s string) string {
	for _, cut := range []string{"\r\n", "\n", " Trace ID:"} {
		if i := strings.Index(s, cut); i >= 0 {
			s = s[:i]
		}
	}
	return strings.TrimSpace(s)
}

// explainSignIn turns a credential's failure into a *SignInError.
func explainSignIn(err error, s signInContext, secrets ...secret.Value) *SignInError {
	if cause, ok := unreachable(err); ok {
		// No answer came, so there is no AADSTS code: the network error itself is the reason.
		cause = secret.Scrub(cause, secrets...)
		if s.method == MethodManagedIdentity {
			return &SignInError{Reason: "no managed identity endpoint answered: " + cause, Fix: genericFix(s), err: err}
		}
		return &SignInError{Reason: "could not reach Microsoft Entra ID (" + s.cloud.AuthorityHost + "): " + cause,
			Fix: networkFix(s), err: err}
	}
	code, description := signInCode(err)
	description = secret.Scrub(description, secrets...)
	if explain, ok := aadstsExplanations()[code]; ok {
		reason, fix := explain(s)
		return &SignInError{Code: code, Reason: reason, Fix: fix, err: err}
	}
	reason := description
	if code != 0 {
		// An AADSTS code idpctl has no sentence for: Entra's own first sentence, without the code it starts with.
		reason = "Microsoft Entra ID refused the sign-in: " +
			strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(description, fmt.Sprintf("AADSTS%d", code)), ":"))
	}
	return &SignInError{Code: code, Reason: reason, Fix: genericFix(s), err: err}
}

// unreachable finds a sign-in that failed because Entra could not be reached (DNS, connection refused, TLS, a
// timeout) and returns that root cause. MSAL wraps it as "unable to resolve an endpoint: server response
// error:\n <cause>", whose first line says nothing; azidentity sometimes keeps only the text.
func unreachable(err error) (cause string, ok bool) {
	var dns *net.DNSError
	var op *net.OpError
	var ue *url.Error
	switch {
	case errors.As(err, &dns):
		return dns.Error(), true
	case errors.As(err, &op):
		return op.Error(), true
	case errors.As(err, &ue) && !errors.Is(err, context.Canceled):
		return ue.Err.Error(), true
	}
	if _, after, found := strings.Cut(err.Error(), "server response error:"); found {
		if cause = firstSentence(strings.TrimSpace(after)); cause != "" {
			return cause, true
		}
	}
	return "", false
}

// networkFix is the advice when Entra could not be reached.
func networkFix(s signInContext) string {
	return "check this machine's network connection, DNS and proxy (HTTPS_PROXY) for " + s.cloud.AuthorityHost +
		", and that --cloud names your tenant's cloud; then run again"
}

// genericFix is the advice for a failure without a known code, by method.
func genericFix(s signInContext) string {
	const debug = " Run with --debug to see the sign-in requests and Entra's full answer."
	switch s.method {
	case MethodToken:
		return "get a new Microsoft Graph access token and set " + EnvAccessToken + ", or use another --auth." + debug
	case MethodEnvironment:
		return "check AZURE_TENANT_ID, AZURE_CLIENT_ID and the secret or certificate of that application." + debug
	case MethodManagedIdentity:
		return "--auth managed-identity works only on an Azure resource with a managed identity (virtual machine, " +
			"App Service, Functions, Container Apps, Arc-enabled server); set AZURE_CLIENT_ID to pick a " +
			"user-assigned one, or use another --auth." + debug
	case MethodWorkloadIdentity:
		return "check that AZURE_FEDERATED_TOKEN_FILE is readable and that application AZURE_CLIENT_ID has a " +
			"federated credential matching this workload's issuer and subject." + debug
	case MethodBrowser:
		return "run again, or use --auth device-code if the browser cannot reach the sign-in page." + debug
	}
	return "run again." + debug
}
