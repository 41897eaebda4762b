package graph

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// Directory roles that can do all of setup (ENTRA grant-admin-consent.md; DOCS
// includes/rbac-for-apis/rbac-synchronization-apis.md); template ids from
// learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference.
const (
	RoleGlobalAdministrator           = "62e90394-69f5-4237-9190-012177145e10"
	RoleApplicationAdministrator      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	RoleCloudApplicationAdministrator = "158c047a-c907-4556-b7ef-446551a6b5f7"
)

// setupRoles names the roles that suffice, least privileged first.
func setupRoles() []DirectoryRole {
	return []DirectoryRole{
		{RoleTemplateID: RoleCloudApplicationAdministrator, DisplayName: "Cloud Application Administrator"},
		{RoleTemplateID: RoleApplicationAdministrator, DisplayName: "Application Administrator"},
		{RoleTemplateID: RoleGlobalAdministrator, DisplayName: "Global Administrator"},
	}
}

// Entra ID P1 and P2 service plans (ENTRA licensing-service-plan-reference.md).
const (
	ServicePlanEntraIDP1 = "41781fb2-bc02-4b7c-bd55-b576c07bb09d" // AAD_PREMIUM
	ServicePlanEntraIDP2 = "eec0eb4f-6444-4f95-aba0-50c24d67f998" // AAD_PREMIUM_P2
)

// PreflightRequest is what a run is about to do, for Preflight to check.
type PreflightRequest struct {
	// TenantID is the tenant the run will change (--tenant-id, or the signed-in one).
	TenantID string
	// Claims are the signed-in token's (Credential.Claims); nil when the token is not readable, and then who
	// signed in is read from Graph and granted permissions are not checked.
	Claims *TokenClaims
	// AssignGroups is set when groups will be assigned, which needs an Entra ID P1 or P2 plan.
	AssignGroups bool
	// Method and ClientID name the fixes: how to sign in differently, which client to consent to.
	Method   Method
	ClientID string
}

// PreflightReport is what Preflight found: who is signed in where, and any problem that stops the run.
type PreflightReport struct {
	TenantID   string
	TenantName string
	// Identity is the signed-in user's userPrincipalName, or "application <appId>" for app-only sign-in.
	Identity    string
	DisplayName string
	AppOnly     bool
	// Roles are the held directory roles that allow setup (delegated sign-in).
	Roles []DirectoryRole
	// Licence is "Microsoft Entra ID P2" or "Microsoft Entra ID P1", "" when none was found or it could not be read.
	Licence string
	// Problems stop the run (Err); Warnings do not.
	Problems []Problem
	Warnings []string
}

// Problem is one failed check: what is missing and how to fix it.
type Problem struct {
	Check   string // tenant, token, role, consent, licence
	Missing string
	Fix     string
}

func (p Problem) String() string {
	fix := p.Fix
	if !strings.HasSuffix(fix, ".") {
		fix += "."
	}
	return strings.TrimSuffix(p.Missing, ".") + ". To fix: " + fix
}

// PreflightError is a preflight that found problems; nothing was changed.
type PreflightError struct{ Problems []Problem }

func (e *PreflightError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("preflight check failed, nothing was changed: ")
		b.WriteString(e.Problems[0].String())
		return b.String()
	}
	fmt.Fprintf(&b, "%d preflight checks failed, nothing was changed:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

// IsPreflightFailure reports a failed preflight (*PreflightError in err's chain): exit code 4.
func IsPreflightFailure(err error) bool {
	var e *PreflightError
	return errors.As(err, &e)
}

// Err is a *PreflightError when the report has problems, nil otherwise.
func (r *PreflightReport) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	return &PreflightError{Problems: r.Problems}
}

