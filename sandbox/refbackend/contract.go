package refbackend

import (
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/idpctl/idpctl/secret"
)

// The backend contract (docs/backend-contract.md):
//
//	GET  /v1/registration              → {identityProviders: ["entra"]}: the token is good and registrations work
//	POST /v1/identity-providers/entra  {tenantId, clientId, clientSecret, discoveryUrl} → {id, scim: {baseUrl, token}}
//	PUT  /v1/roles/{userName}          {role: owner|admin|member} → 204
//	GET  /v1/roles                     → {roles: [{userName, role}]}
//	DELETE /v1/identity-providers/entra/{tenantId}/{clientId} → 204; 404 notFound when there is none
//
// all with Authorization: Bearer <backend token>. Errors are JSON: {"error": {"code", "field", "message"}}.
//
// SCIM tokens are per registration: each tenant+client pair gets its own token, every issued token stays valid,
// and all of them reach the same directory (one SaaS account that several Entra apps may provision into).
// Registering the same pair again returns the same id and token, so a re-run of setup converges; a different
// clientSecret replaces the stored one (secret rotation).

// Role is what PUT /v1/roles grants.
type Role string

// The roles the contract accepts.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Registration is one registered Entra OIDC app. Its secrets print as redactions.
type Registration struct {
	ID           string
	TenantID     string
	ClientID     string
	ClientSecret secret.Value
	DiscoveryURL string
	// SCIMToken is the SCIM bearer token this registration was issued.
	SCIMToken secret.Value
	Created   time.Time
	Updated   time.Time
	// SecretRotations counts registrations of the same app that brought a different client secret.
	SecretRotations int
}

// Registrations returns the registered apps in registration order.
func (s *Server) Registrations() []Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Registration, len(s.registrations))
	for i, r := range s.registrations {
		out[i] = *r
	}
	return out
}

// Roles returns the granted roles by the user's current userName.
func (s *Server) Roles() map[string]Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Role, len(s.roles))
	for id, role := range s.roles {
		if user, ok := s.directory.users[id]; ok {
			name, _ := user.attrs["userName"].(string)
			out[name] = role
		}
	}
	return out
}

func (s *Server) contractMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/registration", s.withBackendToken(s.registrationInfo))
	mux.HandleFunc("POST /v1/identity-providers/entra", s.withBackendToken(s.registerEntra))
	mux.HandleFunc("DELETE /v1/identity-providers/entra/{tenantId}/{clientId}", s.withBackendToken(s.unregisterEntra))
	mux.HandleFunc("PUT /v1/roles/{userName}", s.withBackendToken(s.putRole))
	mux.HandleFunc("GET /v1/roles", s.withBackendToken(s.listRoles))
	return mux
}

// contractError is the error body of the contract API; Field names the offending request field, if any.
type contractError struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeContractError(w http.ResponseWriter, status int, e contractError) {
	writeJSON(w, status, map[string]contractError{"error": e})
}

func (s *Server) withBackendToken(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if s.backendToken.IsZero() || !strings.EqualFold(scheme, "Bearer") ||
			subtle.ConstantTimeCompare([]byte(token), []byte(s.backendToken.Reveal())) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="backend"`)
			writeContractError(w, http.StatusUnauthorized, contractError{
				Code:    "unauthorized",
				Message: "missing or wrong backend token: send Authorization: Bearer <IDPCTL_BACKEND_TOKEN>",
			})
			return
		}
		next(w, r)
	}
}

// decodeBody reads a JSON body into v, refusing unknown fields so a misspelt field is reported, not ignored.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	decoder := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(v); err != nil {
		e := contractError{Code: "invalidBody", Message: "the body must be a JSON object: " + err.Error()}
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			e.Field = typeErr.Field
		}
		writeContractError(w, http.StatusBadRequest, e)
		return false
	}
	return true
}

// registrationInfo answers the contract's check: a client learns, without writing, that its token is accepted
// and which identity providers it can register.
func (s *Server) registrationInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string][]string{"identityProviders": {"entra"}})
}

type registrationRequest struct {
	TenantID     string `json:"tenantId"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	DiscoveryURL string `json:"discoveryUrl"`
}

type registrationResponse struct {
	ID   string `json:"id"`
	SCIM struct {
		BaseURL string `json:"baseUrl"`
		Token   string `json:"token"`
	} `json:"scim"`
}

func (s *Server) registerEntra(w http.ResponseWriter, r *http.Request) {
	var req registrationRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if e, ok := validateRegistration(req); !ok {
		writeContractError(w, http.StatusBadRequest, e)
		return
	}
	reg, created, err := s.register(req)
	if err != nil {
		writeContractError(w, http.StatusInternalServerError, contractError{Code: "internal", Message: err.Error()})
		return
	}
	var resp registrationResponse
	resp.ID = reg.ID
	resp.SCIM.BaseURL = s.scimBaseURLFor(r)
	resp.SCIM.Token = reg.SCIMToken.Reveal() // the one place the token leaves the server: to the caller that registered
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, resp)
}

