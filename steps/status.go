package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idpctl/idpctl/graph"
)

// Health is what `idpctl status entra` reports about an integration: whether its settings still match what
// setup applies, when its client secret expires, and how provisioning is doing, in the terms of Graph's
// synchronizationJob status (DOCS resources/synchronization-synchronizationstatus.md).
type Health struct {
	TenantID  string    `json:"tenantId"`
	CheckedAt time.Time `json:"checkedAt"`
	Found     bool      `json:"found"` // false: nothing idpctl made under this name
	Healthy   bool      `json:"healthy"`
	// Problems say, one sentence each, why the integration is unhealthy and what fixes it.
	Problems []string `json:"problems"`
	// Notes say what is worth knowing but not wrong (the first cycle still running, logs not readable, ...).
	Notes        []string       `json:"notes,omitempty"`
	Application  *AppHealth     `json:"application,omitempty"`
	Drift        *Drift         `json:"drift,omitempty"`
	Secrets      []SecretHealth `json:"clientSecrets"`
	Provisioning *JobHealth     `json:"provisioning,omitempty"`
	// Failures are the objects whose latest provisioning attempt failed, grouped by cause, most affected first.
	Failures []FailureGroup `json:"failures"`
}

// AppHealth names the application.
type AppHealth struct {
	DisplayName         string `json:"displayName"`
	ClientID            string `json:"clientId"`
	ApplicationObjectID string `json:"applicationObjectId"`
	ServicePrincipalID  string `json:"servicePrincipalId,omitempty"`
}

// Drift is the difference between the tenant and what setup would apply, read from setup's own plan.
type Drift struct {
	// Against says what the tenant was compared with: the setup recorded in the state file, or idpctl's defaults.
	Against     string       `json:"against"`
	Differences []Difference `json:"differences"`
}

// Difference is one setting setup would change (or one object it would create).
type Difference struct {
	Step     string `json:"step"`
	Action   Action `json:"action"`
	Resource string `json:"resource"`
	Setting  string `json:"setting,omitempty"`
	Current  string `json:"current,omitempty"`
	Wanted   string `json:"wanted,omitempty"`
}

// Summary is "2 settings differ; run idpctl setup entra to repair", or "" when nothing differs.
func (d *Drift) Summary() string {
	switch n := len(d.Differences); n {
	case 0:
		return ""
	case 1:
		return "1 setting differs from what setup applies; run idpctl setup entra to repair it"
	default:
		return fmt.Sprintf("%d settings differ from what setup applies; run idpctl setup entra to repair them", n)
	}
}

// SecretHealth is one client secret of the application (never its value).
type SecretHealth struct {
	KeyID       string    `json:"keyId"`
	DisplayName string    `json:"displayName"`
	Expires     time.Time `json:"expires"`
	DaysLeft    int       `json:"daysLeft"` // negative once expired
	ByIdpctl    bool      `json:"createdByIdpctl"`
	// InUse marks the secret the SaaS signs in with, as far as idpctl knows: the one it handed over last, else
	// the newest it created.
	InUse bool `json:"inUse"`
}

// JobHealth is the provisioning job's status.
type JobHealth struct {
	ID       string `json:"id"`
	Code     string `json:"code"`     // NotConfigured, NotRun, Active, Paused or Quarantine
	Schedule string `json:"schedule"` // Active, Paused or Disabled
	// Quarantine is set while the job is in quarantine.
	Quarantine          *QuarantineHealth `json:"quarantine,omitempty"`
	LastCycle           *CycleHealth      `json:"lastCycle,omitempty"`
	LastSuccessfulCycle *CycleHealth      `json:"lastSuccessfulCycle,omitempty"`
	// SteadyState says whether the initial cycle has finished (steadyStateFirstAchievedTime is set).
	SteadyState              bool      `json:"steadyState"`
	SteadyStateFirstAchieved time.Time `json:"steadyStateFirstAchieved,omitzero"`
	SteadyStateLastAchieved  time.Time `json:"steadyStateLastAchieved,omitzero"`
	ConsecutiveFailures      int64     `json:"consecutiveFailures"`
	TroubleshootingURL       string    `json:"troubleshootingUrl,omitempty"`
}

