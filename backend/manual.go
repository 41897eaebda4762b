package backend

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/idpctl/idpctl/secret"
)

// Manual is the backend for a SaaS whose API cannot take the registration (Smallstep today): the admin pastes
// the values into the SaaS's dashboard. Register writes the client secret to a 0600 file for that, or hands it
// to an interactive SCIMSource when there is no file, and returns the SCIM endpoint from its SCIMSource.
type Manual struct {
	SecretOut string     // --secret-out: the file that receives the client secret; "" lets the SCIMSource take it
	SCIM      SCIMSource // where the SCIM URL and token the SaaS shows come from
}

// SCIMSource supplies the SCIM URL and token that the SaaS shows once the admin has entered the registration.
// Flags and the environment give them up front (GivenSCIM); the interactive wizard shows the hand-off and asks
// for them.
type SCIMSource interface {
	SCIMEndpoint(ctx context.Context, h Handover) (SCIM, error)
}

// Handover is what the admin enters in the SaaS: the instructions and, when this run created a client secret
// and no --secret-out file took it, the secret itself, for an interactive source to show once on request or to
// save where the admin says.
type Handover struct {
	Instructions
	ClientSecret secret.Value
}

// GivenSCIM is a SCIM endpoint known before the run (from --scim-url and --scim-token-file or IDPCTL_SCIM_TOKEN).
type GivenSCIM SCIM

// SCIMEndpoint returns the given endpoint. It cannot show a client secret to anyone, so a secret that no file
// took is an error rather than lost.
func (g GivenSCIM) SCIMEndpoint(_ context.Context, h Handover) (SCIM, error) {
	if !h.ClientSecret.IsZero() {
		return SCIM{}, errors.New("--secret-out is missing: with --backend manual, the client secret must be written to a file (mode 0600) so you can paste it into your SaaS")
	}
	return SCIM(g), nil
}

// Name is "manual".
func (m *Manual) Name() string { return NameManual }

// Destination is the secret file, or the admin at the hand-off when there is none.
func (m *Manual) Destination() Destination { return Destination{File: m.SecretOut} }

// KnownSCIM is the endpoint given up front; nil when the admin is asked for it after the instructions.
func (m *Manual) KnownSCIM() *SCIM {
	if k, ok := m.SCIM.(knownSource); ok {
		return k.Known()
	}
	return nil
}

// knownSource is a SCIMSource that may hold the endpoint before the hand-off: GivenSCIM, or the wizard's
// hand-off when the flags gave it.
type knownSource interface {
	Known() *SCIM
}

// Known is the given endpoint, or nil when none was given.
func (g GivenSCIM) Known() *SCIM {
	if g.BaseURL == "" {
		return nil
	}
	scim := SCIM(g)
	return &scim
}

// HeldSecretHint reads the secret file: it holds the secret the admin pasted into the SaaS. An admin who was
// shown the secret cannot be asked.
func (m *Manual) HeldSecretHint() (string, bool) {
	if m.SecretOut == "" {
		return "", false
	}
	hint, _ := SecretFileHint(m.SecretOut)
	return hint, true
}

// Register writes the client secret to the --secret-out file and returns the SCIM endpoint from m.SCIM after
// checking it. Writing first means the secret is already in place when a prompt shows the instructions. Without
// a file, the secret goes to m.SCIM with the instructions. A registration without a secret (a re-run that
// created none) relies on the file still holding the earlier one, or on the admin who was given it.
func (m *Manual) Register(ctx context.Context, reg Registration) (SCIM, error) {
	if m.SCIM == nil {
		return SCIM{}, errors.New("the manual backend has no source for the SCIM URL and token: give --scim-url and --scim-token-file or IDPCTL_SCIM_TOKEN")
	}
	h := Handover{Instructions: m.Instructions(reg)}
	switch {
	case m.SecretOut == "":
		h.ClientSecret = reg.ClientSecret
	case reg.ClientSecret.IsZero():
		// A re-run after the secret was handed over: the application still has it and no new one was made.
		if _, ok := SecretFileHint(m.SecretOut); !ok {
			return SCIM{}, fmt.Errorf("--secret-out %q holds no client secret and this run created none to write: point --secret-out at the file an earlier run wrote, or create a new secret with idpctl rotate-secret entra", m.SecretOut)
		}
	default:
		if err := WriteSecretFile(m.SecretOut, reg.ClientSecret); err != nil {
			return SCIM{}, err
		}
	}
	scim, err := m.SCIM.SCIMEndpoint(ctx, h)
	if err != nil {
		return SCIM{}, err
	}
	if err := checkSCIMURL("the SCIM URL", scim.BaseURL); err != nil {
		return SCIM{}, err
	}
	if err := ValidateToken("the SCIM token", scim.Token); err != nil {
		return SCIM{}, err
	}
	return scim, nil
}

