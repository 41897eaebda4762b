package steps

import (
	"cmp"
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
//
// Finding it survives a run killed at any moment: the ids an earlier run saved are read back by id (the reads
// Graph answers consistently, retried while the object replicates), a create whose answer never came is looked
// for under its unique temporary name until the lookup window has passed, and applications an earlier
// run left under a temporary name are removed once another one is in use (they are in the plan).
type application struct{}

// applicationPlan is the application step's payload: the application found, or nil when apply creates one,
// and the applications interrupted runs left behind, which apply removes.
type applicationPlan struct {
	Found   *AppRef             `json:"found,omitempty"`
	Orphans []graph.Application `json:"orphans,omitempty"`
	// CheckedAt is when the plan looked: apply looks again before it creates if that was a while ago (a person
	// read the plan first), since another run may have created the application meanwhile. It is not saved with
	// the plan (--plan-out): a saved plan is compared with a fresh one by its payloads, and it is old by the
	// time it is applied, so a zero CheckedAt makes apply look again.
	CheckedAt time.Time `json:"-"`
}

// freshFor is how long a plan's look for the application counts as the look before the create. A scripted
// run applies within it; a plan a person confirmed is looked at again.
const freshFor = 5 * time.Second

func (s *application) String() string { return "application" }

func (s *application) Sets(_ Phase, out *Outputs) []Slot {
	return []Slot{&out.App}
}

func (s *application) Plan(ctx context.Context, env *Env) (Change, error) {
	checked := env.clock().Now()
	ref, orphans, err := s.find(ctx, env)
	if err != nil {
		return Change{}, err
	}
	p := applicationPlan{Found: ref, Orphans: orphans, CheckedAt: checked.UTC()}
	var resources []Resource
	if ref != nil {
		env.Out().App.Set(*ref)
		resources = append(resources, Resource{
			Action: NoOp, Type: "enterprise application", Name: ref.App.DisplayName,
			Attrs: []Attr{Value("client id", ref.App.AppID), Value("object id", ref.App.ObjectID), Value("service principal", ref.SP.ID)},
		})
	} else {
		env.Out().App.Set(AppRef{})
		resources = append(resources, Resource{
			Action: Create, Type: "enterprise application", Name: env.Inputs.AppName,
			Note:  "from Entra's non-gallery template (\"Create your own application\")",
			Attrs: []Attr{Later("client id"), Later("object id"), Later("service principal")},
		})
	}
	for _, o := range orphans {
		resources = append(resources, Resource{
			Action: Delete, Type: "enterprise application", Name: o.DisplayName,
			Note:  "left under a temporary name by an interrupted run of idpctl",
			Attrs: []Attr{Value("client id", o.AppID), Value("object id", o.ObjectID)},
		})
	}
	return Change{Payload: p, Resources: resources}, nil
}

// find looks the application up in the tenant: by --app-id; else by the id the state file saved; else by name
// among applications idpctl tagged; else under the temporary name of an interrupted create. It also returns the
// applications idpctl left under temporary names that are not the one found.
func (s *application) find(ctx context.Context, env *Env) (*AppRef, []graph.Application, error) {
	in := env.Inputs
	st := env.State.Get()
	if in.AppID != "" {
		app, err := env.Graph.GetApplicationByAppID(ctx, in.AppID)
		if graph.IsNotFound(err) {
			return nil, nil, &InputError{Problems: []string{fmt.Sprintf("--app-id %s: no application with this Application (client) ID in tenant %s; check the id on the app registration's Overview page", in.AppID, env.TenantID)}}
		}
		if err != nil {
			return nil, nil, err
		}
		ref, err := withServicePrincipal(ctx, env, app, st)
		return ref, nil, err
	}

	// The application an earlier run made, read by the id it saved.
	var saved *graph.Application
	if id := st.ApplicationObjectID; id != "" {
		app, ok, err := readBack(ctx, env, st.ApplicationCreated, func(ctx context.Context) (graph.Application, error) {
			return env.Graph.GetApplication(ctx, id)
		})
		if err != nil {
			return nil, nil, err
		}
		if ok && (app.DisplayName == in.AppName || isTemporaryName(app.DisplayName, in.AppName)) {
			saved = &app
		}
	}

	candidates, err := env.Graph.FindApplications(ctx, graph.ApplicationQuery{DisplayNamePrefix: in.AppName})
	if err != nil {
		return nil, nil, err
	}
	var ours, foreign, pending []graph.Application // pending: created under a temporary name, interrupted
	for _, a := range candidates {
		switch {
		case saved != nil && a.ObjectID == saved.ObjectID:
		case a.DisplayName == in.AppName && slices.Contains(a.Tags, Tag):
			ours = append(ours, a)
		case a.DisplayName == in.AppName:
			foreign = append(foreign, a)
		case isTemporaryName(a.DisplayName, in.AppName):
			pending = append(pending, a)
		}
	}
	// A create whose answer never came: Graph's lists may not show the new application for a while.
	if saved == nil && st.PendingDisplayName != "" && !slices.ContainsFunc(pending, named(st.PendingDisplayName)) {
		app, ok, err := lookFor(ctx, env, st.PendingSince, func(ctx context.Context) (graph.Application, bool, error) {
			apps, err := env.Graph.FindApplications(ctx, graph.ApplicationQuery{DisplayName: st.PendingDisplayName})
			if err != nil || len(apps) == 0 {
				return graph.Application{}, false, err
			}
			return apps[0], true, nil
		})
		if err != nil {
			return nil, nil, err
		}
		if ok {
			pending = append(pending, app)
		}
	}

	var app graph.Application
	switch {
	case saved != nil && len(ours) > 0:
		return nil, nil, ambiguous(in.AppName, append(ours, *saved), "idpctl created several applications named %q")
	case saved != nil:
		app = *saved
	case len(ours) > 1:
		return nil, nil, ambiguous(in.AppName, ours, "idpctl created several applications named %q")
	case len(ours) == 1:
		app = ours[0]
	case len(foreign) > 0:
		return nil, nil, ambiguous(in.AppName, foreign, "an application named %q exists that idpctl did not create")
	case len(pending) > 0:
		// An earlier run was interrupted while creating it: adopt this machine's, else the oldest.
		slices.SortStableFunc(pending, func(a, b graph.Application) int {
			return cmp.Or(-cmp.Compare(bool2int(a.DisplayName == st.PendingDisplayName), bool2int(b.DisplayName == st.PendingDisplayName)), a.Created.Compare(b.Created))
		})
		app, pending = pending[0], pending[1:]
	default:
		return nil, orphansOf(env, pending, st), nil
	}
	ref, err := withServicePrincipal(ctx, env, app, st)
	if err != nil {
		return nil, nil, err
	}
	return ref, orphansOf(env, pending, st), nil
}

// orphansOf are the applications among pending that idpctl left behind: those made on this machine (their
// temporary names are in the state file), and those older than the lookup window (a run that is still alive
// renames its application within seconds). A younger one from another machine may be in the middle of its
// create, and is left to it.
func orphansOf(env *Env, pending []graph.Application, st StateData) []graph.Application {
	var out []graph.Application
	for _, a := range pending {
		ours := a.DisplayName == st.PendingDisplayName || slices.Contains(st.AbandonedDisplayNames, a.DisplayName)
		if ours || !a.Created.IsZero() && env.clock().Now().Sub(a.Created) > env.lookupWindow() {
			out = append(out, a)
		}
	}
	return out
}

// withServicePrincipal finds the application's service principal: by the id the state file saved, else by the
// application's client id, waiting while a new one replicates. It tells the Graph client when a recent
// application was created, so that later calls wait out its replication as if this run had created it.
func withServicePrincipal(ctx context.Context, env *Env, app graph.Application, st StateData) (*AppRef, error) {
	created := app.Created
	if st.AppID == app.AppID && !st.ApplicationCreated.IsZero() {
		created = st.ApplicationCreated
	}
	var (
		sp  graph.ServicePrincipal
		ok  bool
		err error
	)
	if st.AppID == app.AppID && st.ServicePrincipalID != "" {
		id := st.ServicePrincipalID
		sp, ok, err = readBack(ctx, env, created, func(ctx context.Context) (graph.ServicePrincipal, error) {
			return env.Graph.GetServicePrincipal(ctx, id)
		})
	}
	if err == nil && !ok {
		sp, ok, err = readBack(ctx, env, created, func(ctx context.Context) (graph.ServicePrincipal, error) {
			return env.Graph.GetServicePrincipalByAppID(ctx, app.AppID)
		})
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		// Not "delete the app registration": a service principal can lag, and deleting is not undone.
		return nil, fmt.Errorf("application %q (client id %s) has no enterprise application (service principal) in this tenant yet. If it was created in the last minutes, Graph has not caught up: run again in a few minutes. Otherwise create its service principal (App registrations › %s › Overview › Create Service Principal, or az ad sp create --id %s), then run again",
			app.DisplayName, app.AppID, app.DisplayName, app.AppID)
	}
	if !created.IsZero() {
		// The client decides from the time whether they may still be replicating.
		env.Graph.TrackCreated(created, app.ObjectID, app.AppID, sp.ID)
	}
	return &AppRef{Exists: true, App: app, SP: sp}, nil
}

func isTemporaryName(displayName, appName string) bool {
	return strings.HasPrefix(displayName, appName+pendingMarker)
}

func named(name string) func(graph.Application) bool {
	return func(a graph.Application) bool { return a.DisplayName == name }
}

func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
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
	for _, o := range p.Orphans {
		env.progress(s, "removing %q, left by an interrupted run", o.DisplayName)
		if err := env.Graph.DeleteApplication(ctx, o.ObjectID); err != nil && !graph.IsNotFound(err) {
			return fmt.Errorf("removing the application %q an interrupted run left: %w", o.DisplayName, err)
		}
	}
	found := p.Found
	if found == nil && env.clock().Now().Sub(p.CheckedAt) > freshFor {
		// Another run may have created it since the plan looked.
		if found, _, err = s.find(ctx, env); err != nil {
			return err
		}
		if found != nil {
			env.progress(s, "found %q (client id %s), created since the plan was made; using it", found.App.DisplayName, found.App.AppID)
		}
	}
	if found != nil {
		// The state names the service principal before the steps waiting for the application go on, as after a
		// create: a run killed once the job step has sent its create must leave a state file whose service
		// principal matches, or the next run does not look for that job and, under replication lag, makes a
		// second one.
		if err := env.State.Update(env.clock().Now(), func(d *StateData) {
			if d.AppID != found.App.AppID {
				d.ApplicationCreated = found.App.Created.UTC()
			}
			d.Setup = &setup
			d.ApplicationObjectID, d.AppID, d.ServicePrincipalID = found.App.ObjectID, found.App.AppID, found.SP.ID
		}); err != nil {
			return err
		}
		env.Out().App.Set(*found)
		return nil
	}
	return s.create(ctx, env, &setup)
}

