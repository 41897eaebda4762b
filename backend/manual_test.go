package backend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/secret"
)

func registration() Registration {
	return Registration{
		TenantID:     "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
		ClientID:     "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d",
		ClientSecret: secret.New(clientSecret),
		DiscoveryURL: "https://login.microsoftonline.com/3f2504e0-4f89-11d3-9a0c-0305e82c3301/v2.0/.well-known/openid-configuration",
	}
}

func TestWriteSecretFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "client-secret")
	if err := WriteSecretFile(file, secret.New(clientSecret)); err != nil {
		t.Fatal(errText(t, err))
	}
	assertSecretFile(t, file, clientSecret)
	assertOnlyFiles(t, dir, "client-secret")

	// Replacing goes through a new file and a rename: a reader never sees a half-written secret.
	before, _ := os.Stat(file)
	if err := WriteSecretFile(file, secret.New("Xyz8Q~anothersecretvalue-abcdefghij")); err != nil {
		t.Fatal(errText(t, err))
	}
	after, _ := os.Stat(file)
	if os.SameFile(before, after) {
		t.Error("the existing file was rewritten in place, not replaced by a rename")
	}
	assertSecretFile(t, file, "Xyz8Q~anothersecretvalue-abcdefghij")
	assertOnlyFiles(t, dir, "client-secret")

	// A 0400 file is as private as a 0600 one.
	if err := os.Chmod(file, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := WriteSecretFile(file, secret.New(clientSecret)); err != nil {
		t.Fatal(errText(t, err))
	}
	assertSecretFile(t, file, clientSecret)
}

func assertSecretFile(t *testing.T, file, want string) {
	t.Helper()
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode(); mode != 0o600 {
		t.Errorf("mode = %v, want -rw-------", mode)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want+"\n" {
		t.Errorf("file holds %d bytes, want the secret and one newline (%d bytes)", len(got), len(want)+1)
	}
}

func assertOnlyFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("directory holds %q, want %q (a temporary file was left behind?)", names, want)
	}
}

func TestWriteSecretFileRefuses(t *testing.T) {
	dir := t.TempDir()
	wide := filepath.Join(dir, "wide")
	if err := os.WriteFile(wide, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(wide, 0o644) // past the umask
	groupReadable := filepath.Join(dir, "group")
	os.WriteFile(groupReadable, []byte("old\n"), 0o600)
	os.Chmod(groupReadable, 0o640)
	link := filepath.Join(dir, "link")
	os.Symlink(wide, link)
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o700)

	tests := []struct{ file, want string }{
		{"", "--secret-out is missing: give a file for the client secret (it is created with mode 0600)"},
		{wide, fmt.Sprintf("--secret-out %q exists with mode 0644, so others can read it: remove it or run chmod 600 %s, then run again", wide, wide)},
		{groupReadable, fmt.Sprintf("--secret-out %q exists with mode 0640, so others can read it: remove it or run chmod 600 %s, then run again", groupReadable, groupReadable)},
		{sub, fmt.Sprintf("--secret-out %q is a directory: give a file name, e.g. %s", sub, filepath.Join(sub, "client-secret"))},
		{link, fmt.Sprintf("--secret-out %q is a symbolic link: give the path of a new file or of a regular file idpctl wrote", link)},
		{filepath.Join(dir, "nodir", "secret"), fmt.Sprintf("--secret-out %q: directory %s does not exist; create it or choose another path", filepath.Join(dir, "nodir", "secret"), filepath.Join(dir, "nodir"))},
	}
	for _, tt := range tests {
		err := WriteSecretFile(tt.file, secret.New(clientSecret))
		if got := errText(t, err); got != tt.want {
			t.Errorf("WriteSecretFile(%s)\n got %q\nwant %q", tt.file, got, tt.want)
		}
	}
	if got, _ := os.ReadFile(wide); string(got) != "old\n" {
		t.Errorf("the refused file was changed: %q", got)
	}
	if info, _ := os.Stat(wide); info.Mode().Perm() != 0o644 {
		t.Errorf("the refused file's mode was changed to %v", info.Mode())
	}
	assertOnlyFiles(t, dir, "group", "link", "sub", "wide")
	if err := WriteSecretFile(filepath.Join(dir, "x"), secret.Value{}); err == nil {
		t.Error("an empty secret was written")
	}
}

func TestSecretFileHint(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "client-secret")
	if _, ok := SecretFileHint(file); ok {
		t.Error("a missing file gave a hint")
	}
	if err := WriteSecretFile(file, secret.New(clientSecret)); err != nil {
		t.Fatal(err)
	}
	if hint, ok := SecretFileHint(file); !ok || hint != "Abc" {
		t.Errorf("SecretFileHint = %q, %v; want Abc, true", hint, ok)
	}
	s, err := ReadSecretFile(file)
	if err != nil || !s.Equal(secret.New(clientSecret)) {
		t.Errorf("ReadSecretFile did not return the secret written (%v)", errText(t, err))
	}
	os.WriteFile(file, []byte("two words\n"), 0o600)
	if _, ok := SecretFileHint(file); ok {
		t.Error("a file holding no secret gave a hint")
	}
}

// prompt records what a SCIMSource was shown and answers like an admin who pasted the SaaS's values.
type prompt struct {
	shown  Handover
	answer SCIM
	err    error
	file   string // the secret file, checked to exist when the prompt runs
	seen   bool
}

func (p *prompt) SCIMEndpoint(_ context.Context, h Handover) (SCIM, error) {
	p.shown = h
	_, p.seen = SecretFileHint(p.file)
	return p.answer, p.err
}

