package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/pkg/browser"

	"github.com/idpctl/idpctl/secret"
)

// SignInOptions configures SignIn.
type SignInOptions struct {
	// Method is the way to sign in, as SelectMethod chose it (not MethodAuto).
	Method Method
	// Cloud is where to sign in; the zero Cloud is the public cloud.
	Cloud Cloud
	// ClientID is the public client a person signs in with (--client-id); default
	// GraphCommandLineToolsClientID. Service principals use AZURE_CLIENT_ID instead.
	ClientID string
	// TenantID is --tenant-id. Empty lets a person sign in to their own tenant ("organizations").
	TenantID string
	// AccessToken is the token for MethodToken (IDPCTL_ACCESS_TOKEN).
	AccessToken secret.Value
	// Getenv reads the AZURE_* variables of the app-only methods (os.Getenv in the CLI).
	Getenv func(string) string
	// StateDir keeps the signed-in account (azidentity's AuthenticationRecord, no secret in it) so that the next
	// run signs in without asking. Empty keeps nothing.
	StateDir string
	// Prompt receives what a person must see to sign in (device code instructions, "opening a browser"). It
	// is stderr in the CLI: stdout carries only results. Default: discarded.
	Prompt io.Writer
	// Logger receives debug lines for each sign-in request (method, URL without query, status, duration) and the
	// raw text of a failed sign-in. Never bodies, headers, tokens or secrets.
	Logger *slog.Logger
	// HTTPClient carries the sign-in requests (tests point it at a fake authority). Default: azcore's.
	HTTPClient *http.Client
}

// signInPlan is SignIn's configuration, worked out without network or side effects so tests can check it.
type signInPlan struct {
	method    Method
	cloud     Cloud
	clientID  string
	tenantID  string   // the authority's tenant: --tenant-id, the remembered account's, or "organizations"
	scopes    []string // asked of the credential, the same for every request (see tokenOptions)
	delegated bool

	recordPath string // "" when nothing is remembered
	record     azidentity.AuthenticationRecord

	// app-only methods
	secret       secret.Value
	certPath     string
	certPassword secret.Value
	sendChain    bool
	tokenFile    string
}

// organizations is the authority tenant for work and school accounts of any tenant.
const organizations = "organizations"

// recordFileName names the remembered account of a cloud in the state directory.
func recordFileName(c Cloud) string { return "signin-" + c.orPublic().Name + ".json" }

func planSignIn(o SignInOptions) (signInPlan, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	p := signInPlan{method: o.Method, cloud: o.Cloud.orPublic(), scopes: []string{o.Cloud.GraphScope()}}
	switch o.Method {
	case MethodBrowser, MethodDeviceCode:
		p.delegated = true
		p.clientID = o.ClientID
		if p.clientID == "" {
			p.clientID = GraphCommandLineToolsClientID
		}
		p.scopes = signInScopes(p.cloud)
		p.tenantID = o.TenantID
		if o.StateDir != "" {
			p.recordPath = filepath.Join(o.StateDir, recordFileName(p.cloud))
			p.record = loadRecord(p.recordPath, p.cloud, p.clientID, o.TenantID)
		}
		if p.tenantID == "" {
			p.tenantID = p.record.TenantID
		}
		if p.tenantID == "" {
			p.tenantID = organizations
		}
	case MethodEnvironment:
		p.tenantID, p.clientID = env(envTenantID), env(envClientID)
		p.secret = secret.New(env(envClientSecret))
		if p.secret.Reveal() == "" {
			p.secret = secret.Value{}
			p.certPath = env(envCertificatePath)
			if v := getenv(envCertificatePass); v != "" {
				p.certPassword = secret.New(v)
			}
			p.sendChain = strings.EqualFold(env(envSendCertChain), "true") || env(envSendCertChain) == "1"
		}
		if p.tenantID == "" || p.clientID == "" || (p.secret.IsZero() && p.certPath == "") {
			_, err := SelectMethod(string(MethodEnvironment), SignInFacts{Getenv: getenv})
			return p, err
		}
	case MethodWorkloadIdentity:
		p.tenantID, p.clientID, p.tokenFile = env(envTenantID), env(envClientID), env(envFederatedTokenFile)
		if p.tenantID == "" || p.clientID == "" || p.tokenFile == "" {
			_, err := SelectMethod(string(MethodWorkloadIdentity), SignInFacts{Getenv: getenv})
			return p, err
		}
	case MethodManagedIdentity:
		// AZURE_CLIENT_ID picks a user-assigned identity, as in azidentity's DefaultAzureCredential.
		p.clientID = env(envClientID)
	case MethodToken:
		if o.AccessToken.IsZero() || o.AccessToken.Reveal() == "" {
			return p, fmt.Errorf("--auth token: %s is not set; set it to a Microsoft Graph access token", EnvAccessToken)
		}
	default:
		return p, fmt.Errorf("sign in: method %q is not one SignIn runs; choose one with SelectMethod", o.Method)
	}
	return p, nil
}

