package entra

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// This file evaluates the expressions of attribute mappings the way Entra's provisioning service does
// (ENTRA functions-for-customizing-application-data.md): attribute references [name], string constants "…",
// and function calls. The engine reads a mapping's source.expression text, not its parsed parameters: the text
// is what the portal shows and edits, and clients that PUT a schema often leave the parameters stale or absent.

// value is what an expression yields: nil is null (Entra does not provision it), one element a single value,
// several elements a multi-valued attribute (proxyAddresses, members).
type value []string

func single(s string) value { return value{s} }

func (v value) isNull() bool { return len(v) == 0 }

// isEmpty is IsNullOrEmpty: null, or a single empty string.
func (v value) isEmpty() bool { return len(v) == 0 || (len(v) == 1 && v[0] == "") }

func (v value) first() string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func boolValue(b bool) value {
	if b {
		return single("True")
	}
	return single("False")
}

func (v value) isTrue() bool {
	return len(v) == 1 && strings.EqualFold(strings.TrimSpace(v[0]), "true")
}

// expr is a parsed expression.
type expr interface {
	eval(env *exprEnv) (value, error)
}

// exprEnv is what an expression can read: the source object's attributes (names compare case-insensitively, as
// in the portal) and, for SingleAppRoleAssignment, the app roles the object is assigned.
type exprEnv struct {
	attrs map[string]value // keys lower-cased
	roles []assignedRole
}

type assignedRole struct {
	DisplayName string
	Value       string
}

func (env *exprEnv) attr(name string) value { return env.attrs[strings.ToLower(name)] }

type attrRef struct{ name string }

func (a attrRef) eval(env *exprEnv) (value, error) { return env.attr(a.name), nil }

type constant struct {
	v    value
	bare bool // written without quotes, as numbers are (Mid([x], 1, 3))
}

func (c constant) eval(*exprEnv) (value, error) { return c.v, nil }

// comparison is `a = b` or `a <> b`, as IIF's condition is written (IIF([country]="USA", …)).
type comparison struct {
	left, right expr
	negate      bool
}

func (c comparison) eval(env *exprEnv) (value, error) {
	l, err := c.left.eval(env)
	if err != nil {
		return nil, err
	}
	r, err := c.right.eval(env)
	if err != nil {
		return nil, err
	}
	equal := l.first() == r.first() && l.isNull() == r.isNull()
	return boolValue(equal != c.negate), nil
}

type fnCall struct {
	name string
	args []expr // nil entries are omitted arguments, e.g. Switch's empty default in `Switch([x], , "a", "b")`
}

// parseExpression parses one mapping expression.
func parseExpression(text string) (expr, error) {
	p := &exprParser{src: text}
	e, err := p.parseComparison()
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", text, err)
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("expression %q: unexpected %q at offset %d", text, p.src[p.pos:], p.pos)
	}
	if e == nil {
		return nil, fmt.Errorf("expression %q is empty", text)
	}
	return e, nil
}

type exprParser struct {
	src string
	pos int
}

func (p *exprParser) skipSpace() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

func (p *exprParser) peek() byte {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return 0
	}
	return p.src[p.pos]
}

// parseComparison parses an operand optionally followed by = or <>; it returns nil for an empty argument.
func (p *exprParser) parseComparison() (expr, error) {
	left, err := p.parseOperand()
	if err != nil || left == nil {
		return left, err
	}
	p.skipSpace()
	negate := false
	switch {
	case strings.HasPrefix(p.src[p.pos:], "<>"):
		negate = true
		p.pos += 2
	case strings.HasPrefix(p.src[p.pos:], "="):
		p.pos++
	default:
		return left, nil
	}
	right, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	if right == nil {
		return nil, fmt.Errorf("comparison without a right-hand side at offset %d", p.pos)
	}
	return comparison{left: left, right: right, negate: negate}, nil
}

