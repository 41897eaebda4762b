package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
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

// Confirmation is what the confirm step found. A large group is summed up rather than listed: Counts has
// every user, Users the ones worth a line.
type Confirmation struct {
	Counts UserCounts `json:"counts"`
	// Users lists every user of a setup of up to listAll users. A larger setup lists only the users that need
	// attention (skipped or failed, up to maxListed): a script learns who to act on, and --output json stays a
	// few kilobytes for a 100,000-member group. Unlisted counts the rest.
	Users    []UserResult `json:"users"`
	Unlisted int          `json:"unlisted,omitempty"`
	// Notes say what the numbers alone do not: users left to the cycle, checks that could not run.
	Notes []string `json:"notes,omitempty"`
}

// UserCounts are the users of a confirmation by outcome.
type UserCounts struct {
	Total   int `json:"total"`
	Arrived int `json:"arrived"`
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
	Pending int `json:"pending"`
}

// String sums the counts up for people: "2,000 arrived" or "5 arrived, 1,995 pending".
func (c UserCounts) String() string {
	var parts []string
	for _, p := range []struct {
		n    int
		word string
	}{{c.Arrived, Arrived}, {c.Skipped, Skipped}, {c.Failed, Failed}, {c.Pending, Pending}} {
		if p.n > 0 {
			parts = append(parts, Thousands(p.n)+" "+p.word)
		}
	}
	if len(parts) == 0 {
		return "no users"
	}
	return strings.Join(parts, ", ")
}

// Count returns how many users have the outcome.
func (c Confirmation) Count(outcome string) int {
	switch outcome {
	case Arrived:
		return c.Counts.Arrived
	case Skipped:
		return c.Counts.Skipped
	case Failed:
		return c.Counts.Failed
	case Pending:
		return c.Counts.Pending
	}
	return 0
}

const (
	// listAll is the most users a confirmation lists one by one.
	listAll = 100
	// maxListed bounds the users that need attention listed by a larger confirmation.
	maxListed = 1000
)

// summarize counts the results and keeps the ones worth listing (see Confirmation.Users).
func summarize(results []UserResult, notes []string) Confirmation {
	c := Confirmation{Counts: UserCounts{Total: len(results)}, Users: []UserResult{}, Notes: notes}
	for _, r := range results {
		switch r.Outcome {
		case Arrived:
			c.Counts.Arrived++
		case Skipped:
			c.Counts.Skipped++
		case Failed:
			c.Counts.Failed++
		case Pending:
			c.Counts.Pending++
		}
	}
	if len(results) <= listAll {
		c.Users = append(c.Users, results...)
		return c
	}
	for _, r := range results {
		if (r.Outcome == Skipped || r.Outcome == Failed) && len(c.Users) < maxListed {
			c.Users = append(c.Users, r)
		}
	}
	c.Unlisted = len(results) - len(c.Users)
	return c
}

// Thousands writes n with thousands separators, as people read counts: 100,000.
func Thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// UserResult is one user's outcome.
type UserResult struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	Via               string `json:"via"` // "user" or "group <name>"
	Outcome           string `json:"outcome"`
	Reason            string `json:"reason,omitempty"`
	SCIMID            string `json:"scimId,omitempty"`
	// OnDemand marks a user idpctl provisioned on demand, rather than leaving them to the cycle.
	OnDemand bool `json:"onDemand,omitempty"`
}

// onDemandLimit is Graph's documented rate limit for provisionOnDemand: 5 calls per 10 seconds per job.
const (
	onDemandCalls  = 5
	onDemandWindow = 10 * time.Second
	// onDemandGroupMembers is the most members one group call may carry.
	onDemandGroupMembers = 5
	// onDemandSample bounds the on-demand calls of one confirmation to two rate windows: a small setup (a few
	// users and groups) has everyone provisioned on demand within about ten seconds; a large one a sample that
	// proves the credentials, the mappings and the SaaS, the rest arriving with the provisioning cycle. On-demand
	// provisioning of every member of a 2,000-member group would take 400 calls and over 13 minutes.
	onDemandSample = 2 * onDemandCalls
	// assignmentLag bounds how long on-demand provisioning is retried for a user Entra reports as not in scope
	// yet: assignments take "up to a few minutes" to be honoured by on-demand provisioning.
	assignmentLag = 5 * time.Minute
	// memberReads bounds the groups whose members are read at once.
	memberReads = 8
)

