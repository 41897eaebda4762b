package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/idpctl/idpctl/secret"
)

// tokenEndpointRefusal is a refused token request as azidentity reports it: the response kept on the error.
func tokenEndpointRefusal(code, description string) error {
	body := `{"error":"invalid_grant","error_description":"` + description + `\r\nTrace ID: 0000aaaa-11bb-cccc-dd33-eeeeee333333\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2026-01-09 02:02:12Z","error_codes":[` + code + `],"trace_id":"0000aaaa-11bb-cccc-dd33-eeeeee333333"}`
	req, _ := http.NewRequest(http.MethodPost, "https://login.microsoftonline.com/organizations/oauth2/v2.0/token", nil)
	resp := &http.Response{StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Request: req,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
	return &azidentity.AuthenticationFailedError{RawResponse: resp}
}

func TestExplainSignIn(t *testing.T) {
	s := signInContext{method: MethodBrowser, clientID: GraphCommandLineToolsClientID, tenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", cloud: PublicCloud()}
	tests := []struct {
		name   string
		err    error
		ctx    signInContext
		code   int
		reason string // substrings
		fix    string
	}{
		{name: "consent", err: tokenEndpointRefusal("65001", "AADSTS65001: The user or administrator has not consented to use the application with ID '14d82eec-204b-4c2f-b7e8-296a70dab67e' named 'Microsoft Graph Command Line Tools'."),
			ctx: s, code: 65001, reason: "no administrator has consented to Microsoft Graph Command Line Tools (14d82eec-204b-4c2f-b7e8-296a70dab67e)",
			fix: "Consent on behalf of your organization"},
		{name: "blocked client from the authorize endpoint (text only)", err: errors.New("InteractiveBrowserCredential: AADSTS7000112: Application '14d82eec-204b-4c2f-b7e8-296a70dab67e'(Microsoft Graph Command Line Tools) is disabled."),
			ctx: s, code: 7000112, reason: "is disabled in tenant 72f988bf-86f1-41af-91ab-2d7cd011db47", fix: "Enabled for users to sign in"},
		{name: "unknown client", err: tokenEndpointRefusal("700016", "AADSTS700016: Application with identifier 'x' was not found in the directory 'Contoso'."),
			ctx:  signInContext{method: MethodDeviceCode, clientID: "11111111-2222-3333-4444-555555555555", tenantID: organizations, cloud: PublicCloud()},
			code: 700016, reason: "client 11111111-2222-3333-4444-555555555555 does not exist in your tenant", fix: "check --client-id, --tenant-id and --cloud"},
		{name: "conditional access", err: tokenEndpointRefusal("53003", "AADSTS53003: Access has been blocked by Conditional Access policies."),
			ctx: s, code: 53003, reason: "Conditional Access policy", fix: "sign-in logs"},
		{name: "mfa", err: tokenEndpointRefusal("50076", "AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication."),
			ctx: s, code: 50076, reason: "multi-factor authentication", fix: "--auth device-code"},
		{name: "mfa registration", err: tokenEndpointRefusal("50079", "AADSTS50079: ..."), ctx: s, code: 50079, reason: "register for multi-factor", fix: "aka.ms/mysecurityinfo"},
		{name: "guest not in tenant", err: tokenEndpointRefusal("50020", "AADSTS50020: User account 'x@fabrikam.com' from identity provider 'live.com' does not exist in tenant 'Contoso'."),
			ctx: s, code: 50020, reason: "not a member or guest of tenant 72f988bf", fix: "--tenant-id"},
		{name: "external account", err: tokenEndpointRefusal("90072", "AADSTS90072: ..."), ctx: s, code: 90072, reason: "not a member or guest"},
		{name: "expired password", err: tokenEndpointRefusal("50055", "AADSTS50055: The password is expired."), ctx: s, code: 50055, reason: "password has expired", fix: "aka.ms/sspr"},
		{name: "first party preauthorization", err: tokenEndpointRefusal("65002", "AADSTS65002: Consent between first party application '04b07795-8ddb-461a-bbee-02f9e1bf7b46' and first party resource '00000003-0000-0000-c000-000000000000' must be configured via preauthorization"),
			ctx: signInContext{method: MethodBrowser, clientID: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", cloud: PublicCloud()}, code: 65002,
			reason: "not preauthorized", fix: "drop --client-id"},
		{name: "not assigned", err: tokenEndpointRefusal("50105", "AADSTS50105: ..."), ctx: s, code: 50105, reason: "not assigned", fix: "Users and groups"},
		{name: "resource not found", err: tokenEndpointRefusal("500011", "AADSTS500011: The resource principal named https://graph.microsoft.com was not found in the tenant named Contoso."),
			ctx: s, code: 500011, reason: "wrong tenant or cloud", fix: "login.microsoftonline.com"},
		{name: "bad client secret", err: tokenEndpointRefusal("7000215", "AADSTS7000215: Invalid client secret provided."),
			ctx: signInContext{method: MethodEnvironment, clientID: "app", cloud: PublicCloud()}, code: 7000215, reason: "AZURE_CLIENT_SECRET is not a valid secret of application app", fix: "Value (not its Secret ID)"},
		{name: "unknown code keeps Entra's first sentence", err: tokenEndpointRefusal("9999999", "AADSTS9999999: Something new happened."),
			ctx: s, code: 9999999, reason: "Microsoft Entra ID refused the sign-in: Something new happened", fix: "--debug"},
		{name: "no code: an expired static token", err: errors.New("the access token expired at 2026-01-01T00:00:00Z; get a new one"),
			ctx: signInContext{method: MethodToken}, reason: "the access token expired at 2026-01-01T00:00:00Z", fix: "IDPCTL_ACCESS_TOKEN"},
		// MSAL's own wrapping of a failed request (apps/internal/oauth/ops/internal/comm: "server response
		// error:\n %w"; oauth.go: "unable to resolve an endpoint: %w"): the DNS error is the reason.
		{name: "unreachable: the DNS error, not the first line", err: fmt.Errorf("unable to resolve an endpoint: %w",
			fmt.Errorf("server response error:\n %w", &url.Error{Op: "Get", URL: "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration",
				Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "login.microsoftonline.com", IsNotFound: true}}})),
			ctx: s, reason: "could not reach Microsoft Entra ID (login.microsoftonline.com): lookup login.microsoftonline.com: no such host", fix: "DNS and proxy"},
		{name: "unreachable, kept only as text", err: errors.New("DeviceCodeCredential: unable to resolve an endpoint: server response error:\n Get \"https://login.microsoftonline.com/x\": dial tcp 10.0.0.1:443: connect: connection refused"),
			ctx: s, reason: "connect: connection refused", fix: "network connection"},
		{name: "no managed identity endpoint", err: &url.Error{Op: "Get", URL: "http://169.254.169.254/metadata/identity/oauth2/token",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: no route to host")}},
			ctx: signInContext{method: MethodManagedIdentity}, reason: "no managed identity endpoint answered: dial tcp: connect: no route to host", fix: "Azure resource with a managed identity"},
		{name: "no code: no managed identity here", err: errors.New("ManagedIdentityCredential: no response from the IMDS endpoint"),
			ctx: signInContext{method: MethodManagedIdentity}, reason: "IMDS", fix: "Azure resource with a managed identity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := explainSignIn(tt.err, tt.ctx)
			if got.Code != tt.code {
				t.Errorf("code %d, want %d", got.Code, tt.code)
			}
			if !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", got.Reason, tt.reason)
			}
			if !strings.Contains(got.Fix, tt.fix) {
				t.Errorf("fix %q does not say %q", got.Fix, tt.fix)
			}
			msg := got.Error()
			if !strings.HasPrefix(msg, "sign-in failed: ") || !strings.Contains(msg, ". To fix: ") {
				t.Errorf("message %q is not one sentence plus the fix", msg)
			}
			if tt.code != 0 && !strings.Contains(msg, "(AADSTS") {
				t.Errorf("message %q hides the code", msg)
			}
			for _, raw := range []string{"Trace ID", "Correlation ID", "0000aaaa-11bb", "RESPONSE 400"} {
				if strings.Contains(msg, raw) {
					t.Errorf("message %q carries the raw answer (%s); that is for --debug", msg, raw)
				}
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("the raw failure is not kept for errors.Is/As")
			}
			if !IsSignInFailure(got) || !IsSignInFailure(&opError{op: "GET /me", err: got}) {
				t.Errorf("IsSignInFailure does not see it")
			}
		})
	}
}

