package clock

import (
	"testing"
	"time"
)

// FuzzRetryAfter: a Retry-After header of any form gives a wait that is not negative (a huge number once
// overflowed into one, which retried at once: testdata/fuzz keeps it), and zero when it says nothing.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "3", "-1", "1.5", "2.128", "NaN", "Inf", "-Inf", "1e308", "86401", "0x10", " 7 ",
		"99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "Sun, 06 Nov 2994 08:49:37 GMT"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d, ok := RetryAfter(v, now); d < 0 || (!ok && d != 0) {
			t.Fatalf("RetryAfter(%q) = %v, %v", v, d, ok)
		}
	})
}
