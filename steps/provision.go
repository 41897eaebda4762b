package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/idpctl/idpctl/backend"
)

// Provision is `idpctl provision entra`: the users and groups named are provisioned now, as the Entra admin
// center's "Provision on demand" does, and each user is read back from the SCIM endpoint when idpctl holds its
// token, with the provisioning logs' reasons for who did not arrive. It is setup's confirmation (the same
// rate limit and read-back) on the principals named instead of the ones assigned, with every member of a
// group rather than a sample of five: an admin who names a group asks for its members now, and Entra's limit
// of five members per call only makes a large group take longer (the plan says how long), never a reason to
// leave members to a cycle up to 40 minutes away.
func Provision(users, groups []string) []Step {
	return []Step{
		&existing{}, // the application setup made, and its provisioning job
		&onDemand{users: users, groups: groups},
	}
}

// onDemand provisions the users and groups named on demand and reports each user.
type onDemand struct {
	users, groups []string // --user and --group values: names or object ids
}

// onDemandPlan is the on-demand step's payload.
type onDemandPlan struct {
	RuleID   string      `json:"ruleId"`   // the synchronization rule on-demand provisioning runs
	Subjects []Principal `json:"subjects"` // the users and groups named, resolved
	// Assigned lists the subjects (lower-case ids) assigned to the application: for them, Entra's "not in scope"
	// is a fresh assignment not honoured yet, and is tried again for a few minutes.
	Assigned []string `json:"assigned,omitempty"`
	// SCIMURL is where users are read back; empty when idpctl has no SCIM token.
	SCIMURL string `json:"scimUrl,omitempty"`
}

func (s *onDemand) String() string { return "provision on demand" }

func (s *onDemand) Sets(phase Phase, out *Outputs) []Slot {
	if phase == Planning {
		return nil
	}
	return []Slot{&out.Confirmation}
}

func (s *onDemand) Plan(ctx context.Context, env *Env) (Change, error) {
	app, job, err := requireJob(ctx, env)
	if err != nil {
		return Change{}, err
	}
	subjects, err := resolveNamed(ctx, env, s.groups, s.users, "--group", "--user")
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
	p := onDemandPlan{RuleID: edit.RuleID, Subjects: subjects}
	existing, err := env.Graph.ListAppRoleAssignedTo(ctx, app.SP.ID)
	if err != nil {
		return Change{}, err
	}
	for _, a := range existing {
		p.Assigned = append(p.Assigned, strings.ToLower(a.PrincipalID))
	}
	readBack := "Entra's on-demand answers and the provisioning logs (no SCIM token given)"
	if !env.Inputs.SCIMToken.IsZero() {
		if p.SCIMURL, err = scimURL(ctx, env, app.SP.ID); err != nil {
			return Change{}, err
		}
		readBack = "the SCIM endpoint " + p.SCIMURL + ", and the provisioning logs"
	}
	targets, err := targetsOf(ctx, env, subjects)
	if err != nil {
		return Change{}, err
	}
	calls := onDemandCallsFor(onDemandRun{subjects: subjects, targets: targets})
	var change Change
	for _, subject := range subjects {
		r := Resource{Action: Run, Type: "provisioning on demand", Name: subject.label()}
		if subject.Type == "Group" {
			r.Attrs = append(r.Attrs, Value("members sent", groupMembersSent(subject, targets, calls)))
		}
		r.Attrs = append(r.Attrs, Value("read back from", readBack))
		if !slices.Contains(p.Assigned, strings.ToLower(subject.ID)) {
			r.Note = "not assigned to the application: Entra skips it unless provisioning syncs all users and groups, or it is a member of an assigned group"
		}
		change.Resources = append(change.Resources, r)
	}
	change.Payload = p
	return change, nil
}

func (s *onDemand) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[onDemandPlan](change)
	if err != nil {
		return err
	}
	app, job, err := requireJob(ctx, env)
	if err != nil {
		return err
	}
	targets, err := targetsOf(ctx, env, p.Subjects)
	if err != nil {
		return err
	}
	var scim *backend.SCIM
	if p.SCIMURL != "" {
		scim = &backend.SCIM{BaseURL: p.SCIMURL, Token: env.Inputs.SCIMToken}
	}
	c, err := provisionAndReadBack(ctx, env, s, onDemandRun{
		spID: app.SP.ID, jobID: job.ID, ruleID: p.RuleID, subjects: p.Subjects, targets: targets, scim: scim,
		lag: func(subject Principal) time.Duration {
			if slices.Contains(p.Assigned, strings.ToLower(subject.ID)) {
				return assignmentLag
			}
			return 0
		},
	})
	if err != nil {
		return err
	}
	if scim == nil {
		c.Notes = append(c.Notes, "idpctl has no SCIM token to read users back from the SaaS (set IDPCTL_SCIM_TOKEN or pass --scim-token-file): results come from Entra's on-demand answers and the provisioning logs")
	}
	env.Out().Confirmation.Set(c)
	if c.Count(Failed) > 0 {
		return &ConfirmError{Confirmation: c}
	}
	return nil
}

// groupMembersSent says which members of a group go on demand: their names when they fit in one call, else how
// many, in how many calls, and how long Entra's rate limit makes that take at least.
func groupMembersSent(group Principal, targets []target, calls []onDemandCall) string {
	var names []string
	for _, t := range targets {
		if t.group == group.ID && t.onDemand {
			names = append(names, t.user.UserPrincipalName)
		}
	}
	n := 0
	for _, c := range calls {
		if strings.EqualFold(c.subject.ObjectID, group.ID) {
			n++
		}
	}
	if n <= 1 {
		return strings.Join(names, ", ")
	}
	sent := fmt.Sprintf("all %s, %d per call: %d calls", plural(len(names), "member"), onDemandGroupMembers, n)
	if windows := (len(calls)+onDemandCalls-1)/onDemandCalls - 1; windows > 0 { // the first window's calls go at once
		sent += fmt.Sprintf(" (the run's %d calls take at least %s: Entra takes %d per %s)",
			len(calls), time.Duration(windows)*onDemandWindow, onDemandCalls, onDemandWindow)
	}
	return sent
}