// QuarantineHealth says why and since when the provisioning service keeps the job in quarantine.
type QuarantineHealth struct {
	Reason      string    `json:"reason"`
	Explanation string    `json:"explanation"`
	Since       time.Time `json:"since"`       // currentBegan: when it was last imposed
	SeriesBegan time.Time `json:"seriesBegan"` // when it was first imposed
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
	// Attempts counts the re-evaluations that left it in effect (seriesCount).
	Attempts     int64  `json:"attempts"`
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// CycleHealth is one provisioning cycle (synchronizationTaskExecution).
type CycleHealth struct {
	State        string    `json:"state"` // Succeeded, Failed or EntryLevelErrors
	Began        time.Time `json:"began,omitzero"`
	Ended        time.Time `json:"ended,omitzero"`
	Imported     int64     `json:"imported"`
	Exported     int64     `json:"exported"`
	Escrowed     int64     `json:"escrowed"`
	ErrorCode    string    `json:"errorCode,omitempty"`
	ErrorMessage string    `json:"errorMessage,omitempty"`
}

// FailureGroup is the objects whose latest provisioning attempt failed for the same cause.
type FailureGroup struct {
	Cause   string    `json:"cause"`  // the provisioning log's error code
	Reason  string    `json:"reason"` // its explanation, from the newest entry
	Count   int       `json:"count"`
	Users   []string  `json:"users"` // display names (or ids) of the objects, sorted
	Latest  time.Time `json:"latest"`
	Actions []string  `json:"actions,omitempty"` // what Entra tried: create, update, disable, ...
}

// expiryWarning is how close to its expiry the client secret in use makes the integration unhealthy: the
// same margin setup renews it at.
const expiryWarning = renewBefore

// failureWindow is how far back status reads the provisioning logs, and failureEntries how many entries at
// most (newest first): Entra keeps the logs for 30 days.
const (
	failureWindow  = 30 * 24 * time.Hour
	failureEntries = 500
)

// driftSteps are setup's steps that compare the tenant with what setup applies, without the ones that make
// secrets or talk to the SaaS: their plans depend on secrets a status check does not hold.
func driftSteps() []Step {
	return []Step{
		&application{},
		&assignments{},
		&ssoSettings{},
		&adminConsent{},
		&provisioningJob{},
		&attributeMappings{},
	}
}

// ReadStatus reads the integration's health. It only reads. compared says what Env.Inputs are: the setup
// recorded in the state file, or defaults; the drift report names it.
func ReadStatus(ctx context.Context, env *Env, compared string) (Health, error) {
	h := Health{TenantID: env.TenantID, CheckedAt: env.clock().Now().UTC(), Problems: []string{}, Secrets: []SecretHealth{}, Failures: []FailureGroup{}}
	app, err := findExisting(ctx, env)
	var missing *NotSetUpError
	if errors.As(err, &missing) {
		h.Problems = append(h.Problems, missing.Error())
		return h, nil
	}
	if err != nil {
		return h, err
	}
	h.Found = true
	h.Application = &AppHealth{DisplayName: app.App.DisplayName, ClientID: app.App.AppID, ApplicationObjectID: app.App.ObjectID, ServicePrincipalID: app.SP.ID}
	h.Secrets = secretHealth(env, app.App.Passwords)

	var (
		wg                   sync.WaitGroup
		job                  *graph.SyncJob
		jobErr, logErr       error
		drift                *Plan
		driftErr             error
		events               []graph.ProvisioningEvent
		readLogs, readDrifts = app.SP.ID != "", app.SP.ID != ""
	)
	wg.Go(func() { job, jobErr = findJob(ctx, env, app.SP.ID) })
	if readDrifts {
		wg.Go(func() { drift, driftErr = (&Runner{Steps: driftSteps()}).Plan(ctx, env) })
	}
	if readLogs {
		wg.Go(func() {
			events, logErr = env.Graph.ListProvisioningEvents(ctx, graph.ProvisioningQuery{
				ServicePrincipalID: app.SP.ID, Since: env.clock().Now().Add(-failureWindow), Top: failureEntries,
			})
		})
	}
	wg.Wait()
	if err := errors.Join(jobErr, permissionOnly(driftErr)); err != nil {
		return h, err
	}
	if app.SP.ID == "" {
		h.Problems = append(h.Problems, fmt.Sprintf("the application %q has no enterprise application (service principal) in this tenant: run idpctl setup entra to repair it, or idpctl teardown entra to remove what is left", app.App.DisplayName))
	}
	switch {
	case driftErr != nil:
		h.Problems = append(h.Problems, "the settings could not be compared with what setup applies: "+driftErr.Error())
	case drift != nil:
		h.Drift = &Drift{Against: compared, Differences: differences(drift)}
		if s := h.Drift.Summary(); s != "" {
			h.Problems = append(h.Problems, s)
		}
	}
	h.Problems = append(h.Problems, secretProblems(h.Secrets)...)
	if job != nil {
		h.Provisioning = jobHealth(*job)
		h.Problems = append(h.Problems, jobProblems(h.Provisioning)...)
		h.Notes = append(h.Notes, jobNotes(env, h.Provisioning)...)
	} else if app.SP.ID != "" {
		h.Problems = append(h.Problems, "the application has no provisioning job: run idpctl setup entra to create it")
	}
	switch {
	case graph.IsForbidden(logErr):
		h.Notes = append(h.Notes, "the provisioning logs could not be read (they need AuditLog.Read.All and a role such as Reports Reader or Application Administrator): failures by user are not shown")
	case logErr != nil:
		return h, fmt.Errorf("reading the provisioning logs: %w", logErr)
	case job != nil:
		h.Failures = failureGroups(events, job.ID)
		if n := failedObjects(h.Failures); n > 0 {
			h.Problems = append(h.Problems, fmt.Sprintf("%s failed to provision (%s); fix the causes below, then Entra retries them, or run idpctl provision entra --user UPN", plural(n, "user"), plural(len(h.Failures), "cause")))
		}
	}
	h.Healthy = len(h.Problems) == 0
	return h, nil
}

// permissionOnly keeps an error that means the signed-in user may not read something (exit 4): any other
// failure to compare with setup is reported as a problem, not as a failed status check.
func permissionOnly(err error) error {
	if graph.IsForbidden(err) || graph.IsUnauthorized(err) {
		return err
	}
	return nil
}

// differences lists what setup's plan would change, one setting at a time.
func differences(p *Plan) []Difference {
	out := []Difference{}
	for _, s := range p.Steps {
		for _, r := range s.Change.Resources {
			if r.Action == NoOp {
				continue
			}
			resource := r.Type + " " + fmt.Sprintf("%q", r.Name)
			if r.Action != Update || len(r.Attrs) == 0 {
				out = append(out, Difference{Step: s.Step, Action: r.Action, Resource: resource})
				continue
			}
			for _, a := range r.Attrs {
				out = append(out, Difference{Step: s.Step, Action: r.Action, Resource: resource, Setting: a.Name, Current: a.Old, Wanted: a.New})
			}
		}
	}
	return out
}

// secretHealth lists the application's client secrets, soonest expiry first, and marks the one in use.
func secretHealth(env *Env, creds []graph.PasswordCredential) []SecretHealth {
	now := env.clock().Now()
	out := []SecretHealth{}
	for _, c := range creds {
		out = append(out, SecretHealth{
			KeyID: c.KeyID, DisplayName: c.DisplayName, Expires: c.End.UTC(),
			DaysLeft: int(c.End.Sub(now).Hours() / 24), ByIdpctl: strings.HasPrefix(c.DisplayName, secretPrefix),
		})
	}
	slices.SortFunc(out, func(a, b SecretHealth) int { return a.Expires.Compare(b.Expires) })
	inUse := -1
	if st := env.State.Get(); st.Secret != nil {
		inUse = slices.IndexFunc(out, func(s SecretHealth) bool { return strings.EqualFold(s.KeyID, st.Secret.KeyID) })
	}
	if inUse < 0 {
		// Without a record: the newest secret idpctl made, else the one that lasts longest.
		inUse = lastByIdpctl(out)
	}
	if inUse < 0 {
		inUse = len(out) - 1
	}
	if inUse >= 0 {
		out[inUse].InUse = true
	}
	return out
}

func lastByIdpctl(s []SecretHealth) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i].ByIdpctl {
			return i
		}
	}
	return -1
}