// confirm provisions a sample of the assigned users on demand (every user of a small setup), so nobody waits
// for the 40-minute initial cycle, then reads everyone back from the SCIM endpoint and the sample from the
// provisioning logs, and reports who arrived (documented step 6). A group is provisioned with up to five of its
// members (Graph's limit for one call); the rest arrive with the provisioning cycle.
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
	via      string // "user", or "group <name>"
	group    string // the id of the group the user is assigned through; "" when assigned directly
	onDemand bool   // provisioned on demand (directly or in its group's call), else left to the cycle
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
	var results []UserResult
	if scim != nil {
		results, err = verify(ctx, env, *scim, targets, nil)
	} else {
		// No SCIM token to read with (the backend kept its registration): Entra's own logs say who arrived.
		// Reading them needs AuditLog.Read.All; without it, provision on demand again rather than fail.
		if results, err = fromLogs(ctx, env, app.SP.ID, job.ID, targets); graph.IsForbidden(err) {
			return run, nil
		}
	}
	if err != nil {
		return Change{}, err
	}
	c := summarize(results, nil)
	if c.Count(Failed)+c.Count(Pending) > 0 {
		return run, nil
	}
	return Change{Payload: confirmPlan{Verified: &c}, Resources: []Resource{{Action: NoOp, Type: "provisioned users", Name: plural(c.Counts.Total, "user") + " in the SaaS"}}}, nil
}

// principalSummary names what is provisioned on demand, as a person would say it.
func principalSummary(ps []Principal) string {
	users, groups := 0, 0
	for _, p := range ps {
		if p.Type == "Group" {
			groups++
		} else {
			users++
		}
	}
	// Only what is there is named: "1 group", "2 users", "1 group and 1 user"; never "0 users".
	var parts []string
	if groups > 0 {
		parts = append(parts, plural(groups, "group"))
	}
	if users > 0 {
		parts = append(parts, plural(users, "user"))
	}
	if len(parts) == 0 {
		return "no users or groups"
	}
	return strings.Join(parts, " and ")
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
		sample: onDemandSample,
		// Every subject was just assigned: "not in scope" is the assignment not replicated yet.
		lag: func(Principal) time.Duration { return assignmentLag },
	})
	if err != nil {
		return err
	}
	if scim == nil {
		c.Notes = append(c.Notes, "the backend kept its earlier registration, so idpctl has no SCIM token to read users back: results come from Entra's on-demand provisioning")
	}
	if sampled := sampleSize(targets); sampled < len(targets) {
		c.Notes = append(c.Notes, fmt.Sprintf("%s provisioned on demand as a sample (at most %d calls of up to %d group members, as Entra allows %d calls per 10 s); the other %s were looked for in the SaaS and in Entra's provisioning logs",
			plural(sampled, "user"), onDemandSample, onDemandGroupMembers, onDemandCalls, Thousands(len(targets)-sampled)))
	}
	if n := c.Count(Pending); n > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%s left to the provisioning cycle (up to 40 minutes the first time): running this command again after the cycle confirms them",
			plural(n, "user")))
	}
	if c.Unlisted > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%s are counted, not listed: the list has the users that need attention", plural(c.Unlisted, "user")))
	}
	env.Out().Confirmation.Set(c)
	if c.Count(Failed) > 0 {
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
	// sample bounds the on-demand calls (see onDemandSample); 0 sends every subject.
	sample int
	// lag is how long a subject Entra reports as not in scope is tried again: a fresh assignment takes minutes
	// to be honoured; a subject that is not assigned at all is not tried again. nil: not tried again.
	lag func(Principal) time.Duration
}

// provisionAndReadBack provisions the subjects on demand, then reads each target back from the SCIM endpoint
// (or takes Entra's on-demand answers without one), with the provisioning logs' word on who did not arrive.
// Setup's confirmation and idpctl provision entra both end here.
func provisionAndReadBack(ctx context.Context, env *Env, step Step, r onDemandRun) (Confirmation, error) {
	since := env.clock().Now().Add(-time.Minute)
	onDemand := provision(ctx, env, step, r, onDemandCallsFor(r))
	if err := ctx.Err(); err != nil {
		return Confirmation{}, err
	}
	var results []UserResult
	if r.scim != nil {
		var err error
		if results, err = verify(ctx, env, *r.scim, r.targets, onDemand); err != nil {
			return Confirmation{}, err
		}
	} else {
		results = fromOnDemand(r.targets, onDemand)
	}
	return summarize(results, addLogReasons(ctx, env, step, r.spID, r.jobID, since, results)), nil
}

