package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/idpctl/idpctl/clock"
	"github.com/idpctl/idpctl/secret"
)

// HTTP is the backend of a SaaS that implements the backend contract, every call with the bearer token
// IDPCTL_BACKEND_TOKEN:
//
//	GET  {url}/v1/registration              → 200 {identityProviders: ["entra", ...]}: the token is accepted and
//	                                          registrations work; read-only, called before the run's first write
//	POST {url}/v1/identity-providers/entra  {tenantId, clientId, clientSecret, discoveryUrl} → {id, scim: {baseUrl, token}};
//	                                          idempotent for the same tenant and client
//	PUT  {url}/v1/roles/{userName}          {role: owner|admin|member}; 404 for a user the SaaS does not have yet
//	GET  {url}/v1/roles                     → {roles: [{userName, role}]}: the roles given so far (optional)
//	DELETE {url}/v1/identity-providers/entra/{tenantId}/{clientId}
//	                                        → 204; 404 {"error": {"code": "notFound"}} when there is none
type HTTP struct {
	url    *url.URL
	token  secret.Value
	client *http.Client
	pacer  pacer
}

// NewHTTP checks the --backend-url and IDPCTL_BACKEND_TOKEN inputs and returns the backend. A nil client
// means http.DefaultClient's transport; a nil clock, the system clock (it times retries of throttled calls).
func NewHTTP(backendURL string, token secret.Value, client *http.Client, clk clock.Clock) (*HTTP, error) {
	if err := ValidateBackendURL(backendURL); err != nil {
		return nil, err
	}
	if err := ValidateToken("IDPCTL_BACKEND_TOKEN", token); err != nil {
		return nil, err
	}
	u, _ := url.Parse(backendURL) // checked above
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return &HTTP{url: u, token: token, client: withoutRedirects(client), pacer: pacer{clock: clk}}, nil
}

// String names the backend without its token; fmt would print the unexported token field verbatim otherwise.
func (h *HTTP) String() string { return "http backend " + h.url.Redacted() }

// GoString is String, for %#v.
func (h *HTTP) GoString() string { return h.String() }

// Name is "http".
func (h *HTTP) Name() string { return NameHTTP }

// Destination is the backend's API.
func (h *HTTP) Destination() Destination { return Destination{URL: h.url.String()} }

// KnownSCIM is nil: the backend answers the registration with the SCIM endpoint.
func (h *HTTP) KnownSCIM() *SCIM { return nil }

// HeldSecretHint cannot tell: the contract has no call that says which secret the backend holds.
func (h *HTTP) HeldSecretHint() (string, bool) { return "", false }

