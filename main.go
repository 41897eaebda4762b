// Command idpctl connects a Microsoft Entra ID tenant to a SaaS over OIDC single sign-on and SCIM provisioning.
package main

import (
	"os"

	"github.com/idpctl/idpctl/cmd"
)

func main() {
	os.Exit(cmd.Execute())
}
