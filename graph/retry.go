package graph

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/idpctl/idpctl/secret"
)

// call describes one Graph operation for the retry loop.
type call struct {
	// op names the operation in errors and logs, e.g. "POST /applications/{id}/addPassword".
	op string
	// refs are the ids of the objects the call references (in its path or body). When one of them was created
	// by this client less than ReplicationWindow ago, answers that replication causes are retried.
	refs []string
	// sync marks calls to the provisioning (synchronization) service, which answers 403 and 409 while a new
	// service principal has not reached it yet.
	sync bool
	// create marks a call that is not idempotent and has no server-side duplicate check (instantiate,
	// addPassword, creating a job): it is retried only on 429, which Graph sends before doing any work. A 503
	// or 504 may come after the object was created, and a replay would create a second one.
	create bool
	// reads marks a POST that only reads (a JSON batch of GETs), which may be sent again after its answer was
	// lost like a GET.
	reads bool
	// secrets are values the call sends; they are scrubbed from Graph's error messages.
	secrets []secret.Value
}

// What is retried, and why (sources: DOCS concepts/throttling.md and concepts/errors.md unless noted):
//   - 429 TooManyRequests, 503 and 504, honouring Retry-After (seconds, possibly fractional, or an HTTP date),
//     else exponential backoff with jitter; at most MaxAttempts attempts, and never past the context deadline.
//   - 409 Directory_ConcurrencyViolation ("Error due to concurrent requests being made to the tenant. Please
//     wait briefly and retry."): Entra's answer to quick successive writes to one object, e.g. addPassword right
//     after a PATCH; transient by its own text. Same bounds as throttling.
//   - Replication, only on calls that reference an object this client created less than ReplicationWindow ago:
//     404 of any code (Request_ResourceNotFound "Resource '…' does not exist or one of its queried
//     reference-property objects are not present."); 400 whose message says "does not exist" or "Not a valid
//     reference update." (appRoleAssignedTo while the principal or resource replicates:
//     msgraph-bicep-types#193; terraform-provider-azuread's app role assignment RetryFunc retries exactly these
//     two); and on provisioning-service calls 403 and 409, which terraform-provider-azuread retries on every
//     synchronization call (synchronizationRetryFunc) because the provisioning service learns of a new service
//     principal late. A 403 on a directory call is a missing role or permission and is not retried.
//   - A lost answer (the connection reset or closed, or the per-request timeout, after the request went out; no
//     HTTP status) to a request that does the same when sent twice: GET, PUT, DELETE, PATCH (every PATCH idpctl
//     sends sets properties to given values: the application's and service principal's fields, a grant's whole
//     scope string) and a batch of GETs. Same bounds and backoff as 503. A POST is not sent again: Graph may
//     have created the object, and the steps find it (instantiate's temporary name, the job list) instead. A
//     DELETE sent again may answer 404 for the object the first one deleted; callers take 404 as deleted.
//   - Never a duplicate: 409 Request_MultipleObjectsWithSameKeyValue ("Permission entry already exists." for a
//     second grant) or a 400 saying the object "already exists" ("Permission being assigned already exists on
//     the object."). They come back at once and IsConflict reports them; the caller decides.
const (
	transientBase = time.Second
	transientCap  = 30 * time.Second
	// Microsoft suggests polling a new application every 5-10 s (DOCS application-saml-sso-configure-api.md);
	// the first retries come sooner because most objects replicate within seconds.
	replicationBase = time.Second
	replicationCap  = 10 * time.Second
	// replicationMaxTries is a backstop for a clock that does not move (a test's fake Sleep that forgets to
	// advance Now); ReplicationWindow is the real bound.
	replicationMaxTries = 200
)

// send runs one Graph operation, retrying as described above. do runs once per attempt, with a context that
// lets the transport record the answer; each run makes the SDK serialize the request model again, which gives
// the same bytes (models we build are never marked clean, unlike deserialized ones).
func send[T any](ctx context.Context, c *Client, cl call, do func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	var tries retries
	var waited *Wait // the last wait reported, so that its end is reported too
	defer func() {
		if waited != nil {
			notifyWait(ctx, Wait{Reason: waited.Reason, Object: waited.Object, Over: true})
		}
	}()
	for attempt := 1; ; attempt++ {
		x := &exchange{}
		v, err := do(withExchange(ctx, x))
		if err == nil {
			return v, nil
		}
		err = c.newError(cl, err, x, attempt)
		var wait time.Duration
		var why WaitReason
		var again bool
		var status int
		var code string
		if ge := asError(err); ge != nil {
			wait, why, again = c.retryWait(ctx, cl, ge, &tries)
			status, code = ge.Status, ge.Code
		} else {
			wait, why, again = c.lostWait(ctx, cl, x, &tries)
		}
		if !again {
			return zero, err
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "graph retry",
			slog.String("op", cl.op), slog.Int("status", status), slog.String("code", code),
			slog.String("reason", string(why)), slog.Duration("wait", wait), slog.Int("attempt", attempt))
		if waited != nil && waited.Reason != why {
			notifyWait(ctx, Wait{Reason: waited.Reason, Object: waited.Object, Over: true})
		}
		waited = &Wait{Reason: why, RetryIn: wait}
		notifyWait(ctx, *waited)
		if c.clock.Sleep(ctx, wait) != nil {
			return zero, err
		}
		c.retries.Add(1)
	}
}

