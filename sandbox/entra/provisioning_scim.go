package entra

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/idpctl/idpctl/secret"
)

// This file is the SCIM client side of Entra's provisioning service: how target attribute names become SCIM
// JSON, and the requests in the two dialects of ENTRA use-scim-to-provision-users-and-groups.md and
// application-provisioning-config-problem-scim-compatibility.md (the default one, and the SCIM-compliant one a
// tenant URL containing aadOptscim062020 selects).

const (
	scimUserSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	scimGroupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	scimEnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// scimADGroupSchema is the extra schema Entra puts on group creation (ENTRA
	// use-scim-to-provision-users-and-groups.md "Create Group").
	scimADGroupSchema = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
	scimPatchSchema   = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	scimListSchema    = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	scimContentType   = "application/scim+json"
	// compliantFlag in the tenant URL switches to the RFC-compliant PATCH dialect (ENTRA
	// application-provisioning-config-problem-scim-compatibility.md).
	compliantFlag = "aadoptscim062020"
)

// targetPath is a target attribute name of the customappsso directory taken apart: `userName`,
// `name.givenName`, `emails[type eq "work"].value`, `urn:…:enterprise:2.0:User:department`.
type targetPath struct {
	ext         string // extension schema URN, or "" for core attributes
	attr        string
	filterAttr  string // for attr[filterAttr eq "filterValue"]
	filterValue string
	sub         string
}

func parseTargetPath(name string) targetPath {
	var p targetPath
	rest := name
	if strings.HasPrefix(strings.ToLower(name), "urn:") {
		i := strings.LastIndexByte(name, ':')
		p.ext, rest = name[:i], name[i+1:]
		if strings.HasPrefix(strings.ToLower(p.ext), "urn:ietf:params:scim:schemas:core:") {
			p.ext = ""
		}
	}
	if open := strings.IndexByte(rest, '['); open >= 0 {
		if end := strings.IndexByte(rest[open:], ']'); end > 0 {
			filter := strings.TrimSpace(rest[open+1 : open+end])
			if fields := strings.SplitN(filter, " ", 3); len(fields) == 3 && strings.EqualFold(fields[1], "eq") {
				p.filterAttr = fields[0]
				p.filterValue = strings.Trim(strings.TrimSpace(fields[2]), `"`)
			}
			p.attr = rest[:open]
			p.sub = strings.TrimPrefix(rest[open+end+1:], ".")
			return p
		}
	}
	p.attr, p.sub, _ = strings.Cut(rest, ".")
	return p
}

// filterTyped is a value filter's compare value as JSON: `primary eq "True"` selects a boolean.
func filterTyped(v string) any {
	switch {
	case strings.EqualFold(v, "true"):
		return true
	case strings.EqualFold(v, "false"):
		return false
	}
	return v
}

// set writes v at p into a SCIM resource document.
func (p targetPath) set(doc map[string]any, v any) {
	container := doc
	if p.ext != "" {
		container = childMap(doc, p.ext)
	}
	switch {
	case p.filterAttr != "":
		list, _ := container[p.attr].([]any)
		var elem map[string]any
		for _, e := range list {
			if m, ok := e.(map[string]any); ok && fmt.Sprint(m[p.filterAttr]) == fmt.Sprint(filterTyped(p.filterValue)) {
				elem = m
			}
		}
		if elem == nil {
			elem = map[string]any{p.filterAttr: filterTyped(p.filterValue)}
			if strings.EqualFold(p.attr, "emails") && p.filterValue == "work" {
				// As Entra's create sample has it (ENTRA use-scim-to-provision-users-and-groups.md "Create User").
				elem["primary"] = true
			}
			container[p.attr] = append(list, elem)
		}
		sub := p.sub
		if sub == "" {
			sub = "value"
		}
		elem[sub] = v
	case p.sub != "":
		childMap(container, p.attr)[p.sub] = v
	default:
		container[p.attr] = v
	}
}

