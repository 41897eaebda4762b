// Package backend hands the OIDC application idpctl created in Entra over to the SaaS ("the backend") and gets
// back what Entra's provisioning needs: the SCIM base URL and bearer token. It also checks that SCIM endpoint
// the way Entra will use it (Probe) and reads users and groups back from it (Reader), so the setup can confirm
// that provisioning works with any Entra-compatible SCIM server.
package backend

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/idpctl/idpctl/secret"
)

// Registration is what the SaaS needs for OIDC single sign-on with the Entra application.
type Registration struct {
	TenantID     string
	ClientID     string
	ClientSecret secret.Value
	DiscoveryURL string // the OIDC metadata URL, https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration
}

// SCIM is what Entra's provisioning needs to reach the SaaS: the tenant URL (Graph secret key BaseAddress)
// and the secret token (SecretToken).
type SCIM struct {
	BaseURL string
	Token   secret.Value
}

// Backend registers the application with the SaaS.
type Backend interface {
	// Name is the --backend value: "manual" or "http".
	Name() string
	// Destination says where Register puts the client secret.
	Destination() Destination
	// KnownSCIM is the SCIM endpoint Register will return, when it is known before registering (the manual
	// backend given the URL and token up front), so it can be tested before anything is written; nil when
	// Register is what hands it out.
	KnownSCIM() *SCIM
	// HeldSecretHint says which client secret the SaaS holds, by its hint (the first three characters, as
	// Entra shows them), when the backend can tell without a write: the manual backend reads its secret file,
	// and answers "" when the file holds none. ok is false when the backend cannot tell: an API does not say.
	HeldSecretHint() (hint string, ok bool)
	// Check makes sure, without writing anything, that Register can deliver: the secret file can be written,
	// or the backend answers and accepts its token. A run calls it before its first write, so a client secret
	// is never created that has nowhere to go.
	Check(ctx context.Context) error
	// Register hands the registration to the SaaS and returns the SCIM endpoint Entra must provision to.
	// Registering the same tenant and client again is safe.
	Register(ctx context.Context, reg Registration) (SCIM, error)
	// SetRole tells the SaaS which role a provisioned user has. It returns ErrUnsupported when the backend
	// cannot do that, and the admin has to set the role in the SaaS itself.
	SetRole(ctx context.Context, userName string, role Role) error
	// Roles returns the roles the SaaS has given, by user name in lower case. It returns ErrUnsupported when
	// the backend cannot say.
	Roles(ctx context.Context) (map[string]Role, error)
	// Unregister removes the registration of the tenant and client from the SaaS: single sign-on with that
	// application stops and its SCIM token is revoked. A registration that is not there is no error, so a
	// teardown can run again. It returns ErrUnsupported when the backend cannot do that, and the admin has to
	// remove the connection in the SaaS itself.
	Unregister(ctx context.Context, tenantID, clientID string) error
}

// Destination is where a client secret goes: a file the admin copies it from, the SaaS's API, or (neither)
// the admin at the hand-off, who is shown it.
type Destination struct {
	File string // the secret file, as given
	URL  string // the backend's base URL
}

// String names the destination the way the state file records where a secret went: "file /abs/path",
// "backend https://..." or "the admin at the hand-off".
func (d Destination) String() string {
	switch {
	case d.File != "":
		abs, err := filepath.Abs(d.File)
		if err != nil {
			abs = d.File
		}
		return "file " + abs
	case d.URL != "":
		return "backend " + d.URL
	}
	return "the admin at the hand-off"
}

// Names of the backends, as --backend takes them.
const (
	NameManual = "manual"
	NameHTTP   = "http"
)

// ErrUnsupported is returned by backends that cannot do what was asked.
var ErrUnsupported = errors.New("not supported by this backend")

// ErrUnknownUser is SetRole's answer for a user the SaaS does not have (yet): provisioning has not created it.
var ErrUnknownUser = errors.New("the SaaS does not know this user yet")

// Role is a user's role in the SaaS.
type Role string

// The roles of the backend contract. Smallstep's Owners can do everything Admins can and also create Admins.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// ParseRole accepts a role name in any case.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{RoleOwner, RoleAdmin, RoleMember} {
		if strings.EqualFold(s, string(r)) {
			return r, nil
		}
	}
	return "", fmt.Errorf("role %q: use owner, admin or member", s)
}
