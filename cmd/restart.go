package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idpctl/idpctl/steps"
)

type restartOptions struct {
	*entraOptions
	Reset []string // --reset, as given

	scope []string // checked, in Microsoft's spelling
}

func newRestartCmd(f *factory) *cobra.Command {
	return newProviderCmd("restart", "restart provisioning of an identity provider connection", newRestartEntraCmd(f))
}

func newRestartEntraCmd(f *factory) *cobra.Command {
	opts := &restartOptions{entraOptions: newEntraOptions(f)}
	cmd := &cobra.Command{
		Use:   "entra",
		Short: `restart provisioning (the Entra admin center's "Restart provisioning")`,
		Long: `Restart the provisioning job setup made, as the Entra admin center's "Restart provisioning" does, then
start it if provisioning is not running. A restart brings a job out of quarantine once its cause is fixed
(idpctl status entra shows the reason), and has Entra look at every user again.

--reset chooses what the restart resets (comma-separated or repeated; names in any case). Without it, the
portal's restart: Escrows, Watermark and QuarantineState.

` + restartScopeHelp() + `

A quarantined job is started after the restart only when QuarantineState is reset (a start lifts a
quarantine too). The plan shows the job's state and what each value resets before anything changes; --yes
applies it without asking, --dry-run only shows it.`,
		Example: `  # The SaaS's SCIM endpoint is fixed: bring provisioning out of quarantine
  idpctl restart entra

  # Have every user evaluated again, keeping the failed ones retried
  idpctl restart entra --reset Watermark --yes

  # Let the deletions accidental-deletions prevention held back go through
  idpctl restart entra --reset QuarantineState,ForceDeletes`,
	}
	fl := cmd.Flags()
	opts.addFlags(fl, true)
	fl.StringSliceVar(&opts.Reset, "reset", nil, "what the restart resets: "+strings.Join(scopeNames(), ", ")+` (default: the portal's "Restart provisioning", Escrows,Watermark,QuarantineState)`)
	return newEntraCmd(opts.entraOptions, cmd, opts.check, func(ctx context.Context) error { return restartEntra(ctx, opts) })
}

// restartScopeHelp explains each reset scope, from the same list the plan explains them with, in --help's
// 110 columns.
func restartScopeHelp() string {
	const indent = 22
	var lines []string
	for _, s := range steps.RestartScopes() {
		text := s.Resets
		if s.Warning != "" {
			text += "; " + s.Warning
		}
		line := fmt.Sprintf("  %-*s", indent-2, s.Name)
		for _, word := range strings.Fields(text) {
			if len(line)+1+len(word) > 110 && len(strings.TrimSpace(line)) > 0 {
				lines = append(lines, line)
				line = strings.Repeat(" ", indent)
			}
			line += " " + word
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func scopeNames() []string {
	var names []string
	for _, s := range steps.RestartScopes() {
		names = append(names, s.Name)
	}
	return names
}

func (o *restartOptions) check() error {
	scope, err := steps.ParseRestartScope(o.Reset)
	if err != nil {
		return err
	}
	o.scope = scope
	return nil
}

func restartEntra(ctx context.Context, opts *restartOptions) error {
	return opts.changeRun(ctx, nil, func(ctx context.Context, run *entraRun) error {
		_, err := opts.applySteps(ctx, run, "restart", steps.Restart(opts.scope), false)
		return err
	})
}
