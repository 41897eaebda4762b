package steps_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/idpctl/idpctl/steps"
)

// Issue 10 item 2: one run at a time per setup. A second run waits, says who holds the lock, and gets it when
// the first releases it; a wait cut short by its context says whom it waited for.
func TestStateLock(t *testing.T) {
	dir := t.TempDir()
	const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	first, err := steps.LockState(t.Context(), dir, tenant, "Smallstep", nil)
	if err != nil {
		t.Fatal(err)
	}

	var told []steps.LockHolder
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = steps.LockState(ctx, dir, tenant, "Smallstep", func(h steps.LockHolder) { told = append(told, h) })
	var locked *steps.LockedError
	if !errors.As(err, &locked) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock = %v, want a LockedError after the deadline", err)
	}
	host, _ := os.Hostname()
	if len(told) != 1 || told[0].PID != os.Getpid() || told[0].Host != host || time.Since(told[0].Since) > time.Minute {
		t.Errorf("told %+v, want once: this process on %s, since just now", told, host)
	}
	if locked.Holder != told[0] {
		t.Errorf("the error names %+v, the wait %+v", locked.Holder, told[0])
	}

	// Another setup (application name or tenant) is not held up.
	other, err := steps.LockState(ctx, dir, tenant, "Smallstep API", nil)
	if err != nil {
		t.Fatalf("another application's lock: %v", err)
	}
	other.Release()

	got := make(chan error, 1)
	go func() {
		second, err := steps.LockState(t.Context(), dir, tenant, "Smallstep", func(steps.LockHolder) {})
		if err == nil {
			err = second.Release()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("the waiting run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting run did not get the lock after it was released")
	}

	// State kept in memory needs no lock.
	mem, err := steps.LockState(t.Context(), "", tenant, "Smallstep", nil)
	if err != nil || mem.Release() != nil {
		t.Errorf("in-memory state: %v", err)
	}
}