func secretProblems(secrets []SecretHealth) []string {
	i := slices.IndexFunc(secrets, func(s SecretHealth) bool { return s.InUse })
	if i < 0 {
		return []string{"the application has no client secret, so the SaaS cannot sign users in: run idpctl rotate-secret entra"}
	}
	s := secrets[i]
	date := s.Expires.Format(time.DateOnly)
	switch {
	case s.DaysLeft < 0 || s.Expires.IsZero():
		return []string{fmt.Sprintf("the client secret %q expired on %s: single sign-on fails until you run idpctl rotate-secret entra", s.DisplayName, date)}
	case time.Duration(s.DaysLeft)*24*time.Hour < expiryWarning:
		return []string{fmt.Sprintf("the client secret %q expires in %s (%s): run idpctl rotate-secret entra", s.DisplayName, plural(s.DaysLeft, "day"), date)}
	}
	return nil
}

func jobHealth(j graph.SyncJob) *JobHealth {
	st := j.Status
	h := &JobHealth{
		ID: j.ID, Code: st.Code, Schedule: j.ScheduleState,
		LastCycle: cycleHealth(st.LastExecution), LastSuccessfulCycle: cycleHealth(st.LastSuccessfulExecution),
		SteadyState:              !st.SteadyStateFirstAchieved.IsZero(),
		SteadyStateFirstAchieved: st.SteadyStateFirstAchieved, SteadyStateLastAchieved: st.SteadyStateLastAchieved,
		ConsecutiveFailures: st.CountSuccessiveCompleteFailures, TroubleshootingURL: st.TroubleshootingURL,
	}
	if q := st.Quarantine; q != nil && strings.EqualFold(st.Code, "Quarantine") {
		h.Quarantine = &QuarantineHealth{
			Reason: q.Reason, Explanation: quarantineExplanation(q.Reason),
			Since: q.CurrentBegan, SeriesBegan: q.SeriesBegan, NextAttempt: q.NextAttempt, Attempts: q.SeriesCount,
		}
		if q.Error != nil {
			h.Quarantine.ErrorCode, h.Quarantine.ErrorMessage = q.Error.Code, q.Error.Message
		}
	}
	return h
}