// retries counts one call's retries of each kind.
type retries struct{ transient, replication int }

// retryWait decides whether a refused call is tried again (the rules above) and after how long. It counts the
// retry in tries. A retry that would outlast the context's deadline is not made.
func (c *Client) retryWait(ctx context.Context, cl call, ge *Error, tries *retries) (time.Duration, WaitReason, bool) {
	var wait time.Duration
	var why WaitReason
	switch {
	case ge.duplicate():
		return 0, "", false
	case c.isTransient(cl, ge):
		if tries.transient+1 >= c.maxAttempts {
			return 0, "", false
		}
		wait, why = ge.RetryAfter, WaitThrottled
		if ge.Status == http.StatusConflict {
			why = WaitBusy
		}
		if wait <= 0 {
			wait = backoff(transientBase, transientCap, tries.transient)
		}
		tries.transient++
	case c.replicating(cl.refs) && replicationShaped(cl, ge) && tries.replication < replicationMaxTries:
		wait, why = backoff(replicationBase, replicationCap, tries.replication), WaitReplication
		tries.replication++
	default:
		return 0, "", false
	}
	if !beforeDeadline(ctx, wait) {
		return 0, "", false
	}
	return wait, why, true
}

// lostWait decides whether a call that got no answer at all is sent again (the rules above) and after how
// long, counting it with the transient retries. A call its own context ended is never sent again: that is the
// caller giving up (or being killed), not the network.
func (c *Client) lostWait(ctx context.Context, cl call, x *exchange, tries *retries) (time.Duration, WaitReason, bool) {
	if !x.lost || ctx.Err() != nil || !(idempotent(x.method) || cl.reads) || tries.transient+1 >= c.maxAttempts {
		return 0, "", false
	}
	wait := backoff(transientBase, transientCap, tries.transient)
	tries.transient++
	if !beforeDeadline(ctx, wait) {
		return 0, "", false
	}
	return wait, WaitNoAnswer, true
}

// idempotent reports the methods whose requests idpctl may send twice for the effect of once (see the rules
// above for PATCH).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch:
		return true
	}
	return false
}

// beforeDeadline reports whether a wait ends before the context's deadline, so that a retry is worth making.
func beforeDeadline(ctx context.Context, wait time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) >= wait
}

func (c *Client) isTransient(cl call, e *Error) bool {
	switch e.Status {
	case http.StatusTooManyRequests:
		return true
	case http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return !cl.create
	case http.StatusConflict:
		return strings.EqualFold(e.Code, "Directory_ConcurrencyViolation")
	}
	return false
}

func replicationShaped(cl call, e *Error) bool {
	switch e.Status {
	case http.StatusNotFound:
		return true
	case http.StatusBadRequest:
		msg := strings.ToLower(e.Message)
		return strings.Contains(msg, "does not exist") || strings.Contains(msg, "not a valid reference update")
	case http.StatusForbidden, http.StatusConflict:
		return cl.sync
	}
	return false
}

// backoff is base·2^n capped at max, with "equal jitter": half fixed, half random, so that concurrent callers
// spread out while the wait still grows.
func backoff(base, max time.Duration, n int) time.Duration {
	d := max
	if n < 16 && base<<n < max {
		d = base << n
	}
	return d/2 + rand.N(d/2+1)
}

// track records objects this client just created together (an application, its appId and its service
// principal), so that calls referencing them ride out replication.
func (c *Client) track(ids ...string) { c.TrackCreated(c.clock.Now(), ids...) }

// TrackCreated records objects created together at a given time by an earlier run, which the state file or the
// tenant tells of, as track does for objects this client creates: until ReplicationWindow after that time, the
// answers replication causes on calls that reference them are waited out. A run that resumes a killed one
// would otherwise take a new service principal's 403 from the provisioning service for a missing permission.
func (c *Client) TrackCreated(at time.Time, ids ...string) {
	now := at
	var group []string
	for _, id := range ids {
		if id != "" {
			group = append(group, strings.ToLower(id))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range group {
		c.created[id] = created{at: now, group: group}
	}
}

// forget stops tracking a deleted object and those created with it (deleting an application deletes its
// service principal): a 404 for them is the truth, not lag.
func (c *Client) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec, ok := c.created[strings.ToLower(id)]
	if !ok {
		return
	}
	for _, other := range rec.group {
		delete(c.created, other)
	}
}

// replicating reports whether one of ids was created by this client less than ReplicationWindow ago.
func (c *Client) replicating(ids []string) bool {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if rec, ok := c.created[strings.ToLower(id)]; ok && now.Sub(rec.at) < c.replicationWindow {
			return true
		}
	}
	return false
}

type created struct {
	at    time.Time
	group []string // the ids created with this one, itself included
}
