package steps

import (
	"context"
	"sync"
)

// Output is a value one step produces and later steps wait for. It is written once per phase; readers block
// until it is written or the context ends. Waiting on outputs instead of on whole steps lets independent
// calls run as soon as their own inputs exist, which keeps the run's critical path short.
type Output[T any] struct {
	once  sync.Once
	ready chan struct{}
	mu    sync.Mutex
	value T
	set   bool
}

func (o *Output[T]) init() { o.once.Do(func() { o.ready = make(chan struct{}) }) }

// Set writes the value and wakes every waiter. A second Set is a programming error.
func (o *Output[T]) Set(v T) {
	o.init()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.set {
		panic("steps: output set twice")
	}
	o.value, o.set = v, true
	close(o.ready)
}

// Wait returns the value once it is set, or the context's error. A wait that has to block is told to the
// runner (see blockedOn), which reports it as the step waiting for the step that sets the output.
func (o *Output[T]) Wait(ctx context.Context) (T, error) {
	o.init()
	select {
	case <-o.ready:
	default:
		if blocked, ok := ctx.Value(blockedKey{}).(blockedOn); ok {
			defer blocked(o)()
		}
	}
	select {
	case <-o.ready:
		o.mu.Lock()
		defer o.mu.Unlock()
		return o.value, nil
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// Get returns the value and whether it has been set, without waiting.
func (o *Output[T]) Get() (T, bool) {
	o.init()
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.value, o.set
}

// blockedOn is called when a step starts waiting for an output not yet set; what it returns is called when that
// wait ends.
type blockedOn func(slot Slot) (over func())

type blockedKey struct{}

// Slot is an output as a step declares it (Step.Sets), whatever its type.
type Slot interface {
	isSet() bool
}

func (o *Output[T]) isSet() bool {
	_, ok := o.Get()
	return ok
}
