package steps

import (
	"context"
	"time"

	"github.com/idpctl/idpctl/graph"
)

// lookFor tries find until it finds what it looks for or the lookup window after since has passed: the bound
// for an object whose create got no clear answer (killed, lost, a 5xx) to show up in Graph's reads. A since
// outside the window means one try. Polls back off from half a second to Microsoft's 5-10 s advice.
func lookFor[T any](ctx context.Context, env *Env, since time.Time, find func(context.Context) (T, bool, error)) (T, bool, error) {
	deadline := since.Add(env.lookupWindow())
	for delay := 500 * time.Millisecond; ; delay = min(2*delay, 10*time.Second) {
		v, ok, err := find(ctx)
		if ok || err != nil {
			return v, ok, err
		}
		left := deadline.Sub(env.clock().Now())
		if left <= 0 {
			return v, false, nil
		}
		if err := env.clock().Sleep(ctx, min(delay, left)); err != nil {
			return v, false, err
		}
	}
}

// readBack reads an object idpctl created in an earlier run by the id the state file saved. A read by id is
// the one Graph answers consistently once the object has replicated, unlike a list query; until the lookup
// window after created, "not found" is lag and the read is tried again. ok is false when the object is gone.
func readBack[T any](ctx context.Context, env *Env, created time.Time, read func(context.Context) (T, error)) (T, bool, error) {
	return lookFor(ctx, env, created, func(ctx context.Context) (T, bool, error) {
		v, err := read(ctx)
		if graph.IsNotFound(err) {
			return v, false, nil
		}
		return v, err == nil, err
	})
}