// loadRecord returns the remembered account when it belongs to this cloud, client and (if given) tenant; the
// zero record otherwise, so that a different sign-in asks again and then replaces it.
func loadRecord(path string, c Cloud, clientID, tenantID string) azidentity.AuthenticationRecord {
	raw, err := os.ReadFile(path)
	if err != nil {
		return azidentity.AuthenticationRecord{}
	}
	var r azidentity.AuthenticationRecord
	if json.Unmarshal(raw, &r) != nil {
		return azidentity.AuthenticationRecord{}
	}
	sameCloud := strings.EqualFold(strings.TrimSuffix(r.Authority, "/"), "https://"+c.AuthorityHost)
	if !sameCloud || !strings.EqualFold(r.ClientID, clientID) || (tenantID != "" && !strings.EqualFold(r.TenantID, tenantID)) {
		return azidentity.AuthenticationRecord{}
	}
	return r
}

// saveRecord writes the account record 0600 (it holds no secret, but says who administers the tenant).
func saveRecord(path string, r azidentity.AuthenticationRecord) error {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".signin-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// tokenOptions is the one token request idpctl makes. EnableCAE matches what the Graph SDK's token provider
// asks for: azidentity keeps CAE and non-CAE tokens in separate caches, so a sign-in made without it would not
// serve Graph's requests and a person would be asked to sign in twice.
func tokenOptions(scopes []string) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: scopes, EnableCAE: true}
}

// clientOptions configures azidentity's HTTP pipeline. Request and response bodies are never logged (they
// carry secrets and tokens): azcore logs them only with IncludeBody and a listener set with azcore/log, and
// idpctl sets neither; it logs each sign-in request itself.
func (p signInPlan) clientOptions(o SignInOptions, log *slog.Logger) azcore.ClientOptions {
	co := azcore.ClientOptions{
		Cloud:            p.cloud.azcoreConfig(),
		Logging:          policy.LogOptions{IncludeBody: false},
		PerRetryPolicies: []policy.Policy{signInRequestLog{log: log}},
	}
	if o.HTTPClient != nil {
		co.Transport = o.HTTPClient
	}
	return co
}

// signInRequestLog writes one debug line per sign-in request: method, URL without its query, status, time.
type signInRequestLog struct{ log *slog.Logger }

func (l signInRequestLog) Do(req *policy.Request) (*http.Response, error) {
	raw := req.Raw()
	where := raw.URL.Scheme + "://" + raw.URL.Host + raw.URL.Path
	start := time.Now()
	resp, err := req.Next()
	if err != nil {
		l.log.LogAttrs(raw.Context(), slog.LevelDebug, "sign-in request failed", slog.String("method", raw.Method),
			slog.String("url", where), slog.Duration("duration", time.Since(start)))
		return resp, err
	}
	l.log.LogAttrs(raw.Context(), slog.LevelDebug, "sign-in request", slog.String("method", raw.Method),
		slog.String("url", where), slog.Int("status", resp.StatusCode), slog.Duration("duration", time.Since(start)))
	return resp, nil
}

