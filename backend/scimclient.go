package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/idpctl/idpctl/clock"
	"github.com/idpctl/idpctl/secret"
)

// scimClient sends GETs to a SCIM endpoint the way Entra's provisioning service does.
type scimClient struct {
	http  *http.Client
	base  *url.URL // path without a trailing slash; query without Entra's own flags
	token secret.Value
	pacer pacer
}

// entraFlags are query parameters of a tenant URL that Entra reads as feature flags (ENTRA
// application-provisioning-config-problem-scim-compatibility.md; MicrosoftDocs/azure-docs#73841). That Entra strips
// them before calling the endpoint is a guess (UNVERIFIED); it is the only reading under which such URLs work with
// servers that reject unknown parameters.
var entraFlags = []string{"aadOptscim062020", "AzureAdScimPatch062020", "AzureAdScimPatch2017"}

func newSCIMClient(client *http.Client, clk clock.Clock, scim SCIM) (*scimClient, error) {
	if err := checkSCIMURL("the SCIM URL", scim.BaseURL); err != nil {
		return nil, &SCIMError{Kind: KindInvalidURL, Request: "SCIM URL", Cause: err.Error()}
	}
	if err := ValidateToken("the SCIM token", scim.Token); err != nil {
		return nil, &SCIMError{Kind: KindUnauthorized, Request: "SCIM token", Cause: err.Error()}
	}
	base, _ := url.Parse(scim.BaseURL) // checked above
	base.Path = strings.TrimRight(base.Path, "/")
	base.RawPath = ""
	var kept []string
	for _, part := range strings.Split(base.RawQuery, "&") {
		name, _, _ := strings.Cut(part, "=")
		if part != "" && !isEntraFlag(name) {
			kept = append(kept, part)
		}
	}
	base.RawQuery = strings.Join(kept, "&")
	base.ForceQuery = false
	return &scimClient{http: withoutRedirects(client), base: base, token: scim.Token, pacer: pacer{clock: clk}}, nil
}

func isEntraFlag(name string) bool {
	for _, f := range entraFlags {
		if strings.EqualFold(name, f) {
			return true
		}
	}
	return false
}

// url joins the base with the path segments of a resource ("Users"; "Groups", id) and an encoded query.
func (c *scimClient) url(query string, segments ...string) string {
	u := withPath(c.base, segments...)
	switch {
	case u.RawQuery == "":
		u.RawQuery = query
	case query != "":
		u.RawQuery += "&" + query
	}
	return u.String()
}

// filterQuery encodes a filter as Entra does: `filter=userName+eq+%22value%22` (spaces as +, quotes as %22).
func filterQuery(attribute, value string) string {
	return "filter=" + url.QueryEscape(attribute+` eq "`+escapeFilterValue(value)+`"`)
}

// escapeFilterValue escapes a SCIM filter string literal (RFC 7644 §3.4.2.2 uses JSON string syntax).
func escapeFilterValue(v string) string {
	b, _ := json.Marshal(v)
	return string(b[1 : len(b)-1])
}

// get sends one GET. Transport failures come back as *SCIMError; any HTTP answer is returned for the caller.
func (c *scimClient) get(ctx context.Context, target string) (*response, error) {
	resp, err := c.pacer.do(ctx, c.http, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
		req.Header.Set("Accept", "application/scim+json, application/json")
		return req, nil
	})
	if err != nil {
		kind, cause, fix := describeTransportError(err, c.base.Host)
		return nil, &SCIMError{Kind: kind, Request: "GET " + target, Cause: c.scrub(cause), Fix: fix, Err: err}
	}
	// Scrubbed once here, before any excerpt of it is cut, so no part of the token can reach a message.
	resp.Body = []byte(c.scrub(string(resp.Body)))
	return resp, nil
}

func (c *scimClient) scrub(text string) string { return secret.Scrub(text, c.token) }

// failure builds an error about an answer, scrubbing the server's words of the token.
func (c *scimClient) failure(kind ErrorKind, target string, resp *response, cause, fix string) *SCIMError {
	status := 0
	if resp != nil {
		status = resp.Status
	}
	return &SCIMError{Kind: kind, Request: "GET " + target, Status: status, Cause: c.scrub(cause), Fix: c.scrub(fix)}
}

