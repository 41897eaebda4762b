package cmd

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseLifetime: any --secret-expiry either parses to the lifetime it spells (never a product that overflowed
// into something else; more than a Duration holds is the longest Duration) or is refused with a message quoting it.
func FuzzParseLifetime(f *testing.F) {
	for _, s := range []string{"180d", "6mo", "1y", "2y", "4320h", "3w", " 1Y ", "0d", "-1d", "1.5y", "y", "mo", "1e3d", "99999999999999y",
		"106751d", "106752d", "9223372036854775807ns", "1h-1m", "PT1H"} {
		f.Add(s)
	}
	units := map[string]time.Duration{"mo": 30 * 24 * time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseLifetime(s)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(strings.TrimSpace(strings.ToLower(s)))) {
				t.Fatalf("parseLifetime(%q): %v", s, err)
			}
			return
		}
		if d <= 0 {
			t.Fatalf("parseLifetime(%q) = %v", s, d)
		}
		norm := strings.TrimSpace(strings.ToLower(s))
		for suffix, unit := range units {
			if n, ok := strings.CutSuffix(norm, suffix); ok {
				saturated := d == time.Duration(math.MaxInt64)
				if v, err := strconv.ParseInt(n, 10, 64); err == nil && !saturated && (d%unit != 0 || int64(d/unit) != v) {
					t.Fatalf("parseLifetime(%q) = %v, not %d × %v", s, d, v, unit)
				}
				return
			}
		}
	})
}