func (p *exprParser) parseOperand() (expr, error) {
	switch c := p.peek(); {
	case c == 0 || c == ',' || c == ')':
		return nil, nil
	case c == '[':
		end := strings.IndexByte(p.src[p.pos:], ']')
		if end < 0 {
			return nil, fmt.Errorf("unclosed [ at offset %d", p.pos)
		}
		name := strings.TrimSpace(p.src[p.pos+1 : p.pos+end])
		p.pos += end + 1
		if name == "" {
			return nil, fmt.Errorf("empty attribute reference at offset %d", p.pos)
		}
		return attrRef{name: name}, nil
	case c == '"':
		s, err := p.parseString()
		if err != nil {
			return nil, err
		}
		return constant{v: single(s)}, nil
	default:
		start := p.pos
		for p.pos < len(p.src) {
			r := rune(p.src[p.pos])
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '.' && r != '-' {
				break
			}
			p.pos++
		}
		word := p.src[start:p.pos]
		if word == "" {
			return nil, fmt.Errorf("unexpected %q at offset %d", p.src[p.pos:], p.pos)
		}
		if p.peek() != '(' {
			// A bare word is a constant: numbers (Mid([x], 1, 3)) and true/false.
			return constant{v: single(word), bare: true}, nil
		}
		p.pos++ // (
		fn := fnCall{name: word}
		if p.peek() == ')' {
			p.pos++
			return fn, nil
		}
		for {
			arg, err := p.parseComparison()
			if err != nil {
				return nil, err
			}
			fn.args = append(fn.args, arg)
			switch p.peek() {
			case ',':
				p.pos++
			case ')':
				p.pos++
				return fn, nil
			default:
				return nil, fmt.Errorf("expected , or ) in %s( at offset %d", word, p.pos)
			}
		}
	}
}

