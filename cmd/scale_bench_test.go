package cmd

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/wizard"
)

// largeDirectory is `idpctl sandbox --users 100000`: the demo directory and 100,000 generated users in ten
// department groups of 10,000.
var largeDirectory = entra.Population{Users: 100_000, GroupSize: 10_000}

// BenchmarkLargeDirectoryStart starts the sandbox with 100,000 users in groups of 10,000, as `idpctl sandbox
// --users 100000` does before it prints its banner.
//
//	go test -run '^$' -bench LargeDirectoryStart -benchtime 3x ./cmd
func BenchmarkLargeDirectoryStart(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sb, err := sandbox.Start(context.Background(), sandbox.Options{ManualCycles: true, Population: largeDirectory})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if len(sb.Population.Groups) != 10 {
			b.Fatalf("%d groups, want 10", len(sb.Population.Groups))
		}
		sb.Close()
		b.StartTimer()
	}
}

// BenchmarkLargeGroupSetup runs `idpctl setup entra` for one 10,000-member group of a 100,000-user directory,
// sign-in check and preflight included, with 100 ms added to every Graph request: the group's members are read
// in pages of 999, a sample provisioned on demand and the rest counted. It reports the Graph requests, the
// longest chain of them that had to wait for one another, and the users the result counted; then, outside the
// timed setup, how long the sandbox's first provisioning cycle takes to bring the other members to the SaaS.
//
//	go test -run '^$' -bench LargeGroupSetup -benchtime 3x ./cmd
func BenchmarkLargeGroupSetup(b *testing.B) {
	const latency = 100 * time.Millisecond
	var requests, chain, total int
	var cycle time.Duration
	for b.Loop() {
		b.StopTimer()
		sb, err := sandbox.Start(context.Background(), sandbox.Options{ManualCycles: true, Population: largeDirectory, Faults: entra.Faults{Latency: latency}})
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		env := map[string]string{"IDPCTL_ACCESS_TOKEN": sb.AccessToken.Reveal(), "IDPCTL_SCIM_TOKEN": sb.SCIMToken.Reveal()}
		ios, _, out, _ := wizard.Test()
		root := NewRootCmd(&factory{IO: ios, Getenv: func(k string) string { return env[k] }})
		root.SetArgs([]string{"setup", "entra", "--graph-url", sb.GraphURL, "--auth", "token", "--tenant-id", sb.TenantID,
			"--state-dir", dir, "--assign-group", sb.Population.Groups[0].DisplayName, "--scim-url", sb.SCIMURL,
			"--secret-out", filepath.Join(dir, "client-secret"), "--non-interactive", "--yes", "--output", "json"})
		b.StartTimer()
		err = root.ExecuteContext(context.Background())
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		var result struct{ UserCounts struct{ Total int } }
		if err := json.Unmarshal(out.Bytes(), &result); err != nil {
			b.Fatal(err)
		}
		var received []time.Time
		for _, r := range sb.Tenant.Requests() {
			if !r.InBatch {
				received = append(received, r.Time)
			}
		}
		requests, chain, total = len(received), longestChain(received, latency), result.UserCounts.Total

		var jobs []entra.SyncJob
		for _, sp := range sb.Tenant.ServicePrincipals() {
			jobs = append(jobs, sb.Tenant.SyncJobs(sp.ID)...)
		}
		if len(jobs) != 1 {
			b.Fatalf("%d provisioning jobs, want 1", len(jobs))
		}
		start := time.Now()
		if err := sb.Tenant.RunCycleNow(context.Background(), jobs[0].ID); err != nil {
			b.Fatal(err)
		}
		cycle = time.Since(start)
		if n := len(sb.Backend.Users()); n != 10_000 {
			b.Fatalf("%d users in the SaaS after the first cycle, want 10,000", n)
		}
		sb.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(requests), "graph-requests/op")
	b.ReportMetric(float64(chain), "sequential-round-trips/op")
	b.ReportMetric(float64(total), "users-counted/op")
	b.ReportMetric(cycle.Seconds(), "first-cycle-s/op")
}
