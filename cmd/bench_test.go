package cmd

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/wizard"
)

// BenchmarkSetupCommand runs the whole `idpctl setup entra` command, sign-in check and preflight included, from
// an empty tenant to users confirmed in the SaaS (one group of three members plus one user, manual backend),
// against the sandbox with 100 ms added to every Graph request. It reports the Graph requests and the longest
// chain of them that had to wait for one another: the round trips a run really waits for.
//
//	go test -run '^$' -bench SetupCommand -benchtime 5x ./cmd
func BenchmarkSetupCommand(b *testing.B) {
	const latency = 100 * time.Millisecond
	var requests, chain int
	for b.Loop() {
		b.StopTimer()
		sb, err := sandbox.Start(context.Background(), sandbox.Options{ManualCycles: true, Faults: entra.Faults{Latency: latency}})
		if err != nil {
			b.Fatal(err)
		}
		root := benchSetup(b, sb)
		b.StartTimer()
		err = root.ExecuteContext(context.Background())
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		var received []time.Time
		for _, r := range sb.Tenant.Requests() {
			if !r.InBatch {
				received = append(received, r.Time)
			}
		}
		requests, chain = len(received), longestChain(received, latency)
		sb.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(requests), "graph-requests/op")
	b.ReportMetric(float64(chain), "sequential-round-trips/op")
}

// benchSetup is the benchmarks' first setup as a command line: one group of three members plus one user, manual
// backend, as Smallstep is set up today, without prompts.
func benchSetup(b *testing.B, sb *sandbox.Sandbox) *cobra.Command {
	dir := b.TempDir()
	args := []string{"setup", "entra", "--graph-url", sb.GraphURL, "--auth", "token", "--tenant-id", sb.TenantID,
		"--state-dir", dir, "--assign-group", "Smallstep Users", "--assign-user", "grady.archie@" + sb.Demo.Domain,
		"--scim-url", sb.SCIMURL, "--secret-out", filepath.Join(dir, "client-secret"), "--non-interactive", "--yes"}
	env := map[string]string{"IDPCTL_ACCESS_TOKEN": sb.AccessToken.Reveal(), "IDPCTL_SCIM_TOKEN": sb.SCIMToken.Reveal()}
	ios, _, _, _ := wizard.Test()
	root := NewRootCmd(&factory{IO: ios, Getenv: func(k string) string { return env[k] }})
	root.SetArgs(args)
	return root
}

// longestChain counts the most requests of which each arrived only after the one before had been answered: a
// request is answered no sooner than latency after it arrived.
func longestChain(received []time.Time, latency time.Duration) int {
	slices.SortFunc(received, func(a, b time.Time) int { return a.Compare(b) })
	depth := make([]int, len(received))
	best := 0
	for i, t := range received {
		depth[i] = 1
		for j := range i {
			if !received[j].Add(latency).After(t) {
				depth[i] = max(depth[i], depth[j]+1)
			}
		}
		best = max(best, depth[i])
	}
	return best
}
