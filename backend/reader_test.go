package backend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func seededSCIM() *fakeSCIM {
	return &fakeSCIM{
		prefix: "/scim",
		users: []map[string]any{
			{
				"id": "u1", "userName": "ada@contoso.com", "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "active": true,
				"displayName": "Ada Lovelace", "name": map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
				"emails": []any{map[string]any{"type": "other", "value": "ada@home.example"}, map[string]any{"type": "work", "value": "ada@contoso.com", "primary": true}},
			},
			// Entra's default PATCH sends active as the string "False", and servers that keep values as sent return it so.
			{"id": "u2", "userName": "grace@contoso.com", "externalId": "ext-grace", "active": "False", "emails": []any{map[string]any{"value": "grace@contoso.com", "primary": "True"}}},
			{"id": "u3", "userName": "alan@contoso.com", "externalId": "ext-alan", "active": "true"},
			{"id": "u4", "userName": "edsger@contoso.com", "externalId": `odd "quoted" id`},
		},
		groups: []map[string]any{
			{"id": "g1", "displayName": "Smallstep Users", "externalId": "grp-1", "members": []any{
				map[string]any{"value": "u1", "display": "Ada Lovelace"}, map[string]any{"value": "u2"},
			}},
		},
	}
}

func newTestReader(t *testing.T, fake *fakeSCIM) (*Reader, *httptest.Server) {
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	r, err := NewReader(srv.Client(), nil, scimOf(srv.URL+"/scim"))
	if err != nil {
		t.Fatal(err)
	}
	return r, srv
}

