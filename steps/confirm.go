package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/clock"
	"github.com/idpctl/idpctl/graph"
)

// Per-user outcomes of the confirmation.
const (
	Arrived = "arrived" // in the SaaS with the mapped attributes
	Skipped = "skipped" // Entra decided not to provision the user (disabled, not in scope, ...)
	Failed  = "failed"  // Entra tried and the SaaS refused, or the attributes are wrong
	Pending = "pending" // left to the next provisioning cycle
)

// Confirmation is what the confirm step found, user by user.
type Confirmation struct {
	Users []UserResult `json:"users"`
	// Notes say what the numbers alone do not: users left to the cycle, checks that could not run.
	Notes []string `json:"notes,omitempty"`
}

// Count returns how many users have the outcome.
func (c Confirmation) Count(outcome string) int {
	n := 0
	for _, u := range c.Users {
		if u.Outcome == outcome {
			n++
		}
	}
	return n
}

// UserResult is one user's outcome.
type UserResult struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	Via               string `json:"via"` // "user" or "group <name>"
	Outcome           string `json:"outcome"`
	Reason            string `json:"reason,omitempty"`
	SCIMID            string `json:"scimId,omitempty"`
}

// onDemandLimit is Graph's documented rate limit for provisionOnDemand: 5 calls per 10 seconds per job.
const (
	onDemandCalls  = 5
	onDemandWindow = 10 * time.Second
	// onDemandGroupMembers is the most members one group call may carry.
	onDemandGroupMembers = 5
	// assignmentLag bounds how long on-demand provisioning is retried for a user Entra reports as not in scope
	// yet: assignments take "up to a few minutes" to be honoured by on-demand provisioning.
	assignmentLag = 5 * time.Minute
)

// confirm provisions the assigned users on demand, so nobody waits for the 40-minute initial cycle, then reads
// each one back from the SCIM endpoint and from the provisioning logs, and reports who arrived (documented
// step 6). Every directly assigned user is provisioned on demand; a group is provisioned with up to five of its
// members (Graph's limit for one call) and the rest arrive with the provisioning cycle.
type confirm struct{}

// confirmPlan is the confirm step's payload.
type confirmPlan struct {
	Verified *Confirmation `json:"verified,omitempty"` // everyone is already there: nothing to provision
}

func (s *confirm) String() string { return "confirm users arrived" }

func (s *confirm) Sets(phase Phase, out *Outputs) []Slot {
	if phase == Planning {
		return nil
	}
	return []Slot{&out.Confirmation}
}

// target is a user the confirmation expects in the SaaS.
type target struct {
	user     graph.User
	via      string
	onDemand bool // provisioned on demand (directly or in its group's call), else left to the cycle
}

func (s *confirm) Plan(ctx context.Context, env *Env) (Change, error) {
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	job, err := env.Out().Job.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	assigned, err := env.Out().Assigned.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	scim, err := env.Out().SCIM.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	run := Change{Payload: confirmPlan{}, Resources: []Resource{{Action: Run, Type: "provisioning on demand", Name: principalSummary(assigned),
		Note: "then each user is read back from the SCIM endpoint and the provisioning logs"}}}
	if !app.Exists || job == nil {
		return run, nil
	}
	targets, err := targetsOf(ctx, env, assigned)
	if err != nil {
		return Change{}, err
	}
	var c Confirmation
	if scim != nil {
		c, err = verify(ctx, env, *scim, targets, nil)
	} else {
		// No SCIM token to read with (the backend kept its registration): Entra's own logs say who arrived.
		// Reading them needs AuditLog.Read.All; without it, provision on demand again rather than fail.
		if c, err = fromLogs(ctx, env, app.SP.ID, job.ID, targets); graph.IsForbidden(err) {
			return run, nil
		}
	}
	if err != nil {
		return Change{}, err
	}
	if c.Count(Failed)+c.Count(Pending) > 0 {
		return run, nil
	}
	return Change{Payload: confirmPlan{Verified: &c}, Resources: []Resource{{Action: NoOp, Type: "provisioned users", Name: plural(len(c.Users), "user") + " in the SaaS"}}}, nil
}

func principalSummary(ps []Principal) string {
	users, groups := 0, 0
	for _, p := range ps {
		if p.Type == "Group" {
			groups++
		} else {
			users++
		}
	}
	return plural(users, "user") + ", " + plural(groups, "group")
}

