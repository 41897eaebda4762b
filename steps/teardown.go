package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/graph"
)

// Teardown is `idpctl teardown entra`: everything setup created goes, in an order that keeps a run stopped at
// any point safe to repeat. Provisioning stops first: with the job still running, removing the assignments
// would have Entra disable every user in the SaaS on its next cycle (an unassigned user is soft-deleted for
// the target). The SaaS forgets the registration before the application goes, so a re-run still knows the
// client id to remove it by. Only the application carrying idpctl's tag is found (findExisting); nothing is
// done when there is none, so a second teardown succeeds. keepApp stops provisioning only: the application
// and single sign-on stay.
func Teardown(keepApp bool) []Step {
	if keepApp {
		return []Step{
			&existing{optional: true}, // the application setup made, if it is still there
			&jobRemoval{},             // provisioning stops: the job is deleted
		}
	}
	return []Step{
		&existing{optional: true}, // the application setup made, if it is still there
		&jobRemoval{},             // provisioning stops: the job is deleted
		&registrationRemoval{},    // the SaaS forgets the application (--backend http)
		&accessRemoval{},          // the app role assignments and the consent grant
		&appRemoval{},             // the service principal and the application; then the state file's record
	}
}

// deletedItemsNote says where deleted applications go: "Soft-deleted application and service principal
// objects go into the deleted items container and remain available to restore for up to 30 days" (ENTRA
// enterprise-apps/delete-recover-faq.md; restoring the application does not restore the service principal,
// DOCS directory-deleteditems-restore.md).
const deletedItemsNote = "the application and its enterprise application stay in Entra's deleted items for 30 days and can be restored until then (Entra admin center › App registrations › Deleted applications; the enterprise application is restored separately); after that they are gone for good"

// recordedApp is the client id of the application the state file records, and whether the state is about the
// application this run was asked for: not when --app-id names another one, whose teardown must neither remove
// the recorded application's registration nor forget its setup.
func recordedApp(env *Env) (clientID string, ours bool) {
	recorded := env.State.Get().AppID
	if env.Inputs.AppID != "" && !strings.EqualFold(env.Inputs.AppID, recorded) {
		return "", false
	}
	return recorded, true
}

// jobRemoval stops provisioning by deleting the provisioning job: "Stop the synchronization job, and
// permanently delete all the state associated with it. Synchronized accounts are left as-is." (DOCS
// synchronization-synchronizationjob-delete.md).
type jobRemoval struct{}

// jobRemovalPlan is the job removal's payload: the job to delete, if any.
type jobRemovalPlan struct {
	ServicePrincipalID string `json:"servicePrincipalId,omitempty"`
	JobID              string `json:"jobId,omitempty"`
}

func (s *jobRemoval) String() string { return "provisioning job" }

func (s *jobRemoval) Sets(phase Phase, out *Outputs) []Slot {
	if phase == Planning {
		return nil
	}
	return []Slot{&out.JobRemoved}
}

func (s *jobRemoval) Plan(ctx context.Context, env *Env) (Change, error) {
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	job, err := env.Out().Job.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	if job == nil {
		return Change{Payload: jobRemovalPlan{}}, nil
	}
	return Change{Payload: jobRemovalPlan{ServicePrincipalID: app.SP.ID, JobID: job.ID}, Resources: []Resource{{
		Action: Delete, Type: "provisioning job", Name: job.ID, Attrs: []Attr{Value("status", job.Status.Code)},
		Note: "provisioning stops; the users already in the SaaS stay as they are",
	}}}, nil
}

func (s *jobRemoval) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[jobRemovalPlan](change)
	if err != nil {
		return err
	}
	if p.JobID != "" {
		if err := env.Graph.DeleteSyncJob(ctx, p.ServicePrincipalID, p.JobID); err != nil && !graph.IsNotFound(err) {
			return fmt.Errorf("deleting the provisioning job %s: %w", p.JobID, err)
		}
		// The job's saved credentials went with it: a later setup saves them again.
		if err := env.State.Update(env.clock().Now(), func(d *StateData) {
			d.ProvisioningJobID, d.ProvisioningCredentials = "", ""
		}); err != nil {
			return err
		}
	}
	env.Out().JobRemoved.Set(struct{}{})
	return nil
}

