package openapi

import (
	"fmt"
	"net/http"
	"strings"
)

// What Graph answers. Graph is a gateway in front of several services, and the error code and message depend on
// the service behind the path. Sources (issue threads quote real responses; UNVERIFIED marks a guess):
//
// Gateway, any path:
//   - Body that is not JSON: 400 BadRequest "Unable to read JSON request payload. Please ensure Content-Type
//     header is set and payload is of valid JSON format." (microsoftgraph/microsoft-graph-docs-contrib#6337,
//     microsoftgraph/msgraph-sdk-php#632; a Graph engineer in microsoft-graph-comms-samples#22: "Graph gateway
//     reports this failure when the payload is invalid").
//   - Required body missing: 400 BadRequest "Empty Payload. JSON content expected." (UNVERIFIED wording).
//
// Directory objects (application, servicePrincipal, appRoleAssignment, oAuth2PermissionGrant, user, group),
// code Request_BadRequest for every body problem:
//   - Unknown name on an open entity type: "Invalid property 'responseHeaders'." (pnp/PnP-Sites-Core#1807,
//     PATCH /groups/{id}). Directory entities are open types, so the name reaches the directory service, which
//     refuses it by name. Wrong "extension_<appId>_<name>" names give "The following extension properties are
//     not available: ..." (Azure-Samples/ms-identity-dotnetcore-b2c-account-management#17); this package cannot
//     know which extensions are registered, so it accepts every well-formed extension name.
//   - Conversion failures come from Microsoft.OData.Core, wrapped in Request_BadRequest: "Cannot convert a
//     primitive value to the expected type 'Edm.Guid'. See the inner exception for more details."
//     (microsoftgraph/microsoft-graph-docs-contrib#3837, PATCH /applications/{id} with a malformed
//     api.knownClientApplications entry; the same text with Request_BadRequest for Edm.DateTime in
//     Azure-Samples/service-fabric-aad-helpers#5), and "A value without a type name was found and no expected
//     type is available. ..." for an object given as an open-type (extension) value
//     (microsoftgraph/microsoft-graph-docs-contrib#6272).
//   - Values the directory refuses: "Invalid value specified for property 'web' of resource 'Application'."
//     (Azure/reliable-web-app-pattern-dotnet#357), naming the top-level property even when the bad value is
//     nested. Used here for enum members and for missing properties required on create (UNVERIFIED for those
//     two cases).
//   - Unknown names inside complex (non-open) types and unknown action parameters: Microsoft.OData.Core's own
//     messages, "The property 'x' does not exist on type 'microsoft.graph.webApplication'. Make sure to only
//     use property names that are defined by the type or mark the type as open type." and "The parameter 'x'
//     in the request payload is not a valid parameter for the operation 'addPassword'." (the library's
//     wording; UNVERIFIED that the directory shows it unchanged).
//
// Graph's OData layer (every other workload), code BadRequest (UNVERIFIED: Outlook-backed types answer the same
// message with code RequestBodyRead, msgraph-sdk-python#440 for microsoft.graph.message):
//   - "The property 'x' does not exist on type 'microsoft.graph.message'. Make sure to only use property names
//     that are defined by the type or mark the type as open type." (msgraph-sdk-python#440,
//     msgraph-sdk-dotnet#270 and #450, msgraph-sdk-java#391).
//   - Conversion failures: the Microsoft.OData.Core texts above.
//
// Synchronization service (/servicePrincipals/{id}/synchronization/...): the OData layer's answers, except that
// an enum member it does not know (a secret key "baseAddress" instead of "BaseAddress") fails inside the
// service's enum parser and Graph answers 500 InternalError "Requested value 'baseAddress' was not found."
// (microsoftgraph/msgraph-beta-sdk-java#372, validateCredentials; the same failure in msgraph-beta-sdk-dotnet#214;
// enum values are case-sensitive, msgraph-beta-sdk-java#542 for "flowWhenChanged" in a schema PUT). The 500 is
// mimicked on purpose: a client must learn that this 500 is its own bug, not a transient failure to retry.

