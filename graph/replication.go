package graph

import (
	"context"
	"fmt"
)

// WaitForApplication reads a new application until ReplicationReads reads in a row succeed: directory reads
// are served by replicas, and one that has the object does not mean the next one has (terraform-provider-azuread
// waits the same way after instantiating a template). Successful reads follow each other at once; only a 404
// is followed by a wait. Bounded by ctx; other errors end the wait.
func (c *Client) WaitForApplication(ctx context.Context, objectID string) (Application, error) {
	return waitReplicated(ctx, c, "application "+objectID, "the new application", func(ctx context.Context) (Application, error) {
		return c.getApplication(ctx, objectID, nil)
	})
}

// WaitForServicePrincipal waits for a new service principal the way WaitForApplication waits for an application.
func (c *Client) WaitForServicePrincipal(ctx context.Context, id string) (ServicePrincipal, error) {
	return waitReplicated(ctx, c, "service principal "+id, "the new service principal", func(ctx context.Context) (ServicePrincipal, error) {
		return c.getServicePrincipal(ctx, id, nil)
	})
}

// waitReplicated reports its waits (see Wait) as waits for object, said for people.
func waitReplicated[T any](ctx context.Context, c *Client, what, object string, read func(context.Context) (T, error)) (T, error) {
	var zero T
	inARow, misses := 0, 0
	defer func() {
		if misses > 0 {
			notifyWait(ctx, Wait{Reason: WaitReplication, Object: object, Over: true})
		}
	}()
	for {
		v, err := read(ctx)
		switch {
		case err == nil:
			inARow++
			if inARow >= c.replicationReads {
				return v, nil
			}
			continue
		case !IsNotFound(err):
			return zero, err
		}
		inARow = 0
		wait := backoff(replicationBase, replicationCap, misses)
		notifyWait(ctx, Wait{Reason: WaitReplication, Object: object, RetryIn: wait})
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return zero, fmt.Errorf("%s is still not readable after %d reads (replication can take minutes; run again to continue): %w",
				what, misses+1, err)
		}
		misses++
	}
}
