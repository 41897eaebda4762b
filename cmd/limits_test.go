package cmd

import (
	"strings"
	"testing"
	"time"
)

// Issue 10 item 9: a lifetime too large for a time.Duration is refused as too long, not wrapped around to a
// short one (213505d used to become an expiry one day away).
func TestSecretExpiryDoesNotOverflow(t *testing.T) {
	for _, value := range []string{"213505d", "106752d", "9223372036854775807d", "30500y", "400000mo", "2000000w"} {
		o, err := parse(t, nil, "--secret-expiry", value)
		if err == nil {
			t.Errorf("--secret-expiry %s accepted as %v", value, o.Inputs.SecretExpiry)
			continue
		}
		if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "between 1 day and 2 years") {
			t.Errorf("--secret-expiry %s: %v (exit %d)", value, err, exitCode(err))
		}
	}
	if d, err := parseLifetime("213505d"); err != nil || d < 24*time.Hour*365 {
		t.Errorf("parseLifetime(213505d) = %v, %v; want a huge lifetime", d, err)
	}
}

// `idpctl sandbox` refuses settings that would make it spin or misbehave, before it starts anything.
func TestSandboxRefusesBadKnobs(t *testing.T) {
	for _, args := range [][]string{
		{"--time-scale", "NaN"}, {"--time-scale", "Inf"}, {"--time-scale", "-Inf"}, {"--time-scale", "1e12"},
		{"--time-scale", "0"}, {"--time-scale", "-3"}, {"--time-scale", "10001"},
		{"--initial-cycle-delay", "-1m"}, {"--latency", "-5ms"}, {"--replication-lag", "-1"},
	} {
		o := execute(t, invocation{}, append([]string{"sandbox"}, args...)...)
		if o.code != exitUsage || !strings.Contains(o.err.Error(), args[0]) || strings.Contains(o.stdout, "Graph URL") {
			t.Errorf("sandbox %v: %v; want exit 2 naming %s before anything starts", args, o, args[0])
		}
	}
}