func cycleHealth(e *graph.SyncExecution) *CycleHealth {
	if e == nil || e.State == "" && e.TimeBegan.IsZero() {
		return nil
	}
	c := &CycleHealth{State: e.State, Began: e.TimeBegan, Ended: e.TimeEnded, Imported: e.CountImported, Exported: e.CountExported, Escrowed: e.CountEscrowed}
	if e.Error != nil {
		c.ErrorCode, c.ErrorMessage = e.Error.Code, e.Error.Message
	}
	return c
}

// quarantineExplanation says in words what a synchronizationQuarantine reason means (DOCS
// resources/synchronization-synchronizationquarantine.md; ENTRA application-provisioning-quarantine-status.md).
func quarantineExplanation(reason string) string {
	switch reason {
	case "EncounteredQuarantineException":
		return "the SaaS could not be used at all: its credentials were refused, or it answered in a way Entra's SCIM client does not accept"
	case "EncounteredBaseEscrowThreshold", "EncounteredTotalEscrowThreshold", "EncounteredEscrowProportionThreshold":
		return "too many objects failed to provision"
	case "TooManyDeletes":
		return "one cycle would have deleted or disabled more users than the accidental-deletion threshold allows"
	case "QuarantinedOnDemand":
		return "the job was put in quarantine on request"
	case "IngestionInterrupted":
		return "reading the directory was interrupted"
	default:
		return "the provisioning service gave no reason"
	}
}