// Check checks the --secret-out file can be written (CheckSecretOut).
func (m *Manual) Check(context.Context) error {
	if m.SecretOut == "" {
		// No file: the secret goes to the hand-off at the terminal (Inputs.Check requires a file otherwise).
		return nil
	}
	return CheckSecretOut(m.SecretOut)
}

// SetRole is not possible without an API: the admin sets roles in the SaaS's dashboard.
func (m *Manual) SetRole(context.Context, string, Role) error {
	return fmt.Errorf("setting roles: %w; give users the Owner or Admin role in your SaaS's dashboard", ErrUnsupported)
}

// Roles cannot be read without an API.
func (m *Manual) Roles(context.Context) (map[string]Role, error) {
	return nil, fmt.Errorf("reading roles: %w", ErrUnsupported)
}

// Unregister is not possible without an API: the admin removes the connection in the SaaS's dashboard.
func (m *Manual) Unregister(context.Context, string, string) error {
	return fmt.Errorf("removing the registration: %w; remove the Entra ID connection in your SaaS's dashboard", ErrUnsupported)
}

// Instructions are the values the admin pastes into the SaaS's "Connect an Entra ID IdP" form. The client secret
// itself is never part of them, only the file it was written to ("" when there is none).
type Instructions struct {
	ClientID    string
	TenantID    string
	MetadataURL string
	SecretFile  string
}

// Instructions returns what the admin has to paste for reg.
func (m *Manual) Instructions(reg Registration) Instructions {
	return Instructions{ClientID: reg.ClientID, TenantID: reg.TenantID, MetadataURL: reg.DiscoveryURL, SecretFile: m.SecretOut}
}

// Text is the instructions as shown to the admin, one value a line.
func (in Instructions) Text() string {
	var b strings.Builder
	b.WriteString("In Smallstep, open \"Connect an Entra ID IdP\" and fill in:\n")
	fmt.Fprintf(&b, "  Client ID          %s\n", in.ClientID)
	if in.SecretFile != "" {
		fmt.Fprintf(&b, "  Client Secret      written to %s (paste the file's content)\n", in.SecretFile)
	} else {
		b.WriteString("  Client Secret      the value idpctl shows you once\n")
	}
	fmt.Fprintf(&b, "  Tenant ID          %s\n", in.TenantID)
	fmt.Fprintf(&b, "  OIDC metadata URL  %s\n", in.MetadataURL)
	b.WriteString("Smallstep then shows a SCIM URL and a secret token for provisioning.\n")
	return b.String()
}