// get reads the value at p from a resource a SCIM server returned; names compare case-insensitively, as SCIM
// attribute names do.
func (p targetPath) get(doc map[string]any) (string, bool) {
	container := doc
	if p.ext != "" {
		m, ok := lookupFold(doc, p.ext).(map[string]any)
		if !ok {
			return "", false
		}
		container = m
	}
	raw := lookupFold(container, p.attr)
	switch {
	case p.filterAttr != "":
		list, _ := raw.([]any)
		for _, e := range list {
			m, ok := e.(map[string]any)
			if !ok || !strings.EqualFold(scalarString(lookupFold(m, p.filterAttr)), p.filterValue) {
				continue
			}
			sub := p.sub
			if sub == "" {
				sub = "value"
			}
			v := lookupFold(m, sub)
			return scalarString(v), v != nil
		}
		return "", false
	case p.sub != "":
		m, ok := raw.(map[string]any)
		if !ok {
			return "", false
		}
		v := lookupFold(m, p.sub)
		return scalarString(v), v != nil
	}
	return scalarString(raw), raw != nil
}

func childMap(m map[string]any, key string) map[string]any {
	if c, ok := m[key].(map[string]any); ok {
		return c
	}
	c := map[string]any{}
	m[key] = c
	return c
}

func lookupFold(m map[string]any, name string) any {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// scalarString renders a SCIM value the way Entra compares it: booleans as True/False.
func scalarString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		if v {
			return "True"
		}
		return "False"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

// sameValue compares an exported value with a target's: booleans case-insensitively ("False" sent, false
// stored), everything else exactly.
func sameValue(def targetAttrDef, a, b string) bool {
	if def.boolean {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// scimClient sends one job's SCIM requests to its tenant URL.
type scimClient struct {
	t         *Tenant
	base      string
	bearer    string
	token     secret.Value // the saved SecretToken, only to scrub it from any text that might echo it
	compliant bool
}

// newSCIMClient prepares requests to the job's BaseAddress. The compliant dialect applies when the tenant URL
// carries aadOptscim062020, except for on-demand provisioning, which "currently doesn't work" with the flag
// (ENTRA application-provisioning-config-problem-scim-compatibility.md).
func (t *Tenant) newSCIMClient(base, token string, onDemand bool) (*scimClient, error) {
	bearer, err := t.bearerFor(token)
	if err != nil {
		return nil, err
	}
	return &scimClient{
		t: t, base: base, bearer: bearer, token: secret.New(token),
		compliant: !onDemand && strings.Contains(strings.ToLower(base), compliantFlag),
	}, nil
}

// scimAnswer is a SCIM response.
type scimAnswer struct {
	status int
	body   []byte
}

// exportError is a failed SCIM call as the provisioning logs report it (error codes of ENTRA
// howto-analyze-provisioning-logs.md).
type exportError struct {
	code     string
	reason   string
	category string // provisioningStatusErrorCategory: failure or nonServiceFailure
	status   int
	// transient failures (throttling, 5xx, timeouts) are "retried in 40 minutes" (ENTRA
	// howto-analyze-provisioning-logs.md); the others wait for the escrow schedule of ENTRA
	// application-provisioning-quarantine-status.md.
	transient bool
	// retryAfter is the target's Retry-After on a 429 or 503: the service sends it nothing more before then.
	retryAfter time.Duration
}

func (e *exportError) Error() string { return e.code + ": " + e.reason }

// send makes one SCIM request. A context error (the tenant is closing) is returned as is.
func (c *scimClient) send(ctx context.Context, method, resource, query string, body any) (scimAnswer, error) {
	target, err := scimURL(c.base, resource, query)
	if err != nil {
		return scimAnswer{}, &exportError{code: codeInvalidCredentials, reason: "Please provide a valid tenant URL for your application.", category: "nonServiceFailure"}
	}
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return scimAnswer{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return scimAnswer{}, &exportError{code: codeInvalidCredentials, reason: "Please provide a valid tenant URL for your application.", category: "nonServiceFailure"}
	}
	req.Header.Set("Authorization", "Bearer "+c.bearer)
	req.Header.Set("Accept", scimContentType)
	if body != nil {
		req.Header.Set("Content-Type", scimContentType)
	}
	// Entra's requests carry no User-Agent (as observed in one public report, kortix-ai/suna#7297; not documented);
	// the probe of validateCredentials does the same.
	req.Header.Set("User-Agent", "")
	resp, err := c.t.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return scimAnswer{}, ctx.Err()
		}
		code := "WebExceptionProtocolError"
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			code = "Timeout"
		}
		return scimAnswer{}, &exportError{code: code, transient: true, category: "nonServiceFailure",
			reason: secret.Scrub(fmt.Sprintf("An error occurred while sending the request to %s %s.", method, target), c.token)}
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil && ctx.Err() != nil {
		return scimAnswer{}, ctx.Err()
	}
	answer := scimAnswer{status: resp.StatusCode, body: payload}
	if resp.StatusCode >= 300 {
		xerr := c.classify(answer)
		if xerr.transient {
			xerr.retryAfter = retryAfter(resp.Header, c.t.now())
		}
		return answer, xerr
	}
	return answer, nil
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); 0 when absent or
// unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(secs)*time.Second, 0)
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return 0
}

