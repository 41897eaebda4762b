package steps

import (
	"context"
	"encoding/json"
	"fmt"
)

// attributeMappings makes the job's user attribute mappings exactly the list in DESIGN.md (documented step 5):
// externalId from objectId, emails from mail or, for users without a mailbox, the user principal name, and no
// other user mapping. Group mappings stay as the template has them.
type attributeMappings struct{}

// mappingsPlan is the attribute mappings step's payload. For a job apply creates it is empty: the template's
// schema exists only then, and apply edits it the same way.
type mappingsPlan struct {
	RuleID string `json:"ruleId,omitempty"` // the synchronization rule holding the user mapping
	// Schema is the whole edited schema apply saves (the service takes only a PUT of all of it); nil when the
	// mappings are already right.
	Schema json.RawMessage `json:"schema,omitempty"`
}

func (s *attributeMappings) String() string { return "attribute mappings" }

func (s *attributeMappings) Sets(_ Phase, out *Outputs) []Slot {
	return []Slot{&out.Mappings}
}

func (s *attributeMappings) Plan(ctx context.Context, env *Env) (Change, error) {
	job, err := env.Out().Job.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	if job == nil {
		// The job does not exist yet: show the mappings it will end with.
		var attrs []Attr
		for _, w := range wantedUserMappings {
			attrs = append(attrs, Value(w.target, expression(w.source)))
		}
		env.Out().Mappings.Set(Mappings{})
		return Change{Payload: mappingsPlan{}, Resources: []Resource{{
			Action: Update, Type: "user attribute mappings", Name: "Provision Microsoft Entra ID Users", Attrs: attrs,
			Note: "every other default user mapping is removed; group mappings stay as they are",
		}}}, nil
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	schema, err := env.Graph.GetSyncSchema(ctx, app.SP.ID, job.ID)
	if err != nil {
		return Change{}, fmt.Errorf("reading the provisioning job's schema: %w", err)
	}
	edited, diffs, ruleID, err := editUserMappings(schema)
	if err != nil {
		return Change{}, err
	}
	env.Out().Mappings.Set(Mappings{RuleID: ruleID})
	if len(diffs) == 0 {
		return Change{Payload: mappingsPlan{RuleID: ruleID}, Resources: []Resource{{Action: NoOp, Type: "user attribute mappings", Name: "Provision Microsoft Entra ID Users"}}}, nil
	}
	return Change{Payload: mappingsPlan{RuleID: ruleID, Schema: edited}, Resources: []Resource{{
		Action: Update, Type: "user attribute mappings", Name: "Provision Microsoft Entra ID Users", Attrs: diffAttrs(diffs),
	}}}, nil
}

// diffAttrs shows mapping changes as attributes: target, old source, new source ("" when removed).
func diffAttrs(diffs []MappingDiff) []Attr {
	var attrs []Attr
	for _, d := range diffs {
		switch {
		case d.Old == "":
			attrs = append(attrs, Value("+ "+d.Target, d.New))
		case d.New == "":
			attrs = append(attrs, Set("- "+d.Target, d.Old, "(removed)"))
		default:
			attrs = append(attrs, Set("~ "+d.Target, d.Old, d.New))
		}
	}
	return attrs
}

func (s *attributeMappings) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[mappingsPlan](change)
	if err != nil {
		return err
	}
	job, err := env.Out().Job.Wait(ctx)
	if err != nil {
		return err
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	if p.RuleID == "" {
		// The job was created in this run: its schema is the template's.
		schema, err := env.Graph.GetSyncSchema(ctx, app.SP.ID, job.ID)
		if err != nil {
			return fmt.Errorf("reading the provisioning job's schema: %w", err)
		}
		edited, diffs, ruleID, err := editUserMappings(schema)
		if err != nil {
			return err
		}
		p.RuleID = ruleID
		if len(diffs) > 0 {
			p.Schema = edited
		}
	}
	if p.Schema != nil {
		if err := env.Graph.PutSyncSchema(ctx, app.SP.ID, job.ID, p.Schema); err != nil {
			return fmt.Errorf("saving the attribute mappings: %w", err)
		}
	}
	env.Out().Mappings.Set(Mappings{RuleID: p.RuleID})
	return nil
}
