package steps

import (
	"context"
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
