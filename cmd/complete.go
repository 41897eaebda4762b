package cmd

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/wizard"
)

// flagValues are the values a flag takes, by name, for shell completion; nil for a flag with free values.
func flagValues(name string) []string {
	switch name {
	case "output":
		return []string{"text", "json"}
	case "auth":
		var out []string
		for _, m := range graph.Methods() {
			out = append(out, string(m))
		}
		return out
	case "cloud":
		var out []string
		for _, c := range graph.Clouds() {
			out = append(out, c.Name)
		}
		return out
	case "backend":
		return []string{backend.NameManual, backend.NameHTTP}
	case "secret-expiry":
		return []string{"90d", "180d", "1y", "2y"}
	}
	return nil
}

// completeFlagValues lets the shell complete the values of every flag of cmd and its subcommands that takes
// one of a few values (flagValues).
func completeFlagValues(cmd *cobra.Command) {
	cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if values := flagValues(f.Name); values != nil {
			// Registering fails only for a flag registered twice, which this walk never does.
			_ = cmd.RegisterFlagCompletionFunc(f.Name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
		}
	})
	for _, c := range cmd.Commands() {
		completeFlagValues(c)
	}
}

// completionTimeout bounds how long a tab press waits for the tenant.
const completionTimeout = 5 * time.Second

// completeGroupNames completes --assign-group with the names of the tenant's groups that start with what was
// typed: the simulated tenant's with --sandbox, else the tenant the flags sign in to, but only by a method that
// needs nobody (a token, the environment, a managed or workload identity): a tab press never opens a browser
// or asks for a device code. Anything that fails completes nothing.
func completeGroupNames(opts *setupOptions) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
		defer cancel()
		names, _ := groupNames(ctx, opts, toComplete)
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

func groupNames(ctx context.Context, opts *setupOptions, prefix string) ([]string, error) {
	req := opts.signInRequest()
	req.NonInteractive = true
	req.IO = &wizard.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard} // a shell reads stdout only
	token := secret.New(opts.Getenv(graph.EnvAccessToken))
	if opts.Sandbox {
		sb, err := sandbox.Start(ctx, sandbox.Options{})
		if err != nil {
			return nil, err
		}
		defer sb.Close()
		req.GraphURL, req.Auth, req.TenantID, token = sb.GraphURL, string(graph.MethodToken), sb.TenantID, sb.AccessToken
	}
	if !opts.Sandbox {
		method, err := graph.SelectMethod(req.Auth, signInFacts(req))
		if err != nil || method.Delegated() {
			return nil, err
		}
	}
	s, err := signIn(ctx, req, token, requestLogger(req.IO, false))
	if err != nil {
		return nil, err
	}
	page, err := s.client.SearchGroupPage(ctx, graph.Search{Text: prefix, Top: 20})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, g := range page.Groups {
		if strings.HasPrefix(strings.ToLower(g.DisplayName), strings.ToLower(prefix)) {
			names = append(names, g.DisplayName)
		}
	}
	return names, nil
}
