package steps

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/secret"
)

func validManual() Inputs {
	return Inputs{
		TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", AppName: DefaultAppName, RedirectURI: DefaultRedirectURI,
		AssignGroups: []string{"Smallstep Users"}, Backend: backend.NameManual,
		SCIMURL: "https://scim.example.com/scim/v2", SCIMToken: secret.New("a-long-scim-token-value"), SecretOut: "secret.txt",
		SecretExpiry: DefaultSecretExpiry,
	}
}

func TestInputsCheck(t *testing.T) {
	if err := validManual().Check(); err != nil {
		t.Fatalf("valid inputs refused: %v", err)
	}
	cases := []struct {
		name   string
		change func(*Inputs)
		want   []string // every fragment must be in the error
	}{
		{"tenant not a GUID", func(in *Inputs) { in.TenantID = "contoso.onmicrosoft.com" }, []string{"--tenant-id", "contoso.onmicrosoft.com", "Directory (tenant) ID"}},
		{"SCIM URL over http", func(in *Inputs) { in.SCIMURL = "http://scim.example.com/scim/v2" }, []string{"--scim-url", "https"}},
		{"empty token", func(in *Inputs) { in.SCIMToken = secret.Value{} }, []string{"SCIM token", "IDPCTL_SCIM_TOKEN"}},
		{"token with a newline", func(in *Inputs) { in.SCIMToken = secret.New("a-long-scim-token-value\n") }, []string{"SCIM token"}},
		{"token with inner space", func(in *Inputs) { in.SCIMToken = secret.New("a-long scim-token-value") }, []string{"SCIM token"}},
		{"nothing assigned", func(in *Inputs) { in.AssignGroups = nil }, []string{"--assign-group", "--assign-user"}},
		{"app name with spaces", func(in *Inputs) { in.AppName = " Smallstep" }, []string{"--app-name"}},
		{"redirect over http", func(in *Inputs) { in.RedirectURI = "http://api.example.com/cb" }, []string{"--redirect-uri", "https"}},
		{"redirect with a wildcard", func(in *Inputs) { in.RedirectURI = "https://*.example.com/cb" }, []string{"--redirect-uri", "wildcard"}},
		{"no secret file", func(in *Inputs) { in.SecretOut = "" }, []string{"--secret-out"}},
		{"secret lifetime too short", func(in *Inputs) { in.SecretExpiry = time.Hour }, []string{"--secret-expiry"}},
		{"secret lifetime too long", func(in *Inputs) { in.SecretExpiry = 3 * 365 * 24 * time.Hour }, []string{"--secret-expiry"}},
		{"unknown backend", func(in *Inputs) { in.Backend = "smtp" }, []string{"--backend", "manual or http"}},
		{"http backend without URL", func(in *Inputs) {
			in.Backend, in.SCIMURL, in.SCIMToken, in.BackendToken = backend.NameHTTP, "", secret.Value{}, secret.New("backend-token-1234")
		}, []string{"--backend-url"}},
		{"http backend given SCIM values", func(in *Inputs) {
			in.Backend, in.BackendURL, in.BackendToken = backend.NameHTTP, "https://api.example.com", secret.New("backend-token-1234")
		}, []string{"--scim-url", "come from the backend"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := validManual()
			c.change(&in)
			err := in.Check()
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "a-long") {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

func TestInputsCheckReportsEveryProblem(t *testing.T) {
	in := validManual()
	in.TenantID, in.SCIMURL, in.SecretOut = "x", "", ""
	err := in.Check()
	ie, ok := err.(*InputError)
	if !ok || len(ie.Problems) != 3 {
		t.Fatalf("got %v, want the three problems at once", err)
	}
}

// Issue 10 item 4: no URL input is repeated with a password or token pasted into it, whatever rule it breaks.
func TestInputsCheckNeverEchoesCredentials(t *testing.T) {
	const password = "hunter2"
	for _, raw := range []string{
		" https://admin:" + password + "@example.com/cb",
		"https://admin:" + password + "@example.com/cb",
		"http://admin:" + password + "@example.com/cb",
		"https://example.com/cb?code=" + password + "&x=(1)",
		"https://*.example.com/cb#" + password,
		"example.com/cb?token=" + password,
	} {
		for name, change := range map[string]func(*Inputs){
			"--redirect-uri": func(in *Inputs) { in.RedirectURI = raw },
			"--scim-url":     func(in *Inputs) { in.SCIMURL = raw },
			"--backend-url": func(in *Inputs) {
				in.Backend, in.BackendURL, in.SCIMURL, in.SCIMToken = backend.NameHTTP, raw, "", secret.Value{}
			},
		} {
			in := validManual()
			in.BackendToken = secret.New("a-long-backend-token")
			change(&in)
			err := in.Check()
			if err == nil {
				continue // a valid URL may carry a query; it is never quoted in an error either way
			}
			if strings.Contains(err.Error(), password) || !strings.Contains(err.Error(), name) {
				t.Errorf("%s %q: %v; want the input named and the credential left out", name, raw, err)
			}
		}
	}
}

// At a terminal the hand-off asks for the SCIM values and can show the secret: they may be missing, but the
// SCIM URL and token come together, and what is given is checked as usual.
func TestInputsCheckHandOffAtTerminal(t *testing.T) {
	in := validManual()
	in.HandOffAtTerminal, in.SCIMURL, in.SCIMToken, in.SecretOut = true, "", secret.Value{}, ""
	if err := in.Check(); err != nil {
		t.Errorf("nothing to hand over yet: %v", err)
	}
	half := in
	half.SCIMURL = "https://scim.example.com/scim/v2"
	if err := half.Check(); err == nil || !strings.Contains(err.Error(), "come together") {
		t.Errorf("URL without token: %v", err)
	}
	bad := half
	bad.SCIMURL, bad.SCIMToken = "http://scim.example.com/scim/v2", secret.New("a-long-scim-token-value")
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("http SCIM URL: %v", err)
	}
}

// A run that will ask for what is missing checks the values it was given before signing in, and nothing else;
// what is missing is not its business.
func TestInputsCheckGiven(t *testing.T) {
	empty := Inputs{AppName: DefaultAppName, RedirectURI: DefaultRedirectURI, Backend: backend.NameManual, SecretExpiry: DefaultSecretExpiry}
	if err := empty.CheckGiven(); err != nil {
		t.Errorf("nothing given but defaults: %v", err)
	}
	if err := empty.Check(); err == nil || !strings.Contains(err.Error(), "--scim-url is missing") || !strings.Contains(err.Error(), "nothing to assign") {
		t.Errorf("Check of missing inputs: %v", err)
	}
	bad := empty
	bad.SCIMURL, bad.Owners = "http://scim.example.com/scim/v2", []string{" "}
	err := bad.CheckGiven()
	if err == nil || !strings.Contains(err.Error(), "--scim-url") || !strings.Contains(err.Error(), "--owner: an empty value") || strings.Contains(err.Error(), "missing") {
		t.Errorf("CheckGiven of a bad URL and owner: %v", err)
	}
}

// A clone shares nothing that can change with the original: every slice and map field is copied. The test
// walks Inputs' fields, so a list or map added later fails here until clone copies it too.
func TestCloneSharesNoReferences(t *testing.T) {
	immutable := map[reflect.Type]bool{
		reflect.TypeFor[secret.Value](): true, // holds its string behind a pointer it never writes through
	}
	var orig Inputs
	ov := reflect.ValueOf(&orig).Elem()
	var refs []int // the fields to check: slices and maps
	for i := range ov.NumField() {
		f := ov.Field(i)
		switch f.Kind() {
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
			f.Index(0).Set(sample(t, f.Type().Elem()))
			refs = append(refs, i)
		case reflect.Map:
			f.Set(reflect.MakeMap(f.Type()))
			f.SetMapIndex(sample(t, f.Type().Key()), sample(t, f.Type().Elem()))
			refs = append(refs, i)
		case reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func, reflect.Array:
			t.Errorf("Inputs.%s is a %s: teach clone (and this test) to copy it", ov.Type().Field(i).Name, f.Kind())
		case reflect.Struct:
			if !immutable[f.Type()] {
				t.Errorf("Inputs.%s is a %s: teach clone (and this test) to copy it, or list it as immutable", ov.Type().Field(i).Name, f.Type())
			}
		}
	}
	cp := orig.clone()
	cv := reflect.ValueOf(&cp).Elem()
	for _, i := range refs {
		f := cv.Field(i)
		switch f.Kind() {
		case reflect.Slice:
			f.Index(0).Set(reflect.Zero(f.Type().Elem()))
		case reflect.Map:
			f.Clear()
		}
	}
	for _, i := range refs {
		f := ov.Field(i)
		if (f.Kind() == reflect.Slice && f.Index(0).IsZero()) || (f.Kind() == reflect.Map && f.Len() == 0) {
			t.Errorf("Inputs.%s: changing the clone's changed the original: clone does not copy it", ov.Type().Field(i).Name)
		}
	}
}

// sample is a non-zero value of a field element's type.
func sample(t *testing.T, typ reflect.Type) reflect.Value {
	t.Helper()
	v := reflect.New(typ).Elem()
	switch typ.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Bool:
		v.SetBool(true)
	default:
		t.Fatalf("no sample value for %s: extend sample", typ)
	}
	return v
}
