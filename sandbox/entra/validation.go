package entra

import (
	"errors"
	"net/http"

	"github.com/idpctl/idpctl/sandbox/openapi"
)

func defaultValidator() (RequestValidator, error) { return openapi.Load() }

// validateBody checks a request body against Graph's schema. Operations the OpenAPI subset does not describe
// (POST /users, POST /groups, ...) are checked as an instance of the entity the route writes, when it names one.
func (t *Tenant) validateBody(c *call, rt route) *graphError {
	err := t.validator.ValidateRequest(c.method, c.path, c.body)
	if errors.Is(err, openapi.ErrUnknownOperation) {
		err = nil
		if rt.entity != "" {
			err = t.validator.ValidateEntity(rt.entity, c.body, c.method == http.MethodPatch)
		}
	}
	return validationError(err)
}

func validationError(err error) *graphError {
	if err == nil {
		return nil
	}
	var invalid *openapi.Error
	if errors.As(err, &invalid) {
		status := invalid.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		return newError(status, invalid.Code, invalid.Message)
	}
	return newError(http.StatusBadRequest, "BadRequest", err.Error())
}