// Summary is the report in a few lines for a person: who, where, role, licence, then warnings.
func (r *PreflightReport) Summary() []string {
	who := r.Identity
	if r.DisplayName != "" && !strings.EqualFold(r.DisplayName, r.Identity) {
		who += " (" + r.DisplayName + ")"
	}
	tenant := r.TenantID
	if r.TenantName != "" {
		tenant = r.TenantName + " (" + r.TenantID + ")"
	}
	lines := []string{"Signed in as " + who + " in tenant " + tenant}
	var facts []string
	if len(r.Roles) > 0 {
		names := make([]string, 0, len(r.Roles))
		for _, role := range r.Roles {
			names = append(names, role.DisplayName)
		}
		facts = append(facts, "role "+strings.Join(names, ", "))
	}
	if r.AppOnly {
		facts = append(facts, "app-only")
	}
	if r.Licence != "" {
		facts = append(facts, "licence "+r.Licence)
	}
	if len(facts) > 0 {
		lines[0] += ": " + strings.Join(facts, ", ")
	}
	for _, w := range r.Warnings {
		lines = append(lines, "Warning: "+w)
	}
	return lines
}

// MyTransitiveDirectoryRoles returns the activated directory roles of the signed-in user, including roles held
// through a role-assignable group (GET /me/transitiveMemberOf/microsoft.graph.directoryRole; an OData cast,
// which Graph serves as an advanced query: ConsistencyLevel eventual and $count). Roles that are only
// eligible in Privileged Identity Management are not listed until activated.
func (c *Client) MyTransitiveDirectoryRoles(ctx context.Context) ([]DirectoryRole, error) {
	count := true
	b := c.sdk.Me().TransitiveMemberOf().GraphDirectoryRole()
	cfg := &users.ItemTransitiveMemberOfGraphDirectoryRoleRequestBuilderGetRequestConfiguration{
		Headers: eventual(),
		QueryParameters: &users.ItemTransitiveMemberOfGraphDirectoryRoleRequestBuilderGetQueryParameters{
			Count: &count, Select: []string{"id", "displayName", "roleTemplateId"},
		},
	}
	list, err := pages(ctx, c, call{op: "GET /me/transitiveMemberOf/microsoft.graph.directoryRole"}, 0,
		func(ctx context.Context) (page[models.DirectoryRoleable], error) { return b.Get(ctx, cfg) },
		func(ctx context.Context, link string) (page[models.DirectoryRoleable], error) {
			return b.WithUrl(link).Get(ctx, &users.ItemTransitiveMemberOfGraphDirectoryRoleRequestBuilderGetRequestConfiguration{Headers: eventual()})
		})
	if err != nil {
		return nil, err
	}
	roles := make([]DirectoryRole, 0, len(list))
	for _, r := range list {
		if r != nil {
			roles = append(roles, DirectoryRole{ID: str(r.GetId()), DisplayName: str(r.GetDisplayName()), RoleTemplateID: str(r.GetRoleTemplateId())})
		}
	}
	return roles, nil
}

// preflightReads are Preflight's Graph reads, made concurrently; each has its own error.
type preflightReads struct {
	org      Organization
	orgErr   error
	me       User
	meErr    error
	roles    []DirectoryRole
	rolesErr error
	skus     []Sku
	skusErr  error
}