func TestReaderFindsUsers(t *testing.T) {
	fake := seededSCIM()
	r, _ := newTestReader(t, fake)
	ctx := context.Background()

	ada, err := r.FindUserByExternalID(ctx, "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")
	if err != nil {
		t.Fatal(errText(t, err))
	}
	want := SCIMUser{ID: "u1", UserName: "ada@contoso.com", ExternalID: "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", Active: true,
		DisplayName: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace", WorkEmail: "ada@contoso.com"}
	if ada == nil || *ada != want {
		t.Errorf("FindUserByExternalID = %+v\nwant %+v", ada, want)
	}
	last := fake.received()[len(fake.received())-1]
	if last.Path != "/scim/Users" || last.RawQuery != "filter=externalId+eq+%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22" {
		t.Errorf("request = %s?%s", last.Path, last.RawQuery)
	}
	if last.Header.Get("Authorization") != "Bearer "+scimToken {
		t.Error("no bearer token sent")
	}

	grace, err := r.FindUserByUserName(ctx, "GRACE@contoso.com")
	if err != nil || grace == nil || grace.ID != "u2" || grace.Active || grace.WorkEmail != "grace@contoso.com" {
		t.Errorf("FindUserByUserName = %+v, %v; want u2, inactive, primary email", grace, err)
	}
	if alan, err := r.FindUserByUserName(ctx, "alan@contoso.com"); err != nil || alan == nil || !alan.Active {
		t.Errorf(`active "true" read as %+v, %v`, alan, err)
	}

	edsger, err := r.FindUserByExternalID(ctx, `odd "quoted" id`)
	if err != nil || edsger == nil || edsger.ID != "u4" || !edsger.Active {
		t.Errorf("quoted value: %+v, %v (a user without active counts as active)", edsger, err)
	}
	last = fake.received()[len(fake.received())-1]
	if last.RawQuery != "filter=externalId+eq+%22odd+%5C%22quoted%5C%22+id%22" {
		t.Errorf("quoted value sent as %s", last.RawQuery)
	}

	assertNoSecret(t, fmt.Sprintf("%v %+v %#v", r, r, r))

	nobody, err := r.FindUserByExternalID(ctx, "not-there")
	if nobody != nil || err != nil {
		t.Errorf("missing user = %+v, %v; want nil, nil", nobody, err)
	}
}

func TestReaderGroups(t *testing.T) {
	fake := seededSCIM()
	r, _ := newTestReader(t, fake)
	ctx := context.Background()

	g, err := r.FindGroupByDisplayName(ctx, "smallstep users")
	if err != nil || g == nil || *g != (SCIMGroup{ID: "g1", DisplayName: "Smallstep Users", ExternalID: "grp-1"}) {
		t.Fatalf("FindGroupByDisplayName = %+v, %v", g, err)
	}
	last := fake.received()[len(fake.received())-1]
	if last.RawQuery != "excludedAttributes=members&filter=displayName+eq+%22smallstep+users%22" {
		t.Errorf("group lookup sent %s", last.RawQuery)
	}
	if g, err := r.FindGroupByExternalID(ctx, "grp-1"); err != nil || g == nil || g.ID != "g1" {
		t.Errorf("FindGroupByExternalID = %+v, %v", g, err)
	}

	members, err := r.GroupMembers(ctx, "g1")
	if err != nil {
		t.Fatal(errText(t, err))
	}
	if len(members) != 2 || members[0] != (GroupMember{ID: "u1", Display: "Ada Lovelace"}) || members[1] != (GroupMember{ID: "u2"}) {
		t.Errorf("GroupMembers = %+v", members)
	}
	last = fake.received()[len(fake.received())-1]
	if last.Path != "/scim/Groups/g1" {
		t.Errorf("members read from %s", last.Path)
	}

	_, err = r.GroupMembers(ctx, "nope")
	var se *SCIMError
	if !errors.As(err, &se) || se.Kind != KindNotFound || !strings.Contains(se.Error(), `there is no group with id "nope"`) {
		t.Errorf("unknown group: %v", err)
	}
}

func TestReaderPages(t *testing.T) {
	fake := seededSCIM()
	fake.pageSize = 1
	r, _ := newTestReader(t, fake)
	users, err := r.Users(context.Background())
	if err != nil {
		t.Fatal(errText(t, err))
	}
	var ids []string
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	if strings.Join(ids, ",") != "u1,u2,u3,u4" {
		t.Errorf("users = %v", ids)
	}
	var queries []string
	for _, req := range fake.received() {
		queries = append(queries, req.RawQuery)
	}
	if strings.Join(queries, " ") != " startIndex=2 startIndex=3 startIndex=4" {
		t.Errorf("queries = %q", queries)
	}
}

func TestReaderErrors(t *testing.T) {
	list := func(total int, resources string) http.HandlerFunc {
		return answer(200, "application/scim+json", `{"schemas":["`+listResponseSchema+`"],"totalResults":`+strconv.Itoa(total)+`,"Resources":[`+resources+`]}`)
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		kind    ErrorKind
		want    string
	}{
		{"duplicates", list(2, `{"id":"a","userName":"x@contoso.com","externalId":"e1"},{"id":"b","userName":"y@contoso.com","externalId":"e1"}`),
			KindDuplicate, `2 users have externalId "e1"; remove the duplicates in your SaaS`},
		{"filter ignored", list(1, `{"id":"a","userName":"x@contoso.com","externalId":"other"}`),
			KindFilterIgnored, `returned resources whose externalId is not "e1"`},
		{"bad active", list(1, `{"id":"a","userName":"x@contoso.com","externalId":"e1","active":"maybe"}`),
			KindNotListResponse, `user "x@contoso.com" has active = "maybe", not a boolean`},
		{"token rejected", answer(401, "application/scim+json", `{"detail":"bad token `+scimToken+`"}`),
			KindUnauthorized, "rejected the SCIM token (401 Unauthorized: bad token [redacted])"},
		{"not found", answer(404, "text/plain", "nope"),
			KindNotFound, "base path is probably wrong"},
		{"html", answer(200, "text/html", "<html><title>Login</title></html>"),
			KindNotSCIM, `HTML page titled "Login"`},
		{"start index ignored", func(w http.ResponseWriter, r *http.Request) {
			scimJSON(w, 200, map[string]any{"totalResults": 2, "startIndex": 1, "Resources": []any{map[string]any{"id": "a", "userName": "x", "externalId": "e1"}}})
		}, KindNotListResponse, "asked for results from 2, the endpoint answered from 1"},
		{"start index ignored silently", func(w http.ResponseWriter, r *http.Request) {
			scimJSON(w, 200, map[string]any{"totalResults": 2, "Resources": []any{map[string]any{"id": "a", "userName": "x", "externalId": "e1"}}})
		}, KindNotListResponse, `resource "a" came twice while paging`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			r, err := NewReader(srv.Client(), nil, scimOf(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(tt.name, "start index ignored") {
				_, err = r.Users(context.Background())
			} else {
				_, err = r.FindUserByExternalID(context.Background(), "e1")
			}
			var se *SCIMError
			if !errors.As(err, &se) || se.Kind != tt.kind {
				t.Fatalf("err = %v, want kind %s", err, tt.kind)
			}
			if msg := errText(t, err); !strings.Contains(msg, tt.want) {
				t.Errorf("err = %q\nwant it to contain %q", msg, tt.want)
			}
		})
	}
}

func TestNewReaderChecksInput(t *testing.T) {
	_, err := NewReader(nil, nil, scimOf("http://scim.example.com"))
	var se *SCIMError
	if !errors.As(err, &se) || se.Kind != KindInvalidURL {
		t.Errorf("err = %v", err)
	}
}
