package graph

import (
	"time"

	"github.com/idpctl/idpctl/secret"
)

// Organization is the tenant (GET /organization).
type Organization struct {
	ID              string // the tenant id
	DisplayName     string
	VerifiedDomains []string
	DefaultDomain   string
}

// Application is an app registration (microsoft.graph.application).
type Application struct {
	ObjectID       string // "Object ID": the id in /applications/{id}
	AppID          string // "Application (client) ID"
	DisplayName    string
	SignInAudience string // AzureADMyOrg, AzureADMultipleOrgs, ...
	Tags           []string
	Created        time.Time // createdDateTime: within the replication window after it, a "not found" may be lag
	// The web platform settings. RedirectURIs, HomePageURL, LogoutURL and the implicit-grant flags together are
	// the whole web object, which UpdateApplication sends back as one piece.
	RedirectURIs        []string
	HomePageURL         string
	LogoutURL           string
	IDTokenIssuance     bool // web.implicitGrantSettings.enableIdTokenIssuance
	AccessTokenIssuance bool // web.implicitGrantSettings.enableAccessTokenIssuance
	// Optional claims per token type (optionalClaims.idToken, .accessToken, .saml2Token).
	IDTokenClaims          []OptionalClaim
	AccessTokenClaims      []OptionalClaim
	SAML2TokenClaims       []OptionalClaim
	RequiredResourceAccess []RequiredResourceAccess
	Passwords              []PasswordCredential // client secrets, without their values
}

// OptionalClaim is one optional claim of a token type (microsoft.graph.optionalClaim). All four properties are
// kept: rewriting a token's claim list must give back the source and additional properties of claims others set
// (e.g. upn with include_externally_authenticated_upn).
type OptionalClaim struct {
	Name      string
	Source    string // the directory object the claim comes from, e.g. "user"; "" (null) for built-in claims
	Essential bool
	// AdditionalProperties change the claim, e.g. "include_externally_authenticated_upn" or "emit_as_roles".
	AdditionalProperties []string
}

// RequiredResourceAccess is the permissions an application requests from one resource (an API).
type RequiredResourceAccess struct {
	ResourceAppID string // e.g. 00000003-0000-0000-c000-000000000000 for Microsoft Graph
	Access        []ResourceAccess
}

// ResourceAccess is one requested permission: a delegated scope or an app role of the resource.
type ResourceAccess struct {
	ID   string // the oauth2PermissionScope or appRole id
	Type string // "Scope" (delegated) or "Role" (application)
}

// PasswordCredential is a client secret as Graph lists it: never with its value.
type PasswordCredential struct {
	KeyID       string
	DisplayName string
	Hint        string // the first three characters of the secret
	Start       time.Time
	End         time.Time
}

// NewPassword is a client secret just created by AddPassword: the only time Graph returns its value.
type NewPassword struct {
	KeyID       string
	DisplayName string
	Hint        string
	Start       time.Time
	End         time.Time
	Secret      secret.Value
}

// ServicePrincipal is an enterprise application (microsoft.graph.servicePrincipal).
type ServicePrincipal struct {
	ID                        string
	AppID                     string
	DisplayName               string
	AppRoles                  []AppRole
	Scopes                    []PermissionScope // oauth2PermissionScopes: the delegated permissions it exposes
	AppRoleAssignmentRequired bool
	Tags                      []string
}

// AppRole is a role of an application that users, groups or applications can be assigned to.
type AppRole struct {
	ID          string
	DisplayName string
	Value       string // empty for the template's "User" and "msiam_access" roles
	Enabled     bool
	// AllowedMemberTypes says who can hold the role: "User" (users and groups) and/or "Application".
	AllowedMemberTypes []string
}

// PermissionScope is a delegated permission an API exposes, e.g. Microsoft Graph's "openid".
type PermissionScope struct {
	ID      string
	Value   string
	Enabled bool
}

// AppRoleAssignment assigns a user, group or service principal to an app role of a service principal.
type AppRoleAssignment struct {
	ID                   string
	PrincipalID          string
	PrincipalType        string // "User", "Group" or "ServicePrincipal"
	PrincipalDisplayName string
	AppRoleID            string
	ResourceID           string // the service principal the role belongs to
}

