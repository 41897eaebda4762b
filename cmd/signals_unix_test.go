//go:build unix

package cmd

import (
	"bytes"
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// SIGTERM, as CI and systemd stop a process, is the first Ctrl-C; a second SIGINT or SIGTERM exits.
func TestSIGTERMIsAnInterrupt(t *testing.T) {
	exited := make(chan int, 1)
	intr, ctx := newInterrupts(context.Background(), &bytes.Buffer{}, func(code int) { exited <- code })
	stop := intr.listen()
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not cancel the run")
	}
	if !errors.Is(context.Cause(ctx), errInterrupted) {
		t.Errorf("cause %v", context.Cause(ctx))
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != exitUsage {
			t.Errorf("exit %d, want 2", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a second signal did not exit")
	}
}
