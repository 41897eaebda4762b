package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/idpctl/idpctl/backend"
)

// Roles is `idpctl roles entra`: the Owners and Admins (--owner, --admin, or what setup was given) get their
// roles in the SaaS, those who have arrived there now, the others once provisioning has created them and the
// command runs again.
func Roles() []Step {
	return []Step{
		&existing{},  // the application setup made
		&saasRoles{}, // 6.5 Owners and Admins in the SaaS
	}
}

// Outcomes of a role.
const (
	RoleSet       = "set"       // the SaaS took the role in this run
	RoleUnchanged = "unchanged" // the SaaS already had it
	RolePending   = "pending"   // the user has not arrived in the SaaS yet; idpctl roles entra sets it later
	RoleManual    = "manual"    // the backend has no API for roles: the admin sets it in the SaaS
)

// RoleResult is one Owner or Admin and what became of the role.
type RoleResult struct {
	UserPrincipalName string       `json:"userPrincipalName"`
	Role              backend.Role `json:"role"`
	Outcome           string       `json:"outcome"`
}

// saasRoles tells the SaaS who is an Owner or an Admin (the guide's step 6.5). The SaaS knows a user by the
// SCIM userName, which the mappings fill from the user principal name. A backend without an API for roles
// (Smallstep today) gets instructions instead. In setup it runs once the users are confirmed, so those
// provisioned on demand already have their roles.
type saasRoles struct {
	afterConfirm bool // in setup: wait for the confirmation, which provisions the users first
}

// rolesPlan is the roles step's payload.
type rolesPlan struct {
	Manual  bool         `json:"manual,omitempty"`
	Changes []roleChange `json:"changes,omitempty"`
}

// roleChange is one user's role: what the SaaS has now ("" for none or unknown) and what it gets.
type roleChange struct {
	UserName string       `json:"userName"`
	Role     backend.Role `json:"role"`
	Current  backend.Role `json:"current,omitempty"`
}

func (s *saasRoles) String() string { return "owners and admins" }

func (s *saasRoles) Sets(phase Phase, out *Outputs) []Slot {
	if phase == Planning {
		return nil
	}
	return []Slot{&out.Roles}
}

// wanted lists the users and their roles in the order given. Someone named as both is an Owner, who can do
// everything an Admin can.
func wanted(in Inputs) (flags []string, values []string, roles []backend.Role) {
	seen := map[string]bool{}
	for _, list := range []struct {
		flag   string
		role   backend.Role
		values []string
	}{{"--owner", backend.RoleOwner, in.Owners}, {"--admin", backend.RoleAdmin, in.Admins}} {
		for _, v := range list.values {
			if key := strings.ToLower(strings.TrimSpace(v)); !seen[key] {
				seen[key] = true
				flags, values, roles = append(flags, list.flag), append(values, strings.TrimSpace(v)), append(roles, list.role)
			}
		}
	}
	return flags, values, roles
}

func (s *saasRoles) Plan(ctx context.Context, env *Env) (Change, error) {
	flags, values, roles := wanted(env.Inputs)
	if len(values) == 0 {
		return Change{Payload: rolesPlan{}}, nil
	}
	var (
		p        rolesPlan
		problems []string
	)
	for i, v := range values {
		users, problem, err := resolveUser(ctx, env, flags[i], v)
		if err != nil {
			return Change{}, err
		}
		if problem != "" {
			problems = append(problems, problem)
			continue
		}
		p.Changes = append(p.Changes, roleChange{UserName: users[0].UserPrincipalName, Role: roles[i]})
	}
	if len(problems) > 0 {
		return Change{}, &InputError{Problems: problems}
	}
	current, err := env.Backend.Roles(ctx)
	switch {
	case errors.Is(err, backend.ErrUnsupported) && env.Backend.Name() != backend.NameHTTP:
		p.Manual = true
	case errors.Is(err, backend.ErrUnsupported):
		// An API that cannot list roles: each one is sent, which the contract makes harmless.
	case err != nil:
		return Change{}, err
	}
	change := Change{Payload: p}
	for i, c := range p.Changes {
		r := Resource{Action: Update, Type: "SaaS role", Name: c.UserName, Attrs: []Attr{Set("role", "", string(c.Role))}}
		if p.Manual {
			r.Action, r.Attrs, r.Note = NoOp, []Attr{Value("role", string(c.Role))}, "set it in the SaaS yourself: its backend has no API for roles"
		} else if have, ok := current[strings.ToLower(c.UserName)]; ok {
			p.Changes[i].Current = have
			r.Attrs = []Attr{Set("role", string(have), string(c.Role))}
			if have == c.Role {
				r.Action = NoOp
			}
		}
		change.Resources = append(change.Resources, r)
	}
	return change, nil
}

