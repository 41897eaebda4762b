package cmd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/steps"
)

// foreignApp creates an enterprise application named Smallstep as a person following the manual guide would:
// from the same template, without idpctl's tag. It returns its application and service principal ids.
func (tn *tenant) foreignApp() (appID, clientID, spID string) {
	tn.t.Helper()
	var created struct {
		Application struct {
			ID    string
			AppID string `json:"appId"`
		} `json:"application"`
		ServicePrincipal struct {
			ID       string
			AppRoles []struct{ ID string } `json:"appRoles"`
		} `json:"servicePrincipal"`
	}
	raw := tn.graph(http.MethodPost, "/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate", `{"displayName":"`+steps.DefaultAppName+`"}`)
	if err := json.Unmarshal(raw, &created); err != nil || created.Application.ID == "" {
		tn.t.Fatalf("instantiating the foreign application: %v %s", err, raw)
	}
	sp := created.ServicePrincipal
	tn.graph(http.MethodPost, "/servicePrincipals/"+sp.ID+"/appRoleAssignedTo", `{"principalId":"`+tn.sb.Tenant.Users()[0].ID+`","resourceId":"`+sp.ID+`","appRoleId":"`+sp.AppRoles[0].ID+`"}`)
	return created.Application.ID, created.Application.AppID, sp.ID
}

// exists reports whether the tenant still has the application and the service principal.
func (tn *tenant) exists(appID, spID string) (app, sp bool) {
	app = slices.ContainsFunc(tn.sb.Tenant.Applications(), func(a entra.Application) bool { return a.ID == appID })
	for _, s := range tn.sb.Tenant.ServicePrincipals() {
		sp = sp || s.ID == spID
	}
	return app, sp
}

// Teardown with the backend's API removes everything setup made, in the tenant and in the SaaS, and forgets it
// in the state file; an application of the same name that idpctl did not create is never touched. Status then
// finds nothing, and a second teardown succeeds without a write.
func TestTeardown(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI())
	app, sp, job := tn.app()
	if len(tn.sb.Tenant.AppRoleAssignments(sp.ID)) == 0 || len(tn.sb.Backend.Registrations()) != 1 {
		t.Fatal("setup left no assignment or no registration to remove")
	}
	foreignApp, foreignClient, foreignSP := tn.foreignApp()
	tn.reset()

	// Named by --app-id, the application without the tag is still not touched.
	o := tn.run(invocation{}, tn.day2("teardown", "--app-id", foreignClient, "--yes", "--non-interactive")...)
	if o.code != 0 || !strings.Contains(o.stdout, "nothing removed: --app-id "+foreignClient) {
		t.Errorf("teardown --app-id of an application idpctl did not create: %v", o)
	}
	tn.noWrites("teardown --app-id of an application idpctl did not create")
	if regs := tn.sb.Backend.Registrations(); len(regs) != 1 {
		t.Errorf("teardown --app-id of another application removed the setup's registration: %d left", len(regs))
	}

	o = tn.run(invocation{}, tn.day2("teardown", "--yes", "--non-interactive", "--output", "json")...)
	if o.code != 0 {
		t.Fatalf("teardown: %v", o)
	}
	if a, s := tn.exists(app.ID, sp.ID); a || s {
		t.Errorf("after teardown the application exists: %v, its service principal: %v", a, s)
	}
	if jobs := tn.sb.Tenant.SyncJobs(sp.ID); len(jobs) != 0 {
		t.Errorf("provisioning jobs left: %+v", jobs)
	}
	if n := len(tn.sb.Tenant.AppRoleAssignments(sp.ID)); n != 0 {
		t.Errorf("%d app role assignments left", n)
	}
	for _, g := range tn.sb.Tenant.PermissionGrants() {
		if g.ClientID == sp.ID {
			t.Errorf("consent grant left: %+v", g)
		}
	}
	if regs := tn.sb.Backend.Registrations(); len(regs) != 0 {
		t.Errorf("the backend still holds %d registrations", len(regs))
	}
	if files := tn.stateFiles(); strings.Contains(files, app.AppID) {
		t.Errorf("the state file still records the setup:\n%s", files)
	}
	if a, s := tn.exists(foreignApp, foreignSP); !a || !s || len(tn.sb.Tenant.AppRoleAssignments(foreignSP)) != 1 {
		t.Errorf("the application idpctl did not create was touched: application %v, service principal %v, assignments %d", a, s, len(tn.sb.Tenant.AppRoleAssignments(foreignSP)))
	}
	for _, r := range tn.sb.Tenant.Requests() {
		if r.IsWrite() && (strings.Contains(r.Path, foreignApp) || strings.Contains(r.Path, foreignSP)) {
			t.Errorf("a write to the foreign application: %s %s", r.Method, r.Path)
		}
	}
	doc := jsonResult(t, o.stdout)
	if doc["command"] != "teardown" || doc["error"] != nil || !strings.Contains(o.stdout, "deleted items for 30 days") {
		t.Errorf("result %s", o.stdout)
	}
	wantDone := []string{`deleted provisioning job "` + job.ID + `"`, `deleted backend registration "` + app.AppID + `"`, "deleted app role assignment", "deleted consent grant", `deleted app registration "Smallstep"`}
	var result steps.Result
	if err := json.Unmarshal([]byte(o.stdout), &result); err != nil {
		t.Fatal(err)
	}
	var summaries []string
	for _, s := range result.Steps {
		summaries = append(summaries, s.Summary)
	}
	for _, want := range wantDone {
		if !strings.Contains(strings.Join(summaries, "\n"), want) {
			t.Errorf("the result does not say %q: %q", want, summaries)
		}
	}

	// As the result says, Entra keeps both in its deleted items, restorable (DOCS directory-deleteditems-list.md).
	var deleted struct {
		Value []struct{ ID string } `json:"value"`
	}
	for _, kind := range []struct{ path, id string }{{"application", app.ID}, {"servicePrincipal", sp.ID}} {
		if err := json.Unmarshal(tn.graph(http.MethodGet, "/directory/deletedItems/microsoft.graph."+kind.path, ""), &deleted); err != nil ||
			!slices.ContainsFunc(deleted.Value, func(o struct{ ID string }) bool { return o.ID == kind.id }) {
			t.Errorf("deleted items of type %s: %+v, %v; want %s", kind.path, deleted.Value, err, kind.id)
		}
	}

	// Status finds nothing idpctl made.
	o = tn.run(invocation{}, tn.day2("status", "--non-interactive")...)
	if o.code != 1 || !strings.Contains(o.stdout, `no application named "Smallstep" made by idpctl`) {
		t.Errorf("status after teardown: %v", o)
	}

	// A second teardown has nothing to remove, says so, and writes nothing.
	tn.reset()
	o = tn.run(invocation{}, tn.day2("teardown", "--yes", "--non-interactive")...)
	if o.code != 0 || !strings.Contains(o.stdout, "nothing removed") || !strings.Contains(o.stdout, "1 application named \"Smallstep\" exists without idpctl's tag") {
		t.Errorf("a second teardown: %v", o)
	}
	tn.noWrites("a second teardown")

	// Restorable as the result says, with the permission Graph documents for applications; the application
	// alone comes back, its service principal is restored separately (DOCS directory-deleteditems-restore.md).
	tn.graph(http.MethodPost, "/directory/deletedItems/"+app.ID+"/restore", "")
	if a, s := tn.exists(app.ID, sp.ID); !a || s {
		t.Errorf("after restoring the application: application %v, service principal %v", a, s)
	}
}

