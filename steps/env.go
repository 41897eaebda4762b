package steps

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/clock"
	"github.com/idpctl/idpctl/graph"
)

// Graph is the part of the Graph client the steps use; *graph.Client implements it.
type Graph interface {
	FindApplications(ctx context.Context, q graph.ApplicationQuery) ([]graph.Application, error)
	GetApplication(ctx context.Context, objectID string) (graph.Application, error)
	GetApplicationByAppID(ctx context.Context, appID string) (graph.Application, error)
	InstantiateTemplate(ctx context.Context, templateID, displayName string) (graph.Application, graph.ServicePrincipal, error)
	// TrackCreated tells the client of objects an earlier run created, so it waits out their replication too.
	TrackCreated(at time.Time, ids ...string)
	WaitForApplication(ctx context.Context, objectID string) (graph.Application, error)
	WaitForServicePrincipal(ctx context.Context, id string) (graph.ServicePrincipal, error)
	UpdateApplication(ctx context.Context, objectID string, u graph.ApplicationUpdate) error
	AddPassword(ctx context.Context, objectID, displayName string, end time.Time) (graph.NewPassword, error)
	RemovePassword(ctx context.Context, objectID, keyID string) error
	DeleteApplication(ctx context.Context, objectID string) error

	GetServicePrincipal(ctx context.Context, id string) (graph.ServicePrincipal, error)
	GetServicePrincipalByAppID(ctx context.Context, appID string) (graph.ServicePrincipal, error)
	UpdateServicePrincipal(ctx context.Context, id string, u graph.ServicePrincipalUpdate) error
	ListAppRoleAssignedTo(ctx context.Context, spID string) ([]graph.AppRoleAssignment, error)
	AssignAppRoles(ctx context.Context, spID, appRoleID string, principalIDs []string) ([]graph.AppRoleAssignment, []error)
	ListPermissionGrants(ctx context.Context, clientID string) ([]graph.PermissionGrant, error)
	CreatePermissionGrant(ctx context.Context, g graph.PermissionGrant) (graph.PermissionGrant, error)
	UpdatePermissionGrantScope(ctx context.Context, id, scope string) error
	DeleteAppRoleAssignment(ctx context.Context, spID, assignmentID string) error
	DeletePermissionGrant(ctx context.Context, id string) error
	DeleteServicePrincipal(ctx context.Context, id string) error

	ResolveUsers(ctx context.Context, upnOrIDs ...string) ([]graph.User, []error)
	SearchUsers(ctx context.Context, text string, top int) ([]graph.User, error)
	ResolveGroups(ctx context.Context, namesOrIDs ...string) ([][]graph.Group, []error)
	SearchGroups(ctx context.Context, text string, top int) ([]graph.Group, error)
	ListGroupMembers(ctx context.Context, groupID string) ([]graph.User, error)

	ListSyncJobs(ctx context.Context, spID string) ([]graph.SyncJob, error)
	GetSyncJob(ctx context.Context, spID, jobID string) (graph.SyncJob, error)
	ListSyncTemplates(ctx context.Context, spID string) ([]graph.SyncTemplate, error)
	CreateSyncJob(ctx context.Context, spID, templateID string) (graph.SyncJob, error)
	DeleteSyncJob(ctx context.Context, spID, jobID string) error
	ValidateCredentials(ctx context.Context, spID, templateID string, creds []graph.SyncSecret) error
	ValidateJobCredentials(ctx context.Context, spID, jobID string, creds []graph.SyncSecret) error
	GetSyncSecrets(ctx context.Context, spID string) ([]graph.SyncSecret, error)
	SaveSyncSecrets(ctx context.Context, spID string, secrets []graph.SyncSecret) error
	GetSyncSchema(ctx context.Context, spID, jobID string) ([]byte, error)
	ParseExpression(ctx context.Context, spID, jobID, expression string) (graph.MappingSource, error)
	PutSyncSchema(ctx context.Context, spID, jobID string, schema []byte) error
	StartSyncJob(ctx context.Context, spID, jobID string) error
	RestartSyncJob(ctx context.Context, spID, jobID, resetScope string) error
	ProvisionOnDemand(ctx context.Context, spID, jobID, ruleID string, subject graph.OnDemandSubject) (graph.OnDemandResult, error)
	ListProvisioningEvents(ctx context.Context, q graph.ProvisioningQuery) ([]graph.ProvisioningEvent, error)
}