// PermissionGrant is delegated consent (microsoft.graph.oAuth2PermissionGrant).
type PermissionGrant struct {
	ID          string
	ClientID    string // the service principal of the client application
	ResourceID  string // the service principal of the API, e.g. Microsoft Graph's
	ConsentType string // "AllPrincipals" (admin consent for everyone) or "Principal"
	PrincipalID string // the user, for ConsentType "Principal"; empty otherwise
	Scope       string // space-separated scope values, e.g. "openid profile email"
}

// User is a directory user.
type User struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
	Mail              string
	GivenName         string
	Surname           string
	AccountEnabled    bool
}

// Group is a directory group.
type Group struct {
	ID              string
	DisplayName     string
	SecurityEnabled bool
	MailEnabled     bool
}

// DirectoryRole is an activated directory role the signed-in user is a member of.
type DirectoryRole struct {
	ID             string
	DisplayName    string
	RoleTemplateID string // stable across tenants, e.g. 9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3 (Application Administrator)
}

// Sku is a subscription (licence) the tenant has.
type Sku struct {
	SkuPartNumber    string // e.g. "AAD_PREMIUM"
	CapabilityStatus string // "Enabled", "Suspended", ...
	ServicePlans     []ServicePlan
}

// ServicePlan is one service of a Sku, e.g. Entra ID P1 (AAD_PREMIUM).
type ServicePlan struct {
	ID                 string
	Name               string
	ProvisioningStatus string // "Success", "Disabled", ...
}

// SyncTemplate is a provisioning (synchronization) template of a service principal, e.g. "scim".
type SyncTemplate struct {
	ID         string
	FactoryTag string
}

// SyncJob is a provisioning (synchronization) job.
type SyncJob struct {
	ID            string // e.g. "scim.e4f0..."
	TemplateID    string
	ScheduleState string // "Active", "Disabled" or "Paused"
	Interval      time.Duration
	Status        SyncStatus
}

// SyncStatus is the state of a provisioning job.
type SyncStatus struct {
	Code       string // "NotConfigured", "NotRun", "Active", "Paused" or "Quarantine"
	Quarantine *Quarantine
	// LastExecution is the last cycle; LastSuccessfulExecution the last one that succeeded.
	LastExecution           *SyncExecution
	LastSuccessfulExecution *SyncExecution
	// SteadyStateFirstAchieved is zero until the initial cycle has finished.
	SteadyStateFirstAchieved        time.Time
	SteadyStateLastAchieved         time.Time
	CountSuccessiveCompleteFailures int64
	TroubleshootingURL              string
}

// Quarantine says why the provisioning service stopped a job and when it tries again.
type Quarantine struct {
	Reason       string // e.g. "EncounteredQuarantineException", "TooManyDeletes"
	Error        *SyncError
	CurrentBegan time.Time
	NextAttempt  time.Time
	SeriesBegan  time.Time
	SeriesCount  int64
}

// SyncError is an error the provisioning service reports.
type SyncError struct {
	Code             string
	Message          string
	TenantActionable bool
}

// SyncExecution is one provisioning cycle.
type SyncExecution struct {
	State         string // "Succeeded", "Failed" or "EntryLevelErrors"
	TimeBegan     time.Time
	TimeEnded     time.Time
	CountImported int64
	CountExported int64
	CountEscrowed int64
	Error         *SyncError
}

// SyncSecret is one provisioning credential or setting, e.g. BaseAddress, SecretToken or SyncAll. Key is one of
// Graph's synchronizationSecret names, in PascalCase.
type SyncSecret struct {
	Key   string
	Value secret.Value
}

// MaskedSecretValue is what GetSyncSecrets reads in place of a saved credential such as SecretToken: the service
// does not give credentials back (terraform-provider-azuread reads "*" as "sensitive, keep the value you know",
// and Microsoft's docs have the admin type the password again before saving the set back).
const MaskedSecretValue = "*"

