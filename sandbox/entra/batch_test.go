package entra

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func responsesByID(t *testing.T, r reply) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, v := range r.json(t)["responses"].([]any) {
		m := v.(map[string]any)
		out[m["id"].(string)] = m
	}
	return out
}

func TestBatch(t *testing.T) {
	f := newFixture(t, Options{})
	_, sp := f.instantiate("Batched")
	spID := sp["id"].(string)
	app := f.tenant.Applications()[0]
	graphID := f.tenant.ServicePrincipals()[0].ID
	json := map[string]string{"Content-Type": "application/json"}
	batch := map[string]any{"requests": []map[string]any{
		{"id": "patch", "method": "PATCH", "url": "/applications/" + app.ID, "headers": json,
			"body": map[string]any{"web": map[string]any{"redirectUris": []string{"https://api.smallstep.com/auth/openid/callback"}}}},
		{"id": "secret", "method": "POST", "url": "/applications/" + app.ID + "/addPassword", "headers": json, "body": map[string]any{}, "dependsOn": []string{"patch"}},
		{"id": "grant", "method": "POST", "url": "/oauth2PermissionGrants", "headers": json,
			"body": map[string]any{"clientId": spID, "consentType": "AllPrincipals", "resourceId": graphID, "scope": "openid profile email"}},
		{"id": "assign", "method": "POST", "url": "/servicePrincipals/" + spID + "/appRoleAssignedTo", "headers": json,
			"body": map[string]any{"principalId": f.demo.Users[0].ID, "resourceId": spID, "appRoleId": "00000000-0000-0000-0000-00000000dead"}},
		{"id": "after-assign", "method": "GET", "url": "/servicePrincipals/" + spID + "/appRoleAssignedTo", "dependsOn": []string{"assign"}},
		{"id": "count", "method": "GET", "url": "/users/$count", "headers": map[string]string{"ConsistencyLevel": "eventual"}},
		{"id": "search", "method": "GET", "url": `/users?$search="displayName:adele"`},
	}}
	byID := responsesByID(t, f.must(http.StatusOK, f.request(http.MethodPost, "/$batch", batch)))
	want := map[string]int{"patch": 204, "secret": 200, "grant": 201, "assign": 400, "after-assign": 424, "count": 200, "search": 400}
	for id, status := range want {
		if got := byID[id]["status"]; got != float64(status) {
			t.Errorf("request %s: status %v, want %d (%v)", id, got, status, byID[id]["body"])
		}
	}
	if byID["count"]["body"] != "6" {
		t.Errorf("$count in a batch answered %v", byID["count"]["body"])
	}
	if e := byID["search"]["body"].(map[string]any)["error"].(map[string]any); e["code"] != "Request_UnsupportedQuery" {
		t.Errorf("search without ConsistencyLevel inside the batch: %v", e)
	}
	if len(f.tenant.Applications()[0].RedirectURIs) != 1 || len(f.tenant.PermissionGrants()) != 1 {
		t.Error("batched writes did not land")
	}
	inner := 0
	for _, rec := range f.tenant.Requests() {
		if rec.InBatch {
			inner++
		}
	}
	if inner != 6 { // the failed dependency never ran
		t.Errorf("%d inner requests logged, want 6", inner)
	}
	if f.tenant.WriteCount() != 5 {
		t.Errorf("WriteCount %d, want instantiate and the 4 inner writes, not the envelope", f.tenant.WriteCount())
	}
}

func TestBatchLimitsAndFaults(t *testing.T) {
	f := newFixture(t, Options{})
	var many []map[string]any
	for i := range 21 {
		many = append(many, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/me"})
	}
	wantError(t, f.request(http.MethodPost, "/$batch", map[string]any{"requests": many}), http.StatusBadRequest, "BadRequest", "")
	f.must(http.StatusOK, f.request(http.MethodPost, "/$batch", map[string]any{"requests": many[:20]}))

	wantError(t, f.request(http.MethodPost, "/$batch", map[string]any{"requests": []map[string]any{
		{"id": "1", "method": "POST", "url": "/applications", "body": map[string]any{"displayName": "x"}}}}),
		http.StatusBadRequest, "BadRequest", "Write request id : 1 does not contain Content-Type header or body.")
	wantError(t, f.request(http.MethodPost, "/$batch", map[string]any{"requests": []map[string]any{
		{"id": "a", "method": "GET", "url": "/me"}, {"id": "A", "method": "GET", "url": "/me"}}}),
		http.StatusBadRequest, "BadRequest", "Request Id A has to be unique in a batch.")
	wantError(t, f.request(http.MethodPost, "/$batch", map[string]any{"requests": []map[string]any{}}),
		http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
	wantError(t, f.request(http.MethodPost, "/$batch", map[string]any{"requests": []map[string]any{
		{"id": "1", "method": "GET", "url": "/me", "dependsOn": []string{"2"}}, {"id": "2", "method": "GET", "url": "/me", "dependsOn": []string{"1"}}}}),
		http.StatusBadRequest, "BadRequest", "")

	// Inner requests meet the same fault rules and authentication.
	f.tenant.AddFaultRule(FaultRule{Kind: Throttle, Method: http.MethodGet, Path: "/organization", Times: 1, RetryAfter: 4 * time.Second})
	byID := responsesByID(t, f.must(http.StatusOK, f.request(http.MethodPost, "/$batch", map[string]any{"requests": []map[string]any{
		{"id": "org", "method": "GET", "url": "/organization"}, {"id": "me", "method": "GET", "url": "/me"}}})))
	if byID["org"]["status"] != float64(429) || byID["org"]["headers"].(map[string]any)["Retry-After"] != "4" {
		t.Errorf("throttled inner request %v", byID["org"])
	}
	if byID["me"]["status"] != float64(200) {
		t.Errorf("other inner request %v", byID["me"])
	}
	wantError(t, f.request(http.MethodPost, "/$batch", map[string]any{"requests": many[:1]}, "Authorization", ""),
		http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
}