// statusError explains an answer other than 200. notFound is the fix for a 404, which depends on what was asked.
func (c *scimClient) statusError(target string, resp *response, notFound string) *SCIMError {
	s := resp.Status
	said := statusText(s) + detail(resp)
	switch {
	case s == http.StatusUnauthorized:
		return c.failure(KindUnauthorized, target, resp, "the endpoint rejected the SCIM token ("+said+")",
			"copy the secret token from your SaaS again (it may have been regenerated or pasted incompletely); Entra would quarantine the job")
	case s == http.StatusForbidden:
		return c.failure(KindUnauthorized, target, resp, "the endpoint refused access with this SCIM token ("+said+")",
			"use a token your SaaS issued for SCIM provisioning; Entra would quarantine the job")
	case s == http.StatusNotFound:
		return c.failure(KindNotFound, target, resp, "the endpoint answered "+said, notFound)
	case s >= 300 && s < 400:
		loc := resp.Header.Get("Location")
		if loc == "" {
			loc = "(no Location header)"
		}
		// That Entra does not follow redirects is a guess (UNVERIFIED): no Microsoft source says either way.
		return c.failure(KindRedirect, target, resp, fmt.Sprintf("the endpoint answered %s, a redirect to %s", statusText(s), loc),
			"set the SCIM URL to the address it redirects to: Entra's provisioning service is not documented to follow redirects, and idpctl does not send the token on")
	case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
		return c.failure(KindThrottled, target, resp, "the endpoint kept answering "+said, "wait a few minutes and run again")
	case s >= 500:
		return c.failure(KindServerError, target, resp, "the endpoint failed with "+said, "check the SaaS's status or logs and run again")
	default:
		return c.failure(KindUnexpectedStatus, target, resp, "the endpoint answered "+said+" where a SCIM server answers 200",
			"check that the URL is the SCIM base URL your SaaS gave you")
	}
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprint(code)
}

// detail quotes what an error answer says (a SCIM error's detail, any JSON message, an HTML page's title).
func detail(resp *response) string { return colon(readProblem(string(resp.Body)).message) }

var titlePattern = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

func htmlTitle(body []byte) string {
	m := titlePattern.FindSubmatch(body)
	if m == nil {
		return ""
	}
	return oneLine(string(m[1]))
}

// oneLine shortens foreign text to one line of at most 200 characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// isJSONType accepts the media types a SCIM answer may carry.
func isJSONType(ct string) bool {
	return ct == "application/scim+json" || ct == "application/json"
}

// listResponse is a SCIM ListResponse (RFC 7644 §3.4.2).
type listResponse struct {
	Schemas      []string          `json:"schemas"`
	TotalResults *int              `json:"totalResults"`
	StartIndex   int               `json:"startIndex"`
	ItemsPerPage int               `json:"itemsPerPage"`
	Resources    []json.RawMessage `json:"Resources"`
}

const listResponseSchema = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

func (l listResponse) hasSchema() bool {
	for _, s := range l.Schemas {
		if strings.EqualFold(s, listResponseSchema) {
			return true
		}
	}
	return false
}

// decodeList reads a 200 answer as a ListResponse, or says why it is none.
func (c *scimClient) decodeList(target string, resp *response) (listResponse, error) {
	var l listResponse
	if err := c.decodeJSON(target, resp, &l); err != nil {
		return l, err
	}
	if l.TotalResults == nil {
		return l, c.failure(KindNotListResponse, target, resp, "the answer is JSON but not a SCIM ListResponse (it has no totalResults)",
			"check that the URL is the SCIM base URL, to which /Users and /Groups are appended")
	}
	return l, nil
}

// decodeJSON reads a 200 answer's JSON body into v, or explains why the answer is not from a SCIM server.
func (c *scimClient) decodeJSON(target string, resp *response, v any) error {
	ct := resp.contentType()
	err := json.Unmarshal(resp.Body, v)
	switch {
	case ct == "text/html" || err != nil && htmlTitle(resp.Body) != "":
		return c.failure(KindNotSCIM, target, resp, "the answer is "+htmlPage(resp.Body)+", not SCIM JSON",
			"this is not a SCIM endpoint (often a login page or the SaaS's website): use the SCIM URL your SaaS gave you")
	case err != nil:
		what := "JSON"
		if ct != "" && !isJSONType(ct) {
			what = "JSON (Content-Type " + ct + ")"
		}
		return c.failure(KindNotSCIM, target, resp, "the answer is not "+what+" but "+describeBody(resp.Body),
			"this is not a SCIM endpoint: use the SCIM URL your SaaS gave you")
	}
	return nil
}

func describeBody(body []byte) string {
	if len(strings.TrimSpace(string(body))) == 0 {
		return "empty"
	}
	return fmt.Sprintf("%q", oneLine(string(body[:min(len(body), 80)])))
}