// ConfirmError reports users that did not arrive although Entra tried to provision them.
type ConfirmError struct{ Confirmation Confirmation }

// maxErrorLines bounds the users a ConfirmError names; the result lists the others.
const maxErrorLines = 20

func (e *ConfirmError) Error() string {
	var lines []string
	for _, u := range e.Confirmation.Users {
		if u.Outcome == Failed && len(lines) < maxErrorLines {
			lines = append(lines, fmt.Sprintf("%s: %s", u.UserPrincipalName, u.Reason))
		}
	}
	failed := e.Confirmation.Count(Failed)
	if more := failed - len(lines); more > 0 {
		lines = append(lines, fmt.Sprintf("and %s more", Thousands(more)))
	}
	return fmt.Sprintf("%s did not arrive: %s", plural(failed, "user"), strings.Join(lines, "; "))
}

// targetsOf lists the users expected in the SaaS: directly assigned users and direct members of assigned groups
// (Entra does not follow nested groups), sorted by userPrincipalName. Directly assigned users are read in a few
// batched lookups; each group's members in pages of 999.
func targetsOf(ctx context.Context, env *Env, assigned []Principal) ([]target, error) {
	var (
		mu      sync.Mutex
		targets []target
		seen    = map[string]int{}
		errs    []error
		wg      sync.WaitGroup
		sem     = make(chan struct{}, memberReads)
	)
	add := func(t target) {
		key := strings.ToLower(t.user.ID)
		if i, ok := seen[key]; ok {
			// Assigned directly and through a group: provisioned directly.
			if t.group == "" {
				targets[i] = t
			}
			return
		}
		seen[key] = len(targets)
		targets = append(targets, t)
	}
	fail := func(p Principal, err error) {
		errs = append(errs, fmt.Errorf("reading %s: %w", p.label(), err))
	}
	var direct []Principal
	for _, p := range assigned {
		if p.Type != "Group" {
			direct = append(direct, p)
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			members, err := env.Graph.ListGroupMembers(ctx, p.ID)
			<-sem
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fail(p, err)
				return
			}
			for _, m := range members {
				add(target{user: m, via: "group " + p.DisplayName, group: p.ID})
			}
		})
	}
	if len(direct) > 0 {
		ids := make([]string, len(direct))
		for i, p := range direct {
			ids[i] = p.ID
		}
		users, userErrs := env.Graph.ResolveUsers(ctx, ids...)
		mu.Lock()
		for i, u := range users {
			if userErrs[i] != nil {
				fail(direct[i], userErrs[i])
				continue
			}
			add(target{user: u, via: "user"})
		}
		mu.Unlock()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(targets, func(a, b target) int { return strings.Compare(a.user.UserPrincipalName, b.user.UserPrincipalName) })
	return targets, nil
}

// sampleSize counts the targets provisioned on demand.
func sampleSize(targets []target) int {
	n := 0
	for _, t := range targets {
		if t.onDemand {
			n++
		}
	}
	return n
}

// onDemandCall is one provisionOnDemand request and the users it covers.
type onDemandCall struct {
	subject graph.OnDemandSubject
	users   []string
	label   string
	lag     time.Duration // how long "not in scope" is tried again
}

