//go:build unix

package backend

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idpctl/idpctl/secret"
)

// specialFiles are paths that are no place for a token or a client secret: each must be refused quickly, without
// blocking and without reading much. want is a fragment of the refusal.
func specialFiles(t *testing.T) map[string]struct{ path, want string } {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte(clientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	linkToFifo := filepath.Join(dir, "link-to-fifo")
	if err := os.Symlink(fifo, linkToFifo); err != nil {
		t.Fatal(err)
	}
	files := map[string]struct{ path, want string }{
		"named pipe":       {fifo, "is a named pipe (FIFO)"},
		"link to a pipe":   {linkToFifo, "named pipe (FIFO)"},
		"/dev/zero":        {"/dev/zero", "is a device"},
		"/dev/null":        {"/dev/null", "is a device"},
		"directory":        {dir, "is a directory"},
		"missing":          {filepath.Join(dir, "missing"), "no such file"},
		"under a file":     {filepath.Join(regular, "x"), "not a directory"},
		"sysfs attribute":  {"/sys/kernel/mm/transparent_hugepage/enabled", "not an ordinary file"},
		"procfs file":      {"/proc/self/status", "not an ordinary file"},
		"huge sparse file": {sparse(t, dir), "far more than a token"},
	}
	if runtime.GOOS != "linux" {
		for _, k := range []string{"sysfs attribute", "procfs file"} {
			delete(files, k)
		}
	}
	for k, f := range files {
		if _, err := os.Lstat(f.path); err != nil && k != "missing" && k != "under a file" {
			delete(files, k) // not on this machine
		}
	}
	return files
}

func sparse(t *testing.T, dir string) string {
	f := filepath.Join(dir, "sparse")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f, 1<<30); err != nil {
		t.Fatal(err)
	}
	return f
}

// within fails the test if fn does not return in time: a blocked open of a named pipe never would.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return: it blocks", what)
	}
}

// Issue 10 item 5: --scim-token-file and --secret-out on a FIFO, a device, a directory, /proc or /sys are
// refused at once, naming what the path is, and never read more than a small file's worth.
func TestSpecialFilesAreRefused(t *testing.T) {
	for kind, f := range specialFiles(t) {
		t.Run(kind, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			within(t, "ReadTokenFile", func() {
				_, err := ReadTokenFile(f.path)
				if err == nil || !strings.Contains(err.Error(), f.want) || !strings.HasPrefix(err.Error(), "--scim-token-file") {
					t.Errorf("ReadTokenFile(%s) = %v; want an error naming --scim-token-file and %q", f.path, err, f.want)
				}
			})
			within(t, "ReadSecretFile", func() {
				if _, err := ReadSecretFile(f.path); err == nil || !strings.Contains(err.Error(), f.want) {
					t.Errorf("ReadSecretFile(%s) = %v; want %q", f.path, err, f.want)
				}
				if _, ok := SecretFileHint(f.path); ok {
					t.Errorf("SecretFileHint(%s) found a secret", f.path)
				}
			})
			runtime.ReadMemStats(&after)
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 4*maxSecretFileBytes {
				t.Errorf("reading %s allocated %d bytes", f.path, grown)
			}
		})
	}
}

// The destination of the client secret is checked before anything is written: each of these is refused by
// CheckSecretOut with the same message WriteSecretFile would give, and neither leaves a file behind.
func TestCheckSecretOutRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte(clientSecret+"\n"), 0o600)
	link := filepath.Join(dir, "link")
	os.Symlink(target, link)
	readOnly := filepath.Join(dir, "read-only")
	os.Mkdir(readOnly, 0o500)

	cases := map[string]struct{ path, want string }{
		"missing directory": {filepath.Join(dir, "nodir", "secret"), "does not exist; create it"},
		"symbolic link":     {link, "is a symbolic link"},
		"directory":         {dir, "is a directory"},
		"named pipe":        {fifo, "is a named pipe (FIFO)"},
		"/dev/zero":         {"/dev/zero", "is a device"},
		"under a file":      {filepath.Join(target, "secret"), "is not a directory"},
	}
	if runtime.GOOS == "linux" {
		cases["/sys"] = struct{ path, want string }{"/sys/client-secret", "cannot create a file in /sys"}
		cases["/proc"] = struct{ path, want string }{"/proc/client-secret", "cannot create a file in /proc"}
	}
	if os.Geteuid() != 0 { // root writes into a 0500 directory anyway
		cases["unwritable directory"] = struct{ path, want string }{filepath.Join(readOnly, "secret"), "cannot create a file in " + readOnly}
	}
	for name, c := range cases {
		within(t, name, func() {
			err := CheckSecretOut(c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "--secret-out") {
				t.Errorf("%s: CheckSecretOut(%s) = %v; want --secret-out and %q", name, c.path, err, c.want)
			}
			werr := WriteSecretFile(c.path, secret.New(clientSecret))
			if errText(t, werr) != errText(t, err) {
				t.Errorf("%s: WriteSecretFile says %v, CheckSecretOut %v", name, werr, err)
			}
		})
	}
	assertOnlyFiles(t, dir, "fifo", "link", "read-only", "target")
	if raw, _ := os.ReadFile(target); string(raw) != clientSecret+"\n" {
		t.Error("the link's target was changed")
	}

	ok := filepath.Join(dir, "new-secret")
	if err := CheckSecretOut(ok); err != nil {
		t.Errorf("a new file in a writable directory: %v", err)
	}
	if err := CheckSecretOut(target); err != nil {
		t.Errorf("an existing 0600 file: %v", err)
	}
	assertOnlyFiles(t, dir, "fifo", "link", "read-only", "target")
}