// credential builds the azidentity credential of the plan. It makes no request.
func (p signInPlan) credential(o SignInOptions, log *slog.Logger, cache azidentity.Cache) (azcore.TokenCredential, error) {
	co := p.clientOptions(o, log)
	noDiscovery := !p.cloud.wellKnown()
	switch p.method {
	case MethodBrowser:
		return azidentity.NewInteractiveBrowserCredential(&azidentity.InteractiveBrowserCredentialOptions{
			ClientOptions: co, ClientID: p.clientID, TenantID: p.tenantID, AuthenticationRecord: p.record,
			Cache: cache, DisableInstanceDiscovery: noDiscovery, LoginHint: p.record.Username,
		})
	case MethodDeviceCode:
		prompt := o.Prompt
		if prompt == nil {
			prompt = io.Discard
		}
		return azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions: co, ClientID: p.clientID, TenantID: p.tenantID, AuthenticationRecord: p.record,
			Cache: cache, DisableInstanceDiscovery: noDiscovery,
			// azidentity prints to stdout by default, which carries only results.
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
				_, err := fmt.Fprintln(prompt, m.Message)
				return err
			},
		})
	case MethodEnvironment:
		if !p.secret.IsZero() {
			return azidentity.NewClientSecretCredential(p.tenantID, p.clientID, p.secret.Reveal(),
				&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: noDiscovery})
		}
		data, err := os.ReadFile(p.certPath)
		if err != nil {
			return nil, fmt.Errorf("%s: %w; point it at a PEM or PKCS#12 file holding the certificate and its private key",
				envCertificatePath, err)
		}
		var password []byte
		if !p.certPassword.IsZero() {
			password = []byte(p.certPassword.Reveal())
		}
		certs, key, err := azidentity.ParseCertificates(data, password)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v; it must hold the certificate and its unencrypted private key "+
				"(or set %s)", envCertificatePath, p.certPath, err, envCertificatePass)
		}
		return azidentity.NewClientCertificateCredential(p.tenantID, p.clientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: noDiscovery,
				SendCertificateChain: p.sendChain})
	case MethodWorkloadIdentity:
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: co, ClientID: p.clientID, TenantID: p.tenantID, TokenFilePath: p.tokenFile,
			DisableInstanceDiscovery: noDiscovery,
		})
	case MethodManagedIdentity:
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: co}
		if p.clientID != "" {
			mo.ID = azidentity.ClientID(p.clientID)
		}
		return azidentity.NewManagedIdentityCredential(mo)
	case MethodToken:
		return StaticToken(o.AccessToken), nil
	}
	return nil, fmt.Errorf("sign in: no credential for method %q", p.method)
}

// Credential is a signed-in identity: the azidentity credential of a sign-in method, the scopes idpctl asks it
// for, and the explanation of its failures (a failed GetToken returns *SignInError). Safe for concurrent use.
type Credential struct {
	inner   azcore.TokenCredential
	plan    signInPlan
	log     *slog.Logger
	secrets []secret.Value
}

// Method is how the credential signs in.
func (c *Credential) Method() Method { return c.plan.method }

// Cloud is where it signs in.
func (c *Credential) Cloud() Cloud { return c.plan.cloud }

// ClientID is the client that signs in: the delegated sign-in client, or the service principal.
func (c *Credential) ClientID() string { return c.plan.clientID }

// Scopes are what every token request asks for; give them to Config.Scopes.
func (c *Credential) Scopes() []string { return append([]string(nil), c.plan.scopes...) }

// GetToken implements azcore.TokenCredential, turning failures into *SignInError.
func (c *Credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.inner.GetToken(ctx, opts)
	if err != nil {
		return azcore.AccessToken{}, c.explain(ctx, err)
	}
	return tok, nil
}

// Claims reads the claims of the token the credential hands to Graph (from its cache: no new sign-in).
// readable is false when the token is not a JWT idpctl can read.
func (c *Credential) Claims(ctx context.Context) (claims TokenClaims, readable bool, err error) {
	tok, err := c.GetToken(ctx, tokenOptions(c.plan.scopes))
	if err != nil {
		return TokenClaims{}, false, err
	}
	claims, readable = ParseTokenClaims(tok.Token)
	return claims, readable, nil
}

