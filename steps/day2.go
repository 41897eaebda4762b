package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/idpctl/idpctl/graph"
)

// The day-2 commands (status, rotate-secret, restart, provision, roles, teardown) work on what setup made. Each
// is a short list of steps run by the same Runner as setup, so each shows a plan before it writes. They start
// with the existing step, which finds the integration and never creates anything.

// NotSetUpError says the tenant holds no integration idpctl made under the name asked for. Foreign lists the
// applications with that name that idpctl did not create: they are never changed.
type NotSetUpError struct {
	TenantID string
	AppName  string
	AppID    string // --app-id, when it named an application idpctl did not create
	Foreign  []graph.Application
}

func (e *NotSetUpError) Error() string {
	if e.AppID != "" {
		return fmt.Sprintf("--app-id %s: the application %q was not created by idpctl (it has no %q tag); idpctl changes only what it created", e.AppID, e.Foreign[0].DisplayName, Tag)
	}
	msg := fmt.Sprintf("no application named %q made by idpctl in tenant %s: run idpctl setup entra first, or pass the --app-name or --app-id setup used", e.AppName, e.TenantID)
	if n := len(e.Foreign); n > 0 {
		msg += fmt.Sprintf(" (%d application%s named %q exist%s without idpctl's tag; idpctl never changes those)", n, pluralS(n), e.AppName, singularS(n))
	}
	return msg
}

// nothingToRemove says the same for a teardown, which then has nothing to do.
func (e *NotSetUpError) nothingToRemove() string {
	if e.AppID != "" {
		return fmt.Sprintf("nothing removed: --app-id %s names %q, which idpctl did not create (it has no %q tag); idpctl never changes it", e.AppID, e.Foreign[0].DisplayName, Tag)
	}
	msg := fmt.Sprintf("nothing removed: tenant %s holds no application named %q made by idpctl", e.TenantID, e.AppName)
	if n := len(e.Foreign); n > 0 {
		msg += fmt.Sprintf(" (%d application%s named %q exist%s without idpctl's tag; idpctl never changes those)", n, pluralS(n), e.AppName, singularS(n))
	}
	return msg
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func singularS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

// findExisting finds the application idpctl made: by --app-id, else by name among the applications carrying
// idpctl's tag. An application without the tag is never returned, whatever its name: day-2 commands change
// only what idpctl created.
func findExisting(ctx context.Context, env *Env) (AppRef, error) {
	in := env.Inputs
	var app graph.Application
	if in.AppID != "" {
		a, err := env.Graph.GetApplicationByAppID(ctx, in.AppID)
		if graph.IsNotFound(err) {
			return AppRef{}, &InputError{Problems: []string{fmt.Sprintf("--app-id %s: no application with this Application (client) ID in tenant %s; check the id on the app registration's Overview page", in.AppID, env.TenantID)}}
		}
		if err != nil {
			return AppRef{}, err
		}
		if !slices.Contains(a.Tags, Tag) {
			return AppRef{}, &NotSetUpError{TenantID: env.TenantID, AppName: in.AppName, AppID: in.AppID, Foreign: []graph.Application{a}}
		}
		app = a
	} else {
		candidates, err := env.Graph.FindApplications(ctx, graph.ApplicationQuery{DisplayName: in.AppName})
		if err != nil {
			return AppRef{}, err
		}
		var ours, foreign []graph.Application
		for _, a := range candidates {
			if a.DisplayName != in.AppName {
				continue
			}
			if slices.Contains(a.Tags, Tag) {
				ours = append(ours, a)
			} else {
				foreign = append(foreign, a)
			}
		}
		switch len(ours) {
		case 0:
			return AppRef{}, &NotSetUpError{TenantID: env.TenantID, AppName: in.AppName, Foreign: foreign}
		case 1:
			app = ours[0]
		default:
			return AppRef{}, ambiguous(in.AppName, ours, "idpctl created several applications named %q")
		}
	}
	sp, err := env.Graph.GetServicePrincipalByAppID(ctx, app.AppID)
	if graph.IsNotFound(err) {
		// Only the app registration is left (its service principal was deleted): that is still idpctl's.
		return AppRef{Exists: true, App: app}, nil
	}
	if err != nil {
		return AppRef{}, err
	}
	return AppRef{Exists: true, App: app, SP: sp}, nil
}

// findJob returns the application's provisioning job from the scim template, or nil.
func findJob(ctx context.Context, env *Env, spID string) (*graph.SyncJob, error) {
	if spID == "" {
		return nil, nil
	}
	jobs, err := env.Graph.ListSyncJobs(ctx, spID)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if isSCIMJob(j) {
			return &j, nil
		}
	}
	return nil, nil
}

// existing finds the integration setup made: the application carrying idpctl's tag (or the one --app-id
// names, if it carries the tag), its service principal and its provisioning job. It changes nothing.
type existing struct {
	// optional makes "nothing found" a plan with nothing to do instead of an error (teardown run twice); the
	// result's notes say why.
	optional bool
}

// existingPlan is the existing step's payload: what it found, so apply needs no second read.
type existingPlan struct {
	App *AppRef        `json:"app,omitempty"` // nil: nothing found (only when optional)
	Job *graph.SyncJob `json:"job,omitempty"`
	// Missing explains an empty App, for the result's notes.
	Missing string `json:"missing,omitempty"`
}

func (s *existing) String() string { return "existing application" }

func (s *existing) Sets(_ Phase, out *Outputs) []Slot {
	return []Slot{&out.App, &out.Job, &out.AppSettled}
}

func (s *existing) Plan(ctx context.Context, env *Env) (Change, error) {
	app, err := findExisting(ctx, env)
	var missing *NotSetUpError
	if s.optional && errors.As(err, &missing) {
		p := existingPlan{Missing: missing.nothingToRemove()}
		s.set(env, p)
		return Change{Payload: p}, nil
	}
	if err != nil {
		return Change{}, err
	}
	job, err := findJob(ctx, env, app.SP.ID)
	if err != nil {
		return Change{}, err
	}
	p := existingPlan{App: &app, Job: job}
	s.set(env, p)
	attrs := []Attr{Value("client id", app.App.AppID), Value("object id", app.App.ObjectID)}
	if job != nil {
		attrs = append(attrs, Value("provisioning job", job.ID))
	}
	return Change{Payload: p, Resources: []Resource{{Action: NoOp, Type: "enterprise application", Name: app.App.DisplayName, Attrs: attrs}}}, nil
}

// set writes the outputs. A day-2 run does not PATCH the application, so credential writes need not wait.
func (s *existing) set(env *Env, p existingPlan) {
	if p.App == nil {
		env.Out().App.Set(AppRef{})
	} else {
		env.Out().App.Set(*p.App)
	}
	env.Out().Job.Set(p.Job)
	env.Out().AppSettled.Set(struct{}{})
}

func (s *existing) Apply(_ context.Context, env *Env, change Change) error {
	p, err := payloadOf[existingPlan](change)
	if err != nil {
		return err
	}
	s.set(env, p)
	if p.Missing != "" {
		env.Note(p.Missing)
	}
	return nil
}

// requireJob is the provisioning job a day-2 step works on, or an error that says setup did not get that far.
func requireJob(ctx context.Context, env *Env) (AppRef, *graph.SyncJob, error) {
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return AppRef{}, nil, err
	}
	job, err := env.Out().Job.Wait(ctx)
	if err != nil {
		return AppRef{}, nil, err
	}
	if job == nil {
		return AppRef{}, nil, fmt.Errorf("the application %q has no provisioning job: run idpctl setup entra to create it", app.App.DisplayName)
	}
	return app, job, nil
}
