package steps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// Plan is the result of planning: each step's change, in display order, and what it was planned for. Like
// Terraform's saved plan, its JSON form is the same struct the text renders: `--plan-out` saves it, and
// `--plan` applies exactly what it holds once a fresh read-only plan shows the tenant has not moved since.
type Plan struct {
	TenantID  string        // the tenant planned
	Inputs    Inputs        // the inputs planned, without secrets
	CreatedAt time.Time     // when the plan was made
	Version   string        // the idpctl version that made it; set by the caller, which knows it
	Steps     []PlannedStep // in display order
}

// PlannedStep is one step's planned change.
type PlannedStep struct {
	Step   string `json:"step"`
	Change Change `json:"change"`
}

// PlanFormat is the version of the plan's JSON form. A plan of another format is refused, never guessed at.
const PlanFormat = 1

// Pending reports whether applying the plan would change anything.
func (p *Plan) Pending() bool {
	for _, s := range p.Steps {
		if s.Change.Pending() {
			return true
		}
	}
	return false
}

// planJSON is the machine form of a plan: the same structure plus the format, the counts and the pending flag.
type planJSON struct {
	Format    int           `json:"formatVersion"`
	Version   string        `json:"idpctlVersion,omitempty"`
	CreatedAt time.Time     `json:"createdAt"`
	TenantID  string        `json:"tenantId"`
	Inputs    Inputs        `json:"inputs"`
	Pending   bool          `json:"pending"`
	Steps     []PlannedStep `json:"steps"`
	Counts    Counts        `json:"counts"`
}

// MarshalJSON writes the plan's JSON form.
func (p *Plan) MarshalJSON() ([]byte, error) {
	return json.Marshal(planJSON{
		Format: PlanFormat, Version: p.Version, CreatedAt: p.CreatedAt, TenantID: p.TenantID, Inputs: p.Inputs,
		Pending: p.Pending(), Steps: p.Steps, Counts: p.Counts(),
	})
}

// ReadPlan reads a plan's JSON form, as --plan-out saved it.
func ReadPlan(raw []byte) (*Plan, error) {
	var v planJSON
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("not a plan saved by idpctl (%v)", err)
	}
	if v.Format != PlanFormat {
		return nil, fmt.Errorf("a plan of format %d; this idpctl reads format %d: make the plan again with this version", v.Format, PlanFormat)
	}
	if v.TenantID == "" || len(v.Steps) == 0 {
		return nil, errors.New("not a plan saved by idpctl: it names no tenant or no steps")
	}
	return &Plan{TenantID: v.TenantID, Inputs: v.Inputs, CreatedAt: v.CreatedAt, Version: v.Version, Steps: v.Steps}, nil
}

// StaleError says a saved plan no longer describes the tenant: applying it could do something other than what
// was reviewed. Applying a plan a second time is one case: the first apply changed what it planned.
type StaleError struct {
	Steps []StaleStep
}

// StaleStep is one step whose fresh plan differs from the saved one.
type StaleStep struct {
	Step    string
	Planned string   // the saved change, in a few words
	Now     string   // the change a plan made now would make
	Differs []string // the payload fields that differ
}

func (e *StaleError) Error() string {
	head := "the saved plan is stale: the tenant (or a token given now) changed since it was made, so it no longer says what applying would do:"
	if !slices.ContainsFunc(e.Steps, func(s StaleStep) bool { return s.Now != "unchanged" }) {
		head = "the saved plan is stale: it has been applied already (the tenant now matches it):"
	}
	lines := []string{head}
	for _, s := range e.Steps {
		line := fmt.Sprintf("  - %s: planned %s; now %s", s.Step, s.Planned, s.Now)
		if s.Planned == s.Now && len(s.Differs) > 0 {
			line = fmt.Sprintf("  - %s: what it read differs (%s)", s.Step, strings.Join(s.Differs, ", "))
		}
		lines = append(lines, line)
	}
	lines = append(lines, "nothing was changed; make a new plan (--dry-run --plan-out FILE), review it, and apply that one")
	return strings.Join(lines, "\n")
}

// Stale compares a saved plan with current, a plan just made with the same steps and inputs. Each step's
// payload holds what it read and decided, so equal payloads mean apply would do what was reviewed.
func (p *Plan) Stale(current *Plan) error {
	if len(p.Steps) != len(current.Steps) {
		return fmt.Errorf("the saved plan has %d steps, this idpctl has %d: make the plan again with this version", len(p.Steps), len(current.Steps))
	}
	var stale StaleError
	for i, saved := range p.Steps {
		now := current.Steps[i]
		if saved.Step != now.Step {
			return fmt.Errorf("the saved plan's step %d is %q, this idpctl's is %q: make the plan again with this version", i+1, saved.Step, now.Step)
		}
		differs, err := payloadDiff(saved.Change.Payload, now.Change.Payload)
		if err != nil {
			return fmt.Errorf("comparing the saved plan's %s: %w", saved.Step, err)
		}
		if len(differs) > 0 {
			stale.Steps = append(stale.Steps, StaleStep{Step: saved.Step, Planned: saved.Change.Summary(), Now: now.Change.Summary(), Differs: differs})
		}
	}
	if len(stale.Steps) > 0 {
		return &stale
	}
	return nil
}

// payloadDiff names the top-level fields in which two payloads differ, comparing their JSON forms: a payload
// read from a file and one just planned are the same when their JSON is.
func payloadDiff(a, b any) ([]string, error) {
	x, err := jsonFields(a)
	if err != nil {
		return nil, err
	}
	y, err := jsonFields(b)
	if err != nil {
		return nil, err
	}
	var differs []string
	for k, v := range x {
		if w, ok := y[k]; !ok || !bytes.Equal(v, w) {
			differs = append(differs, k)
		}
	}
	for k := range y {
		if _, ok := x[k]; !ok {
			differs = append(differs, k)
		}
	}
	slices.Sort(differs)
	return differs, nil
}

// jsonFields is a payload's top-level fields, each in a canonical JSON form (object keys sorted, numbers as
// written).
func jsonFields(payload any) (map[string][]byte, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return nil, fmt.Errorf("a payload is not a JSON object: %w", err)
	}
	out := map[string][]byte{}
	for k, v := range fields {
		if out[k], err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// WritePlanFile saves the plan's JSON form to file (mode 0600: it names the tenant's users and groups).
func WritePlanFile(file string, p *Plan) error {
	raw, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, append(raw, '\n'), 0o600); err != nil {
		return fmt.Errorf("--plan-out: %w", err)
	}
	return nil
}

// ReadPlanFile reads a plan saved by WritePlanFile. A file cut short by a crash does not parse, so it is
// refused rather than half applied.
func ReadPlanFile(file string) (*Plan, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--plan: %w", err)
	}
	p, err := ReadPlan(raw)
	if err != nil {
		return nil, fmt.Errorf("--plan %s: %w", file, err)
	}
	return p, nil
}
