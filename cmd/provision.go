package cmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/steps"
	"github.com/idpctl/idpctl/wizard"
)

type provisionOptions struct {
	*entraOptions
	Users         []string
	Groups        []string
	SCIMURL       string
	SCIMTokenFile string

	token secret.Value
	// choose asks whom to provision when no flag names anyone and someone can answer.
	choose func(ctx context.Context, ios *wizard.IOStreams, dir wizard.Directory, in steps.Inputs) (groups, users []string, err error)
}

func newProvisionCmd(f *factory) *cobra.Command {
	return newProviderCmd("provision", "provision users of an identity provider connection now", newProvisionEntraCmd(f))
}

func newProvisionEntraCmd(f *factory) *cobra.Command {
	opts := &provisionOptions{entraOptions: newEntraOptions(f), choose: f.ChooseToProvision}
	if opts.choose == nil {
		opts.choose = func(ctx context.Context, ios *wizard.IOStreams, dir wizard.Directory, in steps.Inputs) ([]string, []string, error) {
			return wizard.NewForms(ios).ChooseToProvision(ctx, dir, in)
		}
	}
	cmd := &cobra.Command{
		Use:   "entra",
		Short: `provision users and groups now (the Entra admin center's "Provision on demand")`,
		Long: `Provision the users and groups named now instead of waiting for the next provisioning cycle (up to 40
minutes), as the Entra admin center's "Provision on demand" does, and report each user: arrived, skipped
(with Entra's reason: not assigned, disabled, ...), failed (with the SaaS's answer) or left to the cycle.

With neither --user nor --group, a terminal offers the searchable picker setup uses to choose them.

A group is sent with all its direct members, 5 per call (Graph's limit for one call): the group again with
the next 5 until none is left. Entra takes at most 5 on-demand calls per 10 seconds: idpctl waits for the
window when it has more, so a group of 500 takes about 3 minutes; the plan says how long.

Each user is read back from the SaaS's SCIM endpoint when idpctl has its token (IDPCTL_SCIM_TOKEN or
--scim-token-file; the URL saved for provisioning unless --scim-url), and Entra's provisioning logs say why
a user did not arrive. Without a token the report comes from Entra's answers and its logs.

The plan shows who is sent before anything is provisioned; --yes sends without asking, --dry-run only shows
it. Exit codes: 0 every user arrived or was skipped, 1 a user failed, 2 bad input, 4 sign-in or permission.`,
		Example: `  idpctl provision entra                           # choose groups and users in a picker
  idpctl provision entra --user adele@contoso.com
  IDPCTL_SCIM_TOKEN=... idpctl provision entra --group "Smallstep Users" --user lee@contoso.com --yes
  idpctl provision entra --user adele@contoso.com --output json --non-interactive --yes`,
	}
	fl := cmd.Flags()
	opts.addFlags(fl, true)
	fl.StringArrayVar(&opts.Users, "user", nil, "user to provision: user principal name or object id (repeatable)")
	fl.StringArrayVar(&opts.Groups, "group", nil, "group to provision with all its members: display name or object id (repeatable)")
	fl.StringVar(&opts.SCIMURL, "scim-url", "", "SCIM base URL to read users back from; default: the one saved for provisioning")
	fl.StringVar(&opts.SCIMTokenFile, "scim-token-file", "", "file holding the SCIM token to read users back with (or set IDPCTL_SCIM_TOKEN)")
	return newEntraCmd(opts.entraOptions, cmd, opts.check, func(ctx context.Context) error { return provisionEntra(ctx, opts) })
}

func (o *provisionOptions) check() error {
	if len(o.Users) == 0 && len(o.Groups) == 0 && !o.canAsk() {
		return usageErrorf(`nothing to provision: name users with --user UPN and groups with --group NAME, e.g. --user adele@contoso.com --group "Smallstep Users"`)
	}
	tok, err := o.scimToken(o.SCIMURL, o.SCIMTokenFile)
	if err != nil {
		return err
	}
	o.token = tok
	return nil
}

// canAsk says whether someone at a terminal can choose whom to provision.
func (o *provisionOptions) canAsk() bool {
	return o.Output == "text" && !o.NonInteractive && o.IO.CanPrompt()
}

func provisionEntra(ctx context.Context, opts *provisionOptions) error {
	adjust := func(in *steps.Inputs) error {
		if opts.SCIMURL != "" {
			in.SCIMURL = opts.SCIMURL
		}
		in.SCIMToken = opts.token
		return nil
	}
	return opts.changeRun(ctx, adjust, func(ctx context.Context, run *entraRun) error {
		if len(opts.Users) == 0 && len(opts.Groups) == 0 {
			var err error
			if opts.Groups, opts.Users, err = opts.choose(ctx, opts.IO, run.dir, run.env.Inputs); err != nil {
				return err
			}
		}
		_, err := opts.applySteps(ctx, run, "provision", steps.Provision(opts.Users, opts.Groups), false)
		return err
	})
}
