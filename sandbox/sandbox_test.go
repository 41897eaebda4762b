package sandbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/secret"
)

func get(t *testing.T, client *http.Client, url string, token secret.Value) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token.Reveal())
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// waitFor polls cond until it holds or ctx ends; the deadline bounds it, nothing asserts on timing.
func waitFor(ctx context.Context, cond func() bool) bool {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

// TestStartServesBothAndCloseLeavesNothing: the printed URLs and tokens work, the demo is seeded, a started job
// provisions by itself on the real clock (scaled), and Close stops servers, engine and timers.
func TestStartServesBothAndCloseLeavesNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// 40 minutes at 100000x is 24 ms.
	sb, err := sandbox.Start(ctx, sandbox.Options{TimeScale: 100000})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	if !strings.HasPrefix(sb.GraphURL, "http://127.0.0.1:") || !strings.HasSuffix(sb.GraphURL, "/v1.0") ||
		!strings.HasPrefix(sb.SCIMURL, "http://127.0.0.1:") || !strings.HasPrefix(sb.BackendURL, "http://127.0.0.1:") {
		t.Errorf("URLs %s %s %s", sb.GraphURL, sb.SCIMURL, sb.BackendURL)
	}
	status, org := get(t, client, sb.GraphURL+"/organization", sb.AccessToken)
	if status != http.StatusOK || org["value"].([]any)[0].(map[string]any)["id"] != sb.TenantID {
		t.Errorf("GET /organization with the access token: %d %v", status, org)
	}
	if status, _ := get(t, client, sb.GraphURL+"/organization", secret.New("nope")); status != http.StatusUnauthorized {
		t.Errorf("Graph accepted a made-up token: %d", status)
	}
	if status, body := get(t, client, sb.SCIMURL+"/Users", sb.SCIMToken); status != http.StatusOK || body["totalResults"] != float64(0) {
		t.Errorf("GET SCIM /Users with the SCIM token: %d %v", status, body)
	}
	if status, _ := get(t, client, sb.BackendURL+"/v1/roles", sb.BackendToken); status != http.StatusOK {
		t.Errorf("GET /v1/roles with the backend token: %d", status)
	}
	if status, _ := get(t, client, sb.BackendURL+"/v1/roles", sb.SCIMToken); status != http.StatusUnauthorized {
		t.Errorf("the backend contract accepted the SCIM token: %d", status)
	}
	if sb.Demo.TenantID != sb.TenantID || len(sb.Demo.Users) != 5 || sb.Demo.SmallstepUsers.DisplayName != "Smallstep Users" {
		t.Errorf("demo %+v", sb.Demo)
	}
	if status, me := get(t, client, sb.GraphURL+"/me", sb.AccessToken); status != http.StatusOK || me["id"] != sb.Demo.Admin.ID {
		t.Errorf("GET /me: %d %v", status, me)
	}

	// A job configured over Graph provisions on its own timer.
	e := &env{t: t, sb: sb, http: client, token: sb.Demo.DirectoryAdminToken, assignments: map[string]string{}}
	e.configure(sb.Demo.SmallstepUsers.ID)
	e.start()
	if !waitFor(ctx, func() bool { return len(sb.Backend.Users()) == 3 && len(sb.Backend.Groups()) == 1 }) {
		t.Fatalf("the initial cycle did not run on its timer: %d users", len(sb.Backend.Users()))
	}
	if !waitFor(ctx, func() bool { return e.jobStatus()["code"] == "Active" }) {
		t.Errorf("job status %v", e.jobStatus()["code"])
	}

	if err := sb.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := sb.Close(); err != nil { // a deferred Close after an explicit one returns, as the first did
		t.Fatalf("second Close: %v", err)
	}
	client.CloseIdleConnections()
	if _, err := client.Get(sb.GraphURL + "/organization"); err == nil {
		t.Error("Graph still answers after Close")
	}
	if n, err := sb.Tenant.RunDueCycles(ctx); n != 0 || err == nil {
		t.Errorf("RunDueCycles after Close: %d, %v", n, err)
	}
	if !waitFor(ctx, func() bool { return runtime.NumGoroutine() <= before }) {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
	}
}

// TestStartRefusesABusyAddress: a clear error, and nothing left listening.
func TestStartRefusesABusyAddress(t *testing.T) {
	sb, err := sandbox.Start(context.Background(), sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	addr := strings.TrimSuffix(strings.TrimPrefix(sb.GraphURL, "http://"), "/v1.0")
	_, err = sandbox.Start(context.Background(), sandbox.Options{GraphAddr: addr})
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("Start on a busy address: %v", err)
	}
}

// TestCyclesOnTimersWhileTheAdminWorks runs cycles on the engine's own timers (every 2.4 ms) while changes and
// on-demand calls arrive, for the race detector; the backend converges on the last change.
func TestCyclesOnTimersWhileTheAdminWorks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Options{TimeScale: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	e := &env{t: t, sb: sb, http: client, token: sb.Demo.DirectoryAdminToken, assignments: map[string]string{}}
	adele := sb.Demo.Users[0]
	e.configure(sb.Demo.SmallstepUsers.ID)
	e.start()
	for i := range 5 {
		title := "Title " + string(rune('A'+i))
		e.must(http.StatusNoContent, e.graph(http.MethodPatch, "/users/"+adele.ID, map[string]any{"jobTitle": title}))
		e.provisionOnDemand(userSubject(adele.ID))
		e.must(http.StatusNoContent, e.graph(http.MethodPost, e.job()+"/restart", map[string]any{"criteria": map[string]any{}}))
	}
	converged := waitFor(ctx, func() bool {
		u, ok := sb.Backend.UserByUserName(adele.UserPrincipalName)
		return ok && u.GetString("title") == "Title E" && len(sb.Backend.Users()) == 3
	})
	if !converged {
		t.Fatalf("the backend did not converge: %d users", len(sb.Backend.Users()))
	}
	if n := len(sb.Backend.Users()); n != 3 {
		t.Errorf("%d users: concurrent runs created duplicates", n)
	}
}
