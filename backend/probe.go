package backend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/idpctl/idpctl/clock"
)

// ProbeReport is what Probe found, request by request. It never holds the token.
type ProbeReport struct {
	BaseURL         string
	TLSVersion      string // e.g. "TLS 1.3"; empty for plain http or when no answer came
	Checks          []ProbeCheck
	ServiceProvider *ServiceProviderConfig // nil when the endpoint did not describe itself
	Warnings        []string               // findings that do not stop Entra from provisioning
	// RefusesStringBooleans says the endpoint refused a filter comparing active with the string "False" but
	// took it with false: the mark of a strict SCIM 2.0 server, which also refuses the "active": "False" Entra's
	// default dialect disables users with (see idpctl's --scim-compliant).
	RefusesStringBooleans bool
}

// ProbeCheck is one request of the probe.
type ProbeCheck struct {
	Name        string // "user filter", "service provider config" or "group filter"
	Request     string // method and URL
	Status      int    // 0 when no answer came
	ContentType string
	Result      CheckResult
	Problem     string // what is wrong, empty when the result is CheckOK
}

// CheckResult is the outcome of one probe request.
type CheckResult string

// Check results. A warning does not keep Entra from provisioning.
const (
	CheckOK      CheckResult = "ok"
	CheckWarning CheckResult = "warning"
	CheckFailed  CheckResult = "failed"
)

// ServiceProviderConfig is the part of /ServiceProviderConfig (RFC 7643 §5) that matters to Entra.
type ServiceProviderConfig struct {
	PatchSupported        bool
	FilterSupported       bool
	FilterMaxResults      int
	BulkSupported         bool
	AuthenticationSchemes []string
}

// Probe calls the SCIM endpoint the way Entra's "Test Connection" and every provisioning run do
// (ENTRA use-scim-to-provision-users-and-groups.md; AzureAD/SCIMReferenceCode#63): a user filter for a random GUID
// that must answer 200 with an empty ListResponse, the same for groups, and, for information,
// /ServiceProviderConfig. It stops at the first failure and returns a *SCIMError that says what is wrong and how to
// fix it, with the report so far.
func Probe(ctx context.Context, client *http.Client, clk clock.Clock, scim SCIM) (ProbeReport, error) {
	report := ProbeReport{BaseURL: scim.BaseURL}
	c, err := newSCIMClient(client, clk, scim)
	if err != nil {
		return report, err
	}
	if err := c.probeFilter(ctx, &report, "user filter", "Users", "userName",
		"Entra appends /Users to the SCIM URL, so the base path is probably wrong (and Entra quarantines a job whose filter answers 404): use the exact SCIM URL your SaaS gave you"); err != nil {
		return report, err
	}
	c.probeServiceProviderConfig(ctx, &report)
	if err := c.probeFilter(ctx, &report, "group filter", "Groups", "displayName",
		"the endpoint has no /Groups: Entra's default mappings provision groups, and it quarantines a job whose filter answers 404; ask your SaaS about group support"); err != nil {
		return report, err
	}
	c.probeStringBooleans(ctx, &report)
	return report, nil
}

// probeStringBooleans finds out, without changing anything, whether the endpoint is strict about booleans: it
// asks for a user that cannot exist and is inactive, comparing active with the string "False" as Entra's default
// dialect writes it, and, if that is refused, the same with the JSON boolean false. A lenient server answers the
// first with an empty list; a strict one refuses it (400) and answers the second. A server that refuses both does
// not take such a filter at all, which says nothing. Entra sends neither request; the answer only informs the
// suggestion to use the compliant dialect.
func (c *scimClient) probeStringBooleans(ctx context.Context, report *ProbeReport) {
	guid := uuid.NewString()
	ask := func(active string) (ProbeCheck, bool) {
		target := c.url("filter="+url.QueryEscape(`userName eq "`+guid+`" and active eq `+active), "Users")
		check := ProbeCheck{Name: "string boolean filter", Request: "GET " + target, Result: CheckOK}
		resp, err := c.get(ctx, target)
		if err != nil {
			return check, false // not worth a warning: the checks Entra needs passed
		}
		check.Status, check.ContentType = resp.Status, resp.Header.Get("Content-Type")
		return check, true
	}
	asString, ok := ask(`"False"`)
	if !ok || asString.Status != http.StatusBadRequest {
		if ok && asString.Status == http.StatusOK {
			report.Checks = append(report.Checks, asString)
		}
		return
	}
	if asBoolean, ok := ask("false"); ok && asBoolean.Status == http.StatusOK {
		report.RefusesStringBooleans = true
		asString.Result = CheckWarning
		asString.Problem = `the endpoint refuses "False" as a boolean, but not false, so it will likely refuse Entra's default deactivation ("active": "False")`
		report.Checks = append(report.Checks, asString)
	}
}

