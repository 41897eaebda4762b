package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/idpctl/idpctl/graph"
)

// attributeMappings makes the job's user attribute mappings exactly wantedUserMappings (README.md, step 5):
// externalId from objectId, emails from mail or, for users without a mailbox, the user principal name, and no
// other user mapping. Group mappings stay as the template has them.
type attributeMappings struct{}

// mappingsPlan is the attribute mappings step's payload. For a job apply creates it is empty: the template's
// schema exists only then, and apply edits it the same way.
type mappingsPlan struct {
	RuleID string `json:"ruleId,omitempty"` // the synchronization rule holding the user mapping
	// Schema is the whole schema as the plan read it, which apply edits and saves (the service takes only a PUT
	// of all of it); nil when the mappings are already right.
	Schema json.RawMessage `json:"schema,omitempty"`
	// Parse are the function expressions apply turns into sources with parseExpression: a plan only reads, and
	// the source structure is the service's.
	Parse []string `json:"parse,omitempty"`
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
		for _, w := range wantedUserMappings() {
			attrs = append(attrs, Value(w.target, w.expression))
		}
		env.Out().Mappings.Set(Mappings{})
		return Change{Payload: mappingsPlan{}, Resources: []Resource{{
			Action: Update, Type: "user attribute mappings", Name: "Provision Microsoft Entra ID Users", Attrs: attrs,
			Note: "every other default user mapping is removed; group mappings stay as they are; function sources are parsed by Entra (parseExpression)",
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
	edit, err := editUserMappings(schema, nil)
	if err != nil {
		return Change{}, err
	}
	env.Out().Mappings.Set(Mappings{RuleID: edit.RuleID})
	if len(edit.Diffs) == 0 {
		return Change{Payload: mappingsPlan{RuleID: edit.RuleID}, Resources: []Resource{{Action: NoOp, Type: "user attribute mappings", Name: "Provision Microsoft Entra ID Users"}}}, nil
	}
	return Change{Payload: mappingsPlan{RuleID: edit.RuleID, Schema: schema, Parse: edit.Unparsed}, Resources: []Resource{{
		Action: Update, Type: "user attribute mappings", Name: "Provision Microsoft Entra ID Users", Attrs: diffAttrs(edit.Diffs),
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
	var schema []byte
	parsed := map[string]graph.MappingSource{}
	switch {
	case p.RuleID == "":
		// The job was created in this run: its schema is the template's. The sources the template never has
		// right are parsed meanwhile, so the edit waits for no further round trip.
		var wg sync.WaitGroup
		var parseErr error
		wg.Go(func() { parsed, parseErr = parseExpressions(ctx, env, app.SP.ID, job.ID, speculativeExpressions()) })
		schema, err = env.Graph.GetSyncSchema(ctx, app.SP.ID, job.ID)
		wg.Wait()
		if err != nil {
			return fmt.Errorf("reading the provisioning job's schema: %w", err)
		}
		if parseErr != nil {
			return parseErr
		}
	case p.Schema != nil:
		schema = p.Schema
		if parsed, err = parseExpressions(ctx, env, app.SP.ID, job.ID, p.Parse); err != nil {
			return err
		}
	}
	if schema != nil {
		edit, err := editUserMappings(schema, parsed)
		if err == nil && len(edit.Unparsed) > 0 {
			// A mapping the template usually has right (active) was not: its source is parsed now.
			var more map[string]graph.MappingSource
			if more, err = parseExpressions(ctx, env, app.SP.ID, job.ID, edit.Unparsed); err == nil {
				maps.Copy(parsed, more)
				edit, err = editUserMappings(schema, parsed)
			}
		}
		if err != nil {
			return err
		}
		p.RuleID = edit.RuleID
		if edit.Schema != nil {
			if err := env.Graph.PutSyncSchema(ctx, app.SP.ID, job.ID, edit.Schema); err != nil {
				return fmt.Errorf("saving the attribute mappings: %w", err)
			}
		}
	}
	env.Out().Mappings.Set(Mappings{RuleID: p.RuleID})
	return nil
}

// parseExpressions asks the provisioning service for the source of each expression (parseExpression), all at
// once.
func parseExpressions(ctx context.Context, env *Env, spID, jobID string, expressions []string) (map[string]graph.MappingSource, error) {
	parsed := make(map[string]graph.MappingSource, len(expressions))
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, e := range expressions {
		wg.Go(func() {
			src, err := env.Graph.ParseExpression(ctx, spID, jobID, e)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("parsing the mapping %s: %w", e, err))
				return
			}
			parsed[e] = src
		})
	}
	wg.Wait()
	return parsed, errors.Join(errs...)
}
