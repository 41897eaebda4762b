package backend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/secret"
)

func TestValidateSCIMURL(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" = valid; otherwise the whole message
	}{
		{"https://scim.example.com/scim/v2", ""},
		{"https://scim.example.com/scim/?aadOptscim062020", ""},
		{"https://scim.example.com:8443", ""},
		{"http://localhost:8080/scim", ""},
		{"http://LOCALHOST/scim", ""},
		{"http://127.0.0.1:9000/scim", ""},
		{"http://127.10.0.2/scim", ""},
		{"http://[::1]:9000/scim", ""},
		{"", `--scim-url is empty: use the https URL your SaaS gave you`},
		{"http://scim.example.com", `--scim-url "http://scim.example.com": must use https (only loopback may use http); use the https URL your SaaS gave you`},
		{"http://10.0.0.1/scim", `--scim-url "http://10.0.0.1/scim": must use https (only loopback may use http); use the https URL your SaaS gave you`},
		{"http://localhost.example.com/scim", `--scim-url "http://localhost.example.com/scim": must use https (only loopback may use http); use the https URL your SaaS gave you`},
		{" https://scim.example.com", `--scim-url "https://scim.example.com": remove the leading or trailing spaces or line break`},
		{"https://scim.example.com\n", `--scim-url "https://scim.example.com": remove the leading or trailing spaces or line break`},
		{"scim.example.com/scim", `--scim-url "scim.example.com/scim": not an absolute URL (it needs https:// and a host name); use the https URL your SaaS gave you`},
		{"https://", `--scim-url "https:": not an absolute URL (it needs https:// and a host name); use the https URL your SaaS gave you`},
		{"https://admin:hunter2@scim.example.com/scim", `--scim-url: remove the user name and password before the @ in "https://scim.example.com/scim"; credentials go in the token, never in the URL`},
		{"https://scim.example.com/scim#users", `--scim-url "https://scim.example.com/scim#…": remove the #fragment; it is never sent to the server`},
		{"ftp://scim.example.com/scim", `--scim-url "ftp://scim.example.com/scim": scheme "ftp" is not supported, it must use https; use the https URL your SaaS gave you`},
		{"https://scim.example.com/scim/v2/Users", `--scim-url "https://scim.example.com/scim/v2/Users": ends in /Users; give the base URL without it, Entra appends /Users and /Groups itself`},
		{"https://scim.example.com/scim/groups/", `--scim-url "https://scim.example.com/scim/groups/": ends in /groups; give the base URL without it, Entra appends /Users and /Groups itself`},
		{"https://scim.exa mple.com", `--scim-url: not a valid URL; use the https URL your SaaS gave you`},
	}
	for _, tt := range tests {
		got := errString(ValidateSCIMURL(tt.in))
		if got != tt.want {
			t.Errorf("ValidateSCIMURL(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, "hunter2") {
			t.Errorf("ValidateSCIMURL(%q) repeated the password", tt.in)
		}
	}
}

func TestValidateBackendURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://api.example.com", ""},
		{"https://api.example.com/saas/", ""},
		{"http://127.0.0.1:8080", ""},
		{"", `--backend-url is empty: use the API base URL your SaaS documents, e.g. https://api.example.com`},
		{"http://api.example.com", `--backend-url "http://api.example.com": must use https (only loopback may use http); use the API base URL your SaaS documents, e.g. https://api.example.com`},
		{"https://api.example.com/?tenant=1", `--backend-url "https://api.example.com/?…": remove the query (?...); idpctl appends the API paths to this base URL`},
		{"https://u:p@api.example.com", `--backend-url: remove the user name and password before the @ in "https://api.example.com"; credentials go in the token, never in the URL`},
	}
	for _, tt := range tests {
		if got := errString(ValidateBackendURL(tt.in)); got != tt.want {
			t.Errorf("ValidateBackendURL(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestValidateToken(t *testing.T) {
	const name = "IDPCTL_SCIM_TOKEN"
	tests := []struct{ token, want string }{
		{"abcDEF123-._~+/=", ""},
		{scimToken, ""},
		{"", "IDPCTL_SCIM_TOKEN is empty: paste the token your SaaS gave you"},
		{scimToken + "\n", "IDPCTL_SCIM_TOKEN starts or ends with a space or line break (a typical copy-paste mistake): remove it"},
		{" " + scimToken, "IDPCTL_SCIM_TOKEN starts or ends with a space or line break (a typical copy-paste mistake): remove it"},
		{scimToken + "\r\n", "IDPCTL_SCIM_TOKEN starts or ends with a space or line break (a typical copy-paste mistake): remove it"},
		{"Bearer " + scimToken, `IDPCTL_SCIM_TOKEN starts with "Bearer ": give the token alone, idpctl adds the Bearer prefix`},
		{"scim-tok 0123", "IDPCTL_SCIM_TOKEN has a space or line break at character 9: a bearer token has none; copy the token again in one piece"},
		{"scim-tok\n0123", "IDPCTL_SCIM_TOKEN has a space or line break at character 9: a bearer token has none; copy the token again in one piece"},
		{"scim-tok\x000123", "IDPCTL_SCIM_TOKEN has a non-printable character at character 9: copy the token again from its source"},
		{"scim-tok\x7f0123", "IDPCTL_SCIM_TOKEN has a non-printable character at character 9: copy the token again from its source"},
		{"“scim-tok”", "IDPCTL_SCIM_TOKEN has a non-ASCII character at character 1 (often a typographic quote added by an editor or chat tool): copy the token again from its source"},
	}
	for _, tt := range tests {
		got := errString(ValidateToken(name, secret.New(tt.token)))
		if got != tt.want {
			t.Errorf("ValidateToken(%q)\n got %q\nwant %q", tt.token, got, tt.want)
		}
		assertNoSecret(t, got)
	}
}

func TestReadTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct{ name, content string }{
		{"bare", scimToken},
		{"newline", scimToken + "\n"},
		{"crlf", scimToken + "\r\n"},
	} {
		tok, err := ReadTokenFile(write(tt.name, tt.content))
		if err != nil || tok.Reveal() != scimToken {
			t.Errorf("%s: ReadTokenFile = %d characters, %v; want the token", tt.name, len(tok.Reveal()), errText(t, err))
		}
	}

	twoNewlines := write("two", scimToken+"\n\n")
	spaced := write("spaced", "  "+scimToken+"\n")
	empty := write("empty", "\n")
	errs := []struct{ path, want string }{
		{twoNewlines, `--scim-token-file "` + twoNewlines + `" starts or ends with a space or line break (a typical copy-paste mistake): remove it (the file must hold the token alone, optionally followed by one newline)`},
		{spaced, `--scim-token-file "` + spaced + `" starts or ends with a space or line break (a typical copy-paste mistake): remove it (the file must hold the token alone, optionally followed by one newline)`},
		{empty, `--scim-token-file "` + empty + `" is empty: paste the token your SaaS gave you (the file must hold the token alone, optionally followed by one newline)`},
		{filepath.Join(dir, "missing"), `--scim-token-file "` + filepath.Join(dir, "missing") + `": no such file; save the SCIM token your SaaS gave you in it, or set IDPCTL_SCIM_TOKEN instead`},
		{dir, `--scim-token-file "` + dir + `" is a directory: give the path of the file that holds the token`},
	}
	for _, tt := range errs {
		_, err := ReadTokenFile(tt.path)
		if got := errText(t, err); got != tt.want {
			t.Errorf("ReadTokenFile(%s)\n got %q\nwant %q", tt.path, got, tt.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestParseRole(t *testing.T) {
	for in, want := range map[string]Role{"owner": RoleOwner, "Admin": RoleAdmin, "MEMBER": RoleMember} {
		if got, err := ParseRole(in); got != want || err != nil {
			t.Errorf("ParseRole(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseRole("root"); err == nil || err.Error() != `role "root": use owner, admin or member` {
		t.Errorf("ParseRole(root) error = %v", err)
	}
}

// Issue 10 item 4: a URL pasted with a password or token in it is never repeated in an error, whichever rule it
// breaks first (a leading space or line break used to be reported with the whole input quoted).
func TestURLErrorsNeverEchoCredentials(t *testing.T) {
	const password = "hunter2"
	carriers := []string{
		"https://admin:" + password + "@scim.example.com/scim",
		"https://scim.example.com/scim?token=" + password,
		"https://scim.example.com/scim?" + password,
		"https://scim.example.com/scim#access_token=" + password,
		"http://admin:" + password + "@scim.example.com/scim",
		"ftp://admin:" + password + "@scim.example.com/scim",
		"https://admin:" + password + "@scim.example.com/scim/Users",
		"//admin:" + password + "@scim.example.com/scim",
		"https://admin:" + password + "@scim.exa mple.com/scim",
	}
	for _, c := range carriers {
		for _, raw := range []string{c, " " + c, c + "\n", "\t" + c + "\r\n", c + "#frag"} {
			for name, validate := range map[string]func(string) error{
				"--scim-url":    ValidateSCIMURL,
				"--backend-url": ValidateBackendURL,
			} {
				err := validate(raw)
				if err == nil {
					continue
				}
				if strings.Contains(err.Error(), password) {
					t.Errorf("%s %q: the error repeats the credential: %v", name, raw, err)
				}
				if !strings.HasPrefix(err.Error(), name) {
					t.Errorf("%s %q: the error does not name the input: %v", name, raw, err)
				}
			}
		}
	}
	// The whitespace check still says what is wrong, and shows the URL without its user info.
	err := ValidateSCIMURL(" https://user:" + password + "@example.com/scim")
	if err == nil || err.Error() != `--scim-url "https://example.com/scim": remove the leading or trailing spaces or line break` {
		t.Errorf("leading space: %v", err)
	}
}