// classify turns a SCIM error answer into the provisioning logs' error code. Sources: ENTRA
// howto-analyze-provisioning-logs.md (Conflict and EntryConflict, TooManyRequests, InternalServerError,
// Unauthorized, InsufficientRights, InvalidAnchor) and the code observed for a 400
// (SystemForCrossDomainIdentityManagementBadRequest, 1Password/scim-examples#82). The reason follows the observed
// text ("StatusCode: BadRequest Message: Processing of the HTTP request resulted in an exception. … Web Response:
// …").
func (c *scimClient) classify(a scimAnswer) *exportError {
	e := &exportError{status: a.status, category: "nonServiceFailure"}
	switch {
	case a.status == http.StatusBadRequest:
		e.code = "SystemForCrossDomainIdentityManagementBadRequest"
	case a.status == http.StatusUnauthorized:
		e.code = "Unauthorized"
	case a.status == http.StatusForbidden:
		e.code = "InsufficientRights"
	case a.status == http.StatusNotFound:
		e.code = "InvalidAnchor"
	case a.status == http.StatusConflict:
		e.code = "EntryConflict"
	case a.status == http.StatusTooManyRequests:
		e.code, e.transient = "TooManyRequests", true
	case a.status >= 500:
		e.code, e.transient = "InternalServerError", true
	default:
		e.code = "SystemForCrossDomainIdentityManagementServiceIncompatible"
	}
	body := strings.TrimSpace(string(a.body))
	if body == "" {
		body = http.StatusText(a.status)
	}
	e.reason = secret.Scrub(fmt.Sprintf("StatusCode: %s Message: Processing of the HTTP request resulted in an exception. "+
		"Please see the HTTP response returned by the 'Response' property of this exception for details. Web Response: %s",
		statusName(a.status), body), c.token)
	return e
}

func incompatible(what string) *exportError {
	return &exportError{code: "SystemForCrossDomainIdentityManagementServiceIncompatible", category: "nonServiceFailure",
		reason: "The SCIM endpoint is not fully compatible with the Microsoft Entra SCIM client: " + what}
}

// eqFilter is the query Entra sends to look an object up: filter=attr+eq+%22value%22
// (AzureAD/SCIMReferenceCode#63). The value goes in as it is: "Microsoft Entra ID currently can't perform filter
// queries on values containing special characters. Therefore a provisioning attempt on a resource (user or group)
// with a special character on filter attributes fails." (ENTRA known-issues.md). Which characters fail is not
// documented; that a quote or backslash is sent unescaped, so the target refuses the filter, is our reading
// (UNVERIFIED).
func eqFilter(attr, value string) string {
	return "filter=" + url.QueryEscape(attr+` eq "`+value+`"`)
}

