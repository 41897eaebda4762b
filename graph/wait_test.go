package graph

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// waitLog collects what a client reports through WithWaits.
type waitLog struct {
	mu    sync.Mutex
	waits []Wait
}

func (l *waitLog) ctx() context.Context {
	return WithWaits(context.Background(), func(w Wait) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.waits = append(l.waits, w)
	})
}

func (l *waitLog) all() []Wait {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Wait(nil), l.waits...)
}

// A throttled call says so before each retry, with the wait it is about to sleep, and says when it is over.
func TestThrottlingIsReportedAsWaits(t *testing.T) {
	throttled := stub{method: "GET", path: "/organization", status: http.StatusTooManyRequests,
		respHeader: http.Header{"Retry-After": {"4"}}, resp: graphError("TooManyRequests", "Please retry again later.", "r1")}
	busy := stub{method: "GET", path: "/organization", status: http.StatusConflict,
		resp: graphError("Directory_ConcurrencyViolation", "Error due to concurrent requests being made to the tenant. Please wait briefly and retry.", "r2")}
	f := newFakeGraph(t, throttled, throttled, busy,
		stub{method: "GET", path: "/organization", resp: `{"value":[{"id":"72f988bf-86f1-41af-91ab-2d7cd011db47","displayName":"Contoso"}]}`})
	c, clock := newTestClient(t, f)
	var log waitLog
	if _, err := c.Organization(log.ctx()); err != nil {
		t.Fatal(err)
	}
	got := log.all()
	busyWait := clock.Sleeps()[2]
	want := []Wait{
		{Reason: WaitThrottled, RetryIn: 4 * time.Second},
		{Reason: WaitThrottled, RetryIn: 4 * time.Second},
		{Reason: WaitThrottled, Over: true}, // a different reason ends the throttling wait
		{Reason: WaitBusy, RetryIn: busyWait},
		{Reason: WaitBusy, Over: true},
	}
	diff(t, "waits", got, want)

	// A call that is answered at once reports nothing.
	f2 := newFakeGraph(t, stub{method: "GET", path: "/organization", resp: `{"value":[{"id":"72f988bf-86f1-41af-91ab-2d7cd011db47","displayName":"Contoso"}]}`})
	c2, _ := newTestClient(t, f2)
	var quiet waitLog
	if _, err := c2.Organization(quiet.ctx()); err != nil {
		t.Fatal(err)
	}
	if w := quiet.all(); len(w) != 0 {
		t.Errorf("an answered call reported %v", w)
	}
}

// Waiting for a new application to replicate names the application, reports each pause and its end.
func TestReplicationWaitIsReported(t *testing.T) {
	appPath := "/applications/" + appObjectID
	f := newFakeGraph(t,
		notFound("GET", appPath, appObjectID),
		notFound("GET", appPath, appObjectID),
		stub{method: "GET", path: appPath, resp: applicationJSON},
		stub{method: "GET", path: appPath, resp: applicationJSON},
	)
	c, clock := newTestClient(t, f)
	var log waitLog
	if _, err := c.WaitForApplication(log.ctx(), appObjectID); err != nil {
		t.Fatal(err)
	}
	sleeps := clock.Sleeps()
	if len(sleeps) != 2 {
		t.Fatalf("sleeps %v", sleeps)
	}
	diff(t, "waits", log.all(), []Wait{
		{Reason: WaitReplication, Object: "the new application", RetryIn: sleeps[0]},
		{Reason: WaitReplication, Object: "the new application", RetryIn: sleeps[1]},
		{Reason: WaitReplication, Object: "the new application", Over: true},
	})
}