// manualRemovalNote is what the admin does where idpctl cannot reach the SaaS.
const manualRemovalNote = "remove the Entra ID connection in your SaaS yourself (Smallstep: the dashboard's Settings › Identity provider); idpctl cannot reach it without an API"

// registrationRemoval removes the application's registration from the SaaS through a backend with an API. The
// client id comes from the application or, once it is gone, from the state file, so a teardown stopped after
// deleting the application still removes the registration when run again.
type registrationRemoval struct{}

// registrationRemovalPlan is its payload: the client id of the registration to remove; empty for none.
type registrationRemovalPlan struct {
	ClientID string `json:"clientId,omitempty"`
	// Manual: the backend has no API; the admin removes the connection in the SaaS.
	Manual bool `json:"manual,omitempty"`
}

func (s *registrationRemoval) String() string { return "backend registration" }

func (s *registrationRemoval) Sets(phase Phase, out *Outputs) []Slot {
	if phase == Planning {
		return nil
	}
	return []Slot{&out.Unregistered}
}

func (s *registrationRemoval) Plan(ctx context.Context, env *Env) (Change, error) {
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	clientID := app.App.AppID
	if clientID == "" {
		// The application is gone: the state names the one setup made.
		clientID, _ = recordedApp(env)
	}
	if clientID == "" {
		return Change{Payload: registrationRemovalPlan{}}, nil
	}
	if env.Backend.Name() != backend.NameHTTP {
		return Change{Payload: registrationRemovalPlan{ClientID: clientID, Manual: true}, Resources: []Resource{{
			Action: NoOp, Type: "SaaS connection", Name: clientID, Note: manualRemovalNote,
		}}}, nil
	}
	return Change{Payload: registrationRemovalPlan{ClientID: clientID}, Resources: []Resource{{
		Action: Delete, Type: "backend registration", Name: clientID, Attrs: []Attr{Value("backend", env.Backend.Destination().URL)},
		Note: "single sign-on with this application stops and its SCIM token is revoked",
	}}}, nil
}

func (s *registrationRemoval) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[registrationRemovalPlan](change)
	if err != nil {
		return err
	}
	switch {
	case p.Manual:
		env.Note(manualRemovalNote)
	case p.ClientID != "":
		if err := env.Backend.Unregister(ctx, env.TenantID, p.ClientID); err != nil {
			if errors.Is(err, backend.ErrUnsupported) {
				env.Note(err.Error())
			} else {
				return fmt.Errorf("%w; nothing in Entra was deleted after the provisioning job, so run idpctl teardown entra again once the backend answers", err)
			}
		}
	}
	env.Out().Unregistered.Set(struct{}{})
	return nil
}

// accessRemoval deletes the application's app role assignments (who is assigned, so who is provisioned and may
// sign in) and its delegated consent grants, once provisioning has stopped.
type accessRemoval struct{}

// accessRemovalPlan is its payload.
type accessRemovalPlan struct {
	ServicePrincipalID string   `json:"servicePrincipalId,omitempty"`
	Assignments        []string `json:"assignments,omitempty"`
	Grants             []string `json:"grants,omitempty"`
}

func (s *accessRemoval) String() string { return "assignments and consent" }

func (s *accessRemoval) Sets(phase Phase, out *Outputs) []Slot {
	if phase == Planning {
		return nil
	}
	return []Slot{&out.AccessGone}
}

func (s *accessRemoval) Plan(ctx context.Context, env *Env) (Change, error) {
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	if app.SP.ID == "" {
		return Change{Payload: accessRemovalPlan{}}, nil
	}
	assignments, err := env.Graph.ListAppRoleAssignedTo(ctx, app.SP.ID)
	if err != nil {
		return Change{}, err
	}
	grants, err := env.Graph.ListPermissionGrants(ctx, app.SP.ID)
	if err != nil {
		return Change{}, err
	}
	p := accessRemovalPlan{ServicePrincipalID: app.SP.ID}
	var change Change
	for _, a := range assignments {
		p.Assignments = append(p.Assignments, a.ID)
		change.Resources = append(change.Resources, Resource{Action: Delete, Type: "app role assignment", Name: a.PrincipalDisplayName,
			Attrs: []Attr{Value("principal type", a.PrincipalType), Value("principal id", a.PrincipalID)}})
	}
	for _, g := range grants {
		p.Grants = append(p.Grants, g.ID)
		change.Resources = append(change.Resources, Resource{Action: Delete, Type: "consent grant", Name: g.Scope,
			Attrs: []Attr{Value("consent type", g.ConsentType), Value("resource id", g.ResourceID)}})
	}
	change.Payload = p
	return change, nil
}