// parseString reads "…" with backslash escapes (\" and \\), as the expression builder writes them.
func (p *exprParser) parseString() (string, error) {
	var b strings.Builder
	for i := p.pos + 1; i < len(p.src); i++ {
		switch c := p.src[i]; c {
		case '\\':
			if i+1 < len(p.src) {
				i++
				b.WriteByte(p.src[i])
			}
		case '"':
			p.pos = i + 1
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unclosed string at offset %d", p.pos)
}

// referencesAttr reports whether the expression reads the attribute (e.g. IsSoftDeleted).
func referencesAttr(e expr, name string) bool {
	switch e := e.(type) {
	case attrRef:
		return strings.EqualFold(e.name, name)
	case comparison:
		return referencesAttr(e.left, name) || referencesAttr(e.right, name)
	case fnCall:
		for _, a := range e.args {
			if a != nil && referencesAttr(a, name) {
				return true
			}
		}
	}
	return false
}

func (c fnCall) arg(env *exprEnv, i int) (value, error) {
	if i >= len(c.args) || c.args[i] == nil {
		return nil, nil
	}
	return c.args[i].eval(env)
}

func (c fnCall) need(n int) error {
	if len(c.args) < n {
		return fmt.Errorf("%s takes at least %d arguments, got %d", c.name, n, len(c.args))
	}
	return nil
}

// eval implements the functions of ENTRA functions-for-customizing-application-data.md that mappings for SCIM
// apps use. A function the simulator does not know is an error, which fails the object's export (Entra would
// have refused the schema; the sandbox says what it cannot evaluate instead).
func (c fnCall) eval(env *exprEnv) (value, error) {
	switch strings.ToLower(c.name) {
	case "append":
		if err := c.need(2); err != nil {
			return nil, err
		}
		src, err := c.arg(env, 0)
		if err != nil || src.isNull() {
			return nil, err
		}
		suffix, err := c.arg(env, 1)
		return single(src.first() + suffix.first()), err
	case "coalesce":
		for i := range c.args {
			v, err := c.arg(env, i)
			if err != nil {
				return nil, err
			}
			if !v.isEmpty() {
				return v, nil
			}
		}
		return nil, nil
	case "join":
		if err := c.need(1); err != nil {
			return nil, err
		}
		sep, err := c.arg(env, 0)
		if err != nil {
			return nil, err
		}
		var parts []string
		for i := 1; i < len(c.args); i++ {
			v, err := c.arg(env, i)
			if err != nil {
				return nil, err
			}
			for _, s := range v {
				if s != "" {
					parts = append(parts, s)
				}
			}
		}
		if len(parts) == 0 {
			return nil, nil
		}
		return single(strings.Join(parts, sep.first())), nil
	case "not":
		if err := c.need(1); err != nil {
			return nil, err
		}
		v, err := c.arg(env, 0)
		if err != nil || v.isNull() {
			return nil, err
		}
		return boolValue(!v.isTrue()), nil
	case "iif":
		if err := c.need(3); err != nil {
			return nil, err
		}
		cond, err := c.arg(env, 0)
		if err != nil {
			return nil, err
		}
		if cond.isTrue() {
			return c.arg(env, 1)
		}
		return c.arg(env, 2)
	case "isnullorempty", "isnull", "ispresent":
		if err := c.need(1); err != nil {
			return nil, err
		}
		v, err := c.arg(env, 0)
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(c.name) {
		case "isnull":
			return boolValue(v.isNull()), nil
		case "ispresent":
			return boolValue(!v.isEmpty()), nil
		}
		return boolValue(v.isEmpty()), nil
	case "ignoreflowifnullorempty":
		if err := c.need(1); err != nil {
			return nil, err
		}
		v, err := c.arg(env, 0)
		if err != nil || v.isEmpty() {
			return nil, err
		}
		return v, nil
	case "replace":
		return c.replace(env)
	case "switch":
		if err := c.need(2); err != nil {
			return nil, err
		}
		src, err := c.arg(env, 0)
		if err != nil {
			return nil, err
		}
		for i := 2; i+1 < len(c.args); i += 2 {
			key, err := c.arg(env, i)
			if err != nil {
				return nil, err
			}
			if !src.isNull() && key.first() == src.first() {
				return c.arg(env, i+1)
			}
		}
		return c.arg(env, 1)
	case "tolower", "toupper":
		if err := c.need(1); err != nil {
			return nil, err
		}
		v, err := c.arg(env, 0)
		if err != nil || v.isNull() {
			return nil, err
		}
		out := make(value, len(v))
		for i, s := range v {
			if strings.EqualFold(c.name, "tolower") {
				out[i] = strings.ToLower(s)
			} else {
				out[i] = strings.ToUpper(s)
			}
		}
		return out, nil
	case "stripspaces":
		if err := c.need(1); err != nil {
			return nil, err
		}
		v, err := c.arg(env, 0)
		if err != nil || v.isNull() {
			return nil, err
		}
		return single(strings.Join(strings.Fields(v.first()), "")), nil
	case "left", "mid":
		return c.substring(env)
	case "split":
		if err := c.need(2); err != nil {
			return nil, err
		}
		v, err := c.arg(env, 0)
		if err != nil || v.isNull() {
			return nil, err
		}
		delim, err := c.arg(env, 1)
		if err != nil {
			return nil, err
		}
		return value(strings.Split(v.first(), delim.first())), nil
	case "item":
		if err := c.need(2); err != nil {
			return nil, err
		}
		v, err := c.arg(env, 0)
		if err != nil {
			return nil, err
		}
		idx, err := c.intArg(env, 1)
		if err != nil {
			return nil, err
		}
		// Item is 1-based in the documented examples (Item([proxyAddresses], 1)).
		if idx < 1 || idx > len(v) {
			return nil, nil
		}
		return single(v[idx-1]), nil
	case "cstr":
		if err := c.need(1); err != nil {
			return nil, err
		}
		return c.arg(env, 0)
	case "singleapproleassignment":
		// The single app role the object is assigned; null when it has several or none, or when the role has no
		// value (the non-gallery template's default "User" role declares none).
		if len(env.roles) != 1 || env.roles[0].Value == "" {
			return nil, nil
		}
		return single(env.roles[0].Value), nil
	}
	return nil, fmt.Errorf("the sandbox cannot evaluate function %s", c.name)
}

func (c fnCall) intArg(env *exprEnv, i int) (int, error) {
	v, err := c.arg(env, i)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(v.first()))
	if err != nil {
		return 0, fmt.Errorf("%s: argument %d is not a number: %q", c.name, i+1, v.first())
	}
	return n, nil
}

// substring implements Left(source, n) and Mid(source, start, length) with Mid's start 1-based.
func (c fnCall) substring(env *exprEnv) (value, error) {
	isMid := strings.EqualFold(c.name, "mid")
	n := 2
	if isMid {
		n = 3
	}
	if err := c.need(n); err != nil {
		return nil, err
	}
	v, err := c.arg(env, 0)
	if err != nil || v.isNull() {
		return nil, err
	}
	s := []rune(v.first())
	start, length := 0, 0
	if isMid {
		if start, err = c.intArg(env, 1); err != nil {
			return nil, err
		}
		start--
		if length, err = c.intArg(env, 2); err != nil {
			return nil, err
		}
	} else if length, err = c.intArg(env, 1); err != nil {
		return nil, err
	}
	start = min(max(start, 0), len(s))
	end := min(max(start+length, start), len(s))
	return single(string(s[start:end])), nil
}

// replace implements Replace(source, oldValue, regexPattern, regexGroupName, replacementValue,
// replacementAttributeName, template), whose behaviour depends on which arguments are given (ENTRA
// functions-for-customizing-application-data.md, Replace). Regex patterns are .NET's; Go's syntax agrees on
// what the documented examples use, named groups (?<name>…) and ${name} in the replacement included.
func (c fnCall) replace(env *exprEnv) (value, error) {
	if err := c.need(1); err != nil {
		return nil, err
	}
	given := func(i int) bool { return i < len(c.args) && c.args[i] != nil }
	var args [7]string
	for i := range args {
		v, err := c.arg(env, i)
		if err != nil {
			return nil, err
		}
		args[i] = v.first()
	}
	src, err := c.arg(env, 0)
	if err != nil {
		return nil, err
	}
	source, oldValue, pattern, group, replacement, template := args[0], args[1], args[2], args[3], args[4], args[6]
	var re *regexp.Regexp
	if given(2) {
		if re, err = regexp.Compile(pattern); err != nil {
			return nil, fmt.Errorf("Replace: regexPattern %q: %w", pattern, err)
		}
	}
	switch {
	case re != nil && given(3) && given(5):
		// The source when it has a value, else the named group of replacementAttributeName.
		if !src.isEmpty() {
			return src, nil
		}
		m := re.FindStringSubmatch(args[5])
		if i := re.SubexpIndex(group); m != nil && i > 0 {
			return single(m[i]), nil
		}
		return nil, nil
	case src.isNull():
		return nil, nil
	case re != nil && given(3):
		i := re.SubexpIndex(group)
		if i <= 0 {
			return nil, fmt.Errorf("Replace: regexPattern %q has no group %q", pattern, group)
		}
		var b strings.Builder
		last := 0
		for _, m := range re.FindAllStringSubmatchIndex(source, -1) {
			if m[2*i] < 0 {
				continue
			}
			b.WriteString(source[last:m[2*i]])
			b.WriteString(replacement)
			last = m[2*i+1]
		}
		b.WriteString(source[last:])
		return single(b.String()), nil
	case re != nil:
		return single(re.ReplaceAllString(source, replacement)), nil
	case given(1) && given(6):
		return single(strings.ReplaceAll(template, oldValue, source)), nil
	case given(1) && oldValue != "":
		return single(strings.ReplaceAll(source, oldValue, replacement)), nil
	}
	return src, nil
}
