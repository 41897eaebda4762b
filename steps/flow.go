package steps

// Flow returns the steps of `idpctl setup entra` in the order they are shown. They run concurrently, each
// waiting only for the outputs it reads, so the order here is for people, not for the runner.
func Flow() []Step {
	return []Step{
		&application{},                 // 1.1-1.2 enterprise application from the non-gallery template
		&assignments{},                 // 1.3-1.4 assign the users and groups to sync
		&ssoSettings{},                 // 2.6-2.12 audience, redirect URI, ID-token claims, Graph permissions
		&adminConsent{},                // 2.8 admin consent for openid, profile, email
		&clientSecret{},                // 2.4-2.5 client secret
		&handoff{},                     // 2 "In Smallstep" / 3.1: OIDC values to the SaaS, SCIM URL and token back
		&provisioningJob{},             // 3.4 provisioning configuration from the scim template
		&provisioningCredentials{},     // 3.5 test the connection, save tenant URL and secret token
		&attributeMappings{},           // 5 user attribute mappings
		&startProvisioning{},           // 4, 5.6 provisioning on
		&confirm{},                     // 6 users arrived
		&saasRoles{afterConfirm: true}, // 6.5 Owners and Admins in the SaaS
	}
}