// onDemandCallsFor picks the sample provisioned on demand and marks its users in targets: a call per group,
// with up to five of its members (enabled accounts first: Entra does not provision disabled ones), then a call
// per directly assigned user, at most r.sample calls in all. Without a sample (idpctl provision entra) every
// member goes: a group is sent again with the next five members until none is left.
func onDemandCallsFor(r onDemandRun) []onDemandCall {
	targets := r.targets
	lag := func(p Principal) time.Duration {
		if r.lag == nil {
			return 0
		}
		return r.lag(p)
	}
	full := func(calls []onDemandCall) bool { return r.sample > 0 && len(calls) == r.sample }
	var calls []onDemandCall
	for _, p := range r.subjects {
		if p.Type != "Group" || full(calls) {
			continue
		}
		var enabled, disabled []int
		for i, t := range targets {
			switch {
			case t.group != p.ID:
			case t.user.AccountEnabled:
				enabled = append(enabled, i)
			default:
				disabled = append(disabled, i)
			}
		}
		members := append(enabled, disabled...)
		// A group whose members all go by their own calls still has a call: it brings the group itself.
		chunks := [][]int{members[:min(len(members), onDemandGroupMembers)]}
		if r.sample == 0 && len(members) > onDemandGroupMembers {
			chunks = slices.Collect(slices.Chunk(members, onDemandGroupMembers))
		}
		for n, chunk := range chunks {
			subject := graph.OnDemandSubject{ObjectID: p.ID, ObjectTypeName: "Group"}
			for _, i := range chunk {
				targets[i].onDemand = true
				subject.Members = append(subject.Members, targets[i].user.ID)
			}
			label := p.label()
			if len(chunks) > 1 {
				first := n*onDemandGroupMembers + 1
				label += fmt.Sprintf(" (members %d–%d of %d)", first, first+len(chunk)-1, len(members))
			}
			calls = append(calls, onDemandCall{subject: subject, users: subject.Members, label: label, lag: lag(p)})
		}
	}
	for i, t := range targets {
		if t.group != "" || full(calls) {
			continue
		}
		targets[i].onDemand = true
		p := Principal{Type: "User", ID: t.user.ID, DisplayName: t.user.DisplayName, UserPrincipalName: t.user.UserPrincipalName}
		subject := graph.OnDemandSubject{ObjectID: t.user.ID, ObjectTypeName: "User"}
		calls = append(calls, onDemandCall{subject: subject, users: []string{t.user.ID}, label: p.label(), lag: lag(p)})
	}
	return calls
}