// Preflight checks, with reads only, that the signed-in identity can run setup in req.TenantID: the tenant is
// the one signed in to, the token is for Graph, a delegated user holds a directory role that allows it, the
// token carries the permissions idpctl needs, and the tenant has Entra ID P1 or P2 when groups are assigned.
// The reads run concurrently. A read that fails because the sign-in itself is refused (401) is returned as the
// error; every other finding is in the report (Err turns its problems into an error).
func (c *Client) Preflight(ctx context.Context, req PreflightRequest) (*PreflightReport, error) {
	appOnly := req.Claims != nil && req.Claims.AppOnly
	var reads preflightReads
	var wg sync.WaitGroup
	wg.Go(func() { reads.org, reads.orgErr = c.Organization(ctx) })
	wg.Go(func() { reads.skus, reads.skusErr = c.SubscribedSkus(ctx) })
	if !appOnly {
		wg.Go(func() { reads.roles, reads.rolesErr = c.MyTransitiveDirectoryRoles(ctx) })
		if req.Claims == nil {
			wg.Go(func() { reads.me, reads.meErr = c.Me(ctx) })
		}
	}
	wg.Wait()
	for _, err := range []error{reads.orgErr, reads.meErr, reads.rolesErr, reads.skusErr} {
		if IsUnauthorized(err) || IsSignInFailure(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
	}

	r := &PreflightReport{TenantID: req.TenantID, AppOnly: appOnly}
	if reads.orgErr == nil {
		r.TenantName = reads.org.DisplayName
	}
	r.identify(req, reads)
	r.checkTenant(req, reads)
	if req.Claims != nil && !req.Claims.ForGraph() {
		r.Problems = append(r.Problems, Problem{Check: "token",
			Missing: fmt.Sprintf("the access token is for %q, not Microsoft Graph", req.Claims.Audience),
			Fix:     "get a token for Microsoft Graph (for example: az account get-access-token --resource-type ms-graph) and set it in " + EnvAccessToken})
	}
	if !appOnly {
		r.checkRole(req, reads)
	}
	r.checkAccess(req)
	r.checkLicence(req, reads)
	return r, nil
}

func (r *PreflightReport) identify(req PreflightRequest, reads preflightReads) {
	switch {
	case req.Claims != nil && req.Claims.AppOnly:
		r.Identity = "application " + req.Claims.AppID
	case req.Claims != nil:
		r.Identity, r.DisplayName = req.Claims.UserPrincipalName, req.Claims.Name
	case reads.meErr == nil:
		r.Identity, r.DisplayName = reads.me.UserPrincipalName, reads.me.DisplayName
	default:
		r.Identity = "an unknown identity"
		r.Warnings = append(r.Warnings, "could not read the signed-in user: "+reads.meErr.Error())
	}
}

func (r *PreflightReport) checkTenant(req PreflightRequest, reads preflightReads) {
	signedIn := ""
	switch {
	case req.Claims != nil:
		signedIn = req.Claims.TenantID
	case reads.orgErr == nil:
		signedIn = reads.org.ID
	}
	if r.TenantID == "" {
		r.TenantID = signedIn
	}
	if signedIn == "" || req.TenantID == "" || strings.EqualFold(signedIn, req.TenantID) {
		return
	}
	var fix string
	switch req.Method {
	case MethodToken:
		fix = "get an access token issued by tenant " + req.TenantID + ", or drop --tenant-id to set up tenant " + signedIn
	case MethodEnvironment, MethodWorkloadIdentity:
		fix = "set AZURE_TENANT_ID=" + req.TenantID + " (the application must exist in that tenant), or drop --tenant-id to set up tenant " + signedIn
	default:
		fix = "sign in with an account of tenant " + req.TenantID + ", or drop --tenant-id to set up tenant " + signedIn
	}
	// A token's tenant cannot be changed by Graph: every call would read and write the signed-in tenant.
	r.Problems = append(r.Problems, Problem{Check: "tenant",
		Missing: "signed in to tenant " + signedIn + ", but --tenant-id is " + req.TenantID, Fix: fix})
}

func (r *PreflightReport) checkRole(req PreflightRequest, reads preflightReads) {
	var held []string
	source := "its directory roles"
	if reads.rolesErr == nil {
		for _, role := range reads.roles {
			held = append(held, role.RoleTemplateID)
		}
	} else if req.Claims != nil {
		// Graph evaluates roles at request time; the token's wids (roles when it was issued) only stand in
		// when the live read failed.
		held = req.Claims.DirectoryRoleIDs
		source = "the roles in its token (reading them from Graph failed: " + reads.rolesErr.Error() + ")"
	} else {
		source = "its directory roles (reading them failed: " + reads.rolesErr.Error() + ")"
	}
	for _, want := range setupRoles() {
		if slices.ContainsFunc(held, func(id string) bool { return strings.EqualFold(id, want.RoleTemplateID) }) {
			r.Roles = append(r.Roles, want)
		}
	}
	if len(r.Roles) > 0 {
		return
	}
	r.Problems = append(r.Problems, Problem{Check: "role",
		Missing: r.Identity + " holds none of the directory roles setup needs (Cloud Application Administrator, " +
			"Application Administrator or Global Administrator), judging by " + source,
		Fix: "have a Privileged Role Administrator or Global Administrator assign " + r.Identity + " the Cloud " +
			"Application Administrator role (Entra admin center > Roles & admins), or activate an eligible " +
			"assignment in Privileged Identity Management, then run again; or sign in as another administrator"})
}

func (r *PreflightReport) checkAccess(req PreflightRequest) {
	if req.Claims == nil {
		r.Warnings = append(r.Warnings, "the access token could not be read, so the permissions granted to it were not checked")
		return
	}
	granted := req.Claims.Scopes
	if req.Claims.AppOnly {
		granted = req.Claims.Roles
	}
	required, optional := missingAccess(granted, req.Claims.AppOnly, req.AssignGroups)
	for _, gap := range optional {
		r.Warnings = append(r.Warnings, "the sign-in lacks "+strings.Join(gap.missing, " and ")+", needed to "+gap.purpose+
			"; users are confirmed through the SCIM endpoint only")
	}
	if len(required) == 0 {
		return
	}
	var missing, purposes []string
	for _, gap := range required {
		for _, m := range gap.missing {
			if !slices.Contains(missing, m) {
				missing = append(missing, m)
			}
		}
		purposes = append(purposes, gap.purpose)
	}
	kind := "delegated permissions (scopes)"
	if req.Claims.AppOnly {
		kind = "application permissions (roles)"
	}
	p := Problem{Check: "consent",
		Missing: "the token was not granted the Microsoft Graph " + kind + " " + strings.Join(missing, ", ") +
			", needed to " + strings.Join(purposes, "; ")}
	switch {
	case req.Claims.AppOnly:
		p.Fix = "grant application " + req.Claims.AppID + " the Microsoft Graph application permissions " +
			strings.Join(ApplicationPermissions(), ", ") + " (App registrations > the application > API permissions > " +
			"Add a permission > Microsoft Graph > Application permissions), then Grant admin consent"
	case req.Method == MethodToken:
		p.Fix = "get a token that carries them, or let idpctl sign you in (--auth browser or --auth device-code), " +
			"which asks for: " + strings.Join(DelegatedScopes(), ", ")
	default:
		p.Fix = signInContext{clientID: req.ClientID}.adminConsentFix()
	}
	r.Problems = append(r.Problems, p)
}

func (r *PreflightReport) checkLicence(req PreflightRequest, reads preflightReads) {
	if reads.skusErr != nil {
		msg := "could not read the tenant's subscriptions to check for Entra ID P1 or P2: " + reads.skusErr.Error()
		if req.AssignGroups {
			r.Problems = append(r.Problems, Problem{Check: "licence", Missing: msg,
				Fix: "grant the sign-in Organization.Read.All or Directory.Read.All, or assign users with --assign-user instead of groups"})
		} else {
			r.Warnings = append(r.Warnings, msg)
		}
		return
	}
	r.Licence = premiumPlan(reads.skus)
	if r.Licence != "" {
		return
	}
	if req.AssignGroups {
		r.Problems = append(r.Problems, Problem{Check: "licence",
			Missing: "the tenant has no Microsoft Entra ID P1 or P2 plan, which assigning groups to an application needs",
			Fix: "assign users one by one with --assign-user instead of --assign-group, or add a subscription that " +
				"includes Entra ID P1 or P2 (Entra ID P1, Microsoft 365 E3/E5 or Business Premium, EMS E3/E5)"})
		return
	}
	r.Warnings = append(r.Warnings, "the tenant has no Microsoft Entra ID P1 or P2 plan: assigning users works, "+
		"assigning groups would not")
}

// premiumPlan names the best Entra ID plan an enabled subscription provides ("" for none): the service plan
// AAD_PREMIUM or AAD_PREMIUM_P2 provisioned with status Success.
func premiumPlan(skus []Sku) string {
	best := ""
	for _, sku := range skus {
		if !strings.EqualFold(sku.CapabilityStatus, "Enabled") {
			continue
		}
		for _, p := range sku.ServicePlans {
			if !strings.EqualFold(p.ProvisioningStatus, "Success") {
				continue
			}
			switch strings.ToLower(p.ID) {
			case ServicePlanEntraIDP2:
				return "Microsoft Entra ID P2"
			case ServicePlanEntraIDP1:
				best = "Microsoft Entra ID P1"
			}
		}
	}
	return best
}
