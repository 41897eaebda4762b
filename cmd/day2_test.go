package cmd

import (
	"io"
	"net/http"
	"strings"
)

// day2 are the flags of a scripted day-2 command against the sandbox, then extra.
func (tn *tenant) day2(command string, extra ...string) []string {
	return append([]string{command, "entra", "--graph-url", tn.sb.GraphURL, "--auth", "token", "--tenant-id", tn.sb.TenantID,
		"--state-dir", tn.stateDir}, extra...)
}

// mustSetUp runs a scripted setup (args from tn.manual or tn.viaAPI) and fails the test unless it succeeds.
func (tn *tenant) mustSetUp(args []string) {
	tn.t.Helper()
	if o := tn.run(invocation{}, append(args, "--non-interactive", "--yes")...); o.code != 0 {
		tn.t.Fatalf("setup: %v", o)
	}
}

// graph sends a raw Graph request as the admin: how a test changes the tenant behind idpctl's back, as a
// person in the Entra admin center would.
func (tn *tenant) graph(method, path, body string) []byte {
	tn.t.Helper()
	req, err := http.NewRequestWithContext(tn.t.Context(), method, tn.sb.GraphURL+path, strings.NewReader(body))
	if err != nil {
		tn.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tn.sb.AccessToken.Reveal())
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tn.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		tn.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return raw
}
