package entra_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/idpctl/idpctl/sandbox/entra"
)

// A newcomer's first contact: a demo tenant on loopback, read like Graph.
func Example() {
	tenant := entra.New(entra.Options{})
	demo, err := tenant.SeedDemo()
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1.0/me?$select=displayName,userPrincipalName", nil)
	req.Header.Set("Authorization", "Bearer "+demo.AdminToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var me struct {
		DisplayName       string `json:"displayName"`
		UserPrincipalName string `json:"userPrincipalName"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, me.DisplayName, me.UserPrincipalName)
	// Output: 200 Alex Wilber admin@contoso.onmicrosoft.com
}