// Masked reports whether the service withheld this secret's value: it must be supplied again, never sent back.
func (s SyncSecret) Masked() bool { return s.Value.Reveal() == MaskedSecretValue }

// MappingSource is the source of an attribute mapping (attributeMappingSource): an attribute, a constant, or a
// function of other sources. Its JSON form is Graph's, so it can be placed in a raw synchronization schema.
type MappingSource struct {
	Type       string             `json:"type"` // "Attribute", "Constant" or "Function"
	Name       string             `json:"name"` // the attribute, the constant's value, or the function
	Expression string             `json:"expression"`
	Parameters []MappingParameter `json:"parameters"` // a function's arguments, in order; empty otherwise
}

// MappingParameter is one argument of a function source, keyed by the service's name for that parameter.
type MappingParameter struct {
	Key   string        `json:"key"`
	Value MappingSource `json:"value"`
}

// OnDemandSubject is what ProvisionOnDemand provisions: a user, or a group with some of its members.
type OnDemandSubject struct {
	ObjectID       string
	ObjectTypeName string   // "User" or "Group"
	Members        []string // user ids, for a group (Graph takes at most 5)
}

// OnDemandResult is the outcome of ProvisionOnDemand, parsed from the JSON texts Graph answers with.
type OnDemandResult struct {
	Result    string // "Success", "Skipped", "Failure", ...
	ErrorCode string
	Reason    string
	Action    string // "Create", "Update", "Delete", "Other", ...
	TargetID  string // the id of the object in the target system, when one was created or matched
	RawSteps  []OnDemandStep
	// RawKey and RawValue are Graph's answer as it came, for reports.
	RawKey   string
	RawValue string
}

// OnDemandStep is one step of an on-demand provisioning (import, scoping, matching, processing, export).
type OnDemandStep struct {
	Name        string
	Type        string
	Status      string
	Description string
}

// ProvisioningEvent is one entry of the provisioning logs (microsoft.graph.provisioningObjectSummary).
type ProvisioningEvent struct {
	ID                 string
	ActivityTime       time.Time
	JobID              string
	CycleID            string
	Action             string // create, update, delete, disable, stagedDelete, other
	Status             string // success, failure, skipped, warning
	ErrorCode          string
	Reason             string
	SourceID           string // the Entra object id
	SourceDisplayName  string
	TargetID           string // the id in the target system
	ServicePrincipalID string
}

// ApplicationQuery finds applications: every non-empty field must match.
type ApplicationQuery struct {
	DisplayName       string // exact display name
	DisplayNamePrefix string
	Tag               string
}

// ProvisioningQuery selects provisioning log entries: every non-empty field must match.
type ProvisioningQuery struct {
	ServicePrincipalID string
	JobID              string
	Since              time.Time // entries after this time
	Top                int       // at most this many entries, newest first; 0 = all
}

// ApplicationUpdate is a PATCH of an application: nil fields are not sent and keep their value. Collections
// replace what the application has, so read the application and merge first.
type ApplicationUpdate struct {
	DisplayName    *string
	SignInAudience *string
	Tags           []string
	// Setting any of the web fields sends the web object with every web field that is set: pass the values the
	// application already has (from GetApplication) for the others, so that Graph receives the whole object.
	RedirectURIs        []string
	HomePageURL         *string
	LogoutURL           *string
	IDTokenIssuance     *bool
	AccessTokenIssuance *bool
	// Setting any of the claim lists sends the optionalClaims object with the lists that are set.
	IDTokenClaims          []OptionalClaim
	AccessTokenClaims      []OptionalClaim
	SAML2TokenClaims       []OptionalClaim
	RequiredResourceAccess []RequiredResourceAccess
}

// ServicePrincipalUpdate is a PATCH of a service principal: nil fields are not sent.
type ServicePrincipalUpdate struct {
	DisplayName               *string
	Tags                      []string
	AppRoleAssignmentRequired *bool
}

// Stats counts the HTTP requests a Client has sent.
type Stats struct {
	Requests  int64 // every HTTP request, retries included
	Retries   int64 // requests that repeated an earlier one
	Throttled int64 // answers 429, 503 or 504
}