// WriteSecretFile writes the client secret to file for the admin to paste: the secret and one newline, mode 0600.
// The write is atomic (a 0600 temporary file in the same directory, then a rename), so the file never holds a
// partial secret and never exists with wider permissions. An existing file is replaced only if it is a regular
// file nobody else can read; anything else is refused rather than silently fixed, since its owner chose it.
func WriteSecretFile(file string, s secret.Value) error {
	if s.IsZero() {
		return fmt.Errorf("--secret-out %q: there is no client secret to write", file)
	}
	name, err := checkSecretDestination(file)
	if err != nil {
		return err
	}
	dir := filepath.Dir(file)
	tmp, err := createTempIn(name, dir, file)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// os.CreateTemp already uses 0600; Chmod makes that independent of how it is implemented.
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("%s: %v", name, errors.Unwrap(err))
	}
	if _, err := tmp.WriteString(s.Reveal() + "\n"); err != nil {
		return fmt.Errorf("%s: writing: %v", name, errors.Unwrap(err))
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("%s: writing: %v", name, errors.Unwrap(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: writing: %v", name, errors.Unwrap(err))
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("%s: %v", name, errors.Unwrap(err))
	}
	committed = true
	syncDir(dir)
	return nil
}

// CheckSecretOut checks, without writing the secret, that WriteSecretFile can write file: the path is new or a
// regular file only its owner can read, and its directory exists and takes a new file (a temporary file is
// created there and removed at once, the one reliable test on every file system). A run calls it before its
// first write, so a secret is never created that has nowhere to go.
func CheckSecretOut(file string) error {
	name, err := checkSecretDestination(file)
	if err != nil {
		return err
	}
	tmp, err := createTempIn(name, filepath.Dir(file), file)
	if err != nil {
		return err
	}
	tmp.Close()
	if err := os.Remove(tmp.Name()); err != nil {
		return fmt.Errorf("%s: cannot remove the test file %s: %v", name, tmp.Name(), errors.Unwrap(err))
	}
	return nil
}

// checkSecretDestination applies WriteSecretFile's rules to what is at file now, and returns the input's name
// for messages.
func checkSecretDestination(file string) (string, error) {
	name := fmt.Sprintf("--secret-out %q", file)
	if file == "" {
		return name, errors.New("--secret-out is missing: give a file for the client secret (it is created with mode 0600)")
	}
	info, err := os.Lstat(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, syscall.ENOTDIR):
		return name, fmt.Errorf("%s: %s is not a directory; choose another path", name, filepath.Dir(file))
	case err != nil:
		return name, fmt.Errorf("%s: %v", name, unwrapPath(err))
	case info.IsDir():
		return name, notRegular(name, info.Mode(), "give a file name, e.g. "+filepath.Join(file, "client-secret"))
	case !info.Mode().IsRegular():
		// A link is refused too: the rename would replace the link, not the file it points to.
		return name, notRegular(name, info.Mode(), "give the path of a new file or of a regular file idpctl wrote")
	case info.Mode().Perm()&0o077 != 0:
		return name, fmt.Errorf("%s exists with mode %04o, so others can read it: remove it or run chmod 600 %s, then run again", name, info.Mode().Perm(), file)
	}
	return name, nil
}

// createTempIn creates the 0600 temporary file a secret is written through, next to file.
func createTempIn(name, dir, file string) (*os.File, error) {
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(file)+".tmp-*")
	switch {
	case err == nil:
		return tmp, nil
	case errors.Is(err, fs.ErrNotExist) && !exists(dir):
		return nil, fmt.Errorf("%s: directory %s does not exist; create it or choose another path", name, dir)
	case errors.Is(err, syscall.ENOTDIR):
		return nil, fmt.Errorf("%s: %s is not a directory; choose another path", name, dir)
	default:
		return nil, fmt.Errorf("%s: cannot create a file in %s: %v; choose a directory you can write to", name, dir, unwrapPath(err))
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// syncDir makes the rename durable. It is best effort: the secret is in place either way, and some file systems
// refuse to sync a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// ReadSecretFile reads a client secret written by WriteSecretFile, so a re-run can hand the same secret to a
// backend again instead of creating a new one. Only a small regular file is read (readSecretBytes).
func ReadSecretFile(file string) (secret.Value, error) {
	name := fmt.Sprintf("--secret-out %q", file)
	raw, err := readSecretBytes(name, file, "give the path of a new file or of a regular file idpctl wrote")
	if err != nil {
		return secret.Value{}, err
	}
	s := trimOneNewline(string(raw))
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return secret.Value{}, fmt.Errorf("%s does not hold a client secret written by idpctl", name)
	}
	return secret.New(s), nil
}

// SecretFileHint returns the first three characters of the client secret in file, which Entra shows as the
// credential's hint. Comparing it with the hint of the secret still on the application tells a re-run whether
// the file holds that secret, without storing the secret anywhere else. ok is false when the file is missing or
// does not hold a secret.
func SecretFileHint(file string) (hint string, ok bool) {
	s, err := ReadSecretFile(file)
	if err != nil {
		return "", false
	}
	hint = s.Hint()
	return hint, hint != ""
}
