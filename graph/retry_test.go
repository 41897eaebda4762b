package graph

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const assignBody = `{"principalId":"` + adeleID + `","resourceId":"` + spObjectID + `","appRoleId":"` + userRoleID + `"}`

func TestThrottledPOSTIsResentIntact(t *testing.T) {
	throttled := stub{method: "POST", path: "/servicePrincipals/" + spObjectID + "/appRoleAssignedTo", body: assignBody,
		status: http.StatusTooManyRequests, respHeader: http.Header{"Retry-After": {"2.128"}},
		resp: graphError("TooManyRequests", "Please retry again later.", "r1")}
	unavailable := throttled
	unavailable.status, unavailable.respHeader, unavailable.resp = http.StatusServiceUnavailable, nil, "<html>Service Unavailable</html>"
	f := newFakeGraph(t, throttled, unavailable,
		stub{method: "POST", path: "/servicePrincipals/" + spObjectID + "/appRoleAssignedTo", body: assignBody, status: http.StatusCreated, resp: assignmentJSON},
	)
	c, clock := newTestClient(t, f)
	a, err := assignOne(context.Background(), c, spObjectID, adeleID, userRoleID)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == "" {
		t.Error("no assignment returned")
	}
	sleeps := clock.Sleeps()
	if len(sleeps) != 2 || sleeps[0] != 2128*time.Millisecond {
		t.Fatalf("sleeps = %v, want Retry-After 2.128s (fraction kept) then a backoff", sleeps)
	}
	if sleeps[1] < 500*time.Millisecond || sleeps[1] > 2*time.Second {
		t.Errorf("backoff without Retry-After = %v, want within the second attempt's jittered range", sleeps[1])
	}
	// Every attempt carries the same bytes, uncompressed, so no attempt can disagree with its headers
	// (kiota-http-go#183: a retry resent a plain body under Content-Encoding: gzip and Graph answered 400).
	for i, r := range f.seen {
		if enc := r.Header.Get("Content-Encoding"); enc != "" {
			t.Errorf("attempt %d: Content-Encoding %q", i+1, enc)
		}
		if int(r.ContentLength) != len(f.bodies[i]) {
			t.Errorf("attempt %d: Content-Length %d for a %d-byte body", i+1, r.ContentLength, len(f.bodies[i]))
		}
		if !bytes.Equal(f.bodies[i], f.bodies[0]) {
			t.Errorf("attempt %d sent %s, attempt 1 sent %s", i+1, f.bodies[i], f.bodies[0])
		}
	}
	if got := c.Stats(); got != (Stats{Requests: 3, Retries: 2, Throttled: 2}) {
		t.Errorf("Stats = %+v", got)
	}
}

