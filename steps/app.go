package steps

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/idpctl/idpctl/graph"
)

// NonGalleryTemplateID is Entra's "Create your own application" (non-gallery) template: only apps created from
// it get the provisioning (synchronization) capability the flow needs.
const NonGalleryTemplateID = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"

// Tag marks applications idpctl created, so a re-run finds them without the state file.
const Tag = "idpctl"

// pendingMarker starts the suffix of the unique temporary name an application is created under. Instantiate can
// answer an error and still create the application; the unique name lets a retry or a re-run find it.
const pendingMarker = " [idpctl "

// application finds the enterprise application of this setup or creates it from the non-gallery template
// (documented step 1.1-1.2), then waits until Graph serves it.
type application struct{}

// applicationPlan is the application step's payload: the application found, or nil when apply creates one.
type applicationPlan struct {
	Found *AppRef `json:"found,omitempty"`
}

func (s *application) String() string { return "application" }

func (s *application) Sets(_ Phase, out *Outputs) []Slot {
	return []Slot{&out.App}
}

func (s *application) Plan(ctx context.Context, env *Env) (Change, error) {
	ref, err := s.find(ctx, env)
	if err != nil {
		return Change{}, err
	}
	name := env.Inputs.AppName
	if ref != nil {
		env.Out().App.Set(*ref)
		return Change{Payload: applicationPlan{Found: ref}, Resources: []Resource{{
			Action: NoOp, Type: "enterprise application", Name: ref.App.DisplayName,
			Attrs: []Attr{Value("client id", ref.App.AppID), Value("object id", ref.App.ObjectID), Value("service principal", ref.SP.ID)},
		}}}, nil
	}
	env.Out().App.Set(AppRef{})
	return Change{Payload: applicationPlan{}, Resources: []Resource{{
		Action: Create, Type: "enterprise application", Name: name,
		Note:  "from Entra's non-gallery template (\"Create your own application\")",
		Attrs: []Attr{Later("client id"), Later("object id"), Later("service principal")},
	}}}, nil
}

// find looks the application up in the tenant: by --app-id, else by name among applications idpctl tagged, else
// under the temporary name of an interrupted create.
func (s *application) find(ctx context.Context, env *Env) (*AppRef, error) {
	in := env.Inputs
	var app graph.Application
	switch {
	case in.AppID != "":
		a, err := env.Graph.GetApplicationByAppID(ctx, in.AppID)
		if graph.IsNotFound(err) {
			return nil, &InputError{Problems: []string{fmt.Sprintf("--app-id %s: no application with this Application (client) ID in tenant %s; check the id on the app registration's Overview page", in.AppID, env.TenantID)}}
		}
		if err != nil {
			return nil, err
		}
		app = a
	default:
		candidates, err := env.Graph.FindApplications(ctx, graph.ApplicationQuery{DisplayNamePrefix: in.AppName})
		if err != nil {
			return nil, err
		}
		var ours, foreign, pending []graph.Application // pending: created under a temporary name, interrupted
		for _, a := range candidates {
			switch {
			case a.DisplayName == in.AppName && slices.Contains(a.Tags, Tag):
				ours = append(ours, a)
			case a.DisplayName == in.AppName:
				foreign = append(foreign, a)
			case strings.HasPrefix(a.DisplayName, in.AppName+pendingMarker):
				pending = append(pending, a)
			}
		}
		switch {
		case len(ours) > 1:
			return nil, ambiguous(in.AppName, ours, "idpctl created several applications named %q")
		case len(ours) == 1:
			app = ours[0]
		case len(foreign) > 0:
			return nil, ambiguous(in.AppName, foreign, "an application named %q exists that idpctl did not create")
		case len(pending) > 0:
			// An earlier run was interrupted while creating it; adopt the oldest.
			app = pending[0]
		default:
			return nil, nil
		}
	}
	sp, err := env.Graph.GetServicePrincipalByAppID(ctx, app.AppID)
	if graph.IsNotFound(err) {
		return nil, fmt.Errorf("application %q (client id %s) has no enterprise application (service principal) in this tenant: delete the app registration, or create its enterprise application in the Entra admin center, then run again", app.DisplayName, app.AppID)
	}
	if err != nil {
		return nil, err
	}
	return &AppRef{Exists: true, App: app, SP: sp}, nil
}

