package entra

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestReplicationLag(t *testing.T) {
	f := newFixture(t, Options{Faults: Faults{ReplicationLag: 2}})
	app, sp := f.instantiate("Lagging")
	appPath := "/applications/" + app["id"].(string)
	// Missing from lists and filters while it replicates (each list counts as one read).
	if got := f.must(http.StatusOK, f.get("/applications")).values(t); len(got) != 0 {
		t.Errorf("list shows %d applications during lag", len(got))
	}
	wantError(t, f.get(appPath), http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+app["id"].(string)+"' does not exist or one of its queried reference-property objects are not present.")
	f.must(http.StatusOK, f.get(appPath))
	f.must(http.StatusOK, f.get("/applications?$filter="+urlEscape("appId eq '"+app["appId"].(string)+"'")))

	// Writes by id see the lag too, and new assignments and jobs have their own.
	spID := sp["id"].(string)
	wantError(t, f.request(http.MethodPatch, "/servicePrincipals/"+spID, map[string]any{"notes": "x"}), http.StatusNotFound, "Request_ResourceNotFound", "")
	wantError(t, f.request(http.MethodPatch, "/servicePrincipals/"+spID, map[string]any{"notes": "x"}), http.StatusNotFound, "Request_ResourceNotFound", "")
	f.must(http.StatusNoContent, f.request(http.MethodPatch, "/servicePrincipals/"+spID, map[string]any{"notes": "x"}))
	a := f.must(http.StatusCreated, f.request(http.MethodPost, "/servicePrincipals/"+spID+"/appRoleAssignedTo",
		map[string]any{"principalId": f.demo.Users[0].ID, "resourceId": spID, "appRoleId": roleID(t, sp, "User")})).json(t)
	if n := len(f.must(http.StatusOK, f.get("/servicePrincipals/"+spID+"/appRoleAssignedTo")).values(t)); n != 0 {
		t.Errorf("new assignment listed during lag (%d)", n)
	}
	f.must(http.StatusOK, f.get("/servicePrincipals/"+spID+"/appRoleAssignedTo"))
	f.must(http.StatusNoContent, f.request(http.MethodDelete, "/servicePrincipals/"+spID+"/appRoleAssignedTo/"+a["id"].(string), nil))

	// The knob changes at run time.
	f.tenant.SetFaults(Faults{})
	fresh, _ := f.instantiate("Immediate")
	f.must(http.StatusOK, f.get("/applications/"+fresh["id"].(string)))
}

func TestSyncReplicationLag(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusConflict} {
		f := newFixture(t, Options{Faults: Faults{SyncReplicationLag: 2, SyncReplicationStatus: status}})
		_, sp := f.instantiate("Provisioned")
		base := "/servicePrincipals/" + sp["id"].(string) + "/synchronization"
		for range 2 {
			r := f.get(base + "/templates")
			if r.status != status {
				t.Fatalf("sync call during lag answered %d, want %d: %s", r.status, status, r.raw)
			}
		}
		f.must(http.StatusOK, f.get(base+"/templates"))
		f.must(http.StatusCreated, f.request(http.MethodPost, base+"/jobs", map[string]any{"templateId": "scim"}))
	}
}