func (s *confirm) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[confirmPlan](change)
	if err != nil {
		return err
	}
	if p.Verified != nil {
		env.Out().Confirmation.Set(*p.Verified)
		return nil
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	assigned, err := env.Out().Assigned.Wait(ctx)
	if err != nil {
		return err
	}
	targets, err := targetsOf(ctx, env, assigned)
	if err != nil {
		return err
	}
	// On-demand provisioning needs the credentials and the mappings; it does not need the job started.
	if _, err := env.Out().Credentials.Wait(ctx); err != nil {
		return err
	}
	mappings, err := env.Out().Mappings.Wait(ctx)
	if err != nil {
		return err
	}
	job, err := env.Out().Job.Wait(ctx)
	if err != nil {
		return err
	}
	scim, err := env.Out().SCIM.Wait(ctx)
	if err != nil {
		return err
	}
	c, err := provisionAndReadBack(ctx, env, s, onDemandRun{
		spID: app.SP.ID, jobID: job.ID, ruleID: mappings.RuleID, subjects: assigned, targets: targets, scim: scim,
		// Every subject was just assigned: "not in scope" is the assignment not replicated yet.
		lag: func(Principal) time.Duration { return assignmentLag },
	})
	if err != nil {
		return err
	}
	if scim == nil {
		c.Notes = append(c.Notes, "the backend kept its earlier registration, so idpctl has no SCIM token to read users back: results come from Entra's on-demand provisioning")
	}
	if n := c.Count(Pending); n > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%d group members were left to the provisioning cycle (on-demand provisioning takes at most %d members of a group per call); Entra's first cycle can take up to 40 minutes", n, onDemandGroupMembers))
	}
	env.Out().Confirmation.Set(c)
	if failed := c.Count(Failed); failed > 0 {
		return &ConfirmError{Confirmation: c}
	}
	return nil
}

// onDemandRun is what on-demand provisioning works on: the job, the users and groups to send (subjects), the
// users expected in the SaaS (targets), and the SCIM endpoint to read them back from (nil: none).
type onDemandRun struct {
	spID, jobID, ruleID string
	subjects            []Principal
	targets             []target
	scim                *backend.SCIM
	// lag is how long a subject Entra reports as not in scope is tried again: a fresh assignment takes minutes
	// to be honoured; a subject that is not assigned at all is not tried again.
	lag func(Principal) time.Duration
}

// provisionAndReadBack provisions the subjects on demand, then reads each target back from the SCIM endpoint
// (or takes Entra's on-demand answers without one), with the provisioning logs' reasons for who did not
// arrive. Setup's confirmation and idpctl provision entra both end here.
func provisionAndReadBack(ctx context.Context, env *Env, step Step, r onDemandRun) (Confirmation, error) {
	since := env.clock().Now().Add(-time.Minute)
	results := provision(ctx, env, step, r)
	if err := ctx.Err(); err != nil {
		return Confirmation{}, err
	}
	var c Confirmation
	if r.scim != nil {
		var err error
		if c, err = verify(ctx, env, *r.scim, r.targets, results); err != nil {
			return Confirmation{}, err
		}
	} else {
		c = fromOnDemand(r.targets, results)
	}
	addLogReasons(ctx, env, r.spID, r.jobID, since, &c)
	return c, nil
}

// ConfirmError reports users that did not arrive although Entra tried to provision them.
type ConfirmError struct{ Confirmation Confirmation }

func (e *ConfirmError) Error() string {
	var lines []string
	for _, u := range e.Confirmation.Users {
		if u.Outcome == Failed {
			lines = append(lines, fmt.Sprintf("%s: %s", u.UserPrincipalName, u.Reason))
		}
	}
	return fmt.Sprintf("%d users did not arrive: %s", len(lines), strings.Join(lines, "; "))
}