// validateRegistration checks the fields in request order and names the first bad one.
func validateRegistration(req registrationRequest) (contractError, bool) {
	invalid := func(field, format string, args ...any) (contractError, bool) {
		return contractError{Code: "invalidField", Field: field, Message: fmt.Sprintf(format, args...)}, false
	}
	if !isGUID(req.TenantID) {
		return invalid("tenantId", "tenantId must be the directory (tenant) ID, a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47; got %q", req.TenantID)
	}
	if !isGUID(req.ClientID) {
		return invalid("clientId", "clientId must be the application (client) ID, a GUID; got %q", req.ClientID)
	}
	if strings.TrimSpace(req.ClientSecret) == "" {
		return invalid("clientSecret", "clientSecret must not be empty: send the client secret value created for the app")
	}
	if !validDiscoveryURL(req.DiscoveryURL, req.TenantID) {
		return invalid("discoveryUrl", "discoveryUrl must be the tenant's OpenID configuration, %s (or the login.microsoftonline.us / login.chinacloudapi.cn equivalent); got %q",
			discoveryURL("login.microsoftonline.com", req.TenantID), req.DiscoveryURL)
	}
	return contractError{}, true
}

// isGUID accepts only the canonical 8-4-4-4-12 form that Entra shows and Graph returns.
func isGUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

func discoveryURL(host, tenantID string) string {
	return "https://" + host + "/" + tenantID + "/v2.0/.well-known/openid-configuration"
}

func validDiscoveryURL(raw, tenantID string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return false
	}
	// The Microsoft identity platform hosts of the public, US Government and China clouds.
	authorityHosts := []string{"login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn"}
	return slices.ContainsFunc(authorityHosts, func(host string) bool {
		return strings.EqualFold(u.Host, host) &&
			strings.EqualFold(u.Path, "/"+tenantID+"/v2.0/.well-known/openid-configuration")
	})
}

func (s *Server) register(req registrationRequest) (Registration, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().UTC()
	for _, reg := range s.registrations {
		if strings.EqualFold(reg.TenantID, req.TenantID) && strings.EqualFold(reg.ClientID, req.ClientID) {
			if reg.ClientSecret.Reveal() != req.ClientSecret {
				reg.ClientSecret = secret.New(req.ClientSecret)
				reg.SecretRotations++
			}
			reg.DiscoveryURL = req.DiscoveryURL
			reg.Updated = now
			return *reg, false, nil
		}
	}
	token, err := newToken()
	if err != nil {
		return Registration{}, false, err
	}
	reg := &Registration{
		ID:           uuid.NewString(),
		TenantID:     req.TenantID,
		ClientID:     req.ClientID,
		ClientSecret: secret.New(req.ClientSecret),
		DiscoveryURL: req.DiscoveryURL,
		SCIMToken:    token,
		Created:      now,
		Updated:      now,
	}
	s.registrations = append(s.registrations, reg)
	s.scimTokens = append(s.scimTokens, scimToken{token: token, registrationID: reg.ID})
	return *reg, true, nil
}

// unregisterEntra removes a registration and revokes the SCIM token it was issued: the app no longer signs in
// and provisioning into the SaaS stops. The users provisioned stay, as the SaaS's own records.
func (s *Server) unregisterEntra(w http.ResponseWriter, r *http.Request) {
	tenantID, clientID := r.PathValue("tenantId"), r.PathValue("clientId")
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.registrations, func(reg *Registration) bool {
		return strings.EqualFold(reg.TenantID, tenantID) && strings.EqualFold(reg.ClientID, clientID)
	})
	if i < 0 {
		writeContractError(w, http.StatusNotFound, contractError{
			Code: "notFound", Message: fmt.Sprintf("no registration of client %q in tenant %q", clientID, tenantID),
		})
		return
	}
	id := s.registrations[i].ID
	s.registrations = slices.Delete(s.registrations, i, i+1)
	s.scimTokens = slices.DeleteFunc(s.scimTokens, func(t scimToken) bool { return t.registrationID == id })
	w.WriteHeader(http.StatusNoContent)
}

// newToken returns 256 random bits, URL-safe.
func newToken() (secret.Value, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return secret.Value{}, fmt.Errorf("generating a SCIM token: %w", err)
	}
	return secret.New(base64.RawURLEncoding.EncodeToString(b)), nil
}

type roleRequest struct {
	Role Role `json:"role"`
}

func (s *Server) putRole(w http.ResponseWriter, r *http.Request) {
	userName := r.PathValue("userName")
	var req roleRequest
	if !decodeBody(w, r, &req) {
		return
	}
	switch req.Role {
	case RoleOwner, RoleAdmin, RoleMember:
	default:
		writeContractError(w, http.StatusBadRequest, contractError{
			Code: "invalidField", Field: "role",
			Message: fmt.Sprintf("role must be owner, admin or member; got %q", req.Role),
		})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, user := range s.directory.users {
		if name, _ := user.attrs["userName"].(string); strings.EqualFold(name, userName) {
			s.roles[id] = req.Role
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeContractError(w, http.StatusNotFound, contractError{
		Code: "notFound", Field: "userName",
		Message: fmt.Sprintf("no SCIM user with userName %q: roles can be set once provisioning has created the user", userName),
	})
}

type roleEntry struct {
	UserName string `json:"userName"`
	Role     Role   `json:"role"`
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) {
	entries := []roleEntry{}
	for name, role := range s.Roles() {
		entries = append(entries, roleEntry{UserName: name, Role: role})
	}
	slices.SortFunc(entries, func(a, b roleEntry) int { return cmp.Compare(a.UserName, b.UserName) })
	writeJSON(w, http.StatusOK, map[string][]roleEntry{"roles": entries})
}
