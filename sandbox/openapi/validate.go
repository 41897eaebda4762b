package openapi

import (
	"strconv"
	"strings"
)

// walker validates one body. It keeps the JSON path as a stack and renders it only for an error, so a valid
// body costs no string building.
type walker struct {
	spec        *Spec
	family      family
	opID        string
	action      string // set when the body is an action's parameter object
	resource    string // the directory's name for the entity written, e.g. "Application"
	topProperty string // the top-level property being walked, for the directory's "Invalid value" messages
	path        []pathElem
}

type pathElem struct {
	name  string
	index int // array index when name == ""
}

// body validates the request body root against t, then the properties Graph requires.
func (w *walker) body(root *jsonValue, t typeRef, required []string) *Error {
	if root.kind != jsonObject {
		return w.unexpectedNode(root, typeRef{s: &schema{kind: kindObject}})
	}
	if e := w.value(root, t); e != nil {
		return e
	}
	for _, name := range required {
		if m := member(root, name); m == nil || m.value.kind == jsonNull {
			return w.missingRequired(t.s, name)
		}
	}
	return nil
}

// noParameters validates the body of an action that takes no parameters (start, pause): an empty object.
func (w *walker) noParameters(root *jsonValue) *Error {
	if root.kind != jsonObject {
		return w.unexpectedNode(root, typeRef{s: &schema{kind: kindObject}})
	}
	for _, m := range root.members {
		if !strings.HasPrefix(m.name, "@") {
			return w.unknownProperty(&schema{kind: kindObject}, m.name)
		}
	}
	return nil
}

func (w *walker) value(v *jsonValue, t typeRef) *Error {
	s := t.s
	if v.kind == jsonNull {
		if t.nullable || s.kind == kindAny {
			return nil
		}
		return w.nullNotAllowed(t)
	}
	switch s.kind {
	case kindAny:
		return nil
	case kindObject:
		if v.kind != jsonObject {
			return w.unexpectedNode(v, t)
		}
		return w.object(v, s)
	case kindArray:
		if v.kind != jsonArray {
			return w.unexpectedNode(v, t)
		}
		for i := range v.elems {
			w.path = append(w.path, pathElem{index: i})
			e := w.value(&v.elems[i], s.items)
			w.path = w.path[:len(w.path)-1]
			if e != nil {
				return e
			}
		}
		return nil
	}
	if v.kind == jsonObject || v.kind == jsonArray {
		return w.unexpectedNode(v, t)
	}
	switch s.kind {
	case kindBoolean:
		if v.kind != jsonBool {
			return w.cannotConvert(v, s.edm)
		}
	case kindNumber:
		return w.number(v, s)
	case kindNumberOrString:
		if v.kind == jsonNumber {
			return w.number(v, s)
		}
		if v.kind != jsonString {
			return w.cannotConvert(v, s.edm)
		}
	case kindString:
		if v.kind != jsonString {
			return w.cannotConvert(v, s.edm)
		}
		return w.str(v.text, s)
	}
	return nil
}

func (w *walker) number(v *jsonValue, s *schema) *Error {
	if v.kind != jsonNumber {
		return w.cannotConvert(v, s.edm)
	}
	if s.intBits > 0 {
		if _, err := strconv.ParseInt(v.text, 10, s.intBits); err != nil {
			return w.cannotConvert(v, s.edm)
		}
	}
	return nil
}

func (w *walker) str(text string, s *schema) *Error {
	if s.enum != nil {
		if !enumAccepts(s, text) {
			return w.badEnum(text, s)
		}
		return nil
	}
	if s.pattern != nil && !s.pattern.MatchString(text) {
		return w.badFormat(s.edm)
	}
	switch s.format {
	case "date-time", "date":
		if !validCalendarDate(text) {
			return w.badFormat(s.edm)
		}
	case "base64url":
		if !validBase64(text) {
			return w.badFormat(s.edm)
		}
	}
	return nil
}

// enumAccepts checks a member name, or for a flags enum a comma-separated list of member names ("Add, Update,
// Delete" as the synchronization schema writes objectFlowTypes). Members are case-sensitive. An empty flags value
// is accepted: the API reference says resetScope "can also be empty" (synchronizationJobRestartCriteria).
func enumAccepts(s *schema, text string) bool {
	if !s.flags {
		_, ok := s.enum[text]
		return ok
	}
	if strings.TrimSpace(text) == "" {
		return true
	}
	for part := range strings.SplitSeq(text, ",") {
		if _, ok := s.enum[strings.TrimSpace(part)]; !ok {
			return false
		}
	}
	return true
}

