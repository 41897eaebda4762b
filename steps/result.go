package steps

// Result is the outcome of a run in the shape of the contract for scripts: `--output json` prints it as is.
type Result struct {
	// Command is the day-2 command that ran ("rotate-secret", "teardown", ...); empty for setup.
	Command             string `json:"command,omitempty"`
	TenantID            string `json:"tenantId"`
	ClientID            string `json:"clientId"`
	ApplicationObjectID string `json:"applicationObjectId"`
	ServicePrincipalID  string `json:"servicePrincipalId"`
	OIDCMetadataURL     string `json:"oidcMetadataUrl"`
	ProvisioningJobID   string `json:"provisioningJobId"`
	RedirectURI         string `json:"redirectUri"`
	Backend             string `json:"backend"` // manual or http: who was to get the client secret
	// SecretFile is the --secret-out file when it holds the application's client secret that idpctl made;
	// empty otherwise, also when the run stopped before writing it.
	SecretFile string `json:"secretFile,omitempty"`
	// SecretHandedOver: the client secret went to the admin at the hand-off on a terminal (no file, no backend).
	SecretHandedOver bool   `json:"secretHandedOver,omitempty"`
	StateFile        string `json:"stateFile,omitempty"`
	DryRun           bool   `json:"dryRun"`
	Steps            Report `json:"steps"`
	// Users are the users the confirmation lists (all of a small setup; see Confirmation.Users), UserCounts all
	// of them by outcome, and UsersUnlisted how many Users leaves out.
	Users         []UserResult `json:"users"`
	UserCounts    *UserCounts  `json:"userCounts,omitempty"`
	UsersUnlisted int          `json:"usersUnlisted,omitempty"`
	// Roles are the Owners and Admins and what became of each role in the SaaS.
	Roles []RoleResult `json:"roles,omitempty"`
	Notes []string     `json:"notes,omitempty"`
	Plan  *Plan        `json:"plan,omitempty"`
	Error string       `json:"error,omitempty"`
}

// NewResult gathers a run's outcome. report is nil for a dry run; then the steps are the plan's.
func NewResult(env *Env, plan *Plan, report Report, runErr error) Result {
	st := env.State.Get()
	r := Result{
		TenantID:            env.TenantID,
		ClientID:            st.AppID,
		ApplicationObjectID: st.ApplicationObjectID,
		ServicePrincipalID:  st.ServicePrincipalID,
		ProvisioningJobID:   st.ProvisioningJobID,
		OIDCMetadataURL:     MetadataURL(env.LoginHost, env.TenantID),
		RedirectURI:         env.Inputs.RedirectURI,
		Backend:             env.Backend.Name(),
		StateFile:           env.State.Path(),
		Steps:               report,
		Users:               []UserResult{},
	}
	dest := env.Backend.Destination()
	switch {
	case dest.URL != "":
	case dest.File == "":
		r.SecretHandedOver = st.Secret != nil && st.Secret.DeliveredTo == destination(env)
	case secretInFile(env, st):
		r.SecretFile = dest.File
	}
	if out := env.Out(); out != nil {
		if app, ok := out.App.Get(); ok && app.Exists {
			r.ClientID, r.ApplicationObjectID, r.ServicePrincipalID = app.App.AppID, app.App.ObjectID, app.SP.ID
		}
		if job, ok := out.Job.Get(); ok && job != nil {
			r.ProvisioningJobID = job.ID
		}
		if roles, ok := out.Roles.Get(); ok {
			r.Roles = roles
		}
		if c, ok := out.Confirmation.Get(); ok {
			r.Users, r.UserCounts, r.UsersUnlisted, r.Notes = c.Users, &c.Counts, c.Unlisted, c.Notes
		}
	}
	r.Notes = append(r.Notes, env.Notes()...)
	if report == nil && plan != nil {
		r.DryRun = true
		r.Plan = plan
		for _, s := range plan.Steps {
			status := StatusUnchanged
			if s.Change.Pending() {
				status = "pending"
			}
			r.Steps = append(r.Steps, StepReport{Step: s.Step, Status: status, Summary: s.Change.Summary()})
		}
	}
	if runErr != nil {
		r.Error = runErr.Error()
	}
	return r
}

// secretInFile reports whether the --secret-out file holds the client secret the state records as delivered
// there: a result never says the secret is in a file the run did not get to write.
func secretInFile(env *Env, st StateData) bool {
	if st.Secret == nil || st.Secret.DeliveredTo != destination(env) {
		return false
	}
	hint, known := env.Backend.HeldSecretHint()
	return known && hint != "" && hint == st.Secret.Hint
}
