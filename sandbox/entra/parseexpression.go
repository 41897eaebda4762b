package entra

import (
	"fmt"
	"net/http"
	"strings"
)

// parseExpression answers POST .../jobs/{job}/schema/parseExpression (DOCS
// synchronization-synchronizationschema-parseexpression.md): 200 with a parseExpressionResponse whose
// parsedExpression is the attributeMappingSource the service stores for the expression. With testInputObject the
// expression is also evaluated against the object's properties, as the provisioning engine would.
//
// What the documentation shows and this follows: a function's parameters are keyed by the service's name for
// each parameter (Replace: source, Find, Replacement; Mid: source, start, length; Not: source), omitted
// arguments get no parameter, a constant argument's expression is quoted even when it was written bare ("1"),
// and the function's expression is rewritten in a canonical form (arguments joined by ", "). How the service
// answers an expression it cannot parse is UNVERIFIED: the response type has parsingSucceeded and error, so the
// failure is reported there, with 200.
func (t *Tenant) parseExpression(c *call) response {
	var body struct {
		Expression      string `json:"expression"`
		TestInputObject *struct {
			Properties []map[string]any `json:"properties"`
		} `json:"testInputObject"`
	}
	if err := c.decodeJSON(&body); err != nil {
		return c.fail(err, t.now())
	}
	t.mu.Lock()
	sp, err := t.syncServicePrincipal(c)
	if err == nil {
		_, err = t.syncJobOf(c, str(sp.data, "id"))
	}
	t.mu.Unlock()
	if err != nil {
		return c.fail(err, t.now())
	}
	answer := object{
		"@odata.context":      c.serviceRoot + "/$metadata#microsoft.graph.parseExpressionResponse",
		"error":               nil,
		"evaluationResult":    nil,
		"evaluationSucceeded": false,
		"parsedExpression":    nil,
		"parsingSucceeded":    false,
	}
	fail := func(code string, e error) response {
		answer["error"] = object{"code": code, "message": e.Error(), "target": nil, "details": []any{}, "innerError": nil}
		return jsonResponse(http.StatusOK, answer)
	}
	parsed, perr := parseExpression(body.Expression)
	if perr != nil {
		return fail("InvalidExpression", perr)
	}
	source, perr := mappingSource(parsed)
	if perr != nil {
		return fail("InvalidExpression", fmt.Errorf("expression %q: %w", body.Expression, perr))
	}
	answer["parsedExpression"], answer["parsingSucceeded"] = source, true
	if body.TestInputObject != nil {
		env := &exprEnv{attrs: map[string]value{}}
		for _, p := range body.TestInputObject.Properties {
			if key, ok := p["key"].(string); ok {
				env.attrs[strings.ToLower(key)] = jsonValue(p["value"])
			}
		}
		v, eerr := parsed.eval(env)
		if eerr != nil {
			return fail("EvaluationFailed", eerr)
		}
		result := []any{}
		for _, s := range v {
			result = append(result, s)
		}
		answer["evaluationResult"], answer["evaluationSucceeded"] = result, true
	}
	return jsonResponse(http.StatusOK, answer)
}

// functionParameters names a function's parameters in order; the parameters from repeatFrom on repeat (Join's
// sources, Switch's key/value pairs), and -1 means none does. Names follow the documented answers where there
// are some (Replace, Mid, Not, SingleAppRoleAssignment) and the function reference's parameter tables
// otherwise (ENTRA functions-for-customizing-application-data.md); those are UNVERIFIED against the service.
// Coalesce's arguments are all "source": its documented defaultValue cannot be told from a source by position.
type functionParameters struct {
	name       string // the service's spelling
	params     []string
	repeatFrom int
}

func knownFunctions() []functionParameters {
	return []functionParameters{
		{"Append", []string{"source", "suffix"}, -1},
		{"Coalesce", []string{"source"}, 0},
		{"ConvertToBase64", []string{"source"}, -1},
		{"CStr", []string{"value"}, -1},
		{"IgnoreFlowIfNullOrEmpty", []string{"expression"}, -1},
		{"IsNull", []string{"Expression"}, -1},
		{"IsNullOrEmpty", []string{"Expression"}, -1},
		{"IsPresent", []string{"Expression"}, -1},
		{"Item", []string{"attribute", "index"}, -1},
		{"Join", []string{"separator", "source"}, 1},
		{"Left", []string{"String", "NumChars"}, -1},
		{"Mid", []string{"source", "start", "length"}, -1},
		{"NormalizeDiacritics", []string{"source"}, -1},
		{"Not", []string{"source"}, -1},
		{"Replace", []string{"source", "Find", "regexPattern", "regexGroupName", "Replacement", "replacementAttributeName", "template"}, -1},
		{"SingleAppRoleAssignment", []string{"source"}, -1},
		{"Split", []string{"source", "delimiter"}, -1},
		{"StripSpaces", []string{"source"}, -1},
		{"Switch", []string{"source", "defaultValue", "key", "value"}, 2},
		{"ToLower", []string{"source", "culture"}, -1},
		{"ToUpper", []string{"source", "culture"}, -1},
	}
}

// parameterName is the key of the function's i-th argument.
func (f functionParameters) parameterName(i int) (string, error) {
	if i < len(f.params) {
		return f.params[i], nil
	}
	if f.repeatFrom < 0 {
		return "", fmt.Errorf("%s takes at most %d arguments", f.name, len(f.params))
	}
	n := len(f.params) - f.repeatFrom
	return f.params[f.repeatFrom+(i-f.repeatFrom)%n], nil
}

// mappingSource is the attributeMappingSource of a parsed expression.
func mappingSource(e expr) (object, error) {
	switch e := e.(type) {
	case attrRef:
		return object{"expression": "[" + e.name + "]", "name": e.name, "parameters": []any{}, "type": "Attribute"}, nil
	case constant:
		return object{"expression": quoteConstant(e.v.first()), "name": e.v.first(), "parameters": []any{}, "type": "Constant"}, nil
	case fnCall:
		var fn functionParameters
		for _, f := range knownFunctions() {
			if strings.EqualFold(f.name, e.name) {
				fn = f
			}
		}
		if fn.name == "" {
			return nil, fmt.Errorf("the sandbox does not know the function %s", e.name)
		}
		params := []any{}
		for i, a := range e.args {
			key, err := fn.parameterName(i)
			if err != nil {
				return nil, err
			}
			if a == nil {
				continue // an omitted argument has no parameter
			}
			v, err := mappingSource(a)
			if err != nil {
				return nil, err
			}
			params = append(params, object{"key": key, "value": v})
		}
		return object{"expression": canonical(fnCall{name: fn.name, args: e.args}), "name": fn.name, "parameters": params, "type": "Function"}, nil
	}
	return nil, fmt.Errorf("the sandbox cannot represent %s as an attribute mapping source", canonical(e))
}

// canonical writes an expression the way the service rewrites it: arguments joined by ", ", omitted ones empty.
func canonical(e expr) string {
	switch e := e.(type) {
	case attrRef:
		return "[" + e.name + "]"
	case constant:
		if e.bare {
			return e.v.first()
		}
		return quoteConstant(e.v.first())
	case comparison:
		op := " = "
		if e.negate {
			op = " <> "
		}
		return canonical(e.left) + op + canonical(e.right)
	case fnCall:
		args := make([]string, len(e.args))
		for i, a := range e.args {
			if a != nil {
				args[i] = canonical(a)
			}
		}
		return e.name + "(" + strings.Join(args, ", ") + ")"
	}
	return ""
}

// quoteConstant writes a string constant with the expression language's escapes (\" and \\).
func quoteConstant(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