func (w *walker) object(v *jsonValue, s *schema) *Error {
	if m := member(v, "@odata.type"); m != nil {
		derived, e := w.derivedType(&m.value, s)
		if e != nil {
			return e
		}
		s = derived
	}
	for i := range v.members {
		m := &v.members[i]
		if e := w.duplicate(v, i); e != nil {
			return e
		}
		name := m.name
		if strings.HasPrefix(name, "@") {
			continue // instance annotations ("@odata.type" is checked above, "@odata.context" is ignored)
		}
		if at := strings.IndexByte(name, '@'); at > 0 {
			// A property annotation such as "owners@odata.bind": its property must exist.
			if _, ok := s.props[name[:at]]; !ok && !s.dynamic(name[:at]) {
				return w.unknownProperty(s, name[:at])
			}
			continue
		}
		t, ok := s.props[name]
		if !ok {
			if s.dynamic(name) && !s.directory {
				continue // an open complex type's dynamic property takes any JSON value
			}
			if s.dynamic(name) {
				if e := w.extensionValue(&m.value, name); e != nil {
					return e
				}
				continue
			}
			return w.unknownProperty(s, name)
		}
		if w.depth() == 0 {
			w.topProperty = name
		}
		w.path = append(w.path, pathElem{name: name})
		e := w.value(&m.value, t)
		w.path = w.path[:len(w.path)-1]
		if e != nil {
			return e
		}
	}
	return nil
}

// derivedType resolves "@odata.type" ("#microsoft.graph.x"), which may name the expected type or a type
// derived from it.
func (w *walker) derivedType(v *jsonValue, expected *schema) (*schema, *Error) {
	if v.kind != jsonString {
		return nil, w.badRequest(w.pathWith("@odata.type"), "The value of the '@odata.type' annotation must be a string.")
	}
	name := strings.TrimPrefix(v.text, "#")
	if name == expected.name || expected.name == "" {
		return expected, nil
	}
	s, ok := w.spec.schemas[name]
	if !ok || s.kind != kindObject {
		return nil, w.unresolvedType(name)
	}
	for _, a := range s.ancestors {
		if a == expected.name {
			return s, nil
		}
	}
	return nil, w.notAssignable(name, expected.name)
}

// extensionValue checks a directory extension property: a primitive, null, or a collection of primitives.
func (w *walker) extensionValue(v *jsonValue, name string) *Error {
	w.path = append(w.path, pathElem{name: name})
	defer func() { w.path = w.path[:len(w.path)-1] }()
	switch v.kind {
	case jsonObject:
		return w.untypedValue()
	case jsonArray:
		for i := range v.elems {
			if k := v.elems[i].kind; k == jsonObject || k == jsonArray {
				w.path = append(w.path, pathElem{index: i})
				e := w.untypedValue()
				w.path = w.path[:len(w.path)-1]
				return e
			}
		}
	}
	return nil
}

func (w *walker) duplicate(v *jsonValue, i int) *Error {
	name := v.members[i].name
	for j := range i {
		if v.members[j].name == name {
			return w.duplicateProperty(name)
		}
	}
	return nil
}

func member(v *jsonValue, name string) *jsonMember {
	for i := range v.members {
		if v.members[i].name == name {
			return &v.members[i]
		}
	}
	return nil
}

// dynamic reports whether an open type takes name as a dynamic property: OData lets an open type carry any
// property, but the directory service takes only directory extension properties on its objects.
func (s *schema) dynamic(name string) bool {
	return s.open && (!s.directory || isExtensionName(name))
}

// isExtensionName reports whether name has the form of a directory extension property,
// "extension_<appId without dashes>_<name>".
func isExtensionName(name string) bool {
	rest, ok := strings.CutPrefix(name, "extension_")
	if !ok || len(rest) < 34 || rest[32] != '_' {
		return false
	}
	for i := range 32 {
		if !isHex(rest[i]) {
			return false
		}
	}
	for _, c := range []byte(rest[33:]) {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// validCalendarDate checks the day against the month of a value that already matched the date or date-time
// pattern (the pattern lets "2025-02-30" through; .NET's DateTimeOffset does not).
func validCalendarDate(text string) bool {
	dash := strings.IndexByte(text, '-')
	if dash < 4 || len(text) < dash+6 {
		return false
	}
	year, err := strconv.Atoi(text[:dash])
	if err != nil {
		return false
	}
	month, err1 := strconv.Atoi(text[dash+1 : dash+3])
	day, err2 := strconv.Atoi(text[dash+4 : dash+6])
	if err1 != nil || err2 != nil || month < 1 || month > 12 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day >= 1 && day <= days
}

// validBase64 accepts base64 in the URL-safe or the standard alphabet, padded or not (Edm.Binary in JSON).
func validBase64(text string) bool {
	trimmed := strings.TrimRight(text, "=")
	if len(text)-len(trimmed) > 2 || len(trimmed)%4 == 1 {
		return false
	}
	for i := range len(trimmed) {
		c := trimmed[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

func (w *walker) depth() int { return len(w.path) }

func (w *walker) lastName() string {
	if n := len(w.path); n > 0 {
		return w.path[n-1].name
	}
	return ""
}

func (w *walker) pathString() string {
	var b strings.Builder
	for _, p := range w.path {
		if p.name == "" {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(p.index))
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p.name)
	}
	return b.String()
}

func (w *walker) pathWith(name string) string {
	if p := w.pathString(); p != "" {
		return p + "." + name
	}
	return name
}