func TestThrottlingWithRetryAfter(t *testing.T) {
	f := newFixture(t, Options{})
	f.tenant.AddFaultRule(FaultRule{Kind: Throttle, Method: http.MethodPost, Path: "/applicationTemplates/*/instantiate", Times: 2, RetryAfter: 2128 * time.Millisecond})
	for range 2 {
		r := f.request(http.MethodPost, "/applicationTemplates/"+NonGalleryTemplateID+"/instantiate", map[string]any{"displayName": "t"})
		wantError(t, r, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
		if r.header.Get("Retry-After") != "2.128" {
			t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
		}
	}
	if len(f.tenant.Applications()) != 0 {
		t.Error("a throttled request changed the tenant")
	}
	f.instantiate("third time")
	f.must(http.StatusOK, f.get("/applications")) // other paths were never throttled
}

func TestServerErrors(t *testing.T) {
	f := newFixture(t, Options{})
	f.tenant.SetFaults(Faults{Rules: []FaultRule{
		{Kind: ServerError, Method: http.MethodGet, Path: "/users", Times: 1, Status: http.StatusServiceUnavailable, RetryAfter: 3 * time.Second},
		{Kind: ServerError, Method: http.MethodGet, Path: "/users", Times: 1, Status: http.StatusGatewayTimeout},
		{Kind: ServerError, Path: "/groups/**", Times: 1, Status: http.StatusInternalServerError},
	}})
	r := f.get("/users")
	wantError(t, r, http.StatusServiceUnavailable, "serviceNotAvailable", "")
	if r.header.Get("Retry-After") != "3" {
		t.Errorf("503 Retry-After %q", r.header.Get("Retry-After"))
	}
	r = f.get("/users")
	wantError(t, r, http.StatusGatewayTimeout, "timeout", "")
	if r.header.Get("Retry-After") != "" {
		t.Errorf("504 Retry-After %q", r.header.Get("Retry-After"))
	}
	f.must(http.StatusOK, f.get("/users"))
	wantError(t, f.get("/groups/"+f.demo.Engineering.ID+"/members"), http.StatusInternalServerError, "generalException", "")
	f.must(http.StatusOK, f.get("/groups/"+f.demo.Engineering.ID+"/members"))
}

func TestLostResponses(t *testing.T) {
	f := newFixture(t, Options{})
	instantiate := "/applicationTemplates/*/instantiate"

	// Answered 404, yet the application exists: find it by its display name.
	f.tenant.AddFaultRule(FaultRule{Kind: LoseResponse, Method: http.MethodPost, Path: instantiate, Times: 1, Status: http.StatusNotFound, OnlyAfterSuccess: true})
	r := f.request(http.MethodPost, "/applicationTemplates/"+NonGalleryTemplateID+"/instantiate", map[string]any{"displayName": "idpctl-tmp-1"})
	wantError(t, r, http.StatusNotFound, "Request_ResourceNotFound", "")
	found := f.must(http.StatusOK, f.get("/applications?$filter="+urlEscape("displayName eq 'idpctl-tmp-1'"))).values(t)
	if len(found) != 1 {
		t.Fatalf("the app instantiate created is not there: %v", found)
	}

	// The connection drops after the write.
	f.tenant.AddFaultRule(FaultRule{Kind: LoseResponse, Method: http.MethodPost, Path: instantiate, Times: 1})
	_, err := f.srv.Client().Do(f.newRequest(t, http.MethodPost, "/applicationTemplates/"+NonGalleryTemplateID+"/instantiate", `{"displayName":"idpctl-tmp-2"}`))
	if err == nil {
		t.Fatal("aborted response reached the client")
	}

	// The answer never comes: the client gives up.
	f.tenant.AddFaultRule(FaultRule{Kind: HangResponse, Method: http.MethodPost, Path: instantiate, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = f.srv.Client().Do(f.newRequest(t, http.MethodPost, "/applicationTemplates/"+NonGalleryTemplateID+"/instantiate", `{"displayName":"idpctl-tmp-3"}`).WithContext(ctx))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hanging response: %v", err)
	}
	var created []string
	for _, a := range f.tenant.Applications() {
		created = append(created, a.DisplayName)
	}
	if strings.Join(created, ",") != "idpctl-tmp-1,idpctl-tmp-2,idpctl-tmp-3" {
		t.Errorf("applications %v: every lost answer still created its app", created)
	}
	dropped := 0
	for _, rec := range f.tenant.Requests() {
		if rec.Dropped {
			dropped++
		}
	}
	if dropped != 3 {
		t.Errorf("%d requests logged as dropped, want 3", dropped)
	}
}

func TestLatency(t *testing.T) {
	f := newFixture(t, Options{Faults: Faults{Latency: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := f.srv.Client().Do(f.newRequest(t, http.MethodGet, "/me", "").WithContext(ctx))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a request under an hour of latency finished: %v", err)
	}
	if got := f.tenant.CurrentFaults().Latency; got != time.Hour {
		t.Errorf("latency %v", got)
	}
	f.tenant.SetFaults(Faults{})
	f.must(http.StatusOK, f.get("/me"))
}

func (f *fixture) newRequest(t *testing.T, method, path, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+"/v1.0"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.token)
	req.Header.Set("Content-Type", "application/json")
	return req
}

// WaitIdle returns only once every request the tenant received has been carried out and logged, however slowly
// it is answered.
func TestWaitIdleWaitsForRequestsInFlight(t *testing.T) {
	f := newFixture(t, Options{Faults: Faults{Latency: 200 * time.Millisecond}})
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		f.get("/organization")
	}()
	for f.tenant.handling.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.tenant.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.tenant.Requests()); n != 1 {
		t.Errorf("%d requests logged once idle, want the one in flight", n)
	}
	<-answered
}
