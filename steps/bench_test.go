package steps_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
)

// BenchmarkSetup runs a whole first setup (one group, one user, manual backend) against the sandbox with
// 100 ms added to every Graph request, as a tenant far away would. It reports the Graph requests sent and the
// longest chain of them that had to run one after another: the round trips a run really waits for.
//
//	go test -run '^$' -bench Setup -benchtime 5x ./steps
func BenchmarkSetup(b *testing.B) {
	const latency = 100 * time.Millisecond
	var requests, chain int
	for b.Loop() {
		b.StopTimer()
		h := newRealTimeHarness(b, sandbox.Options{Faults: entra.Faults{Latency: latency}})
		rec := &timingTransport{next: http.DefaultTransport}
		h.httpClient = &http.Client{Transport: rec}
		in := h.manual()
		b.StartTimer()
		h.mustRun(in)
		b.StopTimer()
		requests, chain = len(rec.calls), rec.longestChain()
		h.configured(in)
		b.StartTimer()
	}
	b.ReportMetric(float64(requests), "graph-requests/op")
	b.ReportMetric(float64(chain), "sequential-round-trips/op")
}

// timingTransport records when each Graph request started and ended.
type timingTransport struct {
	next  http.RoundTripper
	mu    sync.Mutex
	calls []span
}

type span struct{ start, end time.Time }

func (t *timingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	t.mu.Lock()
	t.calls = append(t.calls, span{start, time.Now()})
	t.mu.Unlock()
	return resp, err
}

// longestChain is the most requests of which each started after the one before had ended.
func (t *timingTransport) longestChain() int {
	calls := slices.Clone(t.calls)
	slices.SortFunc(calls, func(a, b span) int { return a.start.Compare(b.start) })
	depth := make([]int, len(calls))
	best := 0
	for i, c := range calls {
		depth[i] = 1
		for j := range i {
			if !calls[j].end.After(c.start) {
				depth[i] = max(depth[i], depth[j]+1)
			}
		}
		best = max(best, depth[i])
	}
	return best
}

// BenchmarkAssignThousand assigns 1,000 users to a new application (the application, then its users and groups)
// with 100 ms added to every Graph request. It reports the Graph requests of the whole run and of the
// assignments alone (the principals' lookups, the reads of existing assignments and the assignments; a JSON
// batch is one request), and the longest chain of requests that had to wait for one another.
//
//	go test -run '^$' -bench AssignThousand -benchtime 3x ./steps
func BenchmarkAssignThousand(b *testing.B) {
	const latency = 100 * time.Millisecond
	var requests, assignments, chain int
	for b.Loop() {
		b.StopTimer()
		h := newRealTimeHarness(b, sandbox.Options{Population: entra.Population{Users: 1000, GroupSize: 1000}, Faults: entra.Faults{Latency: latency}})
		rec := &timingTransport{next: http.DefaultTransport}
		h.httpClient = &http.Client{Transport: rec}
		in := h.manual()
		in.AssignGroups, in.AssignUsers = nil, nil
		for _, u := range h.sb.Tenant.Users() {
			if u.UserPrincipalName != h.sb.Demo.Admin.UserPrincipalName && len(in.AssignUsers) < 1000 {
				in.AssignUsers = append(in.AssignUsers, u.UserPrincipalName)
			}
		}
		b.StartTimer()
		err := h.runSteps(in, assignmentFlow())
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if n := len(h.sb.Tenant.AppRoleAssignments(h.servicePrincipal().ID)); n != 1000 {
			b.Fatalf("%d principals assigned, want 1,000", n)
		}
		requests, assignments, chain = len(rec.calls), assignmentRequests(h.sb), rec.longestChain()
		h.sb.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(requests), "graph-requests/op")
	b.ReportMetric(float64(assignments), "assignment-requests/op")
	b.ReportMetric(float64(chain), "sequential-round-trips/op")
}