// probe is the query for an object that cannot exist that starts every cycle and every on-demand run
// (the same request as Test Connection, AzureAD/SCIMReferenceCode#63 quoting Microsoft support). It answers the
// Graph error Test Connection would.
func (c *scimClient) probe(ctx context.Context, matchAttr string) (probeAnswer, *graphError, error) {
	target, err := scimURL(c.base, "Users", eqFilter(matchAttr, uuid.NewString()))
	if err != nil {
		return probeAnswer{}, newError(http.StatusBadRequest, codeInvalidCredentials, "Please provide a valid tenant URL for your application."), nil
	}
	answer, gerr := c.t.probeOnce(ctx, target, c.bearer)
	if ctx.Err() != nil {
		return probeAnswer{}, nil, ctx.Err()
	}
	if gerr != nil {
		gerr.message = secret.Scrub(gerr.message, c.token)
	}
	return answer, gerr, nil
}

// list decodes a ListResponse.
func list(a scimAnswer) ([]map[string]any, *exportError) {
	var lr struct {
		Schemas   []string         `json:"schemas"`
		Resources []map[string]any `json:"Resources"`
	}
	if err := json.Unmarshal(a.body, &lr); err != nil {
		return nil, incompatible("a query did not answer a SCIM ListResponse.")
	}
	return lr.Resources, nil
}

// find queries Users or Groups by one attribute.
func (c *scimClient) find(ctx context.Context, resource, attr, value string) ([]map[string]any, error) {
	query := eqFilter(attr, value)
	if resource == "Groups" {
		// Groups are read without their members (ENTRA use-scim-to-provision-users-and-groups.md "Get Group by
		// displayName").
		query = "excludedAttributes=members&" + query
	}
	a, err := c.send(ctx, http.MethodGet, resource, query, nil)
	if err != nil {
		return nil, err
	}
	found, lerr := list(a)
	if lerr != nil {
		return nil, lerr
	}
	return found, nil
}

// get reads one resource by id (ENTRA use-scim-to-provision-users-and-groups.md "Get User", "Get Group"; groups
// without their members).
func (c *scimClient) get(ctx context.Context, resource, id string) (map[string]any, error) {
	query := ""
	if resource == "Groups" {
		query = "excludedAttributes=members"
	}
	a, err := c.send(ctx, http.MethodGet, resource+"/"+id, query, nil)
	if err != nil {
		return nil, err
	}
	var found map[string]any
	if json.Unmarshal(a.body, &found) != nil {
		return nil, incompatible("a GET by id did not answer a resource.")
	}
	return found, nil
}

// create POSTs a resource and returns the id the target assigned.
func (c *scimClient) create(ctx context.Context, resource string, doc map[string]any) (string, error) {
	a, err := c.send(ctx, http.MethodPost, resource, "", doc)
	if err != nil {
		return "", err
	}
	var created struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(a.body, &created) != nil || created.ID == "" {
		return "", incompatible("the create answer carried no id.")
	}
	return created.ID, nil
}

// patchOp is one operation of a SCIM PatchOp request.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

func (c *scimClient) patch(ctx context.Context, resource, id string, ops []patchOp) error {
	_, err := c.send(ctx, http.MethodPatch, resource+"/"+id, "", map[string]any{
		"schemas":    []string{scimPatchSchema},
		"Operations": ops,
	})
	return err
}

func (c *scimClient) remove(ctx context.Context, resource, id string) error {
	_, err := c.send(ctx, http.MethodDelete, resource+"/"+id, "", nil)
	return err
}

