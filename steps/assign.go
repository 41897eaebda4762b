package steps

import (
	"context"
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
		errs := make([]error, len(p.Missing))
		var wg sync.WaitGroup
		for i, m := range p.Missing {
			wg.Go(func() {
				_, err := env.Graph.AssignAppRole(ctx, app.SP.ID, m.ID, role.ID)
				if graph.IsConflict(err) {
					err = nil // assigned meanwhile (or by a retried request): that is the state we want
				}
				if err != nil {
					errs[i] = fmt.Errorf("assigning %s: %w", m.label(), err)
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		if err := env.State.Update(env.clock().Now(), func(d *StateData) {
			for _, m := range p.Missing {
				if id := strings.ToLower(m.ID); !slices.Contains(d.AssignedPrincipals, id) {
					d.AssignedPrincipals = append(d.AssignedPrincipals, id)
				}
			}
			d.AssignedAt = env.clock().Now().UTC()
		}); err != nil {
			return err
		}
	}
	env.Out().Assigned.Set(p.Assigned)
	return nil
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

// resolvePrincipals turns --assign-group and --assign-user values into directory objects. Every value that
// matches nothing, or more than one object, is reported at once, with close matches where there are some.
func resolvePrincipals(ctx context.Context, env *Env) ([]Principal, error) {
	return resolveNamed(ctx, env, env.Inputs.AssignGroups, env.Inputs.AssignUsers, "--assign-group", "--assign-user")
}

// resolveNamed turns group and user names (or object ids) into directory objects; a problem names the flag the
// value came from.
func resolveNamed(ctx context.Context, env *Env, groupNames, userNames []string, groupFlag, userFlag string) ([]Principal, error) {
	type result struct {
		principals []Principal
		problem    string
		err        error
	}
	results := make([]result, len(groupNames)+len(userNames))
	var wg sync.WaitGroup
	for i, g := range groupNames {
		wg.Go(func() {
			results[i].principals, results[i].problem, results[i].err = resolveGroup(ctx, env, groupFlag, g)
		})
	}
	for i, u := range userNames {
		i += len(groupNames)
		wg.Go(func() { results[i].principals, results[i].problem, results[i].err = resolveUser(ctx, env, userFlag, u) })
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

func resolveGroup(ctx context.Context, env *Env, flag, nameOrID string) ([]Principal, string, error) {
	groups, err := env.Graph.ResolveGroup(ctx, nameOrID)
	if err != nil && !graph.IsNotFound(err) {
		return nil, "", err
	}
	switch len(groups) {
	case 1:
		g := groups[0]
		return []Principal{{Type: "Group", ID: g.ID, DisplayName: g.DisplayName}}, "", nil
	case 0:
		problem := fmt.Sprintf("%s %q: no group with this name or object id", flag, nameOrID)
		similar, err := SimilarGroups(ctx, env.Graph, nameOrID)
		if err != nil {
			return nil, "", err
		}
		var names []string
		for _, g := range similar {
			names = append(names, fmt.Sprintf("%q", g.DisplayName))
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

func resolveUser(ctx context.Context, env *Env, flag, upnOrID string) ([]Principal, string, error) {
	u, err := env.Graph.ResolveUser(ctx, upnOrID)
	if err == nil {
		return []Principal{{Type: "User", ID: u.ID, DisplayName: u.DisplayName, UserPrincipalName: u.UserPrincipalName}}, "", nil
	}
	if !graph.IsNotFound(err) {
		return nil, "", err
	}
	problem := fmt.Sprintf("%s %q: no user with this user principal name or object id", flag, upnOrID)
	similar, err := SimilarUsers(ctx, env.Graph, upnOrID)
	if err != nil {
		return nil, "", err
	}
	var names []string
	for _, u := range similar {
		names = append(names, fmt.Sprintf("%q", u.UserPrincipalName))
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
