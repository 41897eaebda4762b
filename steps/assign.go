package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/idpctl/idpctl/graph"
)

// assignments assigns the requested users and groups to the application with its "User" role (documented
// step 1.3-1.4). Assignments that exist stay; so do assignments made by others.
type assignments struct{}

// assignmentsPlan is the assignments step's payload.
type assignmentsPlan struct {
	Missing  []Principal `json:"missing,omitempty"` // the wanted principals apply assigns
	Assigned []Principal `json:"assigned"`          // every principal assigned once applied: the wanted and the existing ones
}

func (s *assignments) String() string { return "assignments" }

func (s *assignments) Sets(_ Phase, out *Outputs) []Slot {
	return []Slot{&out.Assigned}
}

func (s *assignments) Plan(ctx context.Context, env *Env) (Change, error) {
	wanted, err := resolvePrincipals(ctx, env)
	if err != nil {
		return Change{}, err
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	var existing []graph.AppRoleAssignment
	if app.Exists {
		if existing, err = s.existing(ctx, env, app, wanted); err != nil {
			return Change{}, err
		}
	}
	p := assignmentsPlan{Assigned: allAssigned(wanted, existing)}
	var change Change
	assigned := map[string]bool{}
	for _, a := range existing {
		assigned[strings.ToLower(a.PrincipalID)] = true
	}
	role := "User"
	if app.Exists {
		r, err := userRole(app.SP)
		if err != nil {
			return Change{}, err
		}
		role = r.DisplayName
	}
	for _, w := range wanted {
		if assigned[strings.ToLower(w.ID)] {
			change.Resources = append(change.Resources, Resource{Action: NoOp, Type: "assignment", Name: w.label()})
			continue
		}
		p.Missing = append(p.Missing, w)
		change.Resources = append(change.Resources, Resource{
			Action: Create, Type: "assignment", Name: w.label(), Attrs: []Attr{Value("role", role)},
		})
	}
	change.Payload = p
	env.Out().Assigned.Set(p.Assigned)
	return change, nil
}

// existing lists the application's assignments. Graph's list may not show an assignment made in the last
// minutes yet: when the state file says idpctl made the missing ones, the list is read again until they show
// or the lookup window after they were made has passed, so a run right after another plans no second one.
func (s *assignments) existing(ctx context.Context, env *Env, app AppRef, wanted []Principal) ([]graph.AppRoleAssignment, error) {
	st := env.State.Get()
	list := func(ctx context.Context) ([]graph.AppRoleAssignment, bool, error) {
		existing, err := env.Graph.ListAppRoleAssignedTo(ctx, app.SP.ID)
		if err != nil {
			return nil, false, err
		}
		shown := map[string]bool{}
		for _, a := range existing {
			shown[strings.ToLower(a.PrincipalID)] = true
		}
		for _, w := range wanted {
			if id := strings.ToLower(w.ID); !shown[id] && slices.Contains(st.AssignedPrincipals, id) {
				return existing, false, nil // made by idpctl, not listed yet
			}
		}
		return existing, true, nil
	}
	if st.ServicePrincipalID != app.SP.ID {
		existing, _, err := list(ctx)
		return existing, err
	}
	existing, _, err := lookFor(ctx, env, st.AssignedAt, list)
	return existing, err
}

// allAssigned is every principal assigned once the step applied: the wanted ones and the existing assignments.
func allAssigned(wanted []Principal, existing []graph.AppRoleAssignment) []Principal {
	all := slices.Clone(wanted)
	seen := map[string]bool{}
	for _, p := range all {
		seen[strings.ToLower(p.ID)] = true
	}
	for _, a := range existing {
		if seen[strings.ToLower(a.PrincipalID)] {
			continue
		}
		seen[strings.ToLower(a.PrincipalID)] = true
		all = append(all, Principal{Type: a.PrincipalType, ID: a.PrincipalID, DisplayName: a.PrincipalDisplayName})
	}
	return all
}

func (s *assignments) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[assignmentsPlan](change)
	if err != nil {
		return err
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	if len(p.Missing) > 0 {
		role, err := userRole(app.SP)
		if err != nil {
			return err
		}
		ids := make([]string, len(p.Missing))
		for i, m := range p.Missing {
			ids[i] = m.ID
		}
		env.progress(s, "making %s", plural(len(ids), "assignment"))
		_, errs := env.Graph.AssignAppRoles(ctx, app.SP.ID, role.ID, ids)
		failed := &AssignError{}
		for i, err := range errs {
			// A conflict is an assignment made meanwhile (or by a retried request): the state we want.
			if err != nil && !graph.IsConflict(err) {
				failed.add(p.Missing[i], err)
			}
		}
		if err := env.State.Update(env.clock().Now(), func(d *StateData) {
			for i, m := range p.Missing {
				if errs[i] != nil && !graph.IsConflict(errs[i]) {
					continue // not made: nothing for the next run to wait for
				}
				if id := strings.ToLower(m.ID); !slices.Contains(d.AssignedPrincipals, id) {
					d.AssignedPrincipals = append(d.AssignedPrincipals, id)
				}
			}
			d.AssignedAt = env.clock().Now().UTC()
		}); err != nil {
			return err
		}
		if len(failed.causes) > 0 {
			return failed
		}
	}
	env.Out().Assigned.Set(p.Assigned)
	return nil
}

// AssignError names every principal that could not be assigned, grouped by what Graph answered, so that a
// thousand refusals for one missing permission read as one cause.
type AssignError struct {
	causes []assignCause
}

type assignCause struct {
	err   error
	whom  []string
	graph string // Graph's code and message, the same for every principal refused for the same reason
}

func (e *AssignError) add(p Principal, err error) {
	key := err.Error()
	var ge *graph.Error
	if errors.As(err, &ge) {
		key = fmt.Sprint(ge.Status, ge.Code, ge.Message)
	}
	for i := range e.causes {
		if e.causes[i].graph == key {
			e.causes[i].whom = append(e.causes[i].whom, p.label())
			return
		}
	}
	e.causes = append(e.causes, assignCause{err: err, whom: []string{p.label()}, graph: key})
}

func (e *AssignError) Error() string {
	n := 0
	var lines []string
	for _, c := range e.causes {
		n += len(c.whom)
		lines = append(lines, fmt.Sprintf("%s: %v", strings.Join(c.whom, ", "), c.err))
	}
	if n == 1 {
		return "assigning " + lines[0]
	}
	return fmt.Sprintf("%d users and groups could not be assigned:\n  %s", n, strings.Join(lines, "\n  "))
}

// Unwrap returns the causes, so that errors.As finds Graph's answers (a 403 is a sign-in problem, exit 4).
func (e *AssignError) Unwrap() []error {
	errs := make([]error, len(e.causes))
	for i, c := range e.causes {
		errs[i] = c.err
	}
	return errs
}

// userRole picks the app role assignments use: "User", else "msiam_access", the two roles the non-gallery
// template declares (their ids differ per application, so they are read, never hard-coded).
func userRole(sp graph.ServicePrincipal) (graph.AppRole, error) {
	for _, name := range []string{"User", "msiam_access"} {
		for _, r := range sp.AppRoles {
			if r.DisplayName == name && r.Enabled {
				return r, nil
			}
		}
	}
	return graph.AppRole{}, fmt.Errorf("the service principal %s has neither a \"User\" nor an \"msiam_access\" app role: users cannot be assigned to it; was it created from the non-gallery template?", sp.ID)
}

func (p Principal) label() string {
	name := p.DisplayName
	if p.UserPrincipalName != "" {
		name = p.UserPrincipalName
	}
	return strings.ToLower(p.Type) + " " + name
}

// resolvePrincipals turns --assign-group and --assign-user values into directory objects, many at a time (a
// thousand values cost a handful of batched lookups). Every value that matches nothing, or more than one object,
// is reported at once, with close matches for the first few.
func resolvePrincipals(ctx context.Context, env *Env) ([]Principal, error) {
	return resolveNamed(ctx, env, env.Inputs.AssignGroups, env.Inputs.AssignUsers, "--assign-group", "--assign-user")
}

// resolveNamed turns group and user names (or object ids) into directory objects; a problem names the flag the
// value came from.
func resolveNamed(ctx context.Context, env *Env, groupNames, userNames []string, groupFlag, userFlag string) ([]Principal, error) {
	var (
		groups            [][]graph.Group
		users             []graph.User
		groupErrs, usrErr []error
		wg                sync.WaitGroup
	)
	if len(groupNames) > 0 {
		wg.Go(func() { groups, groupErrs = env.Graph.ResolveGroups(ctx, groupNames...) })
	}
	if len(userNames) > 0 {
		wg.Go(func() { users, usrErr = env.Graph.ResolveUsers(ctx, userNames...) })
	}
	wg.Wait()

	type result struct {
		principals []Principal
		problem    string
		err        error
	}
	results := make([]result, len(groupNames)+len(userNames))
	suggest := suggestions{left: maxSuggested}
	for i, g := range groupNames {
		wg.Go(func() {
			results[i].principals, results[i].problem, results[i].err = groupPrincipals(ctx, env, &suggest, groupFlag, g, groups[i], groupErrs[i])
		})
	}
	for i, u := range userNames {
		wg.Go(func() {
			r := &results[len(groupNames)+i]
			r.principals, r.problem, r.err = userPrincipals(ctx, env, &suggest, userFlag, u, users[i], usrErr[i])
		})
	}
	wg.Wait()
	var (
		out      []Principal
		problems []string
		seen     = map[string]bool{}
	)
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		if r.problem != "" {
			problems = append(problems, r.problem)
		}
		for _, p := range r.principals {
			if !seen[strings.ToLower(p.ID)] {
				seen[strings.ToLower(p.ID)] = true
				out = append(out, p)
			}
		}
	}
	if len(problems) > 0 {
		return nil, &InputError{Problems: problems}
	}
	return out, nil
}