// create instantiates the template under a unique temporary name, recorded in the state file first, so that a
// run killed while the create is on its way finds the application instead of making a second one.
func (s *application) create(ctx context.Context, env *Env, setup *Inputs) error {
	tempName := env.Inputs.AppName + pendingMarker + randomSuffix() + "]"
	now := env.clock().Now()
	if err := env.State.Update(now, func(d *StateData) {
		if d.PendingDisplayName != "" {
			// Looked for until the window passed: not there. If it shows up after all, it is an orphan.
			d.AbandonedDisplayNames = lastN(append(d.AbandonedDisplayNames, d.PendingDisplayName), maxAbandoned)
		}
		d.PendingDisplayName, d.PendingSince, d.Setup = tempName, now.UTC(), setup
		d.ApplicationObjectID, d.AppID, d.ServicePrincipalID, d.ApplicationCreated = "", "", "", time.Time{}
	}); err != nil {
		return err
	}
	app, sp, createErr := env.Graph.InstantiateTemplate(ctx, NonGalleryTemplateID, tempName)
	if createErr != nil {
		if !mayHaveSucceeded(createErr) {
			return fmt.Errorf("creating the application: %w", createErr)
		}
		// The answer was lost or wrong, but the application may exist: look for it by its unique name.
		env.progress(s, "instantiate answered %v; looking for %q", createErr, tempName)
		var (
			found bool
			err   error
		)
		app, sp, found, err = findCreated(ctx, env, tempName, now)
		if err != nil {
			return fmt.Errorf("creating the application: %w", err)
		}
		if !found {
			return fmt.Errorf("creating the application: Graph answered %w, and no application named %q appeared within %v, the lookup window: most likely none was created. Run again: the next run looks for it once more, and creates the application only if it is still not there",
				createErr, tempName, env.lookupWindow())
		}
		// The client tracks what it created from its answers; this one it learnt of by looking.
		env.Graph.TrackCreated(now, app.ObjectID, app.AppID, sp.ID)
	}
	if err := env.State.Update(env.clock().Now(), func(d *StateData) {
		d.ApplicationObjectID, d.AppID, d.ServicePrincipalID, d.ApplicationCreated = app.ObjectID, app.AppID, sp.ID, now.UTC()
	}); err != nil {
		return err
	}
	env.progress(s, "created %q (client id %s)", env.Inputs.AppName, app.AppID)
	app, sp, err := waitReplicated(ctx, env, app.ObjectID, sp.ID)
	if err != nil {
		return err
	}
	env.Out().App.Set(AppRef{Exists: true, Created: true, App: app, SP: sp})
	return nil
}