func (s *saasRoles) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[rolesPlan](change)
	if err != nil {
		return err
	}
	// In setup, the confirmation lists every user the assignments bring to the SaaS (unless there are too many
	// to list): one missing from it will never arrive, and waiting for the cycle does not help.
	var inScope map[string]bool
	if s.afterConfirm && len(p.Changes) > 0 {
		c, err := env.Out().Confirmation.Wait(ctx)
		if err != nil {
			return err
		}
		if c.Unlisted == 0 && len(c.Users) == c.Counts.Total {
			inScope = map[string]bool{}
			for _, u := range c.Users {
				inScope[strings.ToLower(u.UserPrincipalName)] = true
			}
		}
	}
	results := make([]RoleResult, 0, len(p.Changes))
	var pending, unassigned, manual, did []string
	for _, c := range p.Changes {
		r := RoleResult{UserPrincipalName: c.UserName, Role: c.Role, Outcome: RoleSet}
		who := fmt.Sprintf("%s (%s)", c.UserName, c.Role)
		switch {
		case p.Manual:
			r.Outcome, manual = RoleManual, append(manual, who)
		case c.Current == c.Role:
			r.Outcome = RoleUnchanged
		default:
			err := env.Backend.SetRole(ctx, c.UserName, c.Role)
			switch {
			case errors.Is(err, backend.ErrUnknownUser) && inScope != nil && !inScope[strings.ToLower(c.UserName)]:
				r.Outcome, unassigned = RolePending, append(unassigned, who)
				did = append(did, fmt.Sprintf("did not set SaaS role %q: the user is not assigned to the application", c.UserName))
			case errors.Is(err, backend.ErrUnknownUser):
				r.Outcome, pending = RolePending, append(pending, who)
				did = append(did, fmt.Sprintf("left SaaS role %q for later: the user is not in the SaaS yet", c.UserName))
			case err != nil:
				return err
			default:
				did = append(did, fmt.Sprintf("updated SaaS role %q", c.UserName))
			}
		}
		results = append(results, r)
	}
	if len(pending)+len(unassigned) > 0 {
		env.Did(s, strings.Join(did, "; "))
	}
	if len(unassigned) > 0 {
		env.Note(fmt.Sprintf("not assigned to the application, directly or as a member of an assigned group, so provisioning never brings them to the SaaS and they have no role: %s; assign them, then run idpctl roles entra once they have arrived", strings.Join(unassigned, ", ")))
	}
	if len(pending) > 0 {
		env.Note(fmt.Sprintf("not in the SaaS yet, so without their role: %s; run idpctl roles entra once provisioning has created them (Entra's first cycle can take up to 40 minutes)", strings.Join(pending, ", ")))
	}
	if len(manual) > 0 {
		env.Note(fmt.Sprintf("give these users their role in the SaaS yourself: %s. Smallstep (its Entra ID guide, step 6): let Smallstep know which of your SSO users should be team Owners or Admins; Admins have dashboard read/write privileges, and Owners can also create Admins", strings.Join(manual, ", ")))
	}
	if !s.afterConfirm && env.State.Get().Setup != nil {
		// The roles asked for now are the ones a later idpctl roles entra (without flags) gives the users still
		// pending, as setup's would be.
		if err := env.State.Update(env.clock().Now(), func(d *StateData) {
			d.Setup.Owners, d.Setup.Admins = env.Inputs.Owners, env.Inputs.Admins
		}); err != nil {
			return err
		}
	}
	env.Out().Roles.Set(results)
	return nil
}