// family is the Graph backend service that answers an operation.
type family uint8

const (
	familyDirectory family = iota
	familySynchronization
	familyOData
)

func familyOfPath(template string) family {
	if strings.Contains(template, "/synchronization") {
		return familySynchronization
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(template, "/"), "/")
	first, _, _ = strings.Cut(first, "(")
	switch first {
	case "applications", "applicationTemplates", "servicePrincipals", "oauth2PermissionGrants", "users", "groups",
		"me", "organization", "subscribedSkus", "directoryObjects":
		return familyDirectory
	}
	return familyOData
}

func familyOfSchema(s *schema) family {
	switch {
	case s.directory || s.name == "microsoft.graph.oAuth2PermissionGrant":
		return familyDirectory
	case strings.HasPrefix(s.name, "microsoft.graph.synchronization"):
		return familySynchronization
	}
	return familyOData
}

func (f family) badRequestCode() string {
	if f == familyDirectory {
		return "Request_BadRequest"
	}
	return "BadRequest"
}

// requiredOnCreate lists the properties the Graph v1.0 API reference marks required when creating an entity
// (POST); PATCH requires none. Sources: application-post-applications ("The request body must contain
// displayName"), serviceprincipal-post-serviceprincipals (appId), resources/approleassignment ("Required on
// create" for principalId, resourceId, appRoleId), oauth2permissiongrant-post (clientId, consentType,
// resourceId; principalId only when consentType is Principal, not checked here), synchronization-synchronization
// -post-jobs (templateId, its only required property), user-post-users and group-post-groups.
func requiredOnCreate(schemaName string) []string {
	switch schemaName {
	case "microsoft.graph.application":
		return []string{"displayName"}
	case "microsoft.graph.servicePrincipal":
		return []string{"appId"}
	case "microsoft.graph.appRoleAssignment":
		return []string{"principalId", "resourceId", "appRoleId"}
	case "microsoft.graph.oAuth2PermissionGrant":
		return []string{"clientId", "consentType", "resourceId"}
	case "microsoft.graph.synchronizationJob":
		return []string{"templateId"}
	case "microsoft.graph.user":
		return []string{"accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName"}
	case "microsoft.graph.group":
		return []string{"displayName", "mailEnabled", "mailNickname", "securityEnabled"}
	}
	return nil
}

// requiredActionParameters lists action parameters the API reference marks required (application-removepassword:
// keyId "Required"); the other actions idpctl calls have optional parameters.
func requiredActionParameters(action string) []string {
	if action == "removePassword" {
		return []string{"keyId"}
	}
	return nil
}

func invalidJSONError() *Error {
	return &Error{Status: http.StatusBadRequest, Code: "BadRequest",
		Message: "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."}
}

func emptyBodyError() *Error {
	return &Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: "Empty Payload. JSON content expected."}
}

func (w *walker) badRequest(property, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: w.family.badRequestCode(),
		Message: fmt.Sprintf(format, args...), Property: property}
}

func (w *walker) unknownProperty(owner *schema, name string) *Error {
	at := w.pathWith(name)
	switch {
	case w.action != "" && w.depth() == 0:
		return w.badRequest(at, "The parameter '%s' in the request payload is not a valid parameter for the operation '%s'.", name, w.action)
	case owner.name == "":
		// A body that is not an entity (PUT .../synchronization/secrets takes {"value": [...]}); Graph's wording
		// for this case is not documented anywhere we found.
		return w.badRequest(at, "The property '%s' is not valid in the request body of operation '%s'.", name, w.opID)
	case w.family == familyDirectory && owner.open:
		return w.badRequest(at, "Invalid property '%s'.", name)
	}
	return w.badRequest(at, "The property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type or mark the type as open type.", name, owner.name)
}

func (w *walker) duplicateProperty(name string) *Error {
	return w.badRequest(w.pathWith(name), "Multiple properties with the name '%s' were detected in a resource or a complex value. In OData, duplicate property names are not allowed.", name)
}

