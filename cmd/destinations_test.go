package cmd

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// Issue 10 item 3: every destination is checked before the first write. A --secret-out that cannot take the
// client secret, a backend token the backend refuses or a backend nobody answers at: exit 2, the input named,
// zero writes to the tenant or the SaaS, and no client secret created, however often the run is repeated.
func TestDestinationsAreCheckedBeforeAnyWrite(t *testing.T) {
	tn := newTenant(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("x\n"), 0o600)
	link := filepath.Join(dir, "link")
	os.Symlink(target, link)
	readOnly := filepath.Join(dir, "read-only")
	os.Mkdir(readOnly, 0o500)

	secretOut := func(path string) []string {
		args := slices.Clone(tn.manual())
		args[slices.Index(args, "--secret-out")+1] = path
		return args
	}
	withBackendToken := func(tok string) map[string]string {
		env := tn.env()
		env["IDPCTL_BACKEND_TOKEN"] = tok
		return env
	}
	backendURL := func(u string) []string {
		args := slices.Clone(tn.viaAPI())
		args[slices.Index(args, "--backend-url")+1] = u
		return args
	}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"secret file in a missing directory", nil, secretOut(filepath.Join(dir, "nodir", "secret")), "does not exist; create it"},
		{"secret file is a symbolic link", nil, secretOut(link), "is a symbolic link"},
		{"secret file is a directory", nil, secretOut(dir), "is a directory"},
		{"secret file is a FIFO", nil, secretOut(fifo), "is a named pipe (FIFO)"},
		{"secret file is /dev/zero", nil, secretOut("/dev/zero"), "is a device"},
		{"wrong backend token", withBackendToken("a-token-this-backend-never-issued"), tn.viaAPI(), "the backend rejected IDPCTL_BACKEND_TOKEN (401 Unauthorized)"},
		{"backend nobody answers at", nil, backendURL("http://" + closedPort(t)), "cannot reach the backend at --backend-url"},
		{"backend URL with a wrong path", nil, backendURL(tn.sb.BackendURL + "/api"), "answered 404 Not Found: --backend-url must be the base URL of an API that implements the backend contract"},
	}
	if runtime.GOOS == "linux" {
		cases = append(cases, struct {
			name string
			env  map[string]string
			args []string
			want string
		}{"secret file in /sys", nil, secretOut("/sys/client-secret"), "cannot create a file in /sys"})
	}
	if os.Geteuid() != 0 {
		cases = append(cases, struct {
			name string
			env  map[string]string
			args []string
			want string
		}{"secret file in a read-only directory", nil, secretOut(filepath.Join(readOnly, "secret")), "cannot create a file in " + readOnly})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, output := range []string{"text", "json"} {
				for range 2 { // a failed run repeated mints no secret either
					tn.reset()
					o := tn.run(invocation{env: c.env}, append(c.args, "--non-interactive", "--yes", "--output", output)...)
					if o.code != exitUsage || !strings.Contains(o.err.Error(), c.want) || !strings.Contains(o.err.Error(), "nothing was changed") {
						t.Fatalf("%v; want exit 2 with %q", o, c.want)
					}
					if output == "json" {
						if msg, _ := jsonResult(t, o.stdout)["error"].(string); !strings.Contains(msg, c.want) {
							t.Errorf("JSON error = %q", msg)
						}
					}
					noSecret(t, "the output", o.err.Error()+o.stdout+o.stderr, map[string]string{
						"backend token": tn.sb.BackendToken.Reveal(), "access token": tn.sb.AccessToken.Reveal(), "SCIM token": tn.sb.SCIMToken.Reveal(),
					})
					tn.noWrites(c.name)
				}
			}
			if apps := tn.sb.Tenant.Applications(); len(apps) != 0 {
				t.Errorf("%d applications created", len(apps))
			}
			if regs := tn.sb.Backend.Registrations(); len(regs) != 0 {
				t.Errorf("%d registrations with the backend", len(regs))
			}
		})
	}
	if raw, _ := os.ReadFile(target); string(raw) != "x\n" {
		t.Error("the symbolic link's target was written")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("the secret's directory holds %d entries, want the 4 the test made: a test file was left behind", len(entries))
	}
}

// Issue 10 item 4: a URL pasted with a password, with a leading space or trailing line break, is refused
// without repeating the password: not on stderr, not in the error, not in --output json.
func TestURLInputsWithCredentialsAreNeverEchoed(t *testing.T) {
	tn := newTenant(t)
	const password = "hunter2"
	replace := func(args []string, flag, value string) []string {
		out := slices.Clone(args)
		out[slices.Index(out, flag)+1] = value
		return out
	}
	for _, bad := range []string{" https://user:" + password + "@example.com/scim", "https://user:" + password + "@example.com/scim\n", "https://user:" + password + "@example.com/scim"} {
		for name, args := range map[string][]string{
			"--scim-url":     replace(tn.manual(), "--scim-url", bad),
			"--backend-url":  replace(tn.viaAPI(), "--backend-url", bad),
			"--redirect-uri": tn.manual("--redirect-uri", bad),
		} {
			for _, output := range []string{"text", "json"} {
				o := tn.run(invocation{}, append(args, "--non-interactive", "--yes", "--output", output)...)
				if o.code != exitUsage || !strings.Contains(o.err.Error(), name) {
					t.Errorf("%s %q: %v; want exit 2 naming %s", name, bad, o, name)
				}
				if strings.Contains(o.err.Error()+o.stdout+o.stderr, password) {
					t.Errorf("%s %q (%s): the password is shown:\n%s\n%s\n%v", name, bad, output, o.stdout, o.stderr, o.err)
				}
			}
		}
	}
	tn.noWrites("refused URLs")
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
