package entra

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// The $filter subset Graph supports on the resources served here: eq, ne, gt, ge, lt, le, in, and, or, not,
// parentheses, startswith/endswith/contains/tolower/toupper, and lambda any/all over collections
// (tags/any(t:t eq 'x')). Literals: 'strings' ('' escapes a quote), numbers, true, false, null, and unquoted
// dates or date-times (activityDateTime gt 2023-07-30).

type filterExpr interface {
	eval(o object, env *evalEnv) any
	// unsupportedProperty returns the first property path not in allowed (nil allows all), or "".
	unsupportedProperty(allowed []string) string
}

type evalEnv struct {
	caseSensitive bool
	vars          map[string]any
}

type literalExpr struct{ value any }

type propertyExpr struct{ path string }

type binaryExpr struct {
	op          string
	left, right filterExpr
}

type notExpr struct{ inner filterExpr }

type inExpr struct {
	left   filterExpr
	values []any
}

type callExpr struct {
	name string
	args []filterExpr
}

type lambdaExpr struct {
	collection string
	all        bool
	variable   string
	body       filterExpr
}

func (e literalExpr) eval(object, *evalEnv) any           { return e.value }
func (e literalExpr) unsupportedProperty([]string) string { return "" }
func (e notExpr) eval(o object, env *evalEnv) any         { return !truthy(e.inner.eval(o, env)) }
func (e notExpr) unsupportedProperty(allowed []string) string {
	return e.inner.unsupportedProperty(allowed)
}
func (e propertyExpr) unsupportedProperty(allowed []string) string {
	return checkAllowed(e.path, allowed)
}

func (e propertyExpr) eval(o object, env *evalEnv) any {
	head, rest, nested := strings.Cut(e.path, "/")
	if v, ok := env.vars[head]; ok {
		if !nested {
			return v
		}
		return lookupPath(v, rest)
	}
	return lookupPath(o, e.path)
}

func checkAllowed(path string, allowed []string) string {
	if allowed == nil || slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, path) }) {
		return ""
	}
	return path
}

func (e binaryExpr) unsupportedProperty(allowed []string) string {
	if bad := e.left.unsupportedProperty(allowed); bad != "" {
		return bad
	}
	return e.right.unsupportedProperty(allowed)
}

func (e binaryExpr) eval(o object, env *evalEnv) any {
	switch e.op {
	case "and":
		return truthy(e.left.eval(o, env)) && truthy(e.right.eval(o, env))
	case "or":
		return truthy(e.left.eval(o, env)) || truthy(e.right.eval(o, env))
	}
	l, r := e.left.eval(o, env), e.right.eval(o, env)
	switch e.op {
	case "eq":
		return valuesEqual(l, r, env.caseSensitive)
	case "ne":
		return !valuesEqual(l, r, env.caseSensitive)
	}
	if l == nil || r == nil {
		return false
	}
	cmp := compareValues(l, r, env.caseSensitive)
	switch e.op {
	case "gt":
		return cmp > 0
	case "ge":
		return cmp >= 0
	case "lt":
		return cmp < 0
	case "le":
		return cmp <= 0
	}
	return false
}

func valuesEqual(a, b any, caseSensitive bool) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if _, ok := a.(bool); ok {
		return a == b
	}
	return compareValues(a, b, caseSensitive) == 0 && compareValues(b, a, caseSensitive) == 0
}

func (e inExpr) unsupportedProperty(allowed []string) string {
	return e.left.unsupportedProperty(allowed)
}

func (e inExpr) eval(o object, env *evalEnv) any {
	l := e.left.eval(o, env)
	return slices.ContainsFunc(e.values, func(v any) bool { return valuesEqual(l, v, env.caseSensitive) })
}

func (e callExpr) unsupportedProperty(allowed []string) string {
	for _, a := range e.args {
		if bad := a.unsupportedProperty(allowed); bad != "" {
			return bad
		}
	}
	return ""
}

