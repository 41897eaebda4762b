// Package secret holds credentials (client secrets, SCIM and backend tokens, access tokens) in a type that
// refuses to print itself, so a secret cannot reach a log, a plan, a state file or an error by accident.
package secret

import (
	"encoding/json"
	"log/slog"
	"strings"
)

// Value is a credential. Every way of printing or encoding it yields a redaction; Reveal is the one way out,
// used only where the secret is sent to its destination (an HTTP header, a request body, a 0600 file).
//
// The secret sits behind a pointer: fmt prints unexported struct fields by reflection without calling String,
// so a Value inside another type's unexported field would otherwise print in full. Through a pointer it prints
// as an address.
type Value struct {
	p *string
}

const redacted = "[redacted]"

// New wraps s.
func New(s string) Value {
	if s == "" {
		return Value{}
	}
	return Value{p: &s}
}

// Reveal returns the secret itself.
func (s Value) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsZero reports whether no secret is held.
func (s Value) IsZero() bool { return s.p == nil }

// Equal reports whether two values hold the same secret.
func (s Value) Equal(o Value) bool { return s.Reveal() == o.Reveal() }

// Hint returns the first three characters, as Entra shows for client secrets, or "" for short secrets.
func (s Value) Hint() string {
	v := s.Reveal()
	if len(v) < 12 {
		return ""
	}
	return v[:3]
}

func (s Value) String() string   { return s.redaction() }
func (s Value) GoString() string { return "secret.Value(" + s.redaction() + ")" }

// MarshalJSON never writes the secret: a struct holding a Value can be logged or saved safely.
func (s Value) MarshalJSON() ([]byte, error) { return json.Marshal(s.redaction()) }

// MarshalText never writes the secret either.
func (s Value) MarshalText() ([]byte, error) { return []byte(s.redaction()), nil }

// LogValue keeps the secret out of slog output.
func (s Value) LogValue() slog.Value { return slog.StringValue(s.redaction()) }

func (s Value) redaction() string {
	if s.IsZero() {
		return ""
	}
	return redacted
}

// Scrub replaces every occurrence of the given secrets in text with a redaction. Use it on text that came from
// somewhere else (an HTTP error body, a third-party error message) before showing it.
func Scrub(text string, secrets ...Value) string {
	for _, s := range secrets {
		if v := s.Reveal(); len(v) >= 4 {
			text = strings.ReplaceAll(text, v, redacted)
		}
	}
	return text
}