// provision runs the on-demand calls. It honours the documented 5-calls-per-10-seconds limit and tries again,
// for the call's lag, a user Entra does not see as assigned yet. A group's further calls (the next five
// members) wait for its first: that one creates the group in the SaaS, and calls racing it could each create
// one. The result is keyed by user id.
func provision(ctx context.Context, env *Env, s Step, r onDemandRun, calls []onDemandCall) map[string]graph.OnDemandResult {
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
	var wg sync.WaitGroup
	firstCalls := map[string]chan struct{}{} // by subject: closed when the subject's first call has its answer
	for _, sub := range calls {
		key := strings.ToLower(sub.subject.ObjectID)
		first, later := firstCalls[key]
		var done chan struct{}
		if !later {
			done = make(chan struct{})
			firstCalls[key] = done
		}
		wg.Go(func() {
			if later {
				select {
				case <-first:
				case <-ctx.Done():
					return
				}
			} else {
				defer close(done)
			}
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

// verify reads every target back from the SCIM endpoint (in a few list pages or filtered reads, whichever takes
// fewer requests) and compares the attributes with the mappings. onDemand holds the answers of the on-demand
// calls; nil when none were made (planning).
func verify(ctx context.Context, env *Env, scim backend.SCIM, targets []target, onDemand map[string]graph.OnDemandResult) ([]UserResult, error) {
	reader, err := backend.NewReader(env.SCIMClient, env.clock(), scim)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.user.ID
	}
	inSaaS, err := reader.UsersByExternalID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reading the users back from the SCIM endpoint: %w", err)
	}
	results := make([]UserResult, len(targets))
	for i, t := range targets {
		r := UserResult{ID: t.user.ID, UserPrincipalName: t.user.UserPrincipalName, Via: t.via, OnDemand: t.onDemand}
		found := inSaaS[strings.ToLower(t.user.ID)]
		od, tried := onDemand[strings.ToLower(t.user.ID)]
		switch {
		case len(found) > 1:
			r.Outcome, r.Reason = Failed, fmt.Sprintf("%d users in the SaaS have the externalId %s: remove the duplicates, Entra cannot provision a user that matches several (DuplicateTargetEntries)", len(found), t.user.ID)
		case len(found) == 1:
			r.SCIMID = found[0].ID
			if diffs := attributeDiffs(t.user, found[0]); len(diffs) > 0 {
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
		results[i] = r
	}
	return results, nil
}

// fromLogs builds the outcome from the provisioning logs of the last 30 days (how long Entra keeps them): a user
// whose latest entry is a success, or a skip because the SaaS already matches, has arrived.
func fromLogs(ctx context.Context, env *Env, spID, jobID string, targets []target) ([]UserResult, error) {
	events, err := env.Graph.ListProvisioningEvents(ctx, graph.ProvisioningQuery{
		ServicePrincipalID: spID, JobID: jobID, Since: env.clock().Now().Add(-30 * 24 * time.Hour),
	})
	if err != nil {
		return nil, err
	}
	latest := latestBySource(events)
	results := make([]UserResult, 0, len(targets))
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
		results = append(results, r)
	}
	return results, nil
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
func fromOnDemand(targets []target, onDemand map[string]graph.OnDemandResult) []UserResult {
	results := make([]UserResult, 0, len(targets))
	for _, t := range targets {
		r := UserResult{ID: t.user.ID, UserPrincipalName: t.user.UserPrincipalName, Via: t.via, OnDemand: t.onDemand}
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
		results = append(results, r)
	}
	return results
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

// logWaits are the pauses before reading the provisioning logs again while a user provisioned on demand who did
// not arrive has no entry yet, or a cycle is under way: entries can appear a while after the provisioning they
// describe.
func logWaits() []time.Duration {
	return []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second}
}

// addLogReasons reads this run's provisioning logs: they say why users were skipped or failed, often more than
// the on-demand answer, and what a cycle that ran meanwhile did to the users left to it. It reads them again with
// backoff while a user provisioned on demand who did not arrive has no entry, and while a cycle is under way
// (some users left to it have entries, others not yet). It returns notes for the result.
func addLogReasons(ctx context.Context, env *Env, s Step, spID, jobID string, since time.Time, results []UserResult) []string {
	unexplained := func(latest map[string]graph.ProvisioningEvent) bool {
		logged, unlogged := false, false
		for _, u := range results {
			_, ok := latest[strings.ToLower(u.ID)]
			if !ok && u.OnDemand && (u.Outcome == Skipped || u.Outcome == Failed) {
				return true
			}
			if u.Outcome == Pending {
				logged, unlogged = logged || ok, unlogged || !ok
			}
		}
		return logged && unlogged
	}
	var latest map[string]graph.ProvisioningEvent
	for attempt, waits := 0, logWaits(); ; attempt++ {
		events, err := env.Graph.ListProvisioningEvents(ctx, graph.ProvisioningQuery{ServicePrincipalID: spID, JobID: jobID, Since: since})
		if err != nil {
			return []string{"the provisioning logs could not be read: " + err.Error()}
		}
		latest = latestBySource(events)
		if attempt == len(waits) || !unexplained(latest) {
			break
		}
		w := Wait{Reason: WaitReplication, Object: "the provisioning logs", RetryIn: waits[attempt]}
		env.waiting(s, w)
		err = env.clock().Sleep(ctx, waits[attempt])
		w.RetryIn, w.Over = 0, true
		env.waiting(s, w)
		if err != nil {
			return nil
		}
	}
	for i, u := range results {
		e, ok := latest[strings.ToLower(u.ID)]
		if !ok || u.Outcome == Arrived {
			continue
		}
		detail := strings.TrimSpace(e.ErrorCode + " " + e.Reason)
		if u.Outcome == Pending {
			// A cycle ran meanwhile: its entry says whether it brought the user, and why not.
			switch {
			case strings.EqualFold(e.Status, "success") || strings.EqualFold(e.ErrorCode, "RedundantExport"):
				results[i].Outcome, results[i].Reason, results[i].SCIMID = Arrived, "", e.TargetID
			case strings.EqualFold(e.Status, "skipped"):
				results[i].Outcome, results[i].Reason = Skipped, "provisioning log: "+detail
			case strings.EqualFold(e.Status, "failure"):
				results[i].Outcome, results[i].Reason = Failed, "provisioning log: "+detail
			}
			continue
		}
		// The on-demand answer often carries the log's own reason already: it is not said twice.
		if detail == "" || strings.Contains(u.Reason, detail) || (e.Reason != "" && strings.Contains(u.Reason, e.Reason)) {
			continue
		}
		results[i].Reason = strings.TrimSpace(u.Reason + " (provisioning log: " + detail + ")")
	}
	return nil
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
	return Thousands(n) + " " + noun + "s"
}
