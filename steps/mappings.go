package steps

import (
	"context"
	"fmt"
)

// attributeMappings makes the job's user attribute mappings exactly the list in DESIGN.md (documented step 5):
// externalId from objectId, emails from mail or, for users without a mailbox, the user principal name, and no
// other user mapping. Group mappings stay as the template has them.
type attributeMappings struct {
	schema []byte // read in the plan, when the job existed
	edited []byte
	ruleID string
}

func (s *attributeMappings) String() string { return "attribute mappings" }

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
		return Change{Resources: []Resource{{
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
	s.schema, s.edited, s.ruleID = schema, edited, ruleID
	env.Out().Mappings.Set(Mappings{RuleID: ruleID})
	if len(diffs) == 0 {
		return Change{Resources: []Resource{{Action: NoOp, Type: "user attribute mappings", Name: "Provision Microsoft Entra ID Users"}}}, nil
	}
	return Change{Resources: []Resource{{
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
	job, err := env.Out().Job.Wait(ctx)
	if err != nil {
		return err
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	if s.schema == nil {
		// The job was created in this run: its schema is the template's.
		schema, err := env.Graph.GetSyncSchema(ctx, app.SP.ID, job.ID)
		if err != nil {
			return fmt.Errorf("reading the provisioning job's schema: %w", err)
		}
		s.edited, _, s.ruleID, err = editUserMappings(schema)
		if err != nil {
			return err
		}
		s.schema = schema
	}
	if change.Pending() && string(s.edited) != string(s.schema) {
		if err := env.Graph.PutSyncSchema(ctx, app.SP.ID, job.ID, s.edited); err != nil {
			return fmt.Errorf("saving the attribute mappings: %w", err)
		}
	}
	env.Out().Mappings.Set(Mappings{RuleID: s.ruleID})
	return nil
}