// TestCredentialExplainsAndScrubs: a failure's raw text goes to the debug log without the secrets the sign-in
// used, and the error returned is the explained one; a cancelled sign-in stays a cancellation.
func TestCredentialExplainsAndScrubs(t *testing.T) {
	const clientSecret = "Zq8~s3cr3t.value-that-must-not-print"
	var log strings.Builder
	raw := tokenEndpointRefusal("7000215", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent is "+clientSecret+".")
	c := &Credential{inner: failingCredential{raw}, plan: signInPlan{method: MethodEnvironment, clientID: "app", cloud: PublicCloud()},
		log: debugLogger(&log), secrets: []secret.Value{secret.New(clientSecret)}}
	_, err := c.GetToken(context.Background(), tokenOptions([]string{PublicCloud().GraphScope()}))
	var se *SignInError
	if !errors.As(err, &se) || se.Code != 7000215 {
		t.Fatalf("GetToken error = %v, want the explained AADSTS7000215", err)
	}
	if !strings.Contains(log.String(), "AADSTS7000215") || !strings.Contains(log.String(), "Trace ID") {
		t.Errorf("the debug log lacks the raw answer:\n%s", log.String())
	}
	if strings.Contains(log.String(), clientSecret) || strings.Contains(err.Error(), clientSecret) {
		t.Errorf("the client secret was printed:\n%s\n%v", log.String(), err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.GetToken(ctx, tokenOptions(nil))
	if !errors.Is(err, context.Canceled) || IsSignInFailure(err) {
		t.Errorf("cancelled sign-in = %v, want context.Canceled", err)
	}
}