func (c *Credential) explain(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		// azidentity flattens the context's error into text; keep it recognisable (Ctrl-C is a cancellation).
		return fmt.Errorf("sign-in stopped: %w", ctxErr)
	}
	var already *SignInError
	if errors.As(err, &already) {
		return err
	}
	raw := secret.Scrub(err.Error(), c.secrets...)
	c.log.LogAttrs(ctx, slog.LevelDebug, "sign-in failed", slog.String("method", string(c.plan.method)),
		slog.String("error", raw))
	return explainSignIn(err, signInContext{
		method: c.plan.method, clientID: c.plan.clientID, tenantID: c.plan.tenantID, cloud: c.plan.cloud,
	}, c.secrets...)
}

// SignIn signs in as o.Method says and returns the credential, having obtained its first token: a person is
// asked to sign in here (browser or device code) and nowhere later, and a wrong secret or a refused sign-in
// surfaces now, as *SignInError, before anything else happens. A person's account is remembered in
// o.StateDir, and their tokens are kept in the operating system's protected store where the platform has one
// (see persistentCache), so the next run usually signs in without asking.
func SignIn(ctx context.Context, o SignInOptions) (*Credential, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	prompt := o.Prompt
	if prompt == nil {
		prompt = io.Discard
	}
	p, err := planSignIn(o)
	if err != nil {
		return nil, err
	}
	var cache azidentity.Cache
	if p.delegated {
		if cache, err = persistentCache(); err != nil {
			log.LogAttrs(ctx, slog.LevelDebug, "no persistent token cache; tokens are kept in memory for this run",
				slog.String("reason", err.Error()))
		}
	}
	inner, err := p.credential(o, log, cache)
	if err != nil {
		return nil, err
	}
	c := &Credential{inner: inner, plan: p, log: log, secrets: []secret.Value{o.AccessToken, p.secret, p.certPassword}}
	if !p.delegated {
		if _, err := c.GetToken(ctx, tokenOptions(p.scopes)); err != nil {
			return nil, err
		}
		return c, nil
	}

	if p.method == MethodBrowser {
		// Some browsers print to the standard output of the process that launched them ("Opening in existing
		// browser session."); stdout carries only idpctl's results.
		browser.Stdout = prompt
	}
	if p.record != (azidentity.AuthenticationRecord{}) {
		fmt.Fprintf(prompt, "Signing in to Microsoft Entra ID as %s (remembered from the last run)...\n", p.record.Username)
		if _, err := c.GetToken(ctx, tokenOptions(p.scopes)); err != nil {
			return nil, err
		}
		return c, nil
	}
	switch p.method {
	case MethodBrowser:
		fmt.Fprintf(prompt, "Opening a browser to sign in to Microsoft Entra ID (%s); if none opens, run again with --auth device-code.\n",
			p.cloud.AuthorityHost)
	case MethodDeviceCode:
		// The code comes from Entra first: over a slow or broken network, this line is what the person sees.
		fmt.Fprintf(prompt, "Asking Microsoft Entra ID (%s) for a sign-in code...\n", p.cloud.AuthorityHost)
	}
	auth, ok := inner.(interface {
		Authenticate(context.Context, *policy.TokenRequestOptions) (azidentity.AuthenticationRecord, error)
	})
	if !ok {
		return nil, fmt.Errorf("sign in: the %s credential cannot authenticate interactively", p.method)
	}
	opts := tokenOptions(p.scopes)
	record, err := auth.Authenticate(ctx, &opts)
	if err != nil {
		return nil, c.explain(ctx, err)
	}
	if p.recordPath != "" {
		if err := saveRecord(p.recordPath, record); err != nil {
			// Not fatal: the run goes on, the next one asks again.
			log.LogAttrs(ctx, slog.LevelDebug, "could not remember the signed-in account",
				slog.String("path", p.recordPath), slog.String("error", err.Error()))
		}
	}
	return c, nil
}
