// Package backend hands the OIDC application idpctl created in Entra over to the SaaS ("the backend") and gets
// back what Entra's provisioning needs: the SCIM base URL and bearer token. It also checks that SCIM endpoint
// the way Entra will use it (Probe) and reads users and groups back from it (Reader), so the setup can confirm
// that provisioning works with any Entra-compatible SCIM server.
package backend

import (
	"context"
	"errors"
	"fmt"
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
}

// Names of the backends, as --backend takes them.
const (
	NameManual = "manual"
	NameHTTP   = "http"
)

// ErrUnsupported is returned by backends that cannot do what was asked.
var ErrUnsupported = errors.New("not supported by this backend")

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
