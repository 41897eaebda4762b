package entra

import (
	"fmt"
	"net/http"

	"github.com/google/uuid"
)

// graphError is one error answer in Graph's envelope. Codes and messages are the ones Graph is documented or
// observed to send; where no source was found the constructor says so.
type graphError struct {
	status  int
	code    string
	message string
	header  http.Header // extra response headers, e.g. Retry-After or WWW-Authenticate
}

func (e *graphError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func newError(status int, code, message string) *graphError {
	return &graphError{status: status, code: code, message: message}
}

func (e *graphError) withHeader(key, value string) *graphError {
	if e.header == nil {
		e.header = http.Header{}
	}
	e.header.Set(key, value)
	return e
}

// Source: DOCS concepts/errors.md and countless observed directory answers. The synchronization and audit
// APIs' 403 body is not documented; the directory's is used for them too (guess).
func errInsufficientPrivileges() *graphError {
	return newError(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

// Source: observed directory answers, e.g. "Resource '5b31c38c-…' does not exist or one of its queried
// reference-property objects are not present." (pnp/cli-microsoft365 tests, cross-tenant sync docs).
func errResourceNotFound(id string) *graphError {
	return newError(http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

// Source: Graph's OData layer answers an unknown path segment with 400 BadRequest "Resource not found for the
// segment 'x'." (observed in many clients, e.g. Intune and SharePoint container calls on v1.0).
func errUnknownSegment(segment string) *graphError {
	return newError(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", segment))
}

// Source: Graph answers a verb the target does not support with 405 and this text.
func errMethodNotAllowed() *graphError {
	return newError(http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
}

// Source: msgraph-sdk-design middleware/CompressionHandler.md quotes this OData error as Graph's answer to a body
// it cannot read as JSON; kiota-http-go#183 reports a 400 for a body sent uncompressed under Content-Encoding: gzip.
func errUnreadableBody() *graphError {
	return newError(http.StatusBadRequest, "BadRequest",
		"Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
}

// errTooLarge is Graph's 413; the message is the errors page's description of the status (DOCS errors.md,
// "The request size exceeds the maximum limit"). UNVERIFIED: the error code Graph sends with it.
func errTooLarge() *graphError {
	return newError(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request size exceeds the maximum limit.")
}

func errBadRequest(message string) *graphError {
	return newError(http.StatusBadRequest, "Request_BadRequest", message)
}

// Source: DOCS concepts/throttling.md.
func errTooManyRequests() *graphError {
	return newError(http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
}

// checkObjectID refuses an id that is not a GUID where the directory addresses objects by object id
// (applications, service principals, groups): 400 Request_BadRequest "Invalid object identifier '...'." as the
// directory answers.
func checkObjectID(id string) *graphError {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return errBadRequest(fmt.Sprintf("Invalid object identifier '%s'.", id))
	}
	return nil
}