// targetsOf lists the users expected in the SaaS: directly assigned users and direct members of assigned groups
// (Entra does not follow nested groups). The first five members of each group go in its on-demand call.
func targetsOf(ctx context.Context, env *Env, assigned []Principal) ([]target, error) {
	var (
		mu      sync.Mutex
		targets []target
		seen    = map[string]int{}
		errs    []error
		wg      sync.WaitGroup
	)
	add := func(t target) {
		mu.Lock()
		defer mu.Unlock()
		key := strings.ToLower(t.user.ID)
		if i, ok := seen[key]; ok {
			// Assigned directly and through a group: provisioned directly.
			if t.via == "user" {
				targets[i] = t
			}
			return
		}
		seen[key] = len(targets)
		targets = append(targets, t)
	}
	for _, p := range assigned {
		wg.Go(func() {
			var err error
			switch p.Type {
			case "Group":
				var members []graph.User
				if members, err = env.Graph.ListGroupMembers(ctx, p.ID); err == nil {
					for i, m := range members {
						add(target{user: m, via: "group " + p.DisplayName, onDemand: i < onDemandGroupMembers})
					}
				}
			default:
				var u graph.User
				if u, err = env.Graph.ResolveUser(ctx, p.ID); err == nil {
					add(target{user: u, via: "user", onDemand: true})
				}
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("reading %s: %w", p.label(), err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(targets, func(a, b target) int { return strings.Compare(a.user.UserPrincipalName, b.user.UserPrincipalName) })
	return targets, nil
}

// provision runs the on-demand calls: one per user subject, one per group subject with up to five members.
// It honours the documented 5-calls-per-10-seconds limit and tries again, for the subject's lag, a user Entra
// does not see as assigned yet. The result is keyed by user id.
func provision(ctx context.Context, env *Env, s Step, r onDemandRun) map[string]graph.OnDemandResult {
	limiter := &rateLimiter{n: onDemandCalls, window: onDemandWindow, clock: env.clock(),
		waiting: func(w Wait) { w.Object = "on-demand provisioning"; env.waiting(s, w) }}
	results := map[string]graph.OnDemandResult{}
	var mu sync.Mutex
	record := func(ids []string, answer graph.OnDemandResult) {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			results[strings.ToLower(id)] = answer
		}
	}
	var calls []onDemandCall
	for _, p := range r.subjects {
		if p.Type != "Group" {
			continue
		}
		subject := graph.OnDemandSubject{ObjectID: p.ID, ObjectTypeName: "Group"}
		for _, t := range r.targets {
			if t.via == "group "+p.DisplayName && t.onDemand {
				subject.Members = append(subject.Members, t.user.ID)
			}
		}
		calls = append(calls, onDemandCall{subject: subject, users: subject.Members, label: p.label(), lag: r.lag(p)})
	}
	for _, t := range r.targets {
		if t.via == "user" {
			subject := graph.OnDemandSubject{ObjectID: t.user.ID, ObjectTypeName: "User"}
			p := Principal{Type: "User", ID: t.user.ID, DisplayName: t.user.DisplayName, UserPrincipalName: t.user.UserPrincipalName}
			calls = append(calls, onDemandCall{subject: subject, users: []string{t.user.ID}, label: p.label(), lag: r.lag(p)})
		}
	}
	var wg sync.WaitGroup
	for _, sub := range calls {
		wg.Go(func() {
			deadline := env.clock().Now().Add(sub.lag)
			for delay := 5 * time.Second; ; delay = min(2*delay, time.Minute) {
				if err := limiter.wait(ctx); err != nil {
					return
				}
				env.progress(s, "provisioning %s on demand", sub.label)
				answer, err := env.Graph.ProvisionOnDemand(ctx, r.spID, r.jobID, r.ruleID, sub.subject)
				if err != nil {
					record(sub.users, graph.OnDemandResult{Result: "Failure", Reason: err.Error()})
					return
				}
				if !notInScopeYet(answer) || env.clock().Now().Add(delay).After(deadline) {
					record(sub.users, answer)
					return
				}
				// Entra honours a new assignment in on-demand provisioning only after a replication delay.
				inScope := Wait{Reason: WaitReplication, Object: "the assignment of " + sub.label, RetryIn: delay}
				env.waiting(s, inScope)
				slept := env.clock().Sleep(ctx, delay)
				inScope.RetryIn, inScope.Over = 0, true
				env.waiting(s, inScope)
				if slept != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return results
}

// onDemandCall is one provisionOnDemand request and the users it covers.
type onDemandCall struct {
	subject graph.OnDemandSubject
	users   []string
	label   string
	lag     time.Duration // how long "not in scope" is tried again
}

// notInScopeYet reports an on-demand result that says the subject is not assigned, which right after an
// assignment means Entra has not replicated it yet.
func notInScopeYet(r graph.OnDemandResult) bool {
	if !strings.EqualFold(r.Result, "Skipped") {
		return false
	}
	code := strings.ToLower(r.ErrorCode + " " + r.Reason)
	return strings.Contains(code, "noteffectivelyentitled") || strings.Contains(code, "not assigned") ||
		strings.Contains(code, "out of scope")
}

// verify reads every target back from the SCIM endpoint and compares the attributes with the mappings.
func verify(ctx context.Context, env *Env, scim backend.SCIM, targets []target, onDemand map[string]graph.OnDemandResult) (Confirmation, error) {
	reader, err := backend.NewReader(env.SCIMClient, env.clock(), scim)
	if err != nil {
		return Confirmation{}, err
	}
	c := Confirmation{Users: make([]UserResult, len(targets))}
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			r := UserResult{ID: t.user.ID, UserPrincipalName: t.user.UserPrincipalName, Via: t.via}
			found, err := reader.FindUserByExternalID(ctx, t.user.ID)
			if err != nil {
				errs[i] = fmt.Errorf("reading %s back from the SCIM endpoint: %w", t.user.UserPrincipalName, err)
				return
			}
			od, tried := onDemand[strings.ToLower(t.user.ID)]
			switch {
			case found != nil:
				r.SCIMID = found.ID
				if diffs := attributeDiffs(t.user, *found); len(diffs) > 0 {
					r.Outcome, r.Reason = Failed, "arrived with wrong attributes: "+strings.Join(diffs, "; ")
				} else {
					r.Outcome = Arrived
				}
			case !t.user.AccountEnabled:
				r.Outcome, r.Reason = Skipped, "the account is disabled in Entra, and Entra does not provision disabled users"
			case tried && strings.EqualFold(od.Result, "Skipped"):
				r.Outcome, r.Reason = Skipped, onDemandReason(od)
			case tried:
				r.Outcome, r.Reason = Failed, onDemandReason(od)
			case !t.onDemand && onDemand != nil:
				r.Outcome, r.Reason = Pending, "arrives with the next provisioning cycle"
			default:
				r.Outcome, r.Reason = Failed, "not found in the SaaS"
			}
			c.Users[i] = r
		})
	}
	wg.Wait()
	return c, errors.Join(errs...)
}

// fromLogs builds the outcome from the provisioning logs of the last 30 days (how long Entra keeps them): a user
// whose latest entry is a success, or a skip because the SaaS already matches, has arrived.
func fromLogs(ctx context.Context, env *Env, spID, jobID string, targets []target) (Confirmation, error) {
	events, err := env.Graph.ListProvisioningEvents(ctx, graph.ProvisioningQuery{
		ServicePrincipalID: spID, JobID: jobID, Since: env.clock().Now().Add(-30 * 24 * time.Hour),
	})
	if err != nil {
		return Confirmation{}, err
	}
	latest := latestBySource(events)
	var c Confirmation
	for _, t := range targets {
		r := UserResult{ID: t.user.ID, UserPrincipalName: t.user.UserPrincipalName, Via: t.via}
		e, ok := latest[strings.ToLower(t.user.ID)]
		switch {
		case ok && (strings.EqualFold(e.Status, "success") || strings.EqualFold(e.ErrorCode, "RedundantExport")):
			r.Outcome, r.SCIMID = Arrived, e.TargetID
		case ok && strings.EqualFold(e.Status, "skipped"):
			r.Outcome, r.Reason = Skipped, strings.TrimSpace(e.ErrorCode+" "+e.Reason)
		case ok:
			r.Outcome, r.Reason = Failed, strings.TrimSpace(e.ErrorCode+" "+e.Reason)
		default:
			r.Outcome, r.Reason = Pending, "no provisioning log entry yet"
		}
		c.Users = append(c.Users, r)
	}
	return c, nil
}

func latestBySource(events []graph.ProvisioningEvent) map[string]graph.ProvisioningEvent {
	latest := map[string]graph.ProvisioningEvent{}
	for _, e := range events {
		key := strings.ToLower(e.SourceID)
		if prev, ok := latest[key]; !ok || e.ActivityTime.After(prev.ActivityTime) {
			latest[key] = e
		}
	}
	return latest
}

// fromOnDemand builds the outcome from Entra's on-demand answers alone.
func fromOnDemand(targets []target, onDemand map[string]graph.OnDemandResult) Confirmation {
	var c Confirmation
	for _, t := range targets {
		r := UserResult{ID: t.user.ID, UserPrincipalName: t.user.UserPrincipalName, Via: t.via}
		od, tried := onDemand[strings.ToLower(t.user.ID)]
		switch {
		case !tried:
			r.Outcome, r.Reason = Pending, "arrives with the next provisioning cycle"
		case strings.EqualFold(od.Result, "Success"):
			r.Outcome, r.SCIMID = Arrived, od.TargetID
		case strings.EqualFold(od.Result, "Skipped"):
			r.Outcome, r.Reason = Skipped, onDemandReason(od)
		default:
			r.Outcome, r.Reason = Failed, onDemandReason(od)
		}
		c.Users = append(c.Users, r)
	}
	return c
}

func onDemandReason(r graph.OnDemandResult) string {
	parts := []string{}
	for _, p := range []string{r.ErrorCode, r.Reason} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "Entra's on-demand provisioning answered " + r.Result
	}
	return strings.Join(parts, ": ")
}

// attributeDiffs compares a provisioned user with what the mappings should have sent. Entra sends no value for
// an empty source attribute, so an empty source expects an absent target value.
func attributeDiffs(u graph.User, got backend.SCIMUser) []string {
	email := u.Mail
	if email == "" {
		email = u.UserPrincipalName
	}
	checks := []struct{ name, want, got string }{
		{"userName", u.UserPrincipalName, got.UserName},
		{"externalId", u.ID, got.ExternalID},
		{"displayName", u.DisplayName, got.DisplayName},
		{`emails[type eq "work"].value`, email, got.WorkEmail},
		{"name.givenName", u.GivenName, got.GivenName},
		{"name.familyName", u.Surname, got.FamilyName},
	}
	var diffs []string
	for _, c := range checks {
		if !strings.EqualFold(c.want, c.got) {
			diffs = append(diffs, fmt.Sprintf("%s is %q, want %q", c.name, c.got, c.want))
		}
	}
	if !got.Active {
		diffs = append(diffs, "active is false")
	}
	return diffs
}

// addLogReasons fills in why users were skipped or failed from the provisioning logs, which often say more
// than the on-demand answer.
func addLogReasons(ctx context.Context, env *Env, spID, jobID string, since time.Time, c *Confirmation) {
	events, err := env.Graph.ListProvisioningEvents(ctx, graph.ProvisioningQuery{ServicePrincipalID: spID, JobID: jobID, Since: since})
	if err != nil {
		c.Notes = append(c.Notes, "the provisioning logs could not be read: "+err.Error())
		return
	}
	latest := latestBySource(events)
	for i, u := range c.Users {
		e, ok := latest[strings.ToLower(u.ID)]
		if !ok || u.Outcome == Arrived || u.Outcome == Pending {
			continue
		}
		// The on-demand answer often carries the log's own reason already: it is not said twice.
		detail := strings.TrimSpace(e.ErrorCode + " " + e.Reason)
		if detail == "" || strings.Contains(u.Reason, detail) || (e.Reason != "" && strings.Contains(u.Reason, e.Reason)) {
			continue
		}
		c.Users[i].Reason = strings.TrimSpace(u.Reason + " (provisioning log: " + detail + ")")
	}
}

// rateLimiter allows n calls per window: Graph's documented limit for provisionOnDemand.
type rateLimiter struct {
	mu      sync.Mutex
	n       int
	window  time.Duration
	calls   []time.Time
	clock   clock.Clock
	waiting func(Wait) // told when a call has to wait for the window, and when that wait is over
}

func (l *rateLimiter) wait(ctx context.Context) error {
	waited := false
	defer func() {
		if waited {
			l.waiting(Wait{Reason: WaitRateLimit, Over: true})
		}
	}()
	for {
		l.mu.Lock()
		now := l.clock.Now()
		for len(l.calls) > 0 && now.Sub(l.calls[0]) >= l.window {
			l.calls = l.calls[1:]
		}
		if len(l.calls) < l.n {
			l.calls = append(l.calls, now)
			l.mu.Unlock()
			return nil
		}
		next := l.calls[0].Add(l.window).Sub(now)
		l.mu.Unlock()
		waited = true
		l.waiting(Wait{Reason: WaitRateLimit, RetryIn: next})
		if err := l.clock.Sleep(ctx, next); err != nil {
			return err
		}
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
