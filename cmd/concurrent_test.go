package cmd

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idpctl/idpctl/steps"
)

// Issue 10 item 2: two runs started at once against one tenant and state directory make one application, one
// service principal, one provisioning job and one client secret; both finish, with the same client id, and
// the one that waited said for whom.
func TestTwoRunsAtOnce(t *testing.T) {
	for _, backendKind := range []string{"manual", "http"} {
		t.Run(backendKind, func(t *testing.T) {
			tn := newTenant(t)
			args := tn.manual("--non-interactive", "--yes", "--output", "text")
			if backendKind == "http" {
				args = tn.viaAPI("--non-interactive", "--yes", "--output", "text")
			}
			// The test holds the lock while both start, so that both must wait: their order is then up to them.
			held, err := steps.LockState(t.Context(), tn.stateDir, tn.sb.TenantID, steps.DefaultAppName, nil)
			if err != nil {
				t.Fatal(err)
			}
			outcomes := make([]outcome, 2)
			var wg sync.WaitGroup
			for i := range outcomes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					outcomes[i] = tn.run(invocation{}, args...)
				}()
			}
			time.Sleep(300 * time.Millisecond)
			held.Release()
			wg.Wait()

			app, sp, job := tn.app() // exactly one of each
			for i, o := range outcomes {
				if o.code != 0 {
					t.Fatalf("run %d: %v", i, o)
				}
				if !strings.Contains(o.stdout, "Client ID              "+app.AppID) {
					t.Errorf("run %d reports another client id than %s:\n%s", i, app.AppID, o.stdout)
				}
				want := fmt.Sprintf("Waiting: another idpctl run (pid %d on ", os.Getpid())
				if !strings.Contains(o.stderr, want) {
					t.Errorf("run %d did not say whom it waited for (%q):\n%s", i, want, o.stderr)
				}
			}
			secrets := 0
			for _, a := range tn.sb.Tenant.Applications() {
				for _, p := range a.PasswordCredentials {
					if strings.HasPrefix(p.DisplayName, "idpctl") {
						secrets++
					}
				}
			}
			if secrets != 1 || sp.ID == "" || job.ID == "" {
				t.Errorf("%d idpctl client secrets, want 1", secrets)
			}
			if backendKind == "http" && len(tn.sb.Backend.Registrations()) != 1 {
				t.Errorf("%d registrations with the backend", len(tn.sb.Backend.Registrations()))
			}
		})
	}
}

// --sandbox runs keep their state in a directory of their own, gone when they end: a simulated tenant has no
// place among real tenants' state, and two sandbox runs never wait for each other.
func TestSandboxRunsKeepTheirOwnState(t *testing.T) {
	xdg := t.TempDir()
	args := []string{"setup", "entra", "--sandbox", "--non-interactive", "--yes", "--assign-group", "Smallstep Users", "--output", "json"}
	var wg sync.WaitGroup
	outcomes := make([]outcome, 2)
	for i := range outcomes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i] = execute(t, invocation{env: map[string]string{"XDG_STATE_HOME": xdg}}, args...)
		}()
	}
	wg.Wait()
	for i, o := range outcomes {
		if o.code != 0 {
			t.Fatalf("run %d: %v", i, o)
		}
		stateFile, _ := jsonResult(t, o.stdout)["stateFile"].(string)
		if strings.HasPrefix(stateFile, xdg) || stateFile == "" {
			t.Errorf("run %d kept its state in %q", i, stateFile)
		}
		if _, err := os.Stat(stateFile); err == nil {
			t.Errorf("run %d left its state file %s behind", i, stateFile)
		}
	}
	if entries, _ := os.ReadDir(xdg); len(entries) != 0 {
		t.Errorf("the state directory holds %d entries after sandbox runs", len(entries))
	}
}
