package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/steps"
)

type rotateOptions struct {
	*entraOptions
	SCIMToken     bool   // --scim-token: rotate the SCIM token instead of the client secret
	SCIMURL       string // --scim-url, with --scim-token
	SCIMTokenFile string
	SecretExpiry  string // "": what setup used
	Finish        bool

	token  secret.Value
	expiry time.Duration
}

func newRotateCmd(f *factory) *cobra.Command {
	return newProviderCmd("rotate-secret", "replace a client secret or SCIM token of an identity provider connection", newRotateEntraCmd(f))
}

func newRotateEntraCmd(f *factory) *cobra.Command {
	opts := &rotateOptions{entraOptions: newEntraOptions(f)}
	cmd := &cobra.Command{
		Use:   "entra",
		Short: "replace the client secret (or, with --scim-token, the SCIM token) setup made",
		Long: `Replace the application's client secret before it expires, with no moment without a valid secret: a new
secret is created and handed to the SaaS first, and only then are the old secrets idpctl created removed.
Secrets idpctl did not create are never touched.

With --backend http the backend takes the new secret with its registration, and its answer confirms it
did; the old secrets are removed in the same run. With --backend manual (Smallstep today) the new secret is
written to --secret-out for you to paste into the SaaS; the old secret keeps working until you run
idpctl rotate-secret entra --finish, which removes every secret idpctl created except the one in that file.
On a terminal the command offers to finish right away, once you have pasted it.

The backend, its URL and the secret file are what setup used unless given again.

--scim-token saves a new SCIM token the SaaS issued (IDPCTL_SCIM_TOKEN or --scim-token-file) for
provisioning: it is tested against the SCIM endpoint and with Entra's connection test first, and every
other provisioning setting is kept (Graph replaces the whole set on save, so it is read and sent back).

A plan is shown before anything changes; --yes applies it without asking, --dry-run only shows it.`,
		Example: `  # The backend takes the secret over its API: one run
  IDPCTL_BACKEND_TOKEN=... idpctl rotate-secret entra --yes

  # Smallstep: the secret to a file, paste it, then remove the old one
  idpctl rotate-secret entra --secret-out ./client-secret --non-interactive --yes
  idpctl rotate-secret entra --finish --secret-out ./client-secret --non-interactive --yes

  # Smallstep issued a new SCIM token
  IDPCTL_SCIM_TOKEN=... idpctl rotate-secret entra --scim-token --yes`,
	}
	fl := cmd.Flags()
	opts.addFlags(fl, true)
	opts.addBackendFlags(fl)
	fl.StringVar(&opts.SecretExpiry, "secret-expiry", "", "lifetime of the new client secret: e.g. 180d, 1y, 2y; default: what setup used")
	fl.BoolVar(&opts.Finish, "finish", false, "remove the client secrets idpctl created, except the one the SaaS now has (--backend manual)")
	fl.BoolVar(&opts.SCIMToken, "scim-token", false, "save a new SCIM token (IDPCTL_SCIM_TOKEN or --scim-token-file) instead of rotating the client secret")
	_ = fl.SetAnnotation("scim-token", noEnv, nil) // IDPCTL_SCIM_TOKEN is the token, not this switch
	fl.StringVar(&opts.SCIMTokenFile, "scim-token-file", "", "with --scim-token: file holding the new SCIM token (or set IDPCTL_SCIM_TOKEN)")
	fl.StringVar(&opts.SCIMURL, "scim-url", "", "with --scim-token: the SCIM URL, when it changed too; default: the one saved")
	return newEntraCmd(opts.entraOptions, cmd, opts.check, func(ctx context.Context) error { return rotateEntra(ctx, opts) })
}

func (o *rotateOptions) check() error {
	switch {
	case o.SCIMToken && o.Finish:
		return usageErrorf("--finish completes a client secret rotation: it does not go with --scim-token")
	case !o.SCIMToken && (o.SCIMURL != "" || o.SCIMTokenFile != ""):
		return usageErrorf("--scim-url and --scim-token-file go with --scim-token")
	case o.SCIMToken && (o.Backend != "" || o.BackendURL != "" || o.SecretOut != "" || o.SecretExpiry != ""):
		return usageErrorf("--scim-token saves a SCIM token: --backend, --backend-url, --secret-out and --secret-expiry are for the client secret")
	}
	if o.SCIMToken {
		tok, err := o.scimToken(o.SCIMURL, o.SCIMTokenFile)
		if err != nil {
			return err
		}
		if tok.IsZero() {
			return usageErrorf("the new SCIM token is missing: set IDPCTL_SCIM_TOKEN or pass --scim-token-file")
		}
		o.token = tok
	}
	if o.SecretExpiry != "" {
		d, err := parseLifetime(o.SecretExpiry)
		if err != nil {
			return usageErrorf("--secret-expiry: %v", err)
		}
		if d < 24*time.Hour || d > steps.MaxSecretExpiry {
			return usageErrorf("--secret-expiry %q: use a lifetime between 1 day and 2 years, e.g. 180d or 1y", o.SecretExpiry)
		}
		o.expiry = d
	}
	return nil
}

func rotateEntra(ctx context.Context, opts *rotateOptions) error {
	adjust := func(in *steps.Inputs) error {
		if opts.SCIMToken {
			in.SCIMURL, in.SCIMToken = opts.SCIMURL, opts.token
			return nil
		}
		if opts.expiry > 0 {
			in.SecretExpiry = opts.expiry
		}
		return in.CheckDelivery()
	}
	return opts.changeRun(ctx, adjust, func(ctx context.Context, run *entraRun) error { return rotate(ctx, opts, run) })
}

// rotate applies the rotation asked for; a new client secret handed over by hand is followed, on a terminal,
// by the offer to finish the rotation at once.
func rotate(ctx context.Context, opts *rotateOptions, run *entraRun) error {
	in := run.env.Inputs
	switch {
	case opts.SCIMToken:
		_, err := opts.applySteps(ctx, run, "rotate-secret", steps.RotateSCIMToken(), false)
		return err
	case opts.Finish:
		_, err := opts.applySteps(ctx, run, "rotate-secret", steps.FinishRotation(), false)
		return err
	}
	result, err := opts.applySteps(ctx, run, "rotate-secret", steps.RotateSecret(in), true)
	if err != nil || opts.DryRun || in.Backend != backend.NameManual || result.Error != "" {
		return err
	}
	// The secret is in the file: once the admin has pasted it into the SaaS, the old one can go. Asked here, on
	// a terminal, as the plan screen asks; scripts run --finish when they know.
	if opts.Output != "text" || opts.Yes || opts.NonInteractive || !opts.IO.CanPrompt() {
		return nil
	}
	fmt.Fprintf(opts.IO.ErrOut, "\nPaste the new client secret from %s into your SaaS and sign in with SSO to check it; then the old\nsecret can go (now, or later with idpctl rotate-secret entra --finish).\n\n", in.SecretOut)
	if _, err := opts.applySteps(ctx, run, "rotate-secret", steps.FinishRotation(), false); errors.Is(err, errCancelled) {
		fmt.Fprintln(opts.IO.ErrOut, "The old secret stays until you run idpctl rotate-secret entra --finish.")
		return nil
	} else if err != nil {
		return err
	}
	return nil
}