func ambiguous(name string, apps []graph.Application, format string) error {
	lines := []string{fmt.Sprintf(format+"; pass --app-id with the one to use, or choose another --app-name:", name)}
	for _, a := range apps {
		lines = append(lines, fmt.Sprintf("    %s  (client id %s, object id %s)", a.DisplayName, a.AppID, a.ObjectID))
	}
	return &InputError{Problems: []string{strings.Join(lines, "\n")}}
}

func (s *application) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[applicationPlan](change)
	if err != nil {
		return err
	}
	setup := env.Inputs.withoutSecrets().clone()
	if found := p.Found; found != nil {
		env.Out().App.Set(*found)
		return env.State.Update(env.clock().Now(), func(d *StateData) {
			d.ApplicationObjectID, d.AppID, d.ServicePrincipalID = found.App.ObjectID, found.App.AppID, found.SP.ID
			d.Setup = &setup
		})
	}
	tempName := env.Inputs.AppName + pendingMarker + randomSuffix() + "]"
	if err := env.State.Update(env.clock().Now(), func(d *StateData) { d.PendingDisplayName, d.Setup = tempName, &setup }); err != nil {
		return err
	}
	app, sp, err := env.Graph.InstantiateTemplate(ctx, NonGalleryTemplateID, tempName)
	if err != nil {
		if !mayHaveSucceeded(err) {
			return fmt.Errorf("creating the application: %w", err)
		}
		// The answer was lost or wrong, but the application may exist: look for it by its unique name.
		env.progress(s, "instantiate answered %v; looking for %q", err, tempName)
		app, sp, err = findCreated(ctx, env, tempName)
		if err != nil {
			return fmt.Errorf("creating the application: %w", err)
		}
	}
	if err := env.State.Update(env.clock().Now(), func(d *StateData) {
		d.ApplicationObjectID, d.AppID, d.ServicePrincipalID = app.ObjectID, app.AppID, sp.ID
	}); err != nil {
		return err
	}
	env.progress(s, "created %q (client id %s)", env.Inputs.AppName, app.AppID)
	if app, sp, err = waitReplicated(ctx, env, app.ObjectID, sp.ID); err != nil {
		return err
	}
	env.Out().App.Set(AppRef{Exists: true, Created: true, App: app, SP: sp})
	return nil
}

// findCreated finds an application created under a unique name whose create call did not answer properly.
// It waits while Graph has not replicated the new application yet, bounded by the context.
func findCreated(ctx context.Context, env *Env, name string) (graph.Application, graph.ServicePrincipal, error) {
	for delay := 500 * time.Millisecond; ; delay = min(2*delay, 10*time.Second) {
		apps, err := env.Graph.FindApplications(ctx, graph.ApplicationQuery{DisplayName: name})
		if err != nil {
			return graph.Application{}, graph.ServicePrincipal{}, err
		}
		if len(apps) > 0 {
			sp, err := env.Graph.GetServicePrincipalByAppID(ctx, apps[0].AppID)
			if err == nil {
				return apps[0], sp, nil
			}
			if !graph.IsNotFound(err) {
				return graph.Application{}, graph.ServicePrincipal{}, err
			}
		}
		if err := env.clock().Sleep(ctx, delay); err != nil {
			return graph.Application{}, graph.ServicePrincipal{}, fmt.Errorf("the application %q did not appear: %w", name, err)
		}
	}
}

// waitReplicated waits until Graph serves the new application and its service principal.
func waitReplicated(ctx context.Context, env *Env, appObjectID, spID string) (graph.Application, graph.ServicePrincipal, error) {
	var (
		app    graph.Application
		sp     graph.ServicePrincipal
		appErr = make(chan error, 1)
	)
	go func() {
		var err error
		app, err = env.Graph.WaitForApplication(ctx, appObjectID)
		appErr <- err
	}()
	sp, spErr := env.Graph.WaitForServicePrincipal(ctx, spID)
	if err := <-appErr; err != nil {
		return app, sp, fmt.Errorf("waiting for the new application: %w", err)
	}
	if spErr != nil {
		return app, sp, fmt.Errorf("waiting for the new service principal: %w", spErr)
	}
	return app, sp, nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// mayHaveSucceeded reports whether a failed create may still have created its object: Graph documents that
// instantiate can answer 404 and create the application anyway, and a 5xx or a lost connection says nothing.
func mayHaveSucceeded(err error) bool {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.Status == http.StatusNotFound || ge.Status >= 500
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