func (s *accessRemoval) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[accessRemovalPlan](change)
	if err != nil {
		return err
	}
	if _, err := env.Out().JobRemoved.Wait(ctx); err != nil {
		return err
	}
	for _, id := range p.Assignments {
		if err := env.Graph.DeleteAppRoleAssignment(ctx, p.ServicePrincipalID, id); err != nil && !graph.IsNotFound(err) {
			return fmt.Errorf("removing the app role assignment %s: %w", id, err)
		}
	}
	for _, id := range p.Grants {
		if err := env.Graph.DeletePermissionGrant(ctx, id); err != nil && !graph.IsNotFound(err) {
			return fmt.Errorf("removing the consent grant %s: %w", id, err)
		}
	}
	env.Out().AccessGone.Set(struct{}{})
	return nil
}

// appRemoval deletes the service principal (the enterprise application) and the application (its app
// registration), last, and then forgets the setup in the state file.
type appRemoval struct{}

// appRemovalPlan is its payload.
type appRemovalPlan struct {
	ServicePrincipalID  string `json:"servicePrincipalId,omitempty"`
	ApplicationObjectID string `json:"applicationObjectId,omitempty"`
	// ClearState: the state file describes this application, so its record goes.
	ClearState bool `json:"clearState,omitempty"`
}

func (s *appRemoval) String() string { return "application" }

func (s *appRemoval) Sets(Phase, *Outputs) []Slot { return nil }

func (s *appRemoval) Plan(ctx context.Context, env *Env) (Change, error) {
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	if !app.Exists {
		_, ours := recordedApp(env)
		return Change{Payload: appRemovalPlan{ClearState: ours}}, nil
	}
	p := appRemovalPlan{ServicePrincipalID: app.SP.ID, ApplicationObjectID: app.App.ObjectID, ClearState: true}
	var change Change
	if app.SP.ID != "" {
		change.Resources = append(change.Resources, Resource{Action: Delete, Type: "enterprise application", Name: app.SP.DisplayName,
			Attrs: []Attr{Value("object id", app.SP.ID)}, Note: "restorable from Entra's deleted items for 30 days"})
	}
	change.Resources = append(change.Resources, Resource{Action: Delete, Type: "app registration", Name: app.App.DisplayName,
		Attrs: []Attr{Value("client id", app.App.AppID), Value("object id", app.App.ObjectID)}, Note: "restorable from Entra's deleted items for 30 days"})
	change.Payload = p
	return change, nil
}

func (s *appRemoval) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[appRemovalPlan](change)
	if err != nil {
		return err
	}
	for _, done := range []*Output[struct{}]{&env.Out().JobRemoved, &env.Out().Unregistered, &env.Out().AccessGone} {
		if _, err := done.Wait(ctx); err != nil {
			return err
		}
	}
	if p.ServicePrincipalID != "" {
		if err := env.Graph.DeleteServicePrincipal(ctx, p.ServicePrincipalID); err != nil && !graph.IsNotFound(err) {
			return fmt.Errorf("deleting the enterprise application (service principal %s): %w", p.ServicePrincipalID, err)
		}
	}
	if p.ApplicationObjectID != "" {
		if err := env.Graph.DeleteApplication(ctx, p.ApplicationObjectID); err != nil && !graph.IsNotFound(err) {
			return fmt.Errorf("deleting the app registration %s: %w", p.ApplicationObjectID, err)
		}
		env.Note(deletedItemsNote)
	}
	if !p.ClearState {
		return nil
	}
	return env.State.Clear()
}
