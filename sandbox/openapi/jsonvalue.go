package openapi

import (
	"encoding/json"
	"errors"
)

// jsonValue is a parsed JSON value that keeps object members in document order, so that the first offending
// property reported is the first one in the body, as with Graph's streaming reader.
type jsonValue struct {
	kind    jsonKind
	text    string // "true"/"false", the number literal, or the decoded string
	members []jsonMember
	elems   []jsonValue
}

type jsonMember struct {
	name  string
	value jsonValue
}

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonObject
	jsonArray
)

var errMalformed = errors.New("malformed JSON")

// parseJSON parses data that json.Valid accepted; it still fails cleanly rather than panicking on other input.
func parseJSON(data []byte) (jsonValue, error) {
	p := jsonParser{data: data}
	v, err := p.value()
	if err != nil {
		return jsonValue{}, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return jsonValue{}, errMalformed
	}
	return v, nil
}

type jsonParser struct {
	data []byte
	pos  int
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value() (jsonValue, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return jsonValue{}, errMalformed
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		return jsonValue{kind: jsonString, text: s}, err
	case c == 't':
		return p.literal("true", jsonValue{kind: jsonBool, text: "true"})
	case c == 'f':
		return p.literal("false", jsonValue{kind: jsonBool, text: "false"})
	case c == 'n':
		return p.literal("null", jsonValue{kind: jsonNull})
	default:
		return p.number()
	}
}

func (p *jsonParser) literal(word string, v jsonValue) (jsonValue, error) {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return jsonValue{}, errMalformed
	}
	p.pos += len(word)
	return v, nil
}

func (p *jsonParser) number() (jsonValue, error) {
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.pos++
			continue
		}
		break
	}
	if p.pos == start {
		return jsonValue{}, errMalformed
	}
	return jsonValue{kind: jsonNumber, text: string(p.data[start:p.pos])}, nil
}

// str reads a string token. Strings without escapes are sliced; the rare escaped one is decoded by
// encoding/json, which knows every escape and surrogate rule.
func (p *jsonParser) str() (string, error) {
	start := p.pos // at the opening quote
	p.pos++
	escaped := false
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case '\\':
			escaped = true
			p.pos += 2
			continue
		case '"':
			p.pos++
			if !escaped {
				return string(p.data[start+1 : p.pos-1]), nil
			}
			var s string
			if err := json.Unmarshal(p.data[start:p.pos], &s); err != nil {
				return "", errMalformed
			}
			return s, nil
		}
		p.pos++
	}
	return "", errMalformed
}

func (p *jsonParser) object() (jsonValue, error) {
	p.pos++ // {
	v := jsonValue{kind: jsonObject}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return jsonValue{}, errMalformed
		}
		name, err := p.str()
		if err != nil {
			return jsonValue{}, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return jsonValue{}, errMalformed
		}
		p.pos++
		val, err := p.value()
		if err != nil {
			return jsonValue{}, err
		}
		v.members = append(v.members, jsonMember{name: name, value: val})
		p.skipSpace()
		if p.pos >= len(p.data) {
			return jsonValue{}, errMalformed
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return v, nil
		default:
			return jsonValue{}, errMalformed
		}
	}
}

func (p *jsonParser) array() (jsonValue, error) {
	p.pos++ // [
	v := jsonValue{kind: jsonArray}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		val, err := p.value()
		if err != nil {
			return jsonValue{}, err
		}
		v.elems = append(v.elems, val)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return jsonValue{}, errMalformed
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return v, nil
		default:
			return jsonValue{}, errMalformed
		}
	}
}