// op spells an operation in the client's dialect: Add/Replace/Remove by default, lowercase with the flag.
func (c *scimClient) op(name string) string {
	if c.compliant {
		return strings.ToLower(name)
	}
	return strings.ToUpper(name[:1]) + strings.ToLower(name[1:])
}

// attrChange is one attribute whose exported value changes.
type attrChange struct {
	mapping attrMapping
	old     *string // nil: the target has no value
	new     *string // nil: the value goes away (only for attributes whose nulls flow)
}

// wireValue is how a value travels: booleans as the strings "True"/"False" in the default dialect (a Microsoft
// maintainer: "our service sends it as a string today", AzureAD/SCIMReferenceCode#21), as JSON booleans in
// POST bodies and with the flag.
func (c *scimClient) wireValue(def targetAttrDef, v string, inPOST bool) any {
	if def.boolean {
		b := strings.EqualFold(v, "true")
		if inPOST || c.compliant {
			return b
		}
		if b {
			return "True"
		}
		return "False"
	}
	return v
}

// updateOps builds the PATCH operations for changed attributes. Default dialect: one operation per attribute,
// Add when the target had no value and Replace otherwise (ENTRA
// application-provisioning-config-problem-scim-compatibility.md samples). Flag: lowercase operations, and several
// single-valued replacements folded into one path-less replace keyed by path, value-filter paths kept apart (ENTRA
// application-provisioning-config-problem-scim-compatibility.md "Requests to replace multiple attributes").
func (c *scimClient) updateOps(changes []attrChange) []patchOp {
	var ops []patchOp
	folded := map[string]any{}
	var foldedPaths []string
	for _, ch := range changes {
		target := ch.mapping.target
		switch {
		case ch.new == nil:
			ops = append(ops, patchOp{Op: c.op("remove"), Path: target})
		case ch.old == nil:
			ops = append(ops, patchOp{Op: c.op("add"), Path: target, Value: c.wireValue(ch.mapping.def, *ch.new, false)})
		case c.compliant && ch.mapping.path.filterAttr == "":
			folded[target] = c.wireValue(ch.mapping.def, *ch.new, false)
			foldedPaths = append(foldedPaths, target)
		default:
			ops = append(ops, patchOp{Op: c.op("replace"), Path: target, Value: c.wireValue(ch.mapping.def, *ch.new, false)})
		}
	}
	switch len(foldedPaths) {
	case 0:
	case 1:
		ops = append(ops, patchOp{Op: "replace", Path: foldedPaths[0], Value: folded[foldedPaths[0]]})
	default:
		ops = append(ops, patchOp{Op: "replace", Value: folded})
	}
	return ops
}

// memberOps adds and removes group members (target ids). Default: Add/Remove with path "members" and the
// members as a value list (ENTRA use-scim-to-provision-users-and-groups.md,
// application-provisioning-config-problem-scim-compatibility.md). Flag: remove by a value-filter path, one per
// member (the latter).
func (c *scimClient) memberOps(add, remove []string) []patchOp {
	refs := func(ids []string, withRef bool) []any {
		out := make([]any, len(ids))
		for i, id := range ids {
			m := map[string]any{"value": id}
			if withRef {
				m["$ref"] = nil
			}
			out[i] = m
		}
		return out
	}
	var ops []patchOp
	if len(add) > 0 {
		// Adds carry "$ref": null, as Microsoft's "Update Group [Add Members]" sample (ENTRA
		// use-scim-to-provision-users-and-groups.md); the removal sample of ENTRA
		// application-provisioning-config-problem-scim-compatibility.md has none.
		ops = append(ops, patchOp{Op: c.op("add"), Path: "members", Value: refs(add, true)})
	}
	if len(remove) > 0 {
		if c.compliant {
			for _, id := range remove {
				ops = append(ops, patchOp{Op: "remove", Path: `members[value eq "` + id + `"]`})
			}
		} else {
			ops = append(ops, patchOp{Op: "Remove", Path: "members", Value: refs(remove, false)})
		}
	}
	return ops
}
