package cmd

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idpctl/idpctl/steps"
)

type rolesOptions struct {
	*entraOptions
	Owners []string
	Admins []string
}

func newRolesCmd(f *factory) *cobra.Command {
	return newProviderCmd("roles", "give Owners and Admins their roles in the SaaS", newRolesEntraCmd(f))
}

func newRolesEntraCmd(f *factory) *cobra.Command {
	opts := &rolesOptions{entraOptions: newEntraOptions(f)}
	cmd := &cobra.Command{
		Use:   "entra",
		Short: "give the Owners and Admins setup was given (or --owner, --admin) their roles in the SaaS",
		Long: `Give users their Owner or Admin role in the SaaS, the last part of the guide's step 6. Admins manage the
SaaS (Smallstep: dashboard read/write); Owners can do the same and also create Admins.

The users are --owner and --admin (repeatable; user principal name or object ID), or else those setup was
given. The SaaS knows a user once provisioning has created it: a user who has not arrived yet is reported,
and running this command again later gives the role. Roles the SaaS already has are left alone.

With --backend http the roles go through the backend's API (PUT /v1/roles/{userName}). A SaaS without that
API (--backend manual; Smallstep today) gets no call: the command says whom to make Owner or Admin there.

A plan is shown before anything changes; --yes applies it without asking, --dry-run only shows it.`,
		Example: `  idpctl roles entra
  IDPCTL_BACKEND_TOKEN=... idpctl roles entra --owner alice@contoso.com --admin bob@contoso.com --yes
  idpctl roles entra --dry-run --output json`,
	}
	fl := cmd.Flags()
	opts.addFlags(fl, true)
	fl.StringVar(&opts.Backend, "backend", "", "where the SaaS takes roles: manual or http; default: what setup used")
	fl.StringVar(&opts.BackendURL, "backend-url", "", "base URL of the SaaS's API (--backend http; token in IDPCTL_BACKEND_TOKEN); default: what setup used")
	fl.StringArrayVar(&opts.Owners, "owner", nil, "user who becomes an Owner in the SaaS, by user principal name or object ID (repeatable); default: setup's")
	fl.StringArrayVar(&opts.Admins, "admin", nil, "user who becomes an Admin in the SaaS, by user principal name or object ID (repeatable); default: setup's")
	check := func() error {
		for flag, values := range map[string][]string{"--owner": opts.Owners, "--admin": opts.Admins} {
			for _, v := range values {
				if strings.TrimSpace(v) == "" {
					return usageErrorf("%s: an empty value; give a user principal name or object id", flag)
				}
			}
		}
		return nil
	}
	return newEntraCmd(opts.entraOptions, cmd, check, func(ctx context.Context) error { return rolesEntra(ctx, opts) })
}

func rolesEntra(ctx context.Context, opts *rolesOptions) error {
	given := len(opts.Owners)+len(opts.Admins) > 0
	adjust := func(in *steps.Inputs) error {
		if given {
			in.Owners, in.Admins = opts.Owners, opts.Admins
		}
		if len(in.Owners)+len(in.Admins) == 0 {
			return usageErrorf("no Owners or Admins: give --owner or --admin (setup was given none)")
		}
		return nil
	}
	return opts.changeRun(ctx, adjust, func(ctx context.Context, run *entraRun) error {
		_, err := opts.applySteps(ctx, run, "roles", steps.Roles(), false)
		return err
	})
}
