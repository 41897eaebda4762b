package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/idpctl/idpctl/secret"
)

// StaticToken is a credential for an access token obtained elsewhere (--auth token reads IDPCTL_ACCESS_TOKEN;
// the sandbox issues one). It cannot refresh: when the JWT's exp claim says the token has expired, GetToken
// says so instead of letting Graph answer 401. A token that is not a readable JWT is used as it is.
func StaticToken(token secret.Value) azcore.TokenCredential {
	return &staticToken{token: token, expires: jwtExpiry(token.Reveal())}
}

type staticToken struct {
	token   secret.Value
	expires time.Time // zero when the token carries no readable exp claim
}

func (s *staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if s.token.IsZero() {
		return azcore.AccessToken{}, errors.New("no access token: set IDPCTL_ACCESS_TOKEN, or use another --auth method")
	}
	now := time.Now()
	if !s.expires.IsZero() && !now.Before(s.expires) {
		return azcore.AccessToken{}, fmt.Errorf("the access token expired at %s; get a new one (for example "+
			"az account get-access-token --resource-type ms-graph) or use another --auth method",
			s.expires.UTC().Format(time.RFC3339))
	}
	expires := s.expires
	if expires.IsZero() {
		// azcore wants an expiry; an hour is the usual lifetime of a Graph token, and nothing refreshes it anyway.
		expires = now.Add(time.Hour)
	}
	return azcore.AccessToken{Token: s.token.Reveal(), ExpiresOn: expires}, nil
}

// jwtExpiry reads the exp claim of a JWT without verifying it (Graph verifies it); zero when unreadable.
func jwtExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return time.Time{}
	}
	secs, err := claims.Exp.Float64()
	if err != nil || secs <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(secs), 0)
}
