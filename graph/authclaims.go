package graph

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// TokenClaims is what an access token says about who signed in, read without verifying it (Graph verifies
// it). Claim names are Entra's access token claims (learn.microsoft.com/entra/identity-platform/access-token-claims-reference).
type TokenClaims struct {
	Audience string // aud: the resource, e.g. https://graph.microsoft.com or Graph's app id
	TenantID string // tid
	ObjectID string // oid: the user, or the service principal of an app-only token
	// UserPrincipalName is upn, else unique_name or preferred_username; empty for app-only tokens.
	UserPrincipalName string
	Name              string // name: the user's display name
	AppID             string // appid (v1 tokens) or azp (v2): the client that signed in
	// AppOnly is true for a token without a user (client credentials, managed or workload identity).
	AppOnly bool
	Scopes  []string // scp: delegated permissions granted
	Roles   []string // roles: application permissions granted (app-only)
	// DirectoryRoleIDs is wids: the template ids of the user's tenant-wide directory roles when the token was
	// issued (Graph itself evaluates roles at request time).
	DirectoryRoleIDs []string
	Expires          time.Time
}

// ParseTokenClaims reads a JWT's payload. ok is false for anything that is not a readable JWT (an opaque or
// encrypted token): callers then learn who signed in from Graph instead.
func ParseTokenClaims(token string) (claims TokenClaims, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return TokenClaims{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return TokenClaims{}, false
	}
	var raw struct {
		Aud        string      `json:"aud"`
		Tid        string      `json:"tid"`
		Oid        string      `json:"oid"`
		Upn        string      `json:"upn"`
		UniqueName string      `json:"unique_name"`
		Preferred  string      `json:"preferred_username"`
		Name       string      `json:"name"`
		AppID      string      `json:"appid"`
		Azp        string      `json:"azp"`
		Idtyp      string      `json:"idtyp"`
		Scp        string      `json:"scp"`
		Roles      []string    `json:"roles"`
		Wids       []string    `json:"wids"`
		Exp        json.Number `json:"exp"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return TokenClaims{}, false
	}
	c := TokenClaims{
		Audience: raw.Aud, TenantID: raw.Tid, ObjectID: raw.Oid, Name: raw.Name,
		AppID: firstNonEmpty(raw.AppID, raw.Azp), UserPrincipalName: firstNonEmpty(raw.Upn, raw.UniqueName, raw.Preferred),
		Scopes: strings.Fields(raw.Scp), Roles: raw.Roles, DirectoryRoleIDs: raw.Wids,
	}
	// idtyp is an optional claim; without it, a token with no delegated scopes and no user name has no user.
	switch raw.Idtyp {
	case "app":
		c.AppOnly = true
	case "user":
	default:
		c.AppOnly = raw.Scp == "" && c.UserPrincipalName == ""
	}
	if secs, err := raw.Exp.Int64(); err == nil && secs > 0 {
		c.Expires = time.Unix(secs, 0)
	}
	return c, true
}

// ForGraph reports whether the token's audience is Microsoft Graph in some cloud: Graph's application id or
// a Graph host's resource URI.
func (c TokenClaims) ForGraph() bool {
	if strings.EqualFold(c.Audience, MicrosoftGraphAppID) {
		return true
	}
	host := strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(c.Audience), "https://"), "/")
	return slices.Contains(graphHosts(), host)
}
