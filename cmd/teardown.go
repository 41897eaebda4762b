package cmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/steps"
)

type teardownOptions struct {
	*entraOptions
	KeepApp bool
}

func newTeardownCmd(f *factory) *cobra.Command {
	return newProviderCmd("teardown", "remove an identity provider connection idpctl set up", newTeardownEntraCmd(f))
}

func newTeardownEntraCmd(f *factory) *cobra.Command {
	opts := &teardownOptions{entraOptions: newEntraOptions(f)}
	cmd := &cobra.Command{
		Use:   "entra",
		Short: "remove what setup created: provisioning, assignments, consent, the application",
		Long: `Remove what setup created, in this order: the provisioning job (provisioning stops; the users already in
the SaaS stay as they are), the registration with the SaaS (--backend http; with --backend manual, remove the
connection in the SaaS yourself), the app role assignments and the consent grant, then the enterprise
application and its app registration. Last, the state file's record of the setup is removed.

Only the application carrying idpctl's tag is touched: an application of the same name that idpctl did not
create is never changed. Running teardown again is safe; with nothing left it changes nothing.

Entra keeps deleted applications and service principals in its deleted items for 30 days, restorable there
(Entra admin center › App registrations › Deleted applications); after that they are gone for good.

--keep-app stops provisioning only: the job is deleted, the application and single sign-on stay, and so does
the SaaS's registration, whose API is not called (no IDPCTL_BACKEND_TOKEN needed).

A plan is shown before anything changes; --yes applies it without asking, --dry-run only shows it. The
backend and its URL are what setup used unless given again (IDPCTL_BACKEND_TOKEN for --backend http).`,
		Example: `  idpctl teardown entra
  idpctl teardown entra --dry-run
  IDPCTL_BACKEND_TOKEN=... idpctl teardown entra --non-interactive --yes --output json
  idpctl teardown entra --keep-app --yes`,
	}
	fl := cmd.Flags()
	opts.addFlags(fl, true)
	fl.StringVar(&opts.Backend, "backend", "", "where the SaaS holds the registration: manual or http; default: what setup used")
	fl.StringVar(&opts.BackendURL, "backend-url", "", "base URL of the SaaS's registration API (--backend http; token in IDPCTL_BACKEND_TOKEN); default: what setup used")
	fl.BoolVar(&opts.KeepApp, "keep-app", false, "stop provisioning only (delete the provisioning job); keep the application and single sign-on")
	return newEntraCmd(opts.entraOptions, cmd, nil, func(ctx context.Context) error { return teardownEntra(ctx, opts) })
}

func teardownEntra(ctx context.Context, opts *teardownOptions) error {
	var adjust func(in *steps.Inputs) error
	if opts.KeepApp {
		// --keep-app deletes the job only: the SaaS keeps its registration with the application, and its API is
		// never called, so its token is not asked for.
		adjust = func(in *steps.Inputs) error {
			in.Backend, in.BackendURL, in.BackendToken = backend.NameManual, "", secret.Value{}
			return nil
		}
	}
	return opts.changeRun(ctx, adjust, func(ctx context.Context, run *entraRun) error {
		// A backend with an API is asked first, read-only, whether it answers: before anything in Entra goes,
		// so that a wrong URL or token leaves the registration findable by the application's client id.
		checkBackend := run.env.Backend.Name() == backend.NameHTTP
		_, err := opts.applySteps(ctx, run, "teardown", steps.Teardown(opts.KeepApp), checkBackend)
		return err
	})
}
