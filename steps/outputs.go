package steps

import (
	"fmt"
	"reflect"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/secret"
)

// Outputs are the values steps hand to each other within one phase, each written by the step named in its
// comment. In a plan, an output describes what exists now (nil or Exists=false for what apply will create).
type Outputs struct {
	App          Output[AppRef]         // application
	GraphSP      Output[string]         // sso: the object id of Microsoft Graph's service principal in this tenant
	AppSettled   Output[struct{}]       // sso: the application's PATCH is done, credential writes may follow
	Assigned     Output[[]Principal]    // assignments: every user and group assigned to the application
	NewSecret    Output[*NewSecret]     // clientSecret: nil when the current secret is kept
	Delivered    Output[struct{}]       // handoff: the new secret reached the backend or the secret file
	SCIM         Output[*backend.SCIM]  // handoff: nil when the backend kept its registration and did not tell
	Job          Output[*graph.SyncJob] // job: nil in a plan when apply will create it; a job the plan found carries only its id and template in apply
	Credentials  Output[struct{}]       // credentials: the SCIM URL and token are saved in the tenant
	Mappings     Output[Mappings]       // mappings: the job's user mappings are wantedUserMappings
	Started      Output[struct{}]       // start: provisioning is on
	Confirmation Output[Confirmation]   // confirm: what arrived in the SaaS
	Roles        Output[[]RoleResult]   // saasRoles: what became of each Owner and Admin
	JobRemoved   Output[struct{}]       // jobRemoval: provisioning has stopped, its job is deleted
	Unregistered Output[struct{}]       // registrationRemoval: the SaaS no longer holds the registration
	AccessGone   Output[struct{}]       // accessRemoval: the assignments and consent grants are deleted
}

// nameOf is the field name of one of o's outputs, for messages.
func (o *Outputs) nameOf(slot Slot) string {
	v := reflect.ValueOf(o).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Addr().Interface() == slot {
			return v.Type().Field(i).Name
		}
	}
	return fmt.Sprintf("%T", slot)
}

// AppRef is the enterprise application: its app registration and its service principal.
type AppRef struct {
	Exists  bool                   `json:"exists"`            // false in a plan when the application will be created
	Created bool                   `json:"created,omitempty"` // created by this run: it has no assignments, grants or jobs yet, so steps skip those reads
	App     graph.Application      `json:"application"`
	SP      graph.ServicePrincipal `json:"servicePrincipal"`
}

// Principal is a user or group assigned to the application.
type Principal struct {
	Type        string `json:"type"` // "User" or "Group"
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	// UserPrincipalName is set for users.
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
}

// NewSecret is a client secret created in this run, on its way to the backend or the secret file.
type NewSecret struct {
	KeyID string
	Value secret.Value
}

// Mappings says where on-demand provisioning finds the user and group mappings.
type Mappings struct {
	RuleID string // the synchronization rule that holds the user mapping
}
