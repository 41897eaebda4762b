package steps

import (
	"time"

	"github.com/idpctl/idpctl/graph"
)

// Wait is a pause inside a running step that the person running idpctl should see as a wait, not as a hang:
// Graph throttling, Entra replicating a new object, the on-demand provisioning rate limit. Reporter.Waiting
// receives it when the wait starts, before each further attempt, and once more with Over set when it ends.
type Wait struct {
	Reason WaitReason
	// Object names what is awaited, in words ("the new application", "the assignment of user x@contoso.com");
	// empty when it is the request itself.
	Object string
	// RetryIn is how long until the next attempt; zero when Over.
	RetryIn time.Duration
	Over    bool
}

// WaitReason says why a step waits.
type WaitReason string

const (
	WaitThrottled   = WaitReason(graph.WaitThrottled)   // Graph answered 429, 503 or 504
	WaitBusy        = WaitReason(graph.WaitBusy)        // Entra is busy with another write to the same object
	WaitReplication = WaitReason(graph.WaitReplication) // Entra has not replicated a new object or assignment yet
	WaitNoAnswer    = WaitReason(graph.WaitNoAnswer)    // Graph's answer was lost on the way; the request goes again
	WaitRateLimit   = WaitReason("rate limit")          // idpctl keeps to a documented rate limit
	// WaitStep: the step needs what another step makes and has not started its own work; Object is that step.
	WaitStep = WaitReason("step")
)

// graphWait is a wait the Graph client reported.
func graphWait(w graph.Wait) Wait {
	return Wait{Reason: WaitReason(w.Reason), Object: w.Object, RetryIn: w.RetryIn, Over: w.Over}
}
