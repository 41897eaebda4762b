package cmd

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
)

// graphRequests counts the Graph requests a tenant received: a JSON batch is one request, however many it
// carries.
func graphRequests(sb *sandbox.Sandbox) (n int, byPath map[string]int) {
	byPath = map[string]int{}
	for _, r := range sb.Tenant.Requests() {
		if !r.InBatch {
			n++
			byPath[r.Method+" "+r.Path]++
		}
	}
	return n, byPath
}

// A 2,000-member group is set up end to end, sign-in check and preflight included, in at most 60 Graph requests
// (issue 12): its members are read in pages of 999, a sample of them is provisioned on demand, and the result
// counts everyone, lists only the users who need attention, and says how the rest were looked for.
func TestLargeGroupSetup(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Options{ManualCycles: true, Population: entra.Population{Users: 2000, GroupSize: 2000}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	group := sb.Population.Groups[0]
	dir := t.TempDir()
	o := execute(t, invocation{env: map[string]string{"IDPCTL_ACCESS_TOKEN": sb.AccessToken.Reveal(), "IDPCTL_SCIM_TOKEN": sb.SCIMToken.Reveal()}},
		"setup", "entra", "--graph-url", sb.GraphURL, "--auth", "token", "--tenant-id", sb.TenantID, "--state-dir", dir,
		"--assign-group", group.DisplayName, "--scim-url", sb.SCIMURL, "--secret-out", filepath.Join(dir, "client-secret"),
		"--non-interactive", "--yes", "--output", "json")
	if o.code != 0 {
		t.Fatalf("setup: %v", o)
	}
	n, byPath := graphRequests(sb)
	if n > 60 {
		t.Errorf("%d Graph requests, want at most 60: %v", n, byPath)
	}
	if got := byPath["GET /groups/"+group.ID+"/members/graph.user"]; got != 3 {
		t.Errorf("the members were read in %d pages, want 3 of 999", got)
	}
	var result struct {
		UserCounts struct{ Total, Arrived, Pending int }
		Users      []struct{ Outcome string }
		Unlisted   int `json:"usersUnlisted"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &result); err != nil {
		t.Fatal(err)
	}
	if c := result.UserCounts; c.Total != 2000 || c.Arrived != 5 || c.Pending != 1995 {
		t.Errorf("counts %+v, want 2,000: 5 provisioned on demand, 1,995 left to the cycle", c)
	}
	if len(result.Users) != 0 || result.Unlisted != 2000 {
		t.Errorf("%d users listed, %d unlisted; want none listed (no one was skipped or failed) and 2,000 counted", len(result.Users), result.Unlisted)
	}
	for _, said := range []string{
		"5 users provisioned on demand as a sample",
		"the other 1,995 were looked for in the SaaS and in Entra's provisioning logs",
		"1,995 users left to the provisioning cycle",
	} {
		if !strings.Contains(o.stdout, said) {
			t.Errorf("the result does not say %q:\n%s", said, o.stdout)
		}
	}
}