func (e callExpr) eval(o object, env *evalEnv) any {
	args := make([]string, len(e.args))
	for i, a := range e.args {
		s, ok := a.eval(o, env).(string)
		if !ok {
			return false
		}
		args[i] = s
	}
	if !env.caseSensitive && e.name != "tolower" && e.name != "toupper" {
		for i := range args {
			args[i] = strings.ToLower(args[i])
		}
	}
	switch e.name {
	case "startswith":
		return strings.HasPrefix(args[0], args[1])
	case "endswith":
		return strings.HasSuffix(args[0], args[1])
	case "contains":
		return strings.Contains(args[0], args[1])
	case "tolower":
		return strings.ToLower(args[0])
	case "toupper":
		return strings.ToUpper(args[0])
	}
	return false
}

func (e lambdaExpr) unsupportedProperty(allowed []string) string {
	return checkAllowed(e.collection, allowed)
}

func (e lambdaExpr) eval(o object, env *evalEnv) any {
	items, _ := lookupPath(o, e.collection).([]any)
	inner := &evalEnv{caseSensitive: env.caseSensitive, vars: map[string]any{}}
	for k, v := range env.vars {
		inner.vars[k] = v
	}
	for _, item := range items {
		inner.vars[e.variable] = item
		hit := truthy(e.body.eval(o, inner))
		if hit && !e.all {
			return true
		}
		if !hit && e.all {
			return false
		}
	}
	return e.all && len(items) > 0
}

// inValues counts the values the in operators of a filter list: Graph allows 15 in a filter without advanced
// query capabilities (DOCS known issues, query parameters: "When using the in operator, the request is limited
// to 15 expressions in the filter clause by default").
func inValues(e filterExpr) int {
	switch x := e.(type) {
	case binaryExpr:
		return inValues(x.left) + inValues(x.right)
	case notExpr:
		return inValues(x.inner)
	case inExpr:
		return len(x.values)
	case lambdaExpr:
		return inValues(x.body)
	case scopedBody:
		return inValues(x.filterExpr)
	}
	return 0
}

// advancedOperator returns the first operator of e that Graph serves on directory objects only as an advanced
// query (ConsistencyLevel: eventual and $count=true): ne, not, endsWith, and eq null (DOCS
// concepts/aad-advanced-queries.md); "" when there is none.
func advancedOperator(e filterExpr) string {
	switch x := e.(type) {
	case binaryExpr:
		if x.op == "ne" {
			return "ne"
		}
		if x.op == "eq" {
			if lit, ok := x.right.(literalExpr); ok && lit.value == nil {
				return "eq"
			}
		}
		if op := advancedOperator(x.left); op != "" {
			return op
		}
		return advancedOperator(x.right)
	case notExpr:
		return "not"
	case callExpr:
		if x.name == "endswith" {
			return "endsWith"
		}
		for _, a := range x.args {
			if op := advancedOperator(a); op != "" {
				return op
			}
		}
	case inExpr:
		return advancedOperator(x.left)
	case lambdaExpr:
		return advancedOperator(x.body)
	case scopedBody:
		return advancedOperator(x.filterExpr)
	}
	return ""
}

func truthy(v any) bool {
	b, ok := v.(bool)
	return ok && b
}

// token kinds of the filter lexer.
type filterToken struct {
	kind  string // ident, string, number, punct, date, end
	text  string
	value any
}