// Env is what the steps of one run share: the inputs, the tenant, the backend, the state file and the
// outputs steps pass to each other.
type Env struct {
	Inputs   Inputs
	TenantID string // the tenant being configured
	// LoginHost is the sign-in host of the tenant's cloud, for the OIDC metadata URL.
	LoginHost string
	Graph     Graph
	Backend   backend.Backend
	// SCIMClient reaches the SCIM endpoint for the probe and the read-back of provisioned users.
	SCIMClient *http.Client
	State      *State
	Reporter   Reporter
	// Clock tells the time and waits between polls while Graph says "not yet"; tests inject one whose waits
	// pass at once. Default: the system clock.
	Clock clock.Clock
	// LookupWindow is how long a run looks for an object that a create without a clear answer (a killed run, a
	// lost answer, a 5xx) may have made: Graph may take that long to show a new object. Default
	// DefaultLookupWindow.
	LookupWindow time.Duration

	out *Outputs

	notesMu sync.Mutex
	notes   []string
	did     map[string]string // step → what it did, where that is not what its plan said (see Did)
}

// Note records something the person running idpctl must know or do once the run is over ("paste the new
// secret into the SaaS, then ..."); the result lists the notes.
func (e *Env) Note(note string) {
	e.notesMu.Lock()
	defer e.notesMu.Unlock()
	e.notes = append(e.notes, note)
}

func (e *Env) resetNotes() {
	e.notesMu.Lock()
	defer e.notesMu.Unlock()
	e.notes, e.did = nil, nil
}

// Did says what an applied step really did when that is less than its planned change says (a role the SaaS
// could not take yet): the report and the progress show these words instead of the plan's. Called from the
// step's Apply, before it returns.
func (e *Env) Did(step Step, summary string) {
	e.notesMu.Lock()
	if e.did == nil {
		e.did = map[string]string{}
	}
	e.did[step.String()] = summary
	e.notesMu.Unlock()
	if r, ok := e.report().(DidReporter); ok {
		r.StepDid(step.String(), summary)
	}
}

// didFor returns what Did recorded for step, or "".
func (e *Env) didFor(step string) string {
	e.notesMu.Lock()
	defer e.notesMu.Unlock()
	return e.did[step]
}

// Notes returns the notes recorded so far.
func (e *Env) Notes() []string {
	e.notesMu.Lock()
	defer e.notesMu.Unlock()
	return slices.Clone(e.notes)
}

// Out returns the outputs of the current phase.
func (e *Env) Out() *Outputs { return e.out }

func (e *Env) resetOutputs() { e.out = &Outputs{} }

func (e *Env) clock() clock.Clock { return clock.Or(e.Clock) }

// DefaultLookupWindow is the lookup window when Env does not set one, the graph client's replication window.
// Microsoft documents no bound; it suggests polling a new application every 5-10 s, and terraform-provider-
// azuread allows a create 10 minutes.
const DefaultLookupWindow = 5 * time.Minute

func (e *Env) lookupWindow() time.Duration {
	if e.LookupWindow > 0 {
		return e.LookupWindow
	}
	return DefaultLookupWindow
}

func (e *Env) report() Reporter {
	if e.Reporter == nil {
		return quietReporter{}
	}
	return e.Reporter
}

// progress reports a detail of a running step.
func (e *Env) progress(step Step, format string, args ...any) {
	e.report().Progress(step.String(), fmt.Sprintf(format, args...))
}

// waiting reports that a running step waits.
func (e *Env) waiting(step Step, w Wait) { e.report().Waiting(step.String(), w) }

type quietReporter struct{}

func (quietReporter) StepStarted(Phase, string)         {}
func (quietReporter) StepFinished(Phase, string, error) {}
func (quietReporter) Progress(string, string)           {}
func (quietReporter) Waiting(string, Wait)              {}
