package clock

import (
	"context"
	"math"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]struct {
		wait time.Duration
		ok   bool
	}{
		"2.128":                         {2128 * time.Millisecond, true}, // Graph's fractional seconds (learn.microsoft.com/graph/throttling)
		"120":                           {2 * time.Minute, true},
		" 7 ":                           {7 * time.Second, true},
		"0":                             {0, true},
		"Sun, 29 Nov 2026 10:00:30 GMT": {30 * time.Second, true}, // RFC 9110 §10.2.3: an HTTP-date
		"Sun, 29 Nov 2026 09:59:00 GMT": {0, true},                // in the past: now
		"":                              {0, false},
		"soon":                          {0, false},
		"-5":                            {0, false},
		"NaN":                           {0, false},
		"+Inf":                          {math.MaxInt64, true},
		"172800":                        {48 * time.Hour, true}, // too long is the caller's call
		"9227000000":                    {math.MaxInt64, true},  // more seconds than a Duration holds
		"Sun, 06 Nov 2994 08:49:37 GMT": {math.MaxInt64, true},  // beyond a Duration: the longest
	} {
		if wait, ok := RetryAfter(in, now); wait != want.wait || ok != want.ok {
			t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", in, wait, ok, want.wait, want.ok)
		}
	}
}

func TestSystemSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (System{}).Sleep(ctx, time.Hour); err != context.Canceled {
		t.Errorf("Sleep on a cancelled context = %v", err)
	}
	if err := Or(nil).Sleep(context.Background(), 0); err != nil {
		t.Errorf("Sleep(0) = %v", err)
	}
}