// probeFilter asks for a resource whose matching attribute is a random GUID, which must not exist.
func (c *scimClient) probeFilter(ctx context.Context, report *ProbeReport, name, resource, attribute, notFound string) error {
	query := filterQuery(attribute, uuid.NewString())
	if resource == "Groups" {
		// Entra's group lookups leave out members (ENTRA use-scim-to-provision-users-and-groups.md), so a server
		// that cannot must be found out here.
		query = "excludedAttributes=members&" + query
	}
	target := c.url(query, resource)
	check := ProbeCheck{Name: name, Request: "GET " + target, Result: CheckFailed}
	fail := func(err error) error {
		var se *SCIMError
		if errors.As(err, &se) {
			check.Problem = se.Cause
		}
		report.Checks = append(report.Checks, check)
		return err
	}

	resp, err := c.get(ctx, target)
	if err != nil {
		return fail(err)
	}
	check.Status, check.ContentType = resp.Status, resp.Header.Get("Content-Type")
	if report.TLSVersion == "" && resp.TLS != nil {
		report.TLSVersion = tls.VersionName(resp.TLS.Version)
		if resp.TLS.Version < tls.VersionTLS12 {
			report.Warnings = append(report.Warnings, report.TLSVersion+" was negotiated: Entra requires TLS 1.2 or later")
		}
	}
	if resp.Status != http.StatusOK {
		return fail(c.statusError(target, resp, notFound))
	}
	list, err := c.decodeList(target, resp)
	if err != nil {
		return fail(err)
	}
	if n := max(*list.TotalResults, len(list.Resources)); n > 0 {
		return fail(c.failure(KindFilterIgnored, target, resp,
			fmt.Sprintf("the filter for a random GUID returned %d %s, so the endpoint ignores or mishandles filters", n, resource),
			"Entra matches every object with such a filter and would link it to the wrong account: the SaaS must support `"+attribute+" eq \"...\"`"))
	}
	switch ct := resp.contentType(); {
	case ct == "application/scim+json":
	case ct == "":
		report.Warnings = append(report.Warnings, fmt.Sprintf("%s: the answer has no Content-Type; SCIM servers should send application/scim+json", name))
	default:
		report.Warnings = append(report.Warnings, fmt.Sprintf("%s: the answer's Content-Type is %s; SCIM servers should send application/scim+json", name, ct))
	}
	if !list.hasSchema() {
		report.Warnings = append(report.Warnings, fmt.Sprintf("%s: the answer does not list the schema %s", name, listResponseSchema))
	}
	check.Result = CheckOK
	report.Checks = append(report.Checks, check)
	return nil
}

// probeServiceProviderConfig reads what the server says it supports. Entra does not rely on it for custom
// applications, so every problem here is only a warning.
func (c *scimClient) probeServiceProviderConfig(ctx context.Context, report *ProbeReport) {
	target := c.url("", "ServiceProviderConfig")
	check := ProbeCheck{Name: "service provider config", Request: "GET " + target, Result: CheckWarning}
	warn := func(problem string) {
		check.Problem = problem
		report.Checks = append(report.Checks, check)
		report.Warnings = append(report.Warnings, "service provider config: "+problem)
	}
	resp, err := c.get(ctx, target)
	if err != nil {
		var se *SCIMError
		if errors.As(err, &se) && se.Kind == KindCanceled {
			return // the next request reports the cancellation
		}
		warn(fmt.Sprintf("no answer (%v)", err))
		return
	}
	check.Status, check.ContentType = resp.Status, resp.Header.Get("Content-Type")
	if resp.Status == http.StatusNotFound {
		warn("the endpoint has no /ServiceProviderConfig (404); Entra does not need it, but it would tell what the server supports")
		return
	}
	if resp.Status != http.StatusOK {
		warn(c.statusError(target, resp, "").Cause)
		return
	}
	var doc struct {
		Patch  struct{ Supported bool } `json:"patch"`
		Bulk   struct{ Supported bool } `json:"bulk"`
		Filter struct {
			Supported  bool
			MaxResults int `json:"maxResults"`
		} `json:"filter"`
		AuthenticationSchemes []struct {
			Type string `json:"type"`
			Name string `json:"name"`
		} `json:"authenticationSchemes"`
	}
	if err := c.decodeJSON(target, resp, &doc); err != nil {
		var se *SCIMError
		errors.As(err, &se)
		warn(se.Cause)
		return
	}
	spc := &ServiceProviderConfig{
		PatchSupported:   doc.Patch.Supported,
		FilterSupported:  doc.Filter.Supported,
		FilterMaxResults: doc.Filter.MaxResults,
		BulkSupported:    doc.Bulk.Supported,
	}
	for _, s := range doc.AuthenticationSchemes {
		spc.AuthenticationSchemes = append(spc.AuthenticationSchemes, firstNonEmpty(s.Type, s.Name))
	}
	report.ServiceProvider = spc
	check.Result = CheckOK
	report.Checks = append(report.Checks, check)
	if !spc.PatchSupported {
		report.Warnings = append(report.Warnings, "service provider config: the server says it does not support PATCH; Entra sends every user update, deactivation and group membership change as PATCH")
	}
	if !spc.FilterSupported {
		report.Warnings = append(report.Warnings, "service provider config: the server says it does not support filters; Entra finds every user and group with an eq filter")
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// shown is a check's request as a person reads it: the path under the base URL the report starts with, and
// the query unescaped (filter=userName eq "..."), so a line fits a terminal.
func (r ProbeReport) shown(request string) string {
	method, target, ok := strings.Cut(request, " ")
	base, err := url.Parse(r.BaseURL)
	if !ok || err != nil {
		return request
	}
	base.RawQuery, base.ForceQuery = "", false
	rest, found := strings.CutPrefix(target, strings.TrimRight(base.String(), "/"))
	if !found || !strings.HasPrefix(rest, "/") {
		return request
	}
	if unescaped, err := url.QueryUnescape(rest); err == nil {
		rest = unescaped
	}
	return method + " " + rest
}

// String renders the report for people, one line per check and warning.
func (r ProbeReport) String() string {
	out := "SCIM endpoint " + r.BaseURL
	if r.TLSVersion != "" {
		out += " (" + r.TLSVersion + ")"
	}
	out += "\n"
	for _, c := range r.Checks {
		line := fmt.Sprintf("  %-7s %s: %s", c.Result, c.Name, r.shown(c.Request))
		if c.Status != 0 {
			line += fmt.Sprintf(" → %d", c.Status)
		}
		if c.Problem != "" {
			line += " (" + c.Problem + ")"
		}
		out += line + "\n"
	}
	for _, w := range r.Warnings {
		out += "  warning: " + w + "\n"
	}
	return out
}
