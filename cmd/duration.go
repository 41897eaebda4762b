package cmd

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseLifetime reads a secret lifetime: "180d", "6mo", "1y", "2y", or a Go duration such as "4320h".
func parseLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"mo", 30 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"y", 365 * 24 * time.Hour}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil || v <= 0 {
				break
			}
			if v > math.MaxInt64/int64(u.unit) {
				// 213505d would wrap around to about a day; longer than any allowed lifetime is what it is.
				return time.Duration(math.MaxInt64), nil
			}
			return time.Duration(v) * u.unit, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%q is not a lifetime: use days, months or years such as 180d, 6mo or 1y", s)
}
