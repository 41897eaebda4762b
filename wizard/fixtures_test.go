package wizard

import "github.com/idpctl/idpctl/steps"

// firstRunPlan is a plan of a first setup in a tenant where the consent already exists: most steps create,
// a few resources stay as they are.
func firstRunPlan() *steps.Plan {
	res := func(a steps.Action, typ, name string, attrs ...steps.Attr) steps.Resource {
		return steps.Resource{Action: a, Type: typ, Name: name, Attrs: attrs}
	}
	change := func(r ...steps.Resource) steps.Change { return steps.Change{Resources: r} }
	return &steps.Plan{Steps: []steps.PlannedStep{
		{Step: "application", Change: change(res(steps.Create, "enterprise application", "Smallstep",
			steps.Later("client id"), steps.Later("object id"), steps.Later("service principal")))},
		{Step: "assignments", Change: change(
			res(steps.NoOp, "assignment", "group Smallstep Users"),
			res(steps.Create, "assignment", "user grady.archie@contoso.onmicrosoft.com", steps.Value("role", "User")))},
		{Step: "single sign-on settings", Change: change(res(steps.Update, "app registration settings", "Smallstep",
			steps.Set("sign-in audience", "AzureADMyOrg", "AzureADMultipleOrgs"),
			steps.Value("redirect URI", "https://api.smallstep.com/auth/openid/callback"),
			steps.Value("ID token claims", "email, preferred_username")))},
		{Step: "admin consent", Change: change(res(steps.NoOp, "permission grant", "Microsoft Graph: openid profile email"))},
		{Step: "client secret", Change: change(res(steps.Create, "client secret", "idpctl 2026-11-29",
			steps.Value("expires", "2027-05-28"), steps.Sensitive("value"), steps.Value("delivered to", "file /home/admin/client-secret")))},
		{Step: "backend hand-off", Change: change(res(steps.Create, "secret file", "/home/admin/client-secret",
			steps.Value("tenant id", "72f988bf-86f1-41af-91ab-2d7cd011db47"), steps.Later("client id"), steps.Sensitive("client secret")))},
		{Step: "provisioning job", Change: change(res(steps.Create, "provisioning job", "scim"))},
		{Step: "provisioning credentials", Change: change(
			res(steps.Run, "connection test", "https://scim.example.com/v2"),
			res(steps.Update, "provisioning credentials", "https://scim.example.com/v2",
				steps.Value("tenant URL", "https://scim.example.com/v2"), steps.Sensitive("secret token")))},
		{Step: "attribute mappings", Change: change(res(steps.NoOp, "user attribute mappings", "7 mappings"))},
		{Step: "start provisioning", Change: change(res(steps.Run, "provisioning", "start the job"))},
		{Step: "confirm users arrived", Change: change(res(steps.Run, "provisioning on demand", "1 user, 1 group"))},
	}}
}