// --keep-app stops provisioning only: the job goes, the application with its single sign-on stays.
func TestTeardownKeepApp(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.manual())
	app, sp, _ := tn.app()
	grants := len(tn.sb.Tenant.PermissionGrants())
	tn.reset()
	o := tn.run(invocation{}, tn.day2("teardown", "--keep-app", "--yes", "--non-interactive")...)
	if o.code != 0 {
		t.Fatalf("teardown --keep-app: %v", o)
	}
	if jobs := tn.sb.Tenant.SyncJobs(sp.ID); len(jobs) != 0 {
		t.Errorf("provisioning jobs left: %+v", jobs)
	}
	if a, s := tn.exists(app.ID, sp.ID); !a || !s || len(tn.sb.Tenant.AppRoleAssignments(sp.ID)) == 0 || len(tn.sb.Tenant.PermissionGrants()) != grants {
		t.Errorf("--keep-app removed more than the job: application %v, service principal %v", a, s)
	}
	for _, r := range tn.sb.Tenant.Requests() {
		if r.IsWrite() && !strings.Contains(r.Path, "/synchronization/jobs/") {
			t.Errorf("--keep-app wrote %s %s", r.Method, r.Path)
		}
	}
	if files := tn.stateFiles(); !strings.Contains(files, app.AppID) || strings.Contains(files, "provisioningJobId") {
		t.Errorf("the state file after --keep-app:\n%s", files)
	}
}

// The plan comes first: --dry-run shows it and changes nothing; without --yes a script is refused before any
// change.
func TestTeardownPlanFirst(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.manual())
	_, _, job := tn.app()
	tn.reset()
	o := tn.run(invocation{}, tn.day2("teardown", "--dry-run")...)
	if o.code != 0 || !regexp.MustCompile(`- provisioning job\s+"`+regexp.QuoteMeta(job.ID)).MatchString(o.stdout) || !strings.Contains(o.stdout, `- app registration "Smallstep"`) {
		t.Errorf("teardown --dry-run: %v", o)
	}
	tn.noWrites("teardown --dry-run")
	o = tn.run(invocation{}, tn.day2("teardown", "--non-interactive")...)
	if o.code != 2 || !strings.Contains(fmt.Sprint(o.err), "--yes") {
		t.Errorf("teardown without --yes: %v", o)
	}
	tn.noWrites("teardown without --yes")
	if _, err := os.Stat(tn.secretOut); err != nil {
		t.Errorf("the secret file: %v", err)
	}
}

// --keep-app never reaches the backend (the registration stays with the application), so a setup made through
// the backend's API is torn down to its job without IDPCTL_BACKEND_TOKEN.
func TestTeardownKeepAppWithoutBackendToken(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI())
	_, sp, _ := tn.app()
	env := tn.env()
	delete(env, "IDPCTL_BACKEND_TOKEN")
	o := tn.run(invocation{env: env}, tn.day2("teardown", "--keep-app", "--yes", "--non-interactive")...)
	if o.code != 0 {
		t.Fatalf("teardown --keep-app without the backend's token: %v", o)
	}
	if jobs := tn.sb.Tenant.SyncJobs(sp.ID); len(jobs) != 0 {
		t.Errorf("provisioning jobs left: %+v", jobs)
	}
	if n := len(tn.sb.Backend.Registrations()); n != 1 {
		t.Errorf("%d registrations in the SaaS after --keep-app, want the one setup made", n)
	}
	if files := tn.stateFiles(); !strings.Contains(files, tn.sb.BackendURL) {
		t.Errorf("the state file no longer records the backend setup used:\n%s", files)
	}
}