func jobProblems(j *JobHealth) []string {
	var out []string
	switch {
	case j.Quarantine != nil:
		q := j.Quarantine
		out = append(out, fmt.Sprintf("provisioning is in quarantine since %s (%s: %s): fix the cause, then run idpctl restart entra",
			q.Since.UTC().Format(time.RFC3339), q.Reason, q.Explanation))
	case strings.EqualFold(j.Code, "Paused") || strings.EqualFold(j.Schedule, "Paused") || strings.EqualFold(j.Schedule, "Disabled"):
		out = append(out, fmt.Sprintf("provisioning is off (job %s, schedule %s): run idpctl restart entra to turn it on", j.Code, j.Schedule))
	case strings.EqualFold(j.Code, "NotConfigured"):
		out = append(out, "provisioning has no credentials: run idpctl setup entra")
	}
	if c := j.LastCycle; c != nil && strings.EqualFold(c.State, "Failed") && j.Quarantine == nil {
		out = append(out, fmt.Sprintf("the last provisioning cycle failed (%s)", strings.TrimSpace(c.ErrorCode+" "+c.ErrorMessage)))
	}
	return out
}

func jobNotes(env *Env, j *JobHealth) []string {
	var out []string
	if !j.SteadyState && j.Quarantine == nil && strings.EqualFold(j.Schedule, "Active") {
		out = append(out, "the initial provisioning cycle has not finished yet (Entra's first cycle can take up to 40 minutes; idpctl provision entra provisions users now)")
	}
	if q := j.Quarantine; q != nil && !q.NextAttempt.IsZero() && q.NextAttempt.After(env.clock().Now()) {
		out = append(out, fmt.Sprintf("while in quarantine Entra tries again less and less often; next attempt %s", q.NextAttempt.UTC().Format(time.RFC3339)))
	}
	return out
}

// failureGroups groups the objects whose newest log entry for the job is a failure, by error code.
func failureGroups(events []graph.ProvisioningEvent, jobID string) []FailureGroup {
	var ofJob []graph.ProvisioningEvent
	for _, e := range events {
		if jobID == "" || e.JobID == "" || strings.EqualFold(e.JobID, jobID) {
			ofJob = append(ofJob, e)
		}
	}
	byCause := map[string]*FailureGroup{}
	for _, e := range latestBySource(ofJob) {
		if !strings.EqualFold(e.Status, "failure") {
			continue
		}
		cause := e.ErrorCode
		if cause == "" {
			cause = "Unknown"
		}
		g := byCause[cause]
		if g == nil {
			g = &FailureGroup{Cause: cause, Users: []string{}}
			byCause[cause] = g
		}
		g.Count++
		name := e.SourceDisplayName
		if name == "" {
			name = e.SourceID
		}
		g.Users = append(g.Users, name)
		if e.ActivityTime.After(g.Latest) {
			g.Latest, g.Reason = e.ActivityTime, e.Reason
		}
		if e.Action != "" && !slices.Contains(g.Actions, e.Action) {
			g.Actions = append(g.Actions, e.Action)
		}
	}
	out := make([]FailureGroup, 0, len(byCause))
	for _, g := range byCause {
		slices.Sort(g.Users)
		slices.Sort(g.Actions)
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b FailureGroup) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Cause, b.Cause)
	})
	return out
}

func failedObjects(groups []FailureGroup) int {
	n := 0
	for _, g := range groups {
		n += g.Count
	}
	return n
}
