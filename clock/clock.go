// Package clock is the one source of time for everything in idpctl that waits: replication polls, retries
// of throttled calls, the on-demand provisioning rate limit. Each of those takes a Clock, so a test injects
// one whose waits return at once and move its time on, and nothing in a test sleeps.
package clock

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx ends and then returns ctx's error.
	Sleep(ctx context.Context, d time.Duration) error
}

// System is the real clock.
type System struct{}

// Now is time.Now.
func (System) Now() time.Time { return time.Now() }

// Sleep waits on a timer.
func (System) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Or returns c, or the system clock when c is nil: a zero-valued config gets real time.
func Or(c Clock) Clock {
	if c == nil {
		return System{}
	}
	return c
}

// RetryAfter reads an HTTP Retry-After header, the server's "not before": seconds (Graph sends fractions such
// as "2.128") or an HTTP date, which counts from now. A date in the past is a wait of zero; a wait longer than
// a Duration holds (292 years) is the longest Duration, never an overflow into a negative wait. ok is false when
// the header is missing or says nothing readable, and the caller backs off on its own; each caller decides
// what wait is too long to honour.
func RetryAfter(header string, now time.Time) (wait time.Duration, ok bool) {
	v := strings.TrimSpace(header)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		nanos := secs * float64(time.Second)
		switch {
		case !(nanos >= 0): // negative, or NaN
			return 0, false
		case nanos >= math.MaxInt64:
			return math.MaxInt64, true
		}
		return time.Duration(nanos), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true // Sub saturates instead of overflowing
	}
	return 0, false
}