// Register sends the registration and returns the SCIM endpoint the backend answers with, after checking it
// as strictly as a --scim-url. The contract makes the call idempotent, so a re-run may send it again.
func (h *HTTP) Register(ctx context.Context, reg Registration) (SCIM, error) {
	if reg.ClientSecret.IsZero() {
		return SCIM{}, errors.New("registering with the backend: there is no client secret to send; the backend needs one with every registration")
	}
	body, err := json.Marshal(map[string]string{
		"tenantId":     reg.TenantID,
		"clientId":     reg.ClientID,
		"clientSecret": reg.ClientSecret.Reveal(),
		"discoveryUrl": reg.DiscoveryURL,
	})
	if err != nil {
		return SCIM{}, err
	}
	var answer struct {
		ID   string `json:"id"`
		SCIM *struct {
			BaseURL string `json:"baseUrl"`
			Token   string `json:"token"`
		} `json:"scim"`
	}
	op := "registering the application with the backend"
	target := h.endpoint("v1", "identity-providers", "entra")
	resp, err := h.send(ctx, http.MethodPost, target, body, reg.ClientSecret)
	if err != nil {
		return SCIM{}, fmt.Errorf("%s: %w", op, err)
	}
	scrubbed := secret.Scrub(string(resp.Body), h.token, reg.ClientSecret)
	if err := h.check(resp, scrubbed, "POST "+target, "--backend-url must be the base URL of an API that implements /v1/identity-providers/entra"); err != nil {
		return SCIM{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := json.Unmarshal(resp.Body, &answer); err != nil {
		return SCIM{}, fmt.Errorf("%s: POST %s answered %d but its body is not JSON (%s): is --backend-url the API base URL?", op, target, resp.Status, describeBody([]byte(scrubbed)))
	}
	if answer.SCIM == nil || answer.SCIM.BaseURL == "" || answer.SCIM.Token == "" {
		return SCIM{}, fmt.Errorf("%s: POST %s answered without scim.baseUrl and scim.token; the backend does not follow the contract (ask its maintainers)", op, target)
	}
	scim := SCIM{BaseURL: answer.SCIM.BaseURL, Token: secret.New(answer.SCIM.Token)}
	if err := checkSCIMURL("the backend's scim.baseUrl", scim.BaseURL); err != nil {
		return SCIM{}, fmt.Errorf("%s: %w (the backend must answer with the URL Entra can reach)", op, err)
	}
	if err := ValidateToken("the backend's scim.token", scim.Token); err != nil {
		return SCIM{}, fmt.Errorf("%s: %w (the backend must answer with a usable bearer token)", op, err)
	}
	return scim, nil
}

// Check asks the backend whether it takes registrations from this token: GET {url}/v1/registration, the
// contract's cheap authenticated read, which must answer 2xx and list "entra" among its identity providers.
// A wrong token, a wrong URL or a backend that cannot be reached is found here, before anything is written.
func (h *HTTP) Check(ctx context.Context) error {
	op := "checking the backend before any change"
	target := h.endpoint("v1", "registration")
	resp, err := h.send(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	scrubbed := secret.Scrub(string(resp.Body), h.token)
	if err := h.check(resp, scrubbed, "GET "+target, "--backend-url must be the base URL of an API that implements the backend contract (GET /v1/registration, POST /v1/identity-providers/entra)"); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var answer struct {
		IdentityProviders []string `json:"identityProviders"`
	}
	if err := json.Unmarshal(resp.Body, &answer); err != nil {
		return fmt.Errorf("%s: GET %s answered %d but its body is not JSON (%s): is --backend-url the API base URL?", op, target, resp.Status, describeBody([]byte(scrubbed)))
	}
	if !slices.ContainsFunc(answer.IdentityProviders, func(p string) bool { return strings.EqualFold(p, "entra") }) {
		return fmt.Errorf("%s: GET %s does not list entra among the identity providers the backend takes (it lists %q); check --backend-url, or ask the SaaS whether it supports Entra ID", op, target, answer.IdentityProviders)
	}
	return nil
}

// SetRole sends the user's role. A backend that answers 404 Not Found for the user does not know it yet
// (provisioning has not reached it); one without the endpoint (405, 501) yields ErrUnsupported.
func (h *HTTP) SetRole(ctx context.Context, userName string, role Role) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	if userName == "" {
		return errors.New("setting a role: the user name is empty")
	}
	op := fmt.Sprintf("setting the role of %s to %s", userName, role)
	body, err := json.Marshal(map[string]Role{"role": role})
	if err != nil {
		return err
	}
	target := h.endpoint("v1", "roles", userName)
	resp, err := h.send(ctx, http.MethodPut, target, body)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	scrubbed := secret.Scrub(string(resp.Body), h.token)
	switch resp.Status {
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return fmt.Errorf("%s: %w (the backend answered %s); set the role in your SaaS's dashboard", op, ErrUnsupported, statusText(resp.Status))
	case http.StatusNotFound:
		return unknownUserError(fmt.Sprintf("%s: the backend does not know %s yet (404): wait until provisioning has created the user, then run again", op, userName))
	}
	if err := h.check(resp, scrubbed, "PUT "+target, ""); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// Unregister removes the registration of tenantID and clientID. 404 means there is none: a teardown run
// again, or a registration removed in the SaaS, is done already. A backend without the endpoint (405, 501)
// yields ErrUnsupported.
func (h *HTTP) Unregister(ctx context.Context, tenantID, clientID string) error {
	op := "removing the registration from the backend"
	target := h.endpoint("v1", "identity-providers", "entra", tenantID, clientID)
	resp, err := h.send(ctx, http.MethodDelete, target, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	switch {
	case resp.Status == http.StatusNotFound && isContractNotFound(resp.Body):
		return nil
	case resp.Status == http.StatusMethodNotAllowed || resp.Status == http.StatusNotImplemented:
		return fmt.Errorf("%s: %w (the backend answered %s); remove the Entra ID connection in your SaaS's dashboard", op, ErrUnsupported, statusText(resp.Status))
	}
	if err := h.check(resp, secret.Scrub(string(resp.Body), h.token), "DELETE "+target, "the backend does not implement DELETE /v1/identity-providers/entra/{tenantId}/{clientId}; remove the Entra ID connection in your SaaS's dashboard"); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// isContractNotFound tells the contract's own 404, {"error": {"code": "notFound"}}, from a path the server does
// not know at all: only the first says the registration is gone.
func isContractNotFound(body []byte) bool {
	var doc struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	return json.Unmarshal(body, &doc) == nil && doc.Error.Code == "notFound"
}

// unknownUserError is SetRole's 404: errors.Is finds ErrUnknownUser in it.
type unknownUserError string

func (e unknownUserError) Error() string        { return string(e) }
func (e unknownUserError) Is(target error) bool { return target == ErrUnknownUser }

// Roles reads the roles given so far: GET {url}/v1/roles.
func (h *HTTP) Roles(ctx context.Context) (map[string]Role, error) {
	op := "reading the roles from the backend"
	target := h.endpoint("v1", "roles")
	resp, err := h.send(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	scrubbed := secret.Scrub(string(resp.Body), h.token)
	switch resp.Status {
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		// The contract makes GET /v1/roles optional: without it, every role is sent.
		return nil, fmt.Errorf("%s: %w (the backend answered %s)", op, ErrUnsupported, statusText(resp.Status))
	}
	if err := h.check(resp, scrubbed, "GET "+target, ""); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var answer struct {
		Roles []struct {
			UserName string `json:"userName"`
			Role     Role   `json:"role"`
		} `json:"roles"`
	}
	if err := json.Unmarshal(resp.Body, &answer); err != nil {
		return nil, fmt.Errorf("%s: GET %s answered %d but its body is not the contract's {roles: [...]} (%s)", op, target, resp.Status, describeBody([]byte(scrubbed)))
	}
	roles := make(map[string]Role, len(answer.Roles))
	for _, r := range answer.Roles {
		roles[strings.ToLower(r.UserName)] = r.Role
	}
	return roles, nil
}

// endpoint joins the base URL with path segments, escaping each.
func (h *HTTP) endpoint(segments ...string) string {
	u := withPath(h.url, segments...)
	return u.String()
}

// send makes one call of the contract, retrying 429 and 503. secrets are scrubbed from transport errors too.
func (h *HTTP) send(ctx context.Context, method, target string, body []byte, secrets ...secret.Value) (*response, error) {
	resp, err := h.pacer.do(ctx, h.client, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+h.token.Reveal())
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		kind, cause, fix := describeTransportError(err, h.url.Host)
		msg := fmt.Sprintf("cannot reach the backend at --backend-url %s: %s; %s", h.url.Redacted(), cause, fix)
		if kind == KindCanceled {
			msg = "cancelled before the backend answered"
		}
		return nil, &BackendError{Kind: kind, Request: method + " " + target, Message: secret.Scrub(msg, append(secrets, h.token)...), Err: err}
	}
	return resp, nil
}

// BackendError is a failed call to the backend. Its message never holds a secret.
type BackendError struct {
	Kind    ErrorKind
	Request string // method and URL
	Status  int    // 0 when there was no answer
	Field   string // the input the backend rejected, when it names one (400)
	Message string
	Err     error
}

func (e *BackendError) Error() string { return e.Message }
func (e *BackendError) Unwrap() error { return e.Err }

// check explains any answer other than 2xx. notFound is the fix for a 404 ("" for a generic one).
func (h *HTTP) check(resp *response, scrubbedBody, request, notFound string) error {
	s := resp.Status
	if s >= 200 && s < 300 {
		return nil
	}
	e := &BackendError{Request: request, Status: s}
	said := statusText(s)
	problem := readProblem(scrubbedBody)
	switch {
	case s == http.StatusUnauthorized:
		e.Kind = KindUnauthorized
		e.Message = fmt.Sprintf("the backend rejected IDPCTL_BACKEND_TOKEN (%s); set IDPCTL_BACKEND_TOKEN to a valid API token of this backend", said)
	case s == http.StatusForbidden:
		e.Kind = KindUnauthorized
		e.Message = fmt.Sprintf("the backend accepted IDPCTL_BACKEND_TOKEN but refused this request (%s%s); use a token allowed to manage identity providers", said, colon(problem.message))
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		e.Kind = KindUnexpectedStatus
		e.Field = problem.field
		switch {
		case problem.field != "":
			e.Message = fmt.Sprintf("the backend rejected %s (%s%s); check the value idpctl sent for it", problem.field, said, colon(problem.message))
		default:
			e.Message = fmt.Sprintf("the backend rejected the request (%s%s)", said, colon(problem.message))
		}
	case s == http.StatusNotFound:
		e.Kind = KindNotFound
		e.Message = fmt.Sprintf("%s answered %s", request, said)
		if notFound != "" {
			e.Message += ": " + notFound
		}
	case s >= 300 && s < 400:
		e.Kind = KindRedirect
		e.Message = fmt.Sprintf("%s answered %s, a redirect to %s; set --backend-url to the address it points to (idpctl does not send the token on)",
			request, said, secret.Scrub(resp.Header.Get("Location"), h.token))
	case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
		e.Kind = KindThrottled
		e.Message = fmt.Sprintf("the backend is busy and kept answering %s%s; run again in a few minutes", said, colon(problem.message))
	case s >= 500:
		e.Kind = KindServerError
		e.Message = fmt.Sprintf("the backend failed with %s%s; run again later, or ask the SaaS's support if it persists", said, colon(problem.message))
	default:
		e.Kind = KindUnexpectedStatus
		e.Message = fmt.Sprintf("%s answered %s%s", request, said, colon(problem.message))
	}
	return e
}
