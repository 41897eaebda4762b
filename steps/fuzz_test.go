package steps

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/secret"
)

// FuzzEditUserMappings: whatever schema the service returns, editing it never panics, and an edited schema is
// JSON that a second edit leaves as it is (so a re-run writes nothing).
func FuzzEditUserMappings(f *testing.F) {
	template, err := os.ReadFile("../sandbox/entra/fixtures/scim-template-schema.json")
	if err != nil {
		f.Fatal(err)
	}
	parsed := map[string]graph.MappingSource{coalesceSource().Expression: coalesceSource()}
	edited, err := editUserMappings(template, parsed)
	if err != nil || edited.Schema == nil {
		f.Fatalf("editing the template: %v", err)
	}
	for _, s := range []string{
		string(template), string(edited.Schema), `{}`, `null`, `[]`, `{"synchronizationRules":null}`,
		`{"synchronizationRules":[{"id":"r","objectMappings":[{"sourceObjectName":"User"}]}]}`,
		`{"synchronizationRules":[{"id":"r","objectMappings":[{"sourceObjectName":"User","attributeMappings":[null,1,"x",{"targetAttributeName":7}]}]}]}`,
		`{"synchronizationRules":[{"id":1,"objectMappings":[{"sourceObjectName":"User","attributeMappings":[{"targetAttributeName":"active","source":{"expression":"Not([IsSoftDeleted])"}}]}]}]}`,
		`{"synchronizationRules":[{"id":"r","objectMappings":[{"sourceObjectName":"User","attributeMappings":[{"targetAttributeName":"userName","source":"[x]"}]}]},{"id":"s","objectMappings":[{"sourceObjectName":"User"}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, schema []byte) {
		edit, err := editUserMappings(schema, parsed)
		if err != nil || edit.Schema == nil {
			return
		}
		if edit.RuleID == "" || !json.Valid(edit.Schema) {
			t.Fatalf("edit succeeded with rule %q and invalid JSON %q", edit.RuleID, edit.Schema)
		}
		again, err := editUserMappings(edit.Schema, parsed)
		if err != nil || len(again.Diffs) != 0 || len(again.Unparsed) != 0 || again.RuleID != edit.RuleID {
			t.Fatalf("a second edit is not empty: %v, %+v, unparsed %q, rule %q then %q", err, again.Diffs, again.Unparsed, edit.RuleID, again.RuleID)
		}
	})
}

// FuzzInputsCheck: any inputs are checked without a panic; every problem names the input to fix and none
// repeats a token.
func FuzzInputsCheck(f *testing.F) {
	f.Add("72f988bf-86f1-41af-91ab-2d7cd011db47", "Smallstep", "", "Smallstep Users", "adele@contoso.com",
		DefaultRedirectURI, "https://example.smallstep.com/scim/v2", "scim-token-0123456789", false)
	f.Add("not-a-guid", " padded ", "xyz", "", " ", "http://example.com/cb?x=(1)", "https://u:p4ssw0rd-secret@h/scim", "Bearer abc def", true)
	f.Add("", "", "", "", "", "", "", "", false)
	f.Add("{72f988bf-86f1-41af-91ab-2d7cd011db47}", strings.Repeat("n", 121), "urn:uuid:72f988bf-86f1-41af-91ab-2d7cd011db47",
		"x' or 1 eq 1 or displayName eq 'y", "o'brien@contoso.com", "https://*.example.com/cb", "ftp://h/scim#frag", "tok\u201cen", false)
	f.Fuzz(func(t *testing.T, tenant, appName, appID, group, user, redirect, url, token string, viaHTTP bool) {
		in := Inputs{
			TenantID: tenant, AppName: appName, AppID: appID, AssignGroups: []string{group}, AssignUsers: []string{user},
			RedirectURI: redirect, SecretOut: "secret.txt", SecretExpiry: DefaultSecretExpiry, Backend: backend.NameManual,
			SCIMURL: url, SCIMToken: secret.New(token),
		}
		if viaHTTP {
			in.Backend, in.BackendURL, in.BackendToken, in.SCIMURL, in.SCIMToken = backend.NameHTTP, url, secret.New(token), "", secret.Value{}
		}
		err := in.Check()
		if err == nil {
			return
		}
		var ie *InputError
		if !asInputError(err, &ie) {
			t.Fatalf("Check returned %T, not *InputError: %v", err, err)
		}
		names := []string{"--", "IDPCTL_", "the SCIM token", "nothing to assign"}
		for _, p := range ie.Problems {
			if !hasAnyPrefix(p, names) {
				t.Errorf("the problem %q does not start with the input's name", p)
			}
		}
		others := strings.Join([]string{tenant, appName, appID, group, user, redirect, url}, "\n")
		if len(token) >= 6 && !strings.Contains(others, token) && strings.Contains(err.Error(), token) {
			t.Errorf("the error repeats the token %q: %v", token, err)
		}
	})
}

func asInputError(err error, target **InputError) bool {
	ie, ok := err.(*InputError)
	*target = ie
	return ok
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// FuzzStateFileName: the state file stays in the state directory whatever the tenant id (it can come from a
// token's claims or from Graph's answer) and the application name.
func FuzzStateFileName(f *testing.F) {
	f.Add("72f988bf-86f1-41af-91ab-2d7cd011db47", "Smallstep")
	f.Add("x/../../../../tmp/evil", "../../etc/passwd")
	f.Add(`..\..\windows`, "a\x00b")
	f.Fuzz(func(t *testing.T, tenant, app string) {
		dir := filepath.Join("state", "dir")
		name := stateFileName(tenant, app)
		if p := filepath.Join(dir, name); filepath.Dir(p) != dir || strings.ContainsAny(name, `/\:`+"\x00") {
			t.Fatalf("stateFileName(%q, %q) = %q, which leaves the state directory (%s)", tenant, app, name, p)
		}
	})
}

// The state's own content is plain JSON into a struct: a damaged file is an error naming the file.
func TestDamagedStateFileIsNamed(t *testing.T) {
	dir := t.TempDir()
	tenant := "72f988bf-86f1-41af-91ab-2d7cd011db47"
	path := filepath.Join(dir, stateFileName(tenant, "Smallstep"))
	if err := os.WriteFile(path, []byte(`{"version":`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenState(dir, tenant, "Smallstep")
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("damaged state file: %v", err)
	}
}
