package entra

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Well-known application ids.
const (
	// GraphAppID is Microsoft Graph's application id, the resource of every Graph token.
	GraphAppID = "00000003-0000-0000-c000-000000000000"
	// GraphCLIToolsAppID is "Microsoft Graph Command Line Tools", idpctl's default sign-in client.
	GraphCLIToolsAppID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
)

// FlowScopes returns the delegated scopes idpctl's flow asks for (the Permissions table of each call's DOCS
// api-reference page); the default admin token carries all of them.
func FlowScopes() []string {
	return []string{
		"openid", "profile", "offline_access", "email", "User.Read",
		"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All",
		"Synchronization.ReadWrite.All", "AuditLog.Read.All", "Directory.Read.All", "Organization.Read.All",
		"User.Read.All", "Group.Read.All", "GroupMember.Read.All",
	}
}

// DirectoryAdminScopes are FlowScopes plus the scopes an administrator uses to manage users and groups
// (POST /users, POST /groups, members/$ref), for tests that act "as an admin would".
func DirectoryAdminScopes() []string {
	return append(FlowScopes(), "User.ReadWrite.All", "Group.ReadWrite.All", "GroupMember.ReadWrite.All")
}

// TokenRequest describes an access token to mint. With UserID it is a delegated token for that user carrying
// Scopes; without it an app-only token for AppID carrying Roles.
type TokenRequest struct {
	UserID   string
	Scopes   []string
	AppID    string   // client application (appid claim); default GraphCLIToolsAppID for delegated tokens
	Roles    []string // application permissions of an app-only token
	Lifetime time.Duration
	// Audience defaults to https://graph.microsoft.com; set another to mint a token Graph must refuse.
	Audience string
}

// IssueToken mints a JWT shaped like an Entra access token for Microsoft Graph (header.payload.signature; HS256
// with this tenant's random key), with the claims a client may read: aud, iss, tid, oid, upn, scp or roles,
// wids, idtyp, appid, iat, nbf, exp.
func (t *Tenant) IssueToken(req TokenRequest) (string, error) {
	now := t.now()
	lifetime := req.Lifetime
	if lifetime == 0 {
		lifetime = time.Hour
	}
	aud := req.Audience
	if aud == "" {
		aud = "https://graph.microsoft.com"
	}
	claims := map[string]any{
		"aud": aud,
		"iss": "https://sts.windows.net/" + t.id + "/",
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(lifetime).Unix(),
		"tid": t.id,
		"uti": strings.ReplaceAll(uuid.NewString(), "-", "")[:22],
		"ver": "1.0",
	}
	if req.UserID != "" {
		appID := req.AppID
		if appID == "" {
			appID = GraphCLIToolsAppID
		}
		t.mu.Lock()
		user, ok := t.st.users[req.UserID]
		var wids []string
		if ok {
			wids = t.st.rolesOf(req.UserID)
		}
		t.mu.Unlock()
		if !ok {
			return "", fmt.Errorf("issue token: no user with id %q in tenant %s; seed it first", req.UserID, t.id)
		}
		claims["idtyp"] = "user"
		claims["appid"] = appID
		claims["appidacr"] = "0"
		claims["oid"] = req.UserID
		claims["sub"] = req.UserID
		claims["upn"] = user.data["userPrincipalName"]
		claims["unique_name"] = user.data["userPrincipalName"]
		claims["name"] = user.data["displayName"]
		claims["given_name"] = user.data["givenName"]
		claims["family_name"] = user.data["surname"]
		claims["scp"] = strings.Join(req.Scopes, " ")
		// Every member's token lists the default member role too.
		claims["wids"] = append(wids, "b79fbf4d-3ef9-4689-8143-76b194e85509")
		claims["amr"] = []string{"pwd", "mfa"}
	} else {
		if req.AppID == "" {
			return "", fmt.Errorf("issue token: set UserID for a delegated token or AppID for an app-only token")
		}
		claims["idtyp"] = "app"
		claims["appid"] = req.AppID
		claims["appidacr"] = "1"
		claims["oid"] = uuid.NewSHA1(uuid.NameSpaceOID, []byte(t.id+req.AppID)).String()
		claims["sub"] = claims["oid"]
		claims["roles"] = req.Roles
	}
	return t.sign(claims)
}

func (t *Tenant) sign(claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"typ": "JWT", "alg": "HS256", "kid": "sandbox-" + t.id})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signingInput := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, t.signingKey)
	mac.Write([]byte(signingInput))
	return signingInput + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// principal is the caller a valid token names.
type principal struct {
	userID  string
	appID   string
	appOnly bool
	scopes  []string
	roles   []string
}

func (p *principal) hasAnyScope(wanted []string) bool {
	for _, w := range wanted {
		if slices.ContainsFunc(p.scopes, func(s string) bool { return strings.EqualFold(s, w) }) {
			return true
		}
	}
	return false
}

func (p *principal) hasAnyRole(wanted []string) bool {
	for _, w := range wanted {
		if slices.ContainsFunc(p.roles, func(s string) bool { return strings.EqualFold(s, w) }) {
			return true
		}
	}
	return false
}

// tokenError is Graph's 401. Messages are the ones Graph sends: "Access token is empty.", "CompactToken parsing
// failed with error code: 80049217" (not a JWT), "Access token validation failure. Invalid audience.",
// "Lifetime validation failed, the token is expired." (all observed in public client code and issues).
// "Access token validation failure." for a bad signature or another tenant's token is the closest observed text.
func tokenError(message string) *graphError {
	return newError(http.StatusUnauthorized, "InvalidAuthenticationToken", message).
		withHeader("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="`+GraphAppID+`"`)
}

func (t *Tenant) authenticate(authorization string) (*principal, *graphError) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, tokenError("Access token is empty.")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, tokenError("CompactToken parsing failed with error code: 80049217")
	}
	enc := base64.RawURLEncoding
	payload, err := enc.DecodeString(parts[1])
	if err != nil {
		return nil, tokenError("CompactToken parsing failed with error code: 80049217")
	}
	var claims struct {
		Aud   string   `json:"aud"`
		Tid   string   `json:"tid"`
		Exp   int64    `json:"exp"`
		Oid   string   `json:"oid"`
		Appid string   `json:"appid"`
		Idtyp string   `json:"idtyp"`
		Scp   string   `json:"scp"`
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, tokenError("CompactToken parsing failed with error code: 80049217")
	}
	signature, err := enc.DecodeString(parts[2])
	if err != nil {
		return nil, tokenError("CompactToken parsing failed with error code: 80049217")
	}
	mac := hmac.New(sha256.New, t.signingKey)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if claims.Tid != t.id || !hmac.Equal(signature, mac.Sum(nil)) {
		return nil, tokenError("Access token validation failure.")
	}
	if claims.Aud != "https://graph.microsoft.com" && claims.Aud != "https://graph.microsoft.com/" && claims.Aud != GraphAppID {
		return nil, tokenError("Access token validation failure. Invalid audience.")
	}
	if !t.now().Before(time.Unix(claims.Exp, 0)) {
		return nil, tokenError("Lifetime validation failed, the token is expired.")
	}
	p := &principal{appID: claims.Appid}
	if claims.Idtyp == "app" {
		p.appOnly = true
		p.roles = claims.Roles
	} else {
		p.userID = claims.Oid
		p.scopes = strings.Fields(claims.Scp)
	}
	return p, nil
}
