package graph

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/secret"
)

// cannedGraph answers every request with the same status, headers and body.
type cannedGraph struct {
	status int
	header http.Header
	body   []byte
}

func (c cannedGraph) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: c.status, Header: c.header.Clone(), Body: io.NopCloser(strings.NewReader(string(c.body))),
		ContentLength: int64(len(c.body)), Request: req}, nil
}

func fuzzGraphStatus(n uint16) int {
	statuses := []int{200, 200, 200, 201, 204, 400, 401, 403, 404, 409, 429, 500, 503, 504}
	return statuses[int(n)%len(statuses)]
}

// FuzzGraphAnswers: whatever Graph answers (status, Content-Type, Retry-After, body), a read returns a result or
// an error, without a panic and without running on: a page that links to itself ends the listing.
func FuzzGraphAnswers(f *testing.F) {
	for _, s := range []struct {
		status      uint16
		contentType string
		retryAfter  string
		body        string
	}{
		{0, "application/json", "", `{"id":"a1","appId":"b2","displayName":"Smallstep","tags":["idpctl"]}`},
		{0, "application/json", "", `{"value":[{"id":"a1"},{"id":null}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/applications?$skiptoken=x"}`},
		{0, "application/json", "", `{"value":[1,"x",null,{"id":{"x":1}}]}`},
		{0, "application/json", "", `{"value":null}`},
		{5, "application/json", "", `{"error":{"code":"BadRequest","message":"` + testToken + `","innerError":{"date":"x","request-id":7}}}`},
		{7, "application/json", "", `{"error":null}`},
		{10, "application/json", "NaN", `{"error":{"code":"TooManyRequests"}}`},
		{10, "text/html", "Wed, 21 Oct 2015 07:28:00 GMT", `<html>busy</html>`},
		{12, "", "99999999999", ``},
		{0, "application/xml", "", `<feed/>`},
		{0, "application/json", "", `{"@odata.context":"x","value":[{"activityDateTime":"not a time","statusInfo":{"status":"failure"}}]}`},
	} {
		f.Add(s.status, s.contentType, s.retryAfter, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status uint16, contentType, retryAfter string, body []byte) {
		header := http.Header{}
		if contentType != "" {
			header.Set("Content-Type", contentType)
		}
		if retryAfter != "" {
			header.Set("Retry-After", retryAfter)
		}
		clock := newFakeClock()
		c, err := New(Config{
			BaseURL:    "https://graph.microsoft.com/v1.0",
			Credential: StaticToken(secret.New(testToken)),
			HTTPClient: &http.Client{Transport: cannedGraph{status: fuzzGraphStatus(status), header: header, body: body}},
			Clock:      clock, MaxAttempts: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		var errs []error
		_, err = c.GetApplication(ctx, "a1")
		errs = append(errs, err)
		_, err = c.FindApplications(ctx, ApplicationQuery{DisplayName: "Smallstep"})
		errs = append(errs, err)
		_, err = c.ListGroupMembers(ctx, "g1")
		errs = append(errs, err)
		_, err = c.ListProvisioningEvents(ctx, ProvisioningQuery{JobID: "scim.x"})
		errs = append(errs, err)
		_, err = c.GetSyncSchema(ctx, "sp", "job")
		errs = append(errs, err)
		if ctx.Err() != nil {
			t.Fatalf("the reads ran until the deadline (%v)", time.Since(start))
		}
		for _, err := range errs {
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Fatalf("an error repeats the access token: %v", err)
			}
		}
		for _, d := range clock.Sleeps() {
			if d < 0 {
				t.Fatalf("a negative wait %v (Retry-After %q)", d, retryAfter)
			}
		}
	})
}

// FuzzParseTokenClaims: any string given as an access token (IDPCTL_ACCESS_TOKEN) is read or refused without a
// panic.
func FuzzParseTokenClaims(f *testing.F) {
	for _, s := range []string{testToken, "a.b.c", "..", "x", "eyJ.eyJleHAiOiJ4In0.x", "a.eyJleHAiOjFlOTk5fQ.c", "a.eyJyb2xlcyI6InN0cmluZyJ9.c", "a.bnVsbA.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		ParseTokenClaims(token)
		if exp := jwtExpiry(token); !exp.IsZero() && exp.Before(time.Unix(0, 0)) {
			t.Fatalf("jwtExpiry(%q) = %v", token, exp)
		}
	})
}
