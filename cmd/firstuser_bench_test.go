package cmd

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/sandbox/refbackend"
)

// BenchmarkFirstUserInSaaS measures how long an admin waits for the first assigned user to exist in the SaaS:
// from the start of `idpctl setup entra` (empty tenant, one group of three members plus one user, manual
// backend, 100 ms added to every Graph request) until the SaaS answered 201 to the user's SCIM POST, which
// idpctl's on-demand provisioning causes. Against it, the wait without idpctl's on-demand step: the first
// provisioning cycle Entra runs by itself, which the sandbox schedules 40 minutes after the job starts, as
// Entra can take. The sandbox runs that clock 1000 times faster (2.4 s), so the benchmark waits for the
// cycle's first SCIM request (Entra's carry no User-Agent; idpctl's say idpctl/) and reports it in simulated
// minutes after the job's start request.
//
//	go test -run '^$' -bench FirstUserInSaaS -benchtime 5x ./cmd
func BenchmarkFirstUserInSaaS(b *testing.B) {
	const (
		latency   = 100 * time.Millisecond
		timeScale = 1000
	)
	var firstUser, firstCycle time.Duration
	for b.Loop() {
		b.StopTimer()
		sb, err := sandbox.Start(context.Background(), sandbox.Options{TimeScale: timeScale, Faults: entra.Faults{Latency: latency}})
		if err != nil {
			b.Fatal(err)
		}
		root := benchSetup(b, sb)
		start := time.Now()
		b.StartTimer()
		err = root.ExecuteContext(context.Background())
		b.StopTimer()
		ended := time.Now()
		if err != nil {
			b.Fatal(err)
		}
		scim := sb.Backend.Requests()
		created := slices.IndexFunc(scim, func(r refbackend.SCIMRequest) bool {
			return r.Method == "POST" && r.Path == "/Users" && r.Status == 201
		})
		if created < 0 {
			b.Fatal("no user was created in the SaaS")
		}
		firstUser = scim[created].Time.Sub(start)

		graph := sb.Tenant.Requests()
		started := slices.IndexFunc(graph, func(r entra.RequestRecord) bool {
			return r.Method == "POST" && strings.HasSuffix(r.Path, "/start")
		})
		if started < 0 {
			b.Fatal("the provisioning job was not started")
		}
		var cycle *refbackend.SCIMRequest
		for deadline := time.Now().Add(time.Minute); cycle == nil; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatal("no provisioning cycle within a minute (40 simulated hours)")
			}
			for _, r := range sb.Backend.Requests() {
				if r.Time.After(ended) && !strings.HasPrefix(r.Header.Get("User-Agent"), "idpctl/") {
					cycle = &r
					break
				}
			}
		}
		firstCycle = cycle.Time.Sub(graph[started].Time) * timeScale
		sb.Close()
		b.StartTimer()
	}
	b.ReportMetric(firstUser.Seconds(), "first-user-s/op")
	b.ReportMetric(firstCycle.Minutes(), "first-cycle-simulated-min/op")
}
