package cmd

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/wizard"
)

// printed is what `idpctl sandbox` tells the person who started it.
type printed struct {
	graphURL string
	exports  map[string]string
	// manual and viaAPI are the arguments of the two setup commands it suggests, after "idpctl".
	manual, viaAPI []string
}

func TestSandboxCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ios, _, _, errOut := wizard.Test()
	pr, pw := io.Pipe()
	ios.Out = pw
	root := NewRootCmd(&factory{IO: ios, Getenv: getenvFrom(nil)})
	root.SetArgs([]string{"sandbox"})
	done := make(chan error, 1)
	go func() {
		err := root.ExecuteContext(ctx)
		pw.CloseWithError(io.ErrUnexpectedEOF) // ends the reading below if the command never printed
		done <- err
	}()

	p := readSandboxBanner(t, pr)
	go io.Copy(io.Discard, pr) // the command must never block on its stdout

	if p.graphURL == "" || len(p.manual) == 0 || len(p.viaAPI) == 0 {
		t.Fatalf("banner incomplete: %+v", p)
	}
	for _, k := range []string{"IDPCTL_ACCESS_TOKEN", "IDPCTL_BACKEND_TOKEN", "IDPCTL_SCIM_TOKEN", "IDPCTL_SANDBOX_ADMIN_TOKEN"} {
		if p.exports[k] == "" {
			t.Errorf("no export line for %s: %v", k, p.exports)
		}
	}

	// The printed URL and token reach the simulated Graph.
	req, err := http.NewRequestWithContext(ctx, "GET", p.graphURL+"/organization", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.exports["IDPCTL_ACCESS_TOKEN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /organization with the printed token: %d", resp.StatusCode)
	}

	// A directory write is refused to the setup token and allowed to the user administrator's.
	for token, want := range map[string]int{"IDPCTL_ACCESS_TOKEN": http.StatusForbidden, "IDPCTL_SANDBOX_ADMIN_TOKEN": http.StatusNoContent} {
		req, err := http.NewRequestWithContext(ctx, "PATCH", p.graphURL+"/users/adele.vance@contoso.onmicrosoft.com",
			strings.NewReader(`{"jobTitle":"Head of Product"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+p.exports[token])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("PATCH /users with %s: %d, want %d", token, resp.StatusCode, want)
		}
	}

	// The suggested manual-mode command, pasted into the shell that ran the exports, sets the tenant up.
	args := slices.Clone(p.manual)
	if i := slices.Index(args, "--secret-out"); i < 0 || args[i+1] != "./client-secret" {
		t.Fatalf("manual command %q has no --secret-out ./client-secret", args)
	} else {
		args[i+1] = filepath.Join(t.TempDir(), "client-secret")
	}
	args = append(args, "--state-dir", t.TempDir())
	if o := execute(t, invocation{env: p.exports}, args...); o.code != 0 {
		t.Errorf("the printed setup command: %v", o)
	}
	// The other suggestion, in the same shell (IDPCTL_SCIM_TOKEN still exported), converges on the same tenant.
	if o := execute(t, invocation{env: p.exports}, append(slices.Clone(p.viaAPI), "--state-dir", t.TempDir())...); o.code != 0 {
		t.Errorf("the printed backend-API setup command: %v", o)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("idpctl sandbox ended with %v after Ctrl-C, want nil", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("idpctl sandbox did not stop after its context ended")
	}
	if s := errOut.String(); !strings.Contains(s, "Running. Press Ctrl-C to stop.\n") || !strings.HasSuffix(s, "Stopped.\n") {
		t.Errorf("stderr = %q", s)
	}
}

// readSandboxBanner reads stdout up to the end of the second suggested command.
func readSandboxBanner(t *testing.T, r io.Reader) printed {
	t.Helper()
	p := printed{exports: map[string]string{}}
	sc := bufio.NewScanner(r)
	var command []string // lines of the command being read, joined at the trailing backslash
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "  Graph URL"):
			p.graphURL = strings.TrimSpace(strings.TrimPrefix(line, "  Graph URL"))
		case strings.HasPrefix(line, "export "):
			k, v, _ := strings.Cut(strings.TrimPrefix(line, "export "), "=")
			p.exports[k] = v
		case strings.HasPrefix(line, "  idpctl ") || len(command) > 0:
			command = append(command, strings.TrimSuffix(strings.TrimSpace(line), `\`))
			if strings.HasSuffix(line, `\`) {
				continue
			}
			words := shellWords(t, strings.Join(command, " "))
			command = nil
			if words[0] != "idpctl" {
				t.Fatalf("suggested command %q", words)
			}
			if slices.Contains(words, "--scim-url") {
				p.manual = words[1:]
				return p
			}
			p.viaAPI = words[1:]
		}
	}
	t.Fatalf("stdout ended before the suggested commands: %v", sc.Err())
	return p
}

// shellWords splits a command line the way a shell would for what idpctl prints: words, and double-quoted
// strings in Go's %q form.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimSpace(line) {
		if line[0] == '"' {
			q, err := strconv.QuotedPrefix(line)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			w, _ := strconv.Unquote(q)
			words = append(words, w)
			line = line[len(q):]
			continue
		}
		end := strings.IndexAny(line, " \t")
		if end < 0 {
			end = len(line)
		}
		words = append(words, line[:end])
		line = line[end:]
	}
	return words
}