func TestThrottlingGivesUpAfterMaxAttempts(t *testing.T) {
	var plan []stub
	for range 3 {
		plan = append(plan, stub{method: "GET", path: "/organization", status: http.StatusTooManyRequests,
			respHeader: http.Header{"Retry-After": {"1"}}, resp: graphError("TooManyRequests", "Please retry again later.", "r")})
	}
	f := newFakeGraph(t, plan...)
	c, clock := newTestClient(t, f, func(cfg *Config) { cfg.MaxAttempts = 3 })
	_, err := c.Organization(context.Background())
	e := mustGraphError(t, err)
	if !IsThrottled(err) || e.Attempts != 3 || e.RetryAfter != time.Second || len(clock.Sleeps()) != 2 {
		t.Errorf("error = %+v after sleeps %v", e, clock.Sleeps())
	}
	if !strings.Contains(err.Error(), "after 3 attempts") || !strings.Contains(err.Error(), "throttling") {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestRetryNeverWaitsPastTheDeadline(t *testing.T) {
	f := newFakeGraph(t, stub{method: "GET", path: "/organization", status: http.StatusTooManyRequests,
		respHeader: http.Header{"Retry-After": {"3600"}}, resp: graphError("TooManyRequests", "Please retry again later.", "r")})
	c, clock := newTestClient(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.Organization(ctx)
	if !IsThrottled(err) || len(clock.Sleeps()) != 0 {
		t.Errorf("err = %v, sleeps = %v; want the 429 at once", err, clock.Sleeps())
	}
}

func TestConcurrencyViolationIsRetried(t *testing.T) {
	// A nested body, so that the replay proves the SDK's backing store serializes nested models again in full.
	patch := `{"@odata.type":"#microsoft.graph.application","tags":["idpctl"],
	  "web":{"redirectUris":["https://api.smallstep.com/auth/openid/callback"]},
	  "optionalClaims":{"idToken":[{"name":"email","essential":false,"additionalProperties":[]}]}}`
	f := newFakeGraph(t,
		stub{method: "PATCH", path: "/applications/" + appObjectID, body: patch, status: http.StatusConflict,
			resp: graphError("Directory_ConcurrencyViolation", "Error due to concurrent requests being made to the tenant. Please wait briefly and retry.", "r1")},
		stub{method: "PATCH", path: "/applications/" + appObjectID, body: patch, status: http.StatusNoContent},
	)
	c, clock := newTestClient(t, f)
	if err := c.UpdateApplication(context.Background(), appObjectID, ApplicationUpdate{Tags: []string{"idpctl"},
		RedirectURIs: []string{"https://api.smallstep.com/auth/openid/callback"}, IDTokenClaims: []OptionalClaim{{Name: "email"}}}); err != nil {
		t.Fatal(err)
	}
	if len(clock.Sleeps()) != 1 {
		t.Errorf("sleeps = %v", clock.Sleeps())
	}
}

func notFound(method, path, id string) stub {
	return stub{method: method, path: path, status: http.StatusNotFound,
		resp: graphError("Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.", "r")}
}

func TestReplicationRetriesOnlyForFreshObjects(t *testing.T) {
	appPath := "/applications/" + appObjectID
	f := newFakeGraph(t,
		// Not created by this client: a 404 is the answer.
		notFound("GET", appPath, appObjectID),
		// Created by this client a moment ago: 404s are replication lag.
		notFound("GET", appPath, appObjectID),
		notFound("GET", appPath, appObjectID),
		stub{method: "GET", path: appPath, resp: applicationJSON},
	)
	c, clock := newTestClient(t, f)
	ctx := context.Background()
	if _, err := c.GetApplication(ctx, appObjectID); !IsNotFound(err) || len(clock.Sleeps()) != 0 {
		t.Fatalf("unknown object: err = %v, sleeps %v; want the 404 at once", err, clock.Sleeps())
	}
	c.track(appObjectID)
	app, err := c.GetApplication(ctx, appObjectID)
	if err != nil || app.ObjectID != appObjectID {
		t.Fatalf("fresh object: %v, %v", app, err)
	}
	if len(clock.Sleeps()) != 2 {
		t.Errorf("sleeps = %v, want one per 404", clock.Sleeps())
	}
}

func TestReplicationRetriesProvisioningRefusals(t *testing.T) {
	templates := syncPath + "/templates"
	f := newFakeGraph(t,
		// The provisioning service has not heard of the new service principal yet (Terraform retries these).
		stub{method: "GET", path: templates, status: http.StatusForbidden, resp: graphError("Authorization_RequestDenied", "Insufficient privileges to complete the operation.", "r1")},
		stub{method: "GET", path: templates, status: http.StatusConflict, resp: graphError("Conflict", "The service principal is still being provisioned. Try again later.", "r2")},
		stub{method: "GET", path: templates, resp: `{"value":[{"id":"scim","factoryTag":"scim"}]}`},
		// The same refusal on a directory call is a missing permission: returned at once.
		stub{method: "PATCH", path: "/servicePrincipals/" + spObjectID, status: http.StatusForbidden,
			body: `{"@odata.type":"#microsoft.graph.servicePrincipal","tags":["idpctl"]}`,
			resp: graphError("Authorization_RequestDenied", "Insufficient privileges to complete the operation.", "r3")},
		// And on an old service principal, a provisioning 403 is returned at once too.
		stub{method: "GET", path: "/servicePrincipals/" + graphSPID + "/synchronization/templates", status: http.StatusForbidden,
			resp: graphError("Authorization_RequestDenied", "Insufficient privileges to complete the operation.", "r4")},
		// 400 "Not a valid reference update." on an assignment to a fresh service principal: replication.
		stub{method: "POST", path: "/servicePrincipals/" + spObjectID + "/appRoleAssignedTo", body: assignBody, status: http.StatusBadRequest,
			resp: graphError("Request_BadRequest", "Not a valid reference update.", "r5")},
		stub{method: "POST", path: "/servicePrincipals/" + spObjectID + "/appRoleAssignedTo", body: assignBody, status: http.StatusCreated, resp: assignmentJSON},
	)
	c, clock := newTestClient(t, f)
	ctx := context.Background()
	c.track(appObjectID, appClientID, spObjectID)
	got, err := c.ListSyncTemplates(ctx, spObjectID)
	if err != nil || len(got) != 1 {
		t.Fatalf("ListSyncTemplates = %v, %v", got, err)
	}
	if n := len(clock.Sleeps()); n != 2 {
		t.Errorf("slept %d times, want 2", n)
	}
	if err := c.UpdateServicePrincipal(ctx, spObjectID, ServicePrincipalUpdate{Tags: []string{"idpctl"}}); !IsForbidden(err) {
		t.Errorf("directory 403: err = %v", err)
	}
	if _, err := c.ListSyncTemplates(ctx, graphSPID); !IsForbidden(err) {
		t.Errorf("old service principal: err = %v", err)
	}
	if n := len(clock.Sleeps()); n != 2 {
		t.Errorf("the 403s were retried: %d sleeps", n)
	}
	if _, err := assignOne(ctx, c, spObjectID, adeleID, userRoleID); err != nil {
		t.Fatal(err)
	}
}

func TestReplicationWindowEnds(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		writeError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource does not exist.")
	}))
	defer srv.Close()
	c, clock := newTestClient(t, &fakeGraph{srv: srv}, func(cfg *Config) { cfg.ReplicationWindow = 30 * time.Second })
	start := clock.Now()
	c.track(appObjectID)
	_, err := c.GetApplication(context.Background(), appObjectID)
	e := mustGraphError(t, err)
	if e.Status != 404 || int64(e.Attempts) != requests.Load() || e.Attempts < 3 {
		t.Errorf("error = %+v after %d requests", e, requests.Load())
	}
	waited := clock.Now().Sub(start)
	if waited < 30*time.Second || waited > 30*time.Second+replicationCap {
		t.Errorf("waited %v, want just past the 30s window", waited)
	}
	if !strings.Contains(err.Error(), "attempts") {
		t.Errorf("Error() = %q, want the attempt count", err.Error())
	}
}