func TestManualRegister(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "client-secret")
	want := scimOf("https://scim.smallstep.com/scim/abc")

	t.Run("given values", func(t *testing.T) {
		m := &Manual{SecretOut: file, SCIM: GivenSCIM(want)}
		got, err := m.Register(context.Background(), registration())
		if err != nil {
			t.Fatal(errText(t, err))
		}
		if got.BaseURL != want.BaseURL || !got.Token.Equal(want.Token) {
			t.Errorf("Register = %+v", got)
		}
		assertSecretFile(t, file, clientSecret)
		if m.Name() != "manual" {
			t.Errorf("Name = %q", m.Name())
		}
	})

	t.Run("prompt sees the instructions after the secret is written", func(t *testing.T) {
		os.Remove(file)
		p := &prompt{answer: want, file: file}
		m := &Manual{SecretOut: file, SCIM: p}
		if _, err := m.Register(context.Background(), registration()); err != nil {
			t.Fatal(errText(t, err))
		}
		reg := registration()
		if p.shown.Instructions != (Instructions{ClientID: reg.ClientID, TenantID: reg.TenantID, MetadataURL: reg.DiscoveryURL, SecretFile: file}) {
			t.Errorf("prompt was shown %+v", p.shown)
		}
		if !p.shown.ClientSecret.IsZero() {
			t.Error("the prompt was given the secret a file already holds")
		}
		if !p.seen {
			t.Error("the secret file did not exist yet when the prompt ran")
		}
	})

	t.Run("without a file the prompt takes the secret", func(t *testing.T) {
		p := &prompt{answer: want}
		m := &Manual{SCIM: p}
		if _, err := m.Register(context.Background(), registration()); err != nil {
			t.Fatal(errText(t, err))
		}
		if !p.shown.ClientSecret.Equal(secret.New(clientSecret)) || p.shown.SecretFile != "" {
			t.Errorf("prompt was shown %+v", p.shown)
		}
		// A re-run that made no secret asks again without one: the admin already has it.
		reg := registration()
		reg.ClientSecret = secret.Value{}
		if _, err := m.Register(context.Background(), reg); err != nil || !p.shown.ClientSecret.IsZero() {
			t.Errorf("re-run: %v, shown %+v", errText(t, err), p.shown)
		}
		// Given values cannot show a secret: without a file it would be lost.
		m.SCIM = GivenSCIM(want)
		_, err := m.Register(context.Background(), registration())
		if got := errText(t, err); !strings.HasPrefix(got, "--secret-out is missing") {
			t.Errorf("given values without a file: %q", got)
		}
	})

	t.Run("a bad answer is refused", func(t *testing.T) {
		m := &Manual{SecretOut: file, SCIM: &prompt{answer: SCIM{BaseURL: "http://scim.example.com", Token: want.Token}, file: file}}
		_, err := m.Register(context.Background(), registration())
		if got := errText(t, err); got != `the SCIM URL "http://scim.example.com": must use https (only loopback may use http); use the https URL your SaaS gave you` {
			t.Errorf("err = %q", got)
		}
		m.SCIM = &prompt{answer: SCIM{BaseURL: want.BaseURL, Token: secret.New(scimToken + " ")}, file: file}
		_, err = m.Register(context.Background(), registration())
		if got := errText(t, err); !strings.HasPrefix(got, "the SCIM token starts or ends with a space") {
			t.Errorf("err = %q", got)
		}
	})

	t.Run("prompt cancelled", func(t *testing.T) {
		m := &Manual{SecretOut: file, SCIM: &prompt{err: context.Canceled, file: file}}
		if _, err := m.Register(context.Background(), registration()); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("re-run without a new secret", func(t *testing.T) {
		reg := registration()
		reg.ClientSecret = secret.Value{}
		m := &Manual{SecretOut: file, SCIM: GivenSCIM(want)}
		if _, err := m.Register(context.Background(), reg); err != nil {
			t.Fatalf("with the earlier secret in the file: %v", errText(t, err))
		}
		assertSecretFile(t, file, clientSecret)
		m.SecretOut = filepath.Join(dir, "absent")
		_, err := m.Register(context.Background(), reg)
		if got := errText(t, err); !strings.Contains(got, "holds no client secret and this run created none") {
			t.Errorf("err = %q", got)
		}
	})

	t.Run("no source", func(t *testing.T) {
		_, err := (&Manual{SecretOut: file}).Register(context.Background(), registration())
		if err == nil || !strings.Contains(err.Error(), "give --scim-url and --scim-token-file or IDPCTL_SCIM_TOKEN") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestManualInstructionsText(t *testing.T) {
	m := &Manual{SecretOut: "/home/admin/smallstep-secret"}
	got := m.Instructions(registration()).Text()
	want := `In Smallstep, open "Connect an Entra ID IdP" and fill in:
  Client ID          9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d
  Client Secret      written to /home/admin/smallstep-secret (paste the file's content)
  Tenant ID          3f2504e0-4f89-11d3-9a0c-0305e82c3301
  OIDC metadata URL  https://login.microsoftonline.com/3f2504e0-4f89-11d3-9a0c-0305e82c3301/v2.0/.well-known/openid-configuration
Smallstep then shows a SCIM URL and a secret token for provisioning.
`
	if got != want {
		t.Errorf("Text() =\n%s\nwant\n%s", got, want)
	}
	assertNoSecret(t, got, fmt.Sprintf("%+v", m.Instructions(registration())))
}

func TestManualSetRoleUnsupported(t *testing.T) {
	err := (&Manual{}).SetRole(context.Background(), "ada@contoso.com", RoleOwner)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "dashboard") {
		t.Errorf("SetRole = %v, want ErrUnsupported with the manual fix", err)
	}
}
