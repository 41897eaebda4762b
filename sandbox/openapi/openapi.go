// Package openapi checks Microsoft Graph v1.0 request bodies against Microsoft's OpenAPI description of the
// operations idpctl uses (openapi-v1.0-subset.json, see SPEC.md), so that the simulated tenant rejects a body the
// way Graph does: unknown property names, wrong JSON types, bad enum values and malformed uuid or date-time
// values each give the status, error code and message the backing Graph service answers with (see errors.go for
// what Graph really says and where that is documented).
//
// Load compiles every schema once into property tables (allOf chains merged, nullable references resolved), so
// validating a body walks only the body. A Spec is immutable after Load and safe for concurrent use.
//
// Two decisions worth knowing when reading the results:
//   - readOnly properties are accepted. The subset marks almost nothing readOnly (not even id or appId), and
//     Graph answers round-tripped objects (GET, change, PATCH the whole object back) by complaining about other
//     things only: msgraph-sdk-dotnet#2788 (PATCH /applications with the fetched application answered "New
//     password credentials must be generated using service actions.") and pnp/PnP-Sites-Core#1807 (PATCH of a
//     fetched group answered only "Invalid property 'responseHeaders'."). The passwordCredentials rule depends on
//     the credentials the application already has, so it belongs to the simulated tenant, not to this package.
//   - every structured schema in the subset lists "@odata.type" as required (an artefact of Microsoft's
//     converter, see SPEC.md); Graph does not require it in request bodies, so "required" is not read from the
//     document. Required properties on create come from the Graph API reference instead (requiredOnCreate).
package openapi

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

//go:embed openapi-v1.0-subset.json
var subsetJSON []byte

// ErrUnknownOperation is returned by ValidateRequest for a method and path the subset does not describe. Graph
// has many such operations (PATCH /users/{id}, POST /groups, ...); the caller decides, for example by calling
// ValidateEntity with the entity the operation writes.
var ErrUnknownOperation = errors.New("operation not described by the Graph OpenAPI subset")

// Error is a validation failure shaped for Graph's error envelope
// {"error": {"code": Code, "message": Message, ...}}, answered with HTTP status Status.
type Error struct {
	// Status is the HTTP status Graph answers with: 400, or 500 where the backing service fails instead of
	// validating (an unknown enum member in a synchronization body, see errors.go).
	Status int
	// Code is the Graph error code, e.g. "Request_BadRequest" (directory objects) or "BadRequest".
	Code string
	// Message is the Graph-like message naming the property and the type.
	Message string
	// Property is the JSON path of the offending value, e.g. "web.redirectUris[0]" or "passwordCredential.foo";
	// empty when the body as a whole is wrong.
	Property string
}

func (e *Error) Error() string {
	if e.Property == "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("%d %s at %s: %s", e.Status, e.Code, e.Property, e.Message)
}

// Spec is the parsed OpenAPI subset with per-schema allowed-property tables precomputed. Safe for concurrent use.
type Spec struct {
	schemas map[string]*schema // by component name, e.g. "microsoft.graph.application"
	routes  []*route
}

// Load parses the embedded openapi-v1.0-subset.json. It takes tens of milliseconds: callers load once and keep
// the *Spec.
func Load() (*Spec, error) {
	var doc document
	if err := json.Unmarshal(subsetJSON, &doc); err != nil {
		return nil, fmt.Errorf("parse embedded openapi-v1.0-subset.json: %w", err)
	}
	c := newCompiler(&doc)
	names := make([]string, 0, len(doc.Components.Schemas))
	for name := range doc.Components.Schemas {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic compile errors
	for _, name := range names {
		if _, err := c.named(name); err != nil {
			return nil, err
		}
	}
	routes, err := c.routes()
	if err != nil {
		return nil, err
	}
	return &Spec{schemas: c.done, routes: routes}, nil
}

// Operation returns the operationId of the operation that method and path (the request path after the version
// segment) address, e.g. "applications.application.addPassword".
func (s *Spec) Operation(method, path string) (opID string, ok bool) {
	op := s.match(method, path)
	if op == nil {
		return "", false
	}
	return op.id, true
}

// ValidateRequest validates body for the operation matched by method and path. path is the request path after
// the version segment, e.g. "/applications/3f2a.../addPassword" or "/applications(appId='...')"; a query string
// is ignored. An empty body is valid when the operation's requestBody is not required. It returns nil, an
// *Error, or ErrUnknownOperation.
func (s *Spec) ValidateRequest(method, path string, body []byte) error {
	op := s.match(method, path)
	if op == nil {
		return ErrUnknownOperation
	}
	if op.body == nil && !op.isAction {
		return nil // GET and DELETE: Graph does not read a body
	}
	if isBlank(body) {
		if op.body != nil && op.body.required {
			return emptyBodyError()
		}
		return nil
	}
	root, err := parseBody(body)
	if err != nil {
		return err
	}
	w := walker{spec: s, family: op.family, opID: op.id}
	if op.isAction {
		w.action = op.actionName
	}
	if op.body == nil {
		if e := w.noParameters(&root); e != nil {
			return e
		}
		return nil
	}
	t := op.body.root
	if t.s.name != "" {
		w.resource = resourceName(t.s.name)
	}
	if e := w.body(&root, t, op.body.requiredProps); e != nil {
		return e
	}
	return nil
}

// ValidateEntity validates body as an instance of the named schema, e.g. "microsoft.graph.user", for operations
// Graph has but the subset omits (PATCH /users/{id}, POST /groups, ...). partial=true gives PATCH semantics:
// properties Graph requires on create are not checked. Directory objects (directoryObject and its derived types,
// oAuth2PermissionGrant) are answered like the directory service, synchronization types like the
// synchronization service, everything else like Graph's OData layer.
func (s *Spec) ValidateEntity(schemaName string, body []byte, partial bool) error {
	sch, ok := s.schemas[schemaName]
	if !ok || sch.kind != kindObject {
		return fmt.Errorf("validate entity: %q is not an object schema of the Graph OpenAPI subset (use a name like \"microsoft.graph.user\")", schemaName)
	}
	if isBlank(body) {
		return emptyBodyError()
	}
	root, err := parseBody(body)
	if err != nil {
		return err
	}
	w := walker{spec: s, family: familyOfSchema(sch), resource: resourceName(sch.name)}
	var required []string
	if !partial {
		required = requiredOnCreate(sch.name)
	}
	if e := w.body(&root, typeRef{s: sch}, required); e != nil {
		return e
	}
	return nil
}

func isBlank(body []byte) bool {
	for _, b := range body {
		switch b {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

// parseBody returns the document tree, or the Graph gateway's answer to a body that is not JSON.
func parseBody(body []byte) (jsonValue, error) {
	if !json.Valid(body) {
		return jsonValue{}, invalidJSONError()
	}
	v, err := parseJSON(body)
	if err != nil {
		return jsonValue{}, invalidJSONError()
	}
	return v, nil
}

// resourceName is the directory service's name for an entity type in its messages, e.g. "Application" for
// microsoft.graph.application ("... of resource 'Application'.").
func resourceName(schemaName string) string {
	n := strings.TrimPrefix(schemaName, "microsoft.graph.")
	if n == "" {
		return ""
	}
	return strings.ToUpper(n[:1]) + n[1:]
}
