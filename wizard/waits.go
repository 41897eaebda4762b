package wizard

import (
	"fmt"
	"math"
	"time"

	"github.com/idpctl/idpctl/steps"
)

// waitKey identifies one wait of one step across its repeated reports.
type waitKey struct {
	step   string
	reason steps.WaitReason
	object string
}

func keyOf(step string, w steps.Wait) waitKey { return waitKey{step, w.Reason, w.Object} }

// openEnded reports whether a wait is shown by how long it has lasted ("… 6 s") rather than by when the next
// attempt goes out: replication has no known end, each retry is only a poll.
func openEnded(w steps.Wait) bool { return w.Reason == steps.WaitReplication }

// waitCause says why a step waits, for people, without the time: "waiting for Entra to replicate the new
// application", "Graph is throttling".
func waitCause(w steps.Wait) string {
	switch w.Reason {
	case steps.WaitReplication:
		object := w.Object
		if object == "" {
			object = "a new object"
		}
		return "waiting for Entra to replicate " + object
	case steps.WaitThrottled:
		return "Graph is throttling"
	case steps.WaitBusy:
		return "Entra is busy with another change to the same object"
	case steps.WaitRateLimit:
		if w.Object != "" {
			return "keeping to Graph's rate limit for " + w.Object
		}
		return "keeping to Graph's rate limit"
	default:
		return "waiting (" + string(w.Reason) + ")"
	}
}

// waitLine is a wait as one line: "waiting for Entra to replicate the new application… 6 s" with the time
// waited so far, or "Graph is throttling: retrying in 4 s" with the time left.
func waitLine(w steps.Wait, waited, left time.Duration) string {
	if openEnded(w) {
		return waitCause(w) + "… " + seconds(waited)
	}
	next := "retrying"
	if w.Reason == steps.WaitRateLimit {
		next = "next call"
	}
	if left <= 0 {
		return fmt.Sprintf("%s: %s now", waitCause(w), next)
	}
	return fmt.Sprintf("%s: %s in %s", waitCause(w), next, seconds(left))
}

// seconds shows a duration in whole seconds, rounded up so that a wait still running never reads "0 s"; a
// minute or more reads "1 m 05 s".
func seconds(d time.Duration) string {
	s := int(math.Ceil(d.Seconds()))
	if s < 0 {
		s = 0
	}
	if s >= 60 {
		return fmt.Sprintf("%d m %02d s", s/60, s%60)
	}
	return fmt.Sprintf("%d s", s)
}
