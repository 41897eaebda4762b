package cmd

import (
	"strings"
	"testing"
)

// TestRequestsNameIdpctl: a whole setup identifies itself on every Graph request and on every SCIM request it
// sends (the backend registration is checked in backend/useragent_test.go).
func TestRequestsNameIdpctl(t *testing.T) {
	tn := newTenant(t)
	o := tn.run(invocation{}, tn.viaAPI("--non-interactive", "--yes", "--output", "json")...)
	if o.code != 0 {
		t.Fatalf("%v", o)
	}
	product := currentBuild().UserAgent()
	graphRequests := tn.sb.Tenant.Requests()
	for _, r := range graphRequests {
		if r.InBatch {
			continue // its $batch carries the header
		}
		if got := r.Header.Get("User-Agent"); !strings.HasPrefix(got, product) {
			t.Errorf("Graph %s %s: User-Agent %q, want it to start with %q", r.Method, r.Path, got, product)
		}
	}
	// The SaaS also hears from the simulated Entra, whose requests carry no User-Agent, as Entra's do.
	var ours int
	for _, r := range tn.sb.Backend.Requests() {
		switch got := r.Header.Get("User-Agent"); {
		case got == product:
			ours++
		case got != "":
			t.Errorf("SCIM %s %s: User-Agent %q, want %q (or none, from Entra)", r.Method, r.Path, got, product)
		}
	}
	// The probe's three requests and at least one read-back of an arrived user.
	if len(graphRequests) == 0 || ours < 4 {
		t.Errorf("%d Graph requests, %d SCIM requests from idpctl; want some and at least 4", len(graphRequests), ours)
	}
}