// maxAbandoned bounds the temporary names the state file keeps: each is one create that never showed up.
const maxAbandoned = 20

func lastN(names []string, n int) []string {
	if len(names) > n {
		return names[len(names)-n:]
	}
	return names
}

// findCreated finds an application created under a unique name whose create call did not answer properly,
// looking until the lookup window after the create has passed. found is false when it did not appear.
func findCreated(ctx context.Context, env *Env, name string, sent time.Time) (graph.Application, graph.ServicePrincipal, bool, error) {
	type created struct {
		app graph.Application
		sp  graph.ServicePrincipal
	}
	c, found, err := lookFor(ctx, env, sent, func(ctx context.Context) (created, bool, error) {
		apps, err := env.Graph.FindApplications(ctx, graph.ApplicationQuery{DisplayName: name})
		if err != nil || len(apps) == 0 {
			return created{}, false, err
		}
		sp, err := env.Graph.GetServicePrincipalByAppID(ctx, apps[0].AppID)
		if graph.IsNotFound(err) {
			return created{}, false, nil
		}
		return created{apps[0], sp}, err == nil, err
	})
	return c.app, c.sp, found, err
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

// mayHaveSucceeded reports whether a failed instantiate may still have created the application: Graph
// documents that instantiate can answer 404 and create it anyway, and a lost answer says nothing.
func mayHaveSucceeded(err error) bool {
	var ge *graph.Error
	return answerLost(err) || errors.As(err, &ge) && ge.Status == http.StatusNotFound
}

// answerLost reports whether a failed create says nothing about whether it happened: a 5xx, or a connection
// that ended without an answer. (A cancelled context ends the run; the next run looks for the object.)
func answerLost(err error) bool {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.Status >= 500
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