func lexFilter(s string) ([]filterToken, error) {
	var out []filterToken
	i := 0
	for i < len(s) {
		r := rune(s[i])
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(' || r == ')' || r == ',' || r == ':':
			out = append(out, filterToken{kind: "punct", text: string(r)})
			i++
		case r == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated string literal at position %d in '%s'", i, s)
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			out = append(out, filterToken{kind: "string", value: b.String()})
			i = j + 1
		case unicode.IsDigit(r) || r == '-':
			j := i + 1
			for j < len(s) && (unicode.IsDigit(rune(s[j])) || strings.ContainsRune(".-:TZ+", rune(s[j]))) {
				j++
			}
			text := s[i:j]
			if t, ok := asTime(text); ok {
				out = append(out, filterToken{kind: "date", value: t})
			} else if n, err := strconv.ParseFloat(text, 64); err == nil {
				out = append(out, filterToken{kind: "number", value: n})
			} else {
				return nil, fmt.Errorf("syntax error at position %d in '%s'", i, s)
			}
			i = j
		case unicode.IsLetter(r) || r == '_' || r == '@' || r == '$':
			j := i + 1
			for j < len(s) && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || strings.ContainsRune("_./@$", rune(s[j]))) {
				j++
			}
			out = append(out, filterToken{kind: "ident", text: s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("syntax error: character '%c' is not valid at position %d in '%s'", r, i, s)
		}
	}
	return append(out, filterToken{kind: "end"}), nil
}

type filterParser struct {
	toks []filterToken
	pos  int
	src  string
}

func parseFilter(s string) (filterExpr, error) {
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, src: s}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != "end" {
		return nil, p.syntaxError()
	}
	return e, nil
}

func (p *filterParser) peek() filterToken { return p.toks[p.pos] }

func (p *filterParser) next() filterToken {
	t := p.toks[p.pos]
	if t.kind != "end" {
		p.pos++
	}
	return t
}

func (p *filterParser) syntaxError() error {
	return fmt.Errorf("syntax error at token %d in '%s'", p.pos+1, p.src)
}

func (p *filterParser) keyword(word string) bool {
	t := p.peek()
	if t.kind == "ident" && strings.EqualFold(t.text, word) {
		p.pos++
		return true
	}
	return false
}

func (p *filterParser) punct(c string) bool {
	if t := p.peek(); t.kind == "punct" && t.text == c {
		p.pos++
		return true
	}
	return false
}

func (p *filterParser) parseOr() (filterExpr, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = binaryExpr{op: "or", left: left, right: right}
	}
	return left, nil
}

func (p *filterParser) parseAnd() (filterExpr, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		right, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		left = binaryExpr{op: "and", left: left, right: right}
	}
	return left, nil
}

func (p *filterParser) parseUnary() (filterExpr, error) {
	if p.keyword("not") {
		inner, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return notExpr{inner: inner}, nil
	}
	if p.punct("(") {
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if !p.punct(")") {
			return nil, p.syntaxError()
		}
		return e, nil
	}
	left, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind != "ident" {
		return left, nil
	}
	op := strings.ToLower(t.text)
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
		p.pos++
		right, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		return binaryExpr{op: op, left: left, right: right}, nil
	case "in":
		p.pos++
		if !p.punct("(") {
			return nil, p.syntaxError()
		}
		var values []any
		for {
			v, err := p.parseOperand()
			if err != nil {
				return nil, err
			}
			lit, ok := v.(literalExpr)
			if !ok {
				return nil, p.syntaxError()
			}
			values = append(values, lit.value)
			if p.punct(")") {
				break
			}
			if !p.punct(",") {
				return nil, p.syntaxError()
			}
		}
		return inExpr{left: left, values: values}, nil
	}
	return left, nil
}

func (p *filterParser) parseOperand() (filterExpr, error) {
	t := p.next()
	switch t.kind {
	case "string", "number", "date":
		return literalExpr{value: t.value}, nil
	case "ident":
		switch strings.ToLower(t.text) {
		case "true":
			return literalExpr{value: true}, nil
		case "false":
			return literalExpr{value: false}, nil
		case "null":
			return literalExpr{value: nil}, nil
		}
		if collection, fn, ok := cutLambda(t.text); ok && p.punct("(") {
			return p.parseLambda(collection, fn)
		}
		name := strings.ToLower(t.text)
		if p.peek().kind == "punct" && p.peek().text == "(" {
			switch name {
			case "startswith", "endswith", "contains", "tolower", "toupper":
			default:
				return nil, fmt.Errorf("unknown function '%s' in '%s'", t.text, p.src)
			}
			p.pos++
			var args []filterExpr
			for !p.punct(")") {
				if len(args) > 0 && !p.punct(",") {
					return nil, p.syntaxError()
				}
				a, err := p.parseOperand()
				if err != nil {
					return nil, err
				}
				args = append(args, a)
			}
			want := 2
			if name == "tolower" || name == "toupper" {
				want = 1
			}
			if len(args) != want {
				return nil, fmt.Errorf("function '%s' takes %d arguments in '%s'", t.text, want, p.src)
			}
			return callExpr{name: name, args: args}, nil
		}
		return propertyExpr{path: t.text}, nil
	}
	return nil, p.syntaxError()
}

