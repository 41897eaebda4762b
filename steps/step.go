// Package steps is idpctl's engine: the documented setup steps as small types with a read-only Plan and an
// idempotent Apply, the ordered list of them, the runner that plans and applies them, and the plan's rendering.
package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// A Step is one part of the documented procedure. Plan only reads (GETs) and says what Apply would change;
// Apply makes the tenant match the plan and is safe to repeat. Everything Plan found that Apply needs travels in
// the Change's payload, never in the step value: a step can be planned twice, and a plan saved to a file and
// read back applies the same way. Values a step finds or creates are written to the step's typed outputs in Env
// and read by later steps, never passed around as untyped maps.
type Step interface {
	String() string
	// Sets lists the outputs the step writes in phase. The runner fails a step that returns without writing
	// one of them, at once and by name, instead of leaving the steps that wait for it hanging until the timeout.
	Sets(phase Phase, out *Outputs) []Slot
	Plan(ctx context.Context, env *Env) (Change, error)
	Apply(ctx context.Context, env *Env, change Change) error
}

// Action is what a plan does to one resource.
type Action string

const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
	NoOp   Action = "no-op"
	// Run is for actions that change no stored object but do something (a connection test, provisioning on
	// demand, starting the job).
	Run Action = "run"
)

// Symbol is the Terraform-style marker of an action.
func (a Action) Symbol() string {
	switch a {
	case Create:
		return "+"
	case Update:
		return "~"
	case Delete:
		return "-"
	case Run:
		return ">"
	default:
		return " "
	}
}

// Change is what one step's Apply would do: the resource changes people review, and the payload Apply works
// from. The payload is the step's own struct: what Plan read and decided, JSON-serialisable and never holding a
// secret, because a plan is printed and saved to files.
type Change struct {
	Resources []Resource `json:"resources"`
	// Payload is the step's plan struct; in a plan read from JSON it is the json.RawMessage the step decodes.
	Payload any `json:"payload,omitempty"`
}

// MarshalJSON writes resources as an array, also when there are none.
func (c Change) MarshalJSON() ([]byte, error) {
	type change Change
	if c.Resources == nil {
		c.Resources = []Resource{}
	}
	return json.Marshal(change(c))
}

// UnmarshalJSON keeps the payload as raw JSON: only the step it belongs to knows its type (payloadOf).
func (c *Change) UnmarshalJSON(raw []byte) error {
	var v struct {
		Resources []Resource      `json:"resources"`
		Payload   json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	c.Resources, c.Payload = v.Resources, nil
	if len(v.Payload) > 0 && string(v.Payload) != "null" {
		c.Payload = v.Payload
	}
	return nil
}

// payloadOf returns a step's payload: the value its Plan put in the change or, in a plan read from JSON, that
// value decoded. A payload of another shape means the plan does not belong to this step (or this version).
func payloadOf[P any](c Change) (P, error) {
	var p P
	switch v := c.Payload.(type) {
	case P:
		return v, nil
	case json.RawMessage:
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return p, fmt.Errorf("the planned change does not fit this step: %w", err)
		}
		return p, nil
	default:
		return p, fmt.Errorf("the planned change carries %T, not this step's %T: apply a plan made for these steps", c.Payload, p)
	}
}

// Pending reports whether applying the change would do anything.
func (c Change) Pending() bool {
	for _, r := range c.Resources {
		if r.Action != NoOp {
			return true
		}
	}
	return false
}

// Resource is one object (or one action) in the plan.
type Resource struct {
	Action Action `json:"action"`
	Type   string `json:"type"` // "application", "client secret", "app role assignment", ...
	Name   string `json:"name"`
	Attrs  []Attr `json:"attributes,omitempty"`
	Note   string `json:"note,omitempty"` // why, in a few words: "replaces a secret idpctl could not confirm was handed over"
}

// Attr is one attribute of a planned resource. Sensitive values are never stored here: the plan shows
// "(sensitive)" instead, so a plan can be printed, saved or logged safely.
type Attr struct {
	Name      string `json:"name"`
	Old       string `json:"old,omitempty"`
	New       string `json:"new,omitempty"`
	Unknown   bool   `json:"knownAfterApply,omitempty"` // the value only exists once applied
	Sensitive bool   `json:"sensitive,omitempty"`
}

// Set returns an attribute that goes from old to new.
func Set(name, old, new string) Attr { return Attr{Name: name, Old: old, New: new} }

// Value returns an attribute of a created resource.
func Value(name, v string) Attr { return Attr{Name: name, New: v} }

// Later returns an attribute whose value is known only after apply.
func Later(name string) Attr { return Attr{Name: name, Unknown: true} }

// Sensitive returns an attribute whose value is a secret and is never shown.
func Sensitive(name string) Attr { return Attr{Name: name, Sensitive: true} }

// Summary says in a few words what applying the change would do: create client secret "idpctl 2026-11-29".
func (c Change) Summary() string {
	return c.describe(map[Action]string{Create: "create", Update: "update", Delete: "delete", Run: "run"})
}

// Done says the same once applied: created client secret "idpctl 2026-11-29".
func (c Change) Done() string {
	return c.describe(map[Action]string{Create: "created", Update: "updated", Delete: "deleted", Run: "ran"})
}

func (c Change) describe(verbs map[Action]string) string {
	var parts []string
	for _, r := range c.Resources {
		if verb := verbs[r.Action]; verb != "" {
			parts = append(parts, fmt.Sprintf("%s %s %q", verb, r.Type, r.Name))
		}
	}
	if len(parts) == 0 {
		return "unchanged"
	}
	return strings.Join(parts, "; ")
}
