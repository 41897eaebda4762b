package cmd

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/idpctl/idpctl/steps"
	"github.com/idpctl/idpctl/wizard"
)

// minWatchInterval keeps --watch from polling Graph faster than a person reads; Entra's own cycle is 40 minutes.
const minWatchInterval = 5 * time.Second

type statusOptions struct {
	*entraOptions
	Watch time.Duration // 0: once
}

func newStatusCmd(f *factory) *cobra.Command {
	return newProviderCmd("status", "show the health of an identity provider connection", newStatusEntraCmd(f))
}

func newStatusEntraCmd(f *factory) *cobra.Command {
	opts := &statusOptions{entraOptions: newEntraOptions(f)}
	cmd := &cobra.Command{
		Use:   "entra",
		Short: "show the health of the Entra ID connection setup made",
		Long: `Show the health of the connection setup made, reading the tenant only:

  - the application's settings against what setup applies (the same plan setup makes, read-only):
    "2 settings differ; run idpctl setup entra to repair them";
  - the client secrets and when they expire (a warning under 30 days);
  - the provisioning job: Active, Paused or Quarantine with its reason and since when, the last cycle and
    its counts, the last successful cycle, and whether the initial cycle has finished (steady state);
  - the users whose latest provisioning failed, grouped by cause, from Entra's provisioning logs.

The application is the one setup created under --app-name (default Smallstep), found by idpctl's tag;
--app-id picks one when several share the name. What setup was asked for (assignments, redirect URI) comes
from the state file.

--output json prints the same report as one JSON object, for monitoring; --watch refreshes it (every 30s,
or --watch=2m) until Ctrl-C, one JSON object per line with --output json.

Exit codes: 0 healthy, 1 unhealthy (drift, quarantine, provisioning off, failures, a client secret expiring
within 30 days, nothing set up), 4 sign-in or permission problem.`,
		Example: `  idpctl status entra
  idpctl status entra --output json --non-interactive --auth environment
  idpctl status entra --watch`,
	}
	fl := cmd.Flags()
	opts.addFlags(fl, false)
	fl.DurationVar(&opts.Watch, "watch", 0, "refresh every interval until Ctrl-C (--watch alone: every 30s)")
	fl.Lookup("watch").NoOptDefVal = "30s"
	check := func() error {
		if opts.Watch != 0 && opts.Watch < minWatchInterval {
			return usageErrorf("--watch %s: refresh at most every %s", opts.Watch, minWatchInterval)
		}
		return nil
	}
	return newEntraCmd(opts.entraOptions, cmd, check, func(ctx context.Context) error { return statusEntra(ctx, opts) })
}

// statusEntra reports once, or with --watch until the context ends; the exit code is the last report's.
func statusEntra(ctx context.Context, opts *statusOptions) error {
	var run *entraRun
	connect := func(ctx context.Context) error {
		var err error
		run, err = opts.connect(ctx, false, nil)
		return err
	}
	if err := opts.bounded(ctx, connect); err != nil {
		return err
	}
	// Status reads only: its progress lines would only repeat the report.
	run.env.Reporter = wizard.Quiet{}
	var last error
	for n := 0; ; n++ {
		var health steps.Health
		err := opts.bounded(ctx, func(ctx context.Context) error {
			var err error
			health, err = steps.ReadStatus(ctx, run.env, run.against())
			return err
		})
		if err != nil {
			if opts.Watch > 0 && n > 0 && ctx.Err() != nil {
				return last
			}
			return err
		}
		if err := wizard.WriteStatus(opts.IO, health, wizard.StatusOptions{JSON: opts.Output == "json", Watching: opts.Watch > 0, First: n == 0}); err != nil {
			return err
		}
		last = nil
		if !health.Healthy {
			last = errUnhealthy
		}
		if opts.Watch == 0 {
			return last
		}
		select {
		case <-ctx.Done():
			return last
		case <-time.After(opts.Watch):
		}
	}
}

// bounded runs fn under --timeout: a watch has no end, each of its reads has one.
func (o *entraOptions) bounded(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	return fn(ctx)
}
