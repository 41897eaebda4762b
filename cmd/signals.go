package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// errInterrupted ends a run stopped by Ctrl-C or SIGTERM. Every write a step made is in the tenant and its id
// in the state file, so the next run picks up from there.
var errInterrupted = errors.New("interrupted; run again to resume")

// interrupts is how the process stops: the first interrupt (Ctrl-C, SIGTERM as CI and systemd send it, or the
// terminal UI's Ctrl-C key, which raw mode delivers as a key rather than a signal) cancels the run's context,
// so the steps stop cleanly and the run exits 2; a second one exits at once. It is the one mechanism for
// this: the terminal UI calls Interrupt rather than handling Ctrl-C itself.
type interrupts struct {
	cancel context.CancelCauseFunc
	errOut io.Writer
	exit   func(code int)

	mu    sync.Mutex
	count int
}

// newInterrupts returns the process's interrupt handling and the context it cancels.
func newInterrupts(parent context.Context, errOut io.Writer, exit func(int)) (*interrupts, context.Context) {
	ctx, cancel := context.WithCancelCause(parent)
	return &interrupts{cancel: cancel, errOut: errOut, exit: exit}, ctx
}

// Interrupt is one Ctrl-C or SIGTERM: the first cancels the run, the second exits the process with code 2
// without waiting for anything.
func (i *interrupts) Interrupt() {
	i.mu.Lock()
	i.count++
	n := i.count
	i.mu.Unlock()
	if n == 1 {
		i.cancel(errInterrupted)
		return
	}
	fmt.Fprintln(i.errOut, "Interrupted again: stopped at once; run again to resume.")
	i.exit(exitUsage)
}

// listen turns SIGINT and SIGTERM into Interrupt calls until stop is called.
func (i *interrupts) listen() (stop func()) {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-signals:
				i.Interrupt()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(signals)
		close(done)
		i.cancel(nil)
	}
}

// whyStopped names the interrupt as the reason a run ended with an error after one, rather than the
// "context canceled" each step saw. An unhealthy status is what `status --watch` last saw when Ctrl-C ended
// it, the way such a watch ends: its exit code stays.
func whyStopped(ctx context.Context, err error) error {
	if err != nil && !errors.Is(err, errUnhealthy) && errors.Is(context.Cause(ctx), errInterrupted) {
		return errInterrupted
	}
	return err
}