func TestWaitForApplicationNeedsConsecutiveReads(t *testing.T) {
	appPath := "/applications/" + appObjectID
	f := newFakeGraph(t,
		notFound("GET", appPath, appObjectID),
		notFound("GET", appPath, appObjectID),
		stub{method: "GET", path: appPath, resp: applicationJSON},
		// A replica without the object: the count starts again.
		notFound("GET", appPath, appObjectID),
		stub{method: "GET", path: appPath, resp: applicationJSON},
		stub{method: "GET", path: appPath, resp: applicationJSON},
		stub{method: "GET", path: appPath, resp: applicationJSON},
	)
	c, clock := newTestClient(t, f, func(cfg *Config) { cfg.ReplicationReads = 3 })
	c.track(appObjectID) // the waits must see the 404s themselves, not have them retried underneath
	app, err := c.WaitForApplication(context.Background(), appObjectID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "application", app, wantApplication)
	if n := len(clock.Sleeps()); n != 3 {
		t.Errorf("slept %d times (%v), want once per 404 and never between successful reads", n, clock.Sleeps())
	}
}

func TestWaitForServicePrincipal(t *testing.T) {
	spPath := "/servicePrincipals/" + spObjectID
	f := newFakeGraph(t,
		notFound("GET", spPath, spObjectID),
		stub{method: "GET", path: spPath, resp: servicePrincipalJSON},
		stub{method: "GET", path: spPath, resp: servicePrincipalJSON},
		// Other errors end the wait.
		stub{method: "GET", path: spPath, status: http.StatusForbidden, resp: graphError("Authorization_RequestDenied", "Insufficient privileges to complete the operation.", "r")},
	)
	c, _ := newTestClient(t, f)
	sp, err := c.WaitForServicePrincipal(context.Background(), spObjectID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "service principal", sp, wantServicePrincipal)
	if _, err := c.WaitForServicePrincipal(context.Background(), spObjectID); !IsForbidden(err) {
		t.Errorf("err = %v, want the 403", err)
	}
}

func TestWaitIsBoundedByContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource does not exist.")
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	c, _ := newTestClient(t, &fakeGraph{srv: srv}, func(cfg *Config) {
		cfg.Clock = &cancellingClock{fakeClock: newFakeClock(), after: 3, cancel: cancel}
	})
	_, err := c.WaitForApplication(ctx, appObjectID)
	if err == nil || !strings.Contains(err.Error(), "still not readable after 3 reads") || ctx.Err() == nil {
		t.Errorf("err = %v", err)
	}
}

// cancellingClock cancels the run at its nth wait, as an interrupt would.
type cancellingClock struct {
	*fakeClock
	after  int
	cancel context.CancelFunc
}

func (c *cancellingClock) Sleep(ctx context.Context, _ time.Duration) error {
	if c.after--; c.after == 0 {
		c.cancel()
	}
	return ctx.Err()
}

// Issue 10 item 7: objects an earlier, killed run created are waited out like the client's own, within the
// replication window after their creation; a 403 on an old service principal is still a permission problem.
func TestTrackCreatedByAnEarlierRun(t *testing.T) {
	templates := "/servicePrincipals/" + spObjectID + "/synchronization/templates"
	denied := graphError("Authorization_RequestDenied", "Insufficient privileges to complete the operation.", "r1")
	f := newFakeGraph(t,
		stub{method: "GET", path: templates, status: http.StatusForbidden, resp: denied},
		stub{method: "GET", path: templates, resp: `{"value":[{"id":"scim","factoryTag":"scim"}]}`},
		stub{method: "GET", path: templates, status: http.StatusForbidden, resp: denied},
	)
	c, clock := newTestClient(t, f, func(cfg *Config) { cfg.ReplicationWindow = 5 * time.Minute })
	ctx := context.Background()
	c.TrackCreated(clock.Now().Add(-time.Minute), appObjectID, appClientID, spObjectID) // a minute before this run
	if got, err := c.ListSyncTemplates(ctx, spObjectID); err != nil || len(got) != 1 {
		t.Fatalf("ListSyncTemplates = %v, %v; want the 403 waited out", got, err)
	}
	c.TrackCreated(clock.Now().Add(-10*time.Minute), appObjectID, appClientID, spObjectID) // long ago
	if _, err := c.ListSyncTemplates(ctx, spObjectID); !IsForbidden(err) {
		t.Errorf("a 403 on an old service principal: %v, want it returned", err)
	}
	if n := len(clock.Sleeps()); n != 1 {
		t.Errorf("slept %d times, want 1", n)
	}
}

