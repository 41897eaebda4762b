package graph

import (
	"context"
	"strings"
	"testing"
)

// TestListingStopsWhenAPageLinksBack: a page whose @odata.nextLink leads back to a page already read ends the
// listing with an error, instead of reading the same pages until the run's deadline (found by FuzzGraphAnswers).
func TestListingStopsWhenAPageLinksBack(t *testing.T) {
	f := newFakeGraph(t)
	first := f.srv.URL + "/v1.0/groups/" + groupID + "/members/graph.user?$select=" + userSelect + "&$top=999&$skiptoken=A"
	second := f.srv.URL + "/v1.0/groups/" + groupID + "/members/graph.user?$select=" + userSelect + "&$top=999&$skiptoken=B"
	f.plan = []stub{
		{method: "GET", path: "/groups/" + groupID + "/members/graph.user", query: q("$select", userSelect, "$top", "999"),
			resp: `{"@odata.nextLink":"` + first + `","value":[` + adeleJSON + `]}`},
		{method: "GET", path: "/groups/" + groupID + "/members/graph.user", query: q("$select", userSelect, "$top", "999", "$skiptoken", "A"),
			resp: `{"@odata.nextLink":"` + second + `","value":[` + alexJSON + `]}`},
		{method: "GET", path: "/groups/" + groupID + "/members/graph.user", query: q("$select", userSelect, "$top", "999", "$skiptoken", "B"),
			resp: `{"@odata.nextLink":"` + first + `","value":[]}`},
	}
	c, _ := newTestClient(t, f)
	_, err := c.ListGroupMembers(context.Background(), groupID)
	if err == nil || !strings.Contains(err.Error(), "linked back to a page already read") {
		t.Fatalf("err = %v, want the listing stopped at the repeated link", err)
	}
}