// maxSuggested bounds the "did you mean" searches of one run: a list of a thousand names with the wrong domain
// must fail at once, not after two thousand searches.
const maxSuggested = 5

// suggestions hands out the searches for close matches.
type suggestions struct {
	mu   sync.Mutex
	left int
}

func (s *suggestions) take() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.left <= 0 {
		return false
	}
	s.left--
	return true
}

func groupPrincipals(ctx context.Context, env *Env, suggest *suggestions, flag, nameOrID string, groups []graph.Group, err error) ([]Principal, string, error) {
	if err != nil && !graph.IsNotFound(err) {
		return nil, "", err
	}
	switch len(groups) {
	case 1:
		g := groups[0]
		return []Principal{{Type: "Group", ID: g.ID, DisplayName: g.DisplayName}}, "", nil
	case 0:
		problem := fmt.Sprintf("%s %q: no group with this name or object id", flag, nameOrID)
		var names []string
		if suggest.take() {
			similar, err := SimilarGroups(ctx, env.Graph, nameOrID)
			if err != nil {
				return nil, "", err
			}
			for _, g := range similar {
				names = append(names, fmt.Sprintf("%q", g.DisplayName))
			}
		}
		if len(names) > 0 {
			problem += "; did you mean " + strings.Join(names, ", ") + "?"
		} else {
			problem += "; check the spelling in the Entra admin center › Groups"
		}
		return nil, problem, nil
	default:
		lines := []string{fmt.Sprintf("%s %q: %d groups have this name; pass the object id of the one meant:", flag, nameOrID, len(groups))}
		for _, g := range groups {
			lines = append(lines, fmt.Sprintf("    %s  %s", g.ID, g.DisplayName))
		}
		return nil, strings.Join(lines, "\n"), nil
	}
}

