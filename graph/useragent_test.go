package graph

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestEveryRequestNamesIdpctl: reads, writes, the raw schema PUT and a retry after 429 all carry Config.UserAgent
// first in their User-Agent header.
func TestEveryRequestNamesIdpctl(t *testing.T) {
	const userAgent = "idpctl/v1.2.3 (go1.26.8; linux/amd64)"
	schema, err := os.ReadFile("testdata/job-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	throttled := stub{method: "POST", path: "/servicePrincipals/" + spObjectID + "/appRoleAssignedTo", body: assignBody,
		status: http.StatusTooManyRequests, respHeader: http.Header{"Retry-After": {"1"}},
		resp: graphError("TooManyRequests", "Please retry again later.", "r1")}
	f := newFakeGraph(t,
		stub{method: "GET", path: jobPath + "/schema", header: http.Header{"Accept": {"application/json"}}, resp: string(schema)},
		stub{method: "PUT", path: jobPath + "/schema", status: http.StatusNoContent, body: string(schema)},
		throttled,
		stub{method: "POST", path: "/servicePrincipals/" + spObjectID + "/appRoleAssignedTo", body: assignBody, status: http.StatusCreated, resp: assignmentJSON},
	)
	c, _ := newTestClient(t, f, func(cfg *Config) { cfg.UserAgent = userAgent })
	ctx := context.Background()
	if _, err := c.GetSyncSchema(ctx, spObjectID, jobID); err != nil {
		t.Fatal(err)
	}
	if err := c.PutSyncSchema(ctx, spObjectID, jobID, schema); err != nil {
		t.Fatal(err)
	}
	if _, err := assignOne(ctx, c, spObjectID, adeleID, userRoleID); err != nil {
		t.Fatal(err)
	}
	for i, r := range f.seen {
		if got := r.Header.Get("User-Agent"); !strings.HasPrefix(got, userAgent+" ") {
			t.Errorf("request %d (%s %s): User-Agent %q, want it to start with %q", i+1, r.Method, r.URL.Path, got, userAgent)
		}
	}
}
