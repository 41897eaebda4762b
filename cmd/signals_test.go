package cmd

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox/entra"
)

// Issue 10 item 8: the first interrupt cancels the run with errInterrupted, the second exits at once with 2.
func TestInterruptTwiceExitsAtOnce(t *testing.T) {
	var (
		errOut bytes.Buffer
		exited []int
	)
	intr, ctx := newInterrupts(context.Background(), &errOut, func(code int) { exited = append(exited, code) })
	intr.Interrupt()
	if !errors.Is(context.Cause(ctx), errInterrupted) || len(exited) != 0 {
		t.Fatalf("after one interrupt: cause %v, exits %v; want the run cancelled, the process alive", context.Cause(ctx), exited)
	}
	if got := whyStopped(ctx, context.Canceled); got != errInterrupted || exitCode(got) != exitUsage {
		t.Errorf("the run's error becomes %v (exit %d), want %v and 2", got, exitCode(got), errInterrupted)
	}
	intr.Interrupt()
	if len(exited) != 1 || exited[0] != exitUsage || !strings.Contains(errOut.String(), "Interrupted again: stopped at once") {
		t.Errorf("after two interrupts: exits %v, stderr %q; want one exit with 2 and the reason", exited, errOut.String())
	}
	if got := whyStopped(context.Background(), errors.New("Graph answered 500")); got.Error() != "Graph answered 500" {
		t.Errorf("an error without an interrupt became %v", got)
	}
}

// An interrupt during apply stops the run cleanly: exit 2, "interrupted; run again to resume" in the error and
// in the JSON result, and the next run finishes the setup without a duplicate.
func TestInterruptedRunResumes(t *testing.T) {
	for _, output := range []string{"text", "json"} {
		t.Run(output, func(t *testing.T) {
			tn := newTenant(t)
			tn.sb.Tenant.SetFaults(entra.Faults{Latency: 20 * time.Millisecond})
			intr, ctx := newInterrupts(t.Context(), &bytes.Buffer{}, func(int) { t.Error("exited") })
			go func() {
				for tn.sb.Tenant.WriteCount() == 0 && ctx.Err() == nil {
					time.Sleep(time.Millisecond)
				}
				intr.Interrupt() // right after the first write reached the tenant
			}()
			o := tn.run(invocation{ctx: ctx}, tn.manual("--non-interactive", "--yes", "--output", output)...)
			if o.code != exitUsage || !errors.Is(o.err, errInterrupted) {
				t.Fatalf("%v; want exit 2, interrupted", o)
			}
			if output == "json" {
				if msg, _ := jsonResult(t, o.stdout)["error"].(string); msg != "interrupted; run again to resume" {
					t.Errorf("JSON error = %q", msg)
				}
			}
			tn.sb.Tenant.SetFaults(entra.Faults{})
			if again := tn.run(invocation{}, tn.manual("--non-interactive", "--yes")...); again.code != 0 {
				t.Fatalf("the run after the interrupt: %v", again)
			}
			tn.app()
		})
	}
}