// A lost answer (the connection drops after the request went out, no status) to a request that does the same
// when sent twice is sent again after a backoff, and the wait is reported as such; the end is reported too.
func TestLostAnswerToIdempotentCallIsResent(t *testing.T) {
	patch := stub{method: "PATCH", path: "/applications/" + appObjectID, body: `{"@odata.type":"#microsoft.graph.application","tags":["idpctl"]}`}
	lost := patch
	lost.lost = true
	f := newFakeGraph(t, lost, lost, stub{method: patch.method, path: patch.path, body: patch.body, status: http.StatusNoContent},
		stub{method: "GET", path: "/organization", lost: true},
		stub{method: "GET", path: "/organization", resp: `{"value":[{"id":"72f988bf-86f1-41af-91ab-2d7cd011db47","displayName":"Contoso"}]}`},
		stub{method: "DELETE", path: "/oauth2PermissionGrants/g1", lost: true},
		stub{method: "DELETE", path: "/oauth2PermissionGrants/g1", status: http.StatusNotFound,
			resp: graphError("Request_ResourceNotFound", "Resource 'g1' does not exist or one of its queried reference-property objects are not present.", "r")},
	)
	// A fresh connection for each request: net/http itself resends a GET whose reused connection dropped.
	c, clock := newTestClient(t, f, func(cfg *Config) {
		cfg.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	})
	var waits []Wait
	ctx := WithWaits(context.Background(), func(w Wait) { waits = append(waits, w) })
	if err := c.UpdateApplication(ctx, appObjectID, ApplicationUpdate{Tags: []string{"idpctl"}}); err != nil {
		t.Fatalf("PATCH after two lost answers: %v", err)
	}
	if _, err := c.Organization(ctx); err != nil {
		t.Fatalf("GET after a lost answer: %v", err)
	}
	// The first DELETE did its work; the second finds nothing, which callers take as deleted.
	if err := c.DeletePermissionGrant(ctx, "g1"); !IsNotFound(err) {
		t.Errorf("DELETE after a lost answer: %v, want the 404 of the object the first one deleted", err)
	}
	sleeps := clock.Sleeps()
	if len(sleeps) != 4 || sleeps[0] < transientBase/2 || sleeps[0] > transientBase || sleeps[1] < transientBase || sleeps[1] > 2*transientBase {
		t.Errorf("sleeps = %v, want the 5xx backoff before each resend", sleeps)
	}
	if len(waits) != 7 || waits[0].Reason != WaitNoAnswer || waits[0].RetryIn != sleeps[0] || !waits[2].Over {
		t.Errorf("waits = %+v, want two no-answer waits then their end, for each call", waits)
	}
	if got := c.Stats(); got.Requests != 7 || got.Retries != 4 {
		t.Errorf("Stats = %+v", got)
	}
}

// A lost answer is sent again at most MaxAttempts times in all, and the error says how many.
func TestLostAnswersGiveUpAfterMaxAttempts(t *testing.T) {
	lost := stub{method: "GET", path: "/organization", lost: true}
	f := newFakeGraph(t, lost, lost, lost)
	c, clock := newTestClient(t, f, func(cfg *Config) {
		cfg.MaxAttempts = 3
		cfg.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	})
	_, err := c.Organization(context.Background())
	if err == nil || asError(err) != nil || !strings.Contains(err.Error(), "after 3 attempts") || len(clock.Sleeps()) != 2 {
		t.Errorf("err = %v after sleeps %v, want the transport's failure after 3 attempts", err, clock.Sleeps())
	}
}

// A POST whose answer is lost is not sent again: Graph may have created the object (a second secret, a second
// job); the steps look for it instead.
func TestLostAnswerToPOSTIsNotResent(t *testing.T) {
	f := newFakeGraph(t,
		stub{method: "POST", path: "/applications/" + appObjectID + "/addPassword", lost: true,
			body: `{"passwordCredential":{"displayName":"idpctl"}}`},
		stub{method: "POST", path: "/servicePrincipals/" + spObjectID + "/synchronization/jobs", lost: true, body: `{"templateId":"scim"}`},
	)
	c, clock := newTestClient(t, f)
	if _, err := c.AddPassword(context.Background(), appObjectID, "idpctl", time.Time{}); err == nil || asError(err) != nil {
		t.Errorf("addPassword: %v, want the transport's failure", err)
	}
	if _, err := c.CreateSyncJob(context.Background(), spObjectID, "scim"); err == nil || asError(err) != nil {
		t.Errorf("create job: %v, want the transport's failure", err)
	}
	if len(clock.Sleeps()) != 0 {
		t.Errorf("slept %v before resending a POST", clock.Sleeps())
	}
}

// A call its own context ended is not sent again, whatever its method: that is the caller giving up.
func TestLostAnswerAfterCancelIsNotResent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := newFakeGraph(t, stub{method: "GET", path: "/organization", lost: true})
	c, clock := newTestClient(t, f, func(cfg *Config) {
		cfg.HTTPClient = &http.Client{Transport: cancelling{cancel}}
	})
	if _, err := c.Organization(ctx); err == nil || len(clock.Sleeps()) != 0 {
		t.Errorf("err = %v, sleeps %v; want the failure at once", err, clock.Sleeps())
	}
}

// cancelling sends a request, then ends its context before handing back the outcome, as a kill would.
type cancelling struct{ cancel context.CancelFunc }

func (c cancelling) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	c.cancel()
	return resp, err
}