// unexpectedNode is Microsoft.OData.Core's answer when the JSON structure does not fit: an object where a
// primitive value belongs, a string where an array belongs.
func (w *walker) unexpectedNode(v *jsonValue, t typeRef) *Error {
	return w.badRequest(w.pathString(), "An unexpected '%s' node was found when reading from the JSON reader. A '%s' node was expected.", nodeName(v.kind), expectedNode(t.s.kind))
}

// cannotConvert reports a primitive of the wrong JSON type. Numbers and booleans are quoted back as the library
// does; strings are not, so that a token pasted into the wrong field never reaches a log.
func (w *walker) cannotConvert(v *jsonValue, edm string) *Error {
	if v.kind == jsonString {
		return w.badFormat(edm)
	}
	return w.badRequest(w.pathString(), "Cannot convert the literal '%s' to the expected type '%s'.", v.text, edm)
}

func (w *walker) badFormat(edm string) *Error {
	return w.badRequest(w.pathString(), "Cannot convert a primitive value to the expected type '%s'. See the inner exception for more details.", edm)
}

func (w *walker) nullNotAllowed(t typeRef) *Error {
	edm := t.s.edm
	if edm == "" {
		edm = "Edm.ComplexType"
	}
	typ := edm + "[Nullable=False]"
	if name := w.lastName(); name != "" {
		return w.badRequest(w.pathString(), "A null value was found for the property named '%s', which has the expected type '%s'. The expected type '%s' does not allow null values.", name, typ, typ)
	}
	return w.badRequest(w.pathString(), "A null value was found with the expected type '%s'. The expected type '%s' does not allow null values.", typ, typ)
}

// badEnum reports a value that is not a member of enum. Graph's messages quote the value; values longer than
// maxQuotedValue are left out, so that a token pasted into an enum field (secret key and value swapped) never
// reaches a log.
func (w *walker) badEnum(value string, enum *schema) *Error {
	quoted := "value '" + value + "'"
	if len(value) > maxQuotedValue {
		quoted = "value"
	}
	switch {
	case w.family == familySynchronization:
		return &Error{Status: http.StatusInternalServerError, Code: "InternalError",
			Message: "Requested " + quoted + " was not found.", Property: w.pathString()}
	case w.family == familyDirectory && w.resource != "" && w.topProperty != "":
		return w.badRequest(w.pathString(), "Invalid value specified for property '%s' of resource '%s'.", w.topProperty, w.resource)
	}
	return w.badRequest(w.pathString(), "The %s is not a valid member of the enumeration type '%s'.", quoted, enum.edm)
}

const maxQuotedValue = 40

func (w *walker) untypedValue() *Error {
	return w.badRequest(w.pathString(), "A value without a type name was found and no expected type is available. When the model is specified, each value in the payload must have a type which can be either specified in the payload, explicitly by the caller or implicitly inferred from the parent value.")
}

func (w *walker) unresolvedType(typeName string) *Error {
	return w.badRequest(w.pathWith("@odata.type"), "A type named '%s' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.", typeName)
}

func (w *walker) notAssignable(typeName, expected string) *Error {
	return w.badRequest(w.pathWith("@odata.type"), "The type '%s' is not assignable to the expected type '%s'.", typeName, expected)
}

func (w *walker) missingRequired(owner *schema, name string) *Error {
	switch {
	case w.action != "":
		return w.badRequest(name, "The parameter '%s' of the operation '%s' is required.", name, w.action)
	case w.family == familyDirectory && w.resource != "":
		return w.badRequest(name, "Invalid value specified for property '%s' of resource '%s'.", name, w.resource)
	}
	return w.badRequest(name, "The property '%s' is required on type '%s'.", name, owner.name)
}

func nodeName(k jsonKind) string {
	switch k {
	case jsonObject:
		return "StartObject"
	case jsonArray:
		return "StartArray"
	}
	return "PrimitiveValue"
}

func expectedNode(k schemaKind) string {
	switch k {
	case kindObject:
		return "StartObject"
	case kindArray:
		return "StartArray"
	}
	return "PrimitiveValue"
}
