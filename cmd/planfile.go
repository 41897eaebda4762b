package cmd

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/steps"
)

// plannedInput reads, from the inputs, the value of a flag a saved plan fixes; ok is false for flags that say
// how to sign in and run rather than what to set up (those are free with --plan).
func plannedInput(flag string) (value func(in steps.Inputs) string, ok bool) {
	list := func(l []string) string {
		l = slices.Clone(l)
		slices.Sort(l)
		return strings.Join(l, ", ")
	}
	switch flag {
	case "tenant-id":
		return func(in steps.Inputs) string { return strings.ToLower(in.TenantID) }, true
	case "app-name":
		return func(in steps.Inputs) string { return in.AppName }, true
	case "app-id":
		return func(in steps.Inputs) string { return strings.ToLower(in.AppID) }, true
	case "assign-group":
		return func(in steps.Inputs) string { return list(in.AssignGroups) }, true
	case "assign-user":
		return func(in steps.Inputs) string { return list(in.AssignUsers) }, true
	case "redirect-uri":
		return func(in steps.Inputs) string { return in.RedirectURI }, true
	case "scim-url":
		return func(in steps.Inputs) string { return in.SCIMURL }, true
	case "backend":
		return func(in steps.Inputs) string { return in.Backend }, true
	case "backend-url":
		return func(in steps.Inputs) string { return in.BackendURL }, true
	case "secret-out":
		return func(in steps.Inputs) string { return in.SecretOut }, true
	case "secret-expiry":
		return func(in steps.Inputs) string { return in.SecretExpiry.String() }, true
	case "scim-compliant":
		return func(in steps.Inputs) string { return strconv.FormatBool(in.SCIMCompliant) }, true
	}
	return nil, false
}

// runFlag reports whether a flag may go with --plan although the plan does not record it: sign-in, output and
// how the run behaves, and the SCIM token's file (secrets are never in a plan).
func runFlag(flag string) bool {
	switch flag {
	case "auth", "client-id", "cloud", "graph-url", "state-dir", "output", "debug", "timeout", "yes",
		"non-interactive", "scim-token-file", "plan":
		return true
	}
	return false
}

// adoptPlan reads the --plan file and makes its inputs this run's. Setup flags (also from IDPCTL_ variables)
// may be given again, but must agree with the plan: a reviewer's plan is applied as reviewed or not at all.
// The secrets the plan leaves out come from the environment and files, as in any run.
func (o *setupOptions) adoptPlan(flags *pflag.FlagSet) error {
	plan, err := steps.ReadPlanFile(o.PlanFile)
	if err != nil {
		return &usageError{err}
	}
	if plan.Version != version {
		return usageErrorf("--plan %s: made by idpctl %s, and this is idpctl %s: apply it with idpctl %s, or make a new plan with this one", o.PlanFile, plan.Version, version, plan.Version)
	}
	// --tenant-id is compared with the tenant the plan read, also when it was made for the signed-in tenant.
	compared := plan.Inputs
	compared.TenantID = plan.TenantID
	var problems []string
	flags.Visit(func(f *pflag.Flag) {
		value, fixed := plannedInput(f.Name)
		switch {
		case fixed && value(o.Inputs) != value(compared):
			problems = append(problems, fmt.Sprintf("--%s %q disagrees with the plan's %q", f.Name, value(o.Inputs), value(compared)))
		case !fixed && !runFlag(f.Name):
			problems = append(problems, fmt.Sprintf("--%s cannot be used with --plan", f.Name))
		}
	})
	if len(problems) > 0 {
		return usageErrorf("--plan %s: %s; the plan fixes what is set up: drop these flags, or make a new plan with them", o.PlanFile, strings.Join(problems, "; "))
	}
	planned := plan.Inputs
	planned.SCIMToken, planned.BackendToken = o.Inputs.SCIMToken, o.Inputs.BackendToken
	if planned.Backend == backend.NameHTTP {
		planned.SCIMToken = secret.Value{} // the backend hands out the SCIM token (see resolve)
	}
	o.Inputs, o.savedPlan = planned, plan
	return nil
}
