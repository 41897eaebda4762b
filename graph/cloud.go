package graph

import (
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

// Cloud is one Microsoft cloud: where its accounts sign in and where its Graph answers. Hosts are from
// learn.microsoft.com/graph/deployments ("App registration and token service root endpoints" and "Microsoft
// Graph and Graph Explorer service root endpoints").
type Cloud struct {
	// Name is the --cloud value: public, usgov or china.
	Name string
	// AuthorityHost is the Entra ID sign-in host, e.g. login.microsoftonline.com. It is also the host of the
	// tenant's OIDC metadata URL.
	AuthorityHost string
	// GraphHost is the Microsoft Graph host, e.g. graph.microsoft.com. Token scopes name it too: a national
	// cloud refuses scopes written with the global host (learn.microsoft.com/graph/sdks/national-clouds).
	GraphHost string
	// AdminCenterHost is the Microsoft Entra admin center's host, for links to what idpctl set up.
	AdminCenterHost string
}

// Clouds lists the clouds --cloud accepts, the default first.
func Clouds() []Cloud {
	return []Cloud{
		{Name: "public", AuthorityHost: "login.microsoftonline.com", GraphHost: "graph.microsoft.com", AdminCenterHost: "entra.microsoft.com"},
		// GCC High and DoD tenants sign in at login.microsoftonline.us; GCC (moderate) tenants live in the
		// public cloud. DoD tenants also have dod-graph.microsoft.us: pass it with --graph-url.
		{Name: "usgov", AuthorityHost: "login.microsoftonline.us", GraphHost: "graph.microsoft.us", AdminCenterHost: "entra.microsoft.us"},
		// Operated by 21Vianet; its admin center is entra.microsoftonline.cn (docs.azure.cn's Entra articles).
		{Name: "china", AuthorityHost: "login.chinacloudapi.cn", GraphHost: "microsoftgraph.chinacloudapi.cn", AdminCenterHost: "entra.microsoftonline.cn"},
	}
}

// PublicCloud is Microsoft's global cloud, the default.
func PublicCloud() Cloud { return Clouds()[0] }

// CloudByName returns the cloud a --cloud value names (case-insensitive; "" is public).
func CloudByName(name string) (Cloud, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return PublicCloud(), nil
	}
	names := make([]string, 0, 3)
	for _, c := range Clouds() {
		if c.Name == name {
			return c, nil
		}
		names = append(names, c.Name)
	}
	return Cloud{}, fmt.Errorf("--cloud %q: not a Microsoft cloud idpctl knows; use one of %s", name, strings.Join(names, ", "))
}

// orPublic lets the zero Cloud mean the public cloud.
func (c Cloud) orPublic() Cloud {
	if c.AuthorityHost == "" || c.GraphHost == "" {
		return PublicCloud()
	}
	return c
}

// GraphBaseURL is the cloud's Graph v1.0 endpoint, e.g. https://graph.microsoft.us/v1.0.
func (c Cloud) GraphBaseURL() string { return "https://" + c.orPublic().GraphHost + "/v1.0" }

// GraphResource is the Graph resource URI that qualifies scopes, e.g. https://graph.microsoft.com.
func (c Cloud) GraphResource() string { return "https://" + c.orPublic().GraphHost }

// GraphScope is the app-only scope for the cloud's Graph: every application permission granted, e.g.
// https://graph.microsoft.com/.default.
func (c Cloud) GraphScope() string { return c.GraphResource() + "/.default" }

// AuthorityURL is the sign-in authority, e.g. https://login.microsoftonline.com/.
func (c Cloud) AuthorityURL() string { return "https://" + c.orPublic().AuthorityHost + "/" }

// OIDCMetadataURL is a tenant's OpenID Connect discovery document in this cloud (ENTRA
// identity-platform/v2-protocols-oidc.md).
func (c Cloud) OIDCMetadataURL(tenantID string) string {
	return "https://" + c.orPublic().AuthorityHost + "/" + tenantID + "/v2.0/.well-known/openid-configuration"
}

// azcoreConfig is the cloud as azidentity wants it.
func (c Cloud) azcoreConfig() cloud.Configuration {
	return cloud.Configuration{ActiveDirectoryAuthorityHost: c.AuthorityURL()}
}

// wellKnown reports whether the authority is one of Microsoft's (instance discovery knows only those).
func (c Cloud) wellKnown() bool {
	for _, k := range Clouds() {
		if strings.EqualFold(k.AuthorityHost, c.orPublic().AuthorityHost) {
			return true
		}
	}
	return false
}
