package graph

import (
	"time"

	"github.com/google/uuid"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// The SDK models return pointers, nil for absent values, and nil for enum values it does not know (the Parse*
// functions of msgraph-sdk-go's models package); these functions read them into our types without ever
// dereferencing nil.

func str(p *string) string { return deref(p) }

func flag(p *bool) bool { return deref(p) }

func uuidStr(p *uuid.UUID) string {
	if p == nil {
		return ""
	}
	return p.String()
}

func when(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return p.UTC()
}

func enum[T interface{ String() string }](p *T) string {
	if p == nil {
		return ""
	}
	return (*p).String()
}

func toApplication(m models.Applicationable) Application {
	if m == nil {
		return Application{}
	}
	a := Application{
		ObjectID:       str(m.GetId()),
		AppID:          str(m.GetAppId()),
		DisplayName:    str(m.GetDisplayName()),
		SignInAudience: str(m.GetSignInAudience()),
		Tags:           m.GetTags(),
	}
	if t := m.GetCreatedDateTime(); t != nil {
		a.Created = *t
	}
	if web := m.GetWeb(); web != nil {
		a.RedirectURIs = web.GetRedirectUris()
		a.HomePageURL = str(web.GetHomePageUrl())
		a.LogoutURL = str(web.GetLogoutUrl())
		if g := web.GetImplicitGrantSettings(); g != nil {
			a.IDTokenIssuance = flag(g.GetEnableIdTokenIssuance())
			a.AccessTokenIssuance = flag(g.GetEnableAccessTokenIssuance())
		}
	}
	if oc := m.GetOptionalClaims(); oc != nil {
		a.IDTokenClaims = toOptionalClaims(oc.GetIdToken())
		a.AccessTokenClaims = toOptionalClaims(oc.GetAccessToken())
		a.SAML2TokenClaims = toOptionalClaims(oc.GetSaml2Token())
	}
	for _, r := range m.GetRequiredResourceAccess() {
		if r == nil {
			continue
		}
		rra := RequiredResourceAccess{ResourceAppID: str(r.GetResourceAppId())}
		for _, ra := range r.GetResourceAccess() {
			if ra != nil {
				rra.Access = append(rra.Access, ResourceAccess{ID: uuidStr(ra.GetId()), Type: str(ra.GetTypeEscaped())})
			}
		}
		a.RequiredResourceAccess = append(a.RequiredResourceAccess, rra)
	}
	for _, p := range m.GetPasswordCredentials() {
		if p != nil {
			a.Passwords = append(a.Passwords, PasswordCredential{
				KeyID: uuidStr(p.GetKeyId()), DisplayName: str(p.GetDisplayName()), Hint: str(p.GetHint()),
				Start: when(p.GetStartDateTime()), End: when(p.GetEndDateTime()),
			})
		}
	}
	return a
}

func toOptionalClaims(in []models.OptionalClaimable) []OptionalClaim {
	var out []OptionalClaim
	for _, c := range in {
		if c != nil {
			claim := OptionalClaim{Name: str(c.GetName()), Source: str(c.GetSource()), Essential: flag(c.GetEssential())}
			if props := c.GetAdditionalProperties(); len(props) > 0 {
				claim.AdditionalProperties = props
			}
			out = append(out, claim)
		}
	}
	return out
}

func toServicePrincipal(m models.ServicePrincipalable) ServicePrincipal {
	if m == nil {
		return ServicePrincipal{}
	}
	sp := ServicePrincipal{
		ID:                        str(m.GetId()),
		AppID:                     str(m.GetAppId()),
		DisplayName:               str(m.GetDisplayName()),
		AppRoleAssignmentRequired: flag(m.GetAppRoleAssignmentRequired()),
		Tags:                      m.GetTags(),
	}
	for _, r := range m.GetAppRoles() {
		if r != nil {
			sp.AppRoles = append(sp.AppRoles, AppRole{
				ID: uuidStr(r.GetId()), DisplayName: str(r.GetDisplayName()), Value: str(r.GetValue()),
				Enabled: flag(r.GetIsEnabled()), AllowedMemberTypes: r.GetAllowedMemberTypes(),
			})
		}
	}
	for _, s := range m.GetOauth2PermissionScopes() {
		if s != nil {
			sp.Scopes = append(sp.Scopes, PermissionScope{ID: uuidStr(s.GetId()), Value: str(s.GetValue()), Enabled: flag(s.GetIsEnabled())})
		}
	}
	return sp
}

func toAppRoleAssignment(m models.AppRoleAssignmentable) AppRoleAssignment {
	if m == nil {
		return AppRoleAssignment{}
	}
	return AppRoleAssignment{
		ID:                   str(m.GetId()),
		PrincipalID:          uuidStr(m.GetPrincipalId()),
		PrincipalType:        str(m.GetPrincipalType()),
		PrincipalDisplayName: str(m.GetPrincipalDisplayName()),
		AppRoleID:            uuidStr(m.GetAppRoleId()),
		ResourceID:           uuidStr(m.GetResourceId()),
	}
}

func toPermissionGrant(m models.OAuth2PermissionGrantable) PermissionGrant {
	if m == nil {
		return PermissionGrant{}
	}
	return PermissionGrant{
		ID:          str(m.GetId()),
		ClientID:    str(m.GetClientId()),
		ResourceID:  str(m.GetResourceId()),
		ConsentType: str(m.GetConsentType()),
		PrincipalID: str(m.GetPrincipalId()),
		Scope:       str(m.GetScope()),
	}
}

func toUser(m models.Userable) User {
	if m == nil {
		return User{}
	}
	return User{
		ID:                str(m.GetId()),
		UserPrincipalName: str(m.GetUserPrincipalName()),
		DisplayName:       str(m.GetDisplayName()),
		Mail:              str(m.GetMail()),
		GivenName:         str(m.GetGivenName()),
		Surname:           str(m.GetSurname()),
		AccountEnabled:    flag(m.GetAccountEnabled()),
	}
}

func toGroup(m models.Groupable) Group {
	if m == nil {
		return Group{}
	}
	return Group{
		ID:              str(m.GetId()),
		DisplayName:     str(m.GetDisplayName()),
		SecurityEnabled: flag(m.GetSecurityEnabled()),
		MailEnabled:     flag(m.GetMailEnabled()),
	}
}

func toSyncJob(m models.SynchronizationJobable) SyncJob {
	if m == nil {
		return SyncJob{}
	}
	j := SyncJob{ID: str(m.GetId()), TemplateID: str(m.GetTemplateId())}
	if s := m.GetSchedule(); s != nil {
		j.ScheduleState = enum(s.GetState())
		if iv := s.GetInterval(); iv != nil {
			if d, err := iv.ToDuration(); err == nil {
				j.Interval = d
			}
		}
	}
	st := m.GetStatus()
	if st == nil {
		return j
	}
	j.Status = SyncStatus{
		Code:                            enum(st.GetCode()),
		LastExecution:                   toSyncExecution(st.GetLastExecution()),
		LastSuccessfulExecution:         toSyncExecution(st.GetLastSuccessfulExecution()),
		SteadyStateFirstAchieved:        notMinTime(when(st.GetSteadyStateFirstAchievedTime())),
		SteadyStateLastAchieved:         notMinTime(when(st.GetSteadyStateLastAchievedTime())),
		CountSuccessiveCompleteFailures: deref(st.GetCountSuccessiveCompleteFailures()),
		TroubleshootingURL:              str(st.GetTroubleshootingUrl()),
	}
	if q := st.GetQuarantine(); q != nil {
		j.Status.Quarantine = &Quarantine{
			Reason:       enum(q.GetReason()),
			Error:        toSyncError(q.GetError()),
			CurrentBegan: when(q.GetCurrentBegan()),
			NextAttempt:  when(q.GetNextAttempt()),
			SeriesBegan:  when(q.GetSeriesBegan()),
			SeriesCount:  deref(q.GetSeriesCount()),
		}
	}
	return j
}

// notMinTime maps Graph's "0001-01-01T00:00:00Z" (not yet) to the zero time.
func notMinTime(t time.Time) time.Time {
	if t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

func toSyncExecution(m models.SynchronizationTaskExecutionable) *SyncExecution {
	if m == nil {
		return nil
	}
	return &SyncExecution{
		State:         enum(m.GetState()),
		TimeBegan:     notMinTime(when(m.GetTimeBegan())),
		TimeEnded:     notMinTime(when(m.GetTimeEnded())),
		CountImported: deref(m.GetCountImported()),
		CountExported: deref(m.GetCountExported()),
		CountEscrowed: deref(m.GetCountEscrowed()),
		Error:         toSyncError(m.GetError()),
	}
}

func toSyncError(m models.SynchronizationErrorable) *SyncError {
	if m == nil {
		return nil
	}
	e := &SyncError{Code: str(m.GetCode()), Message: str(m.GetMessage()), TenantActionable: flag(m.GetTenantActionable())}
	if *e == (SyncError{}) {
		return nil
	}
	return e
}

func toProvisioningEvent(m models.ProvisioningObjectSummaryable) ProvisioningEvent {
	if m == nil {
		return ProvisioningEvent{}
	}
	ev := ProvisioningEvent{
		ID:           str(m.GetId()),
		ActivityTime: when(m.GetActivityDateTime()),
		JobID:        str(m.GetJobId()),
		CycleID:      str(m.GetCycleId()),
		Action:       enum(m.GetProvisioningAction()),
	}
	if si := m.GetProvisioningStatusInfo(); si != nil {
		ev.Status = enum(si.GetStatus())
		if ei := si.GetErrorInformation(); ei != nil {
			ev.ErrorCode = str(ei.GetErrorCode())
			ev.Reason = str(ei.GetReason())
		}
	}
	if s := m.GetSourceIdentity(); s != nil {
		ev.SourceID = str(s.GetId())
		ev.SourceDisplayName = str(s.GetDisplayName())
	}
	if t := m.GetTargetIdentity(); t != nil {
		ev.TargetID = str(t.GetId())
	}
	if sp := m.GetServicePrincipal(); sp != nil {
		ev.ServicePrincipalID = str(sp.GetId())
	}
	return ev
}

func toMappingSource(m models.AttributeMappingSourceable) MappingSource {
	if m == nil {
		return MappingSource{Parameters: []MappingParameter{}}
	}
	src := MappingSource{
		Type: enum(m.GetTypeEscaped()), Name: str(m.GetName()), Expression: str(m.GetExpression()),
		Parameters: make([]MappingParameter, 0, len(m.GetParameters())),
	}
	for _, p := range m.GetParameters() {
		if p != nil {
			src.Parameters = append(src.Parameters, MappingParameter{Key: str(p.GetKey()), Value: toMappingSource(p.GetValue())})
		}
	}
	return src
}