func userPrincipals(ctx context.Context, env *Env, suggest *suggestions, flag, upnOrID string, u graph.User, err error) ([]Principal, string, error) {
	if err == nil {
		return []Principal{{Type: "User", ID: u.ID, DisplayName: u.DisplayName, UserPrincipalName: u.UserPrincipalName}}, "", nil
	}
	if !graph.IsNotFound(err) {
		return nil, "", err
	}
	problem := fmt.Sprintf("%s %q: no user with this user principal name or object id", flag, upnOrID)
	var names []string
	if suggest.take() {
		similar, err := SimilarUsers(ctx, env.Graph, upnOrID)
		if err != nil {
			return nil, "", err
		}
		for _, u := range similar {
			names = append(names, fmt.Sprintf("%q", u.UserPrincipalName))
		}
	}
	if len(names) > 0 {
		problem += "; did you mean " + strings.Join(names, ", ") + "?"
	} else {
		problem += "; use the user's sign-in name (user@domain) as shown in the Entra admin center › Users"
	}
	return nil, problem, nil
}

// Searcher is the part of the Graph client "did you mean" needs.
type Searcher interface {
	SearchUsers(ctx context.Context, text string, top int) ([]graph.User, error)
	SearchGroups(ctx context.Context, text string, top int) ([]graph.Group, error)
}

// suggestionPool is how many objects each search of Similar reads: enough that the one meant is among them in
// a large directory where many names share their first letters.
const suggestionPool = 25

// SimilarGroups returns up to five groups whose names are close to name.
func SimilarGroups(ctx context.Context, g Searcher, name string) ([]graph.Group, error) {
	return Similar(ctx, name, 5, func(gr graph.Group) []string { return []string{gr.DisplayName} },
		func(ctx context.Context, term string) ([]graph.Group, error) {
			return g.SearchGroups(ctx, term, suggestionPool)
		})
}

// SimilarUsers returns up to five users whose user principal name, display name or mail is close to name.
func SimilarUsers(ctx context.Context, g Searcher, name string) ([]graph.User, error) {
	return Similar(ctx, name, 5, func(u graph.User) []string { return []string{u.UserPrincipalName, u.DisplayName, u.Mail} },
		func(ctx context.Context, term string) ([]graph.User, error) {
			return g.SearchUsers(ctx, term, suggestionPool)
		})
}

// resolveUser looks one user up by user principal name or object id; a miss is a problem naming the flag, with
// close matches.
func resolveUser(ctx context.Context, env *Env, flag, upnOrID string) ([]Principal, string, error) {
	users, errs := env.Graph.ResolveUsers(ctx, upnOrID)
	return userPrincipals(ctx, env, &suggestions{left: maxSuggested}, flag, upnOrID, users[0], errs[0])
}
