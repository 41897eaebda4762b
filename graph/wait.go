package graph

import (
	"context"
	"time"
)

// Wait is what the client tells its caller while it waits on Entra instead of answering: Graph is throttling,
// the directory is still replicating a new object, or another write to the same object is in progress. A wait
// is reported when it starts and again before each further attempt, then once more with Over set when the
// call that waited has its answer. The client prints nothing itself: callers that show progress (the wizard,
// through steps) register a function with WithWaits.
type Wait struct {
	Reason WaitReason
	// Object names what is awaited, in words ("the new application"); empty when it is the request itself.
	Object string
	// RetryIn is how long until the next attempt; zero when Over.
	RetryIn time.Duration
	// Over marks the end of the wait: the call that waited answered or gave up.
	Over bool
}

// WaitReason says why the client waits.
type WaitReason string

const (
	WaitThrottled   WaitReason = "throttled"   // 429, 503 or 504, usually with Retry-After
	WaitBusy        WaitReason = "busy"        // 409 Directory_ConcurrencyViolation: another write to the object
	WaitReplication WaitReason = "replication" // a new object is not readable everywhere yet
	WaitNoAnswer    WaitReason = "no answer"   // the connection dropped before Graph answered; the request is sent again
)

type waitsKey struct{}

// WithWaits returns a context whose Graph calls report their waits to fn. A step runner sets one per step, so
// that a wait is shown under the step it holds up. fn is called on the waiting goroutine and must not block.
func WithWaits(ctx context.Context, fn func(Wait)) context.Context {
	return context.WithValue(ctx, waitsKey{}, fn)
}

// notifyWait reports w to the function WithWaits put in ctx, if any.
func notifyWait(ctx context.Context, w Wait) {
	if fn, ok := ctx.Value(waitsKey{}).(func(Wait)); ok {
		fn(w)
	}
}