func cutLambda(ident string) (collection string, fn string, ok bool) {
	i := strings.LastIndex(ident, "/")
	if i < 0 {
		return "", "", false
	}
	fn = strings.ToLower(ident[i+1:])
	return ident[:i], fn, fn == "any" || fn == "all"
}

func (p *filterParser) parseLambda(collection, fn string) (filterExpr, error) {
	v := p.next()
	if v.kind != "ident" || !p.punct(":") {
		return nil, p.syntaxError()
	}
	body, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if !p.punct(")") {
		return nil, p.syntaxError()
	}
	return lambdaExpr{collection: collection, all: fn == "all", variable: v.text, body: scopedBody{body, v.text}}, nil
}

// scopedBody hides the lambda variable from the property check: "t" in tags/any(t:t eq 'x') is not a property.
type scopedBody struct {
	filterExpr
	variable string
}

func (s scopedBody) unsupportedProperty([]string) string { return "" }

// searchClauses is a parsed $search: "prop:term" clauses joined by OR or AND (DOCS aad-advanced-queries.md,
// "$search" section). A term matches a value that starts with it or has a word that starts with it.
type searchClauses struct {
	any     bool // OR-ed; otherwise AND-ed
	clauses []searchClause
}

type searchClause struct{ property, term string }

func parseSearch(raw string, searchable []string) (searchClauses, *graphError) {
	invalid := func(why string) *graphError {
		return newError(400, "Request_UnsupportedQuery", "Invalid $search query: "+why)
	}
	var out searchClauses
	rest := strings.TrimSpace(raw)
	for i := 0; rest != ""; i++ {
		if i > 0 {
			op, after, ok := strings.Cut(rest, " ")
			if !ok {
				return out, invalid("expected OR or AND after a clause")
			}
			switch op {
			case "OR":
				out.any = true
			case "AND":
			default:
				return out, invalid("expected OR or AND, got '" + op + "'")
			}
			rest = strings.TrimSpace(after)
		}
		if !strings.HasPrefix(rest, `"`) {
			return out, invalid("each clause must be quoted, e.g. \"displayName:foo\"")
		}
		end := strings.Index(rest[1:], `"`)
		if end < 0 {
			return out, invalid("unterminated quote")
		}
		clause := rest[1 : end+1]
		rest = strings.TrimSpace(rest[end+2:])
		prop, term, ok := strings.Cut(clause, ":")
		if !ok || strings.TrimSpace(term) == "" {
			return out, invalid("a clause must name a property, e.g. \"displayName:foo\"")
		}
		if !slices.ContainsFunc(searchable, func(s string) bool { return strings.EqualFold(s, prop) }) {
			return out, newError(400, "Request_UnsupportedQuery",
				fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s'.", prop))
		}
		out.clauses = append(out.clauses, searchClause{property: prop, term: strings.ToLower(strings.TrimSpace(term))})
	}
	return out, nil
}

func (s searchClauses) matches(o object) bool {
	for _, c := range s.clauses {
		hit := searchMatch(lookupPath(o, c.property), c.term)
		if hit && s.any {
			return true
		}
		if !hit && !s.any {
			return false
		}
	}
	return !s.any
}

func searchMatch(v any, term string) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	s = strings.ToLower(s)
	if strings.HasPrefix(s, term) {
		return true
	}
	return slices.ContainsFunc(searchWords(s), func(w string) bool { return strings.HasPrefix(w, term) })
}
