package cmd

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/sandbox/refbackend"
)

func TestStatusHealthyAfterSetup(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI())
	app, sp, job := tn.app()
	tn.reset()
	o := tn.run(invocation{}, tn.day2("status", "--output", "json")...)
	if o.code != 0 {
		t.Fatalf("status after setup: %v", o)
	}
	tn.noWrites("status")
	doc := jsonResult(t, o.stdout)
	if doc["healthy"] != true || doc["found"] != true {
		t.Errorf("healthy %v found %v, problems %v", doc["healthy"], doc["found"], doc["problems"])
	}
	a, _ := doc["application"].(map[string]any)
	if a["clientId"] != app.AppID || a["servicePrincipalId"] != sp.ID {
		t.Errorf("application %v, want client %s", a, app.AppID)
	}
	p, _ := doc["provisioning"].(map[string]any)
	if p["id"] != job.ID || p["schedule"] != "Active" {
		t.Errorf("provisioning %v", p)
	}
	d, _ := doc["drift"].(map[string]any)
	if diffs, _ := d["differences"].([]any); d == nil || len(diffs) != 0 || !strings.Contains(d["against"].(string), "state file") {
		t.Errorf("drift %v, want none against the recorded setup", d)
	}
	secrets, _ := doc["clientSecrets"].([]any)
	if len(secrets) != 1 || secrets[0].(map[string]any)["inUse"] != true {
		t.Errorf("client secrets %v, want the one setup made, in use", secrets)
	}
}

// Status finds the drift a person makes in the admin center, with setup's own plan.
func TestStatusReportsDrift(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI())
	app, _, _ := tn.app()
	// Someone makes the application single-tenant and removes the redirect URI.
	tn.graph(http.MethodPatch, "/applications/"+app.ID, `{"signInAudience":"AzureADMyOrg","web":{"redirectUris":[]}}`)
	o := tn.run(invocation{}, tn.day2("status")...)
	if o.code != 1 {
		t.Fatalf("status after a manual change: %v", o)
	}
	for _, want := range []string{
		"2 settings differ from what setup applies; run idpctl setup entra to repair them",
		`sign-in audience is "AzureADMyOrg", setup sets "AzureADMultipleOrgs"`,
		"web redirect URIs",
	} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, o.stdout)
		}
	}
	if strings.Contains(o.stderr, "Error") {
		t.Errorf("an unhealthy status is a report, not an error: %q", o.stderr)
	}
	// Setup repairs it, and status is healthy again.
	tn.mustSetUp(tn.viaAPI())
	if o := tn.run(invocation{}, tn.day2("status")...); o.code != 0 {
		t.Errorf("status after setup repaired the drift: %v", o)
	}
}

// A job in quarantine is unhealthy, with the reason and since when (DOCS
// resources/synchronization-synchronizationquarantine.md): here the SaaS stops accepting the SCIM token, which
// Entra quarantines at once (ENTRA application-provisioning-quarantine-status.md).
func TestStatusReportsQuarantine(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI())
	_, _, job := tn.app()
	tn.sb.Backend.SetFaults(refbackend.Faults{Rules: []refbackend.FaultRule{{Path: "/Users", Status: http.StatusUnauthorized}}})
	if err := tn.sb.Tenant.RunCycleNow(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	o := tn.run(invocation{}, tn.day2("status", "--output", "json")...)
	if o.code != 1 {
		t.Fatalf("status of a quarantined job: %v", o)
	}
	doc := jsonResult(t, o.stdout)
	p, _ := doc["provisioning"].(map[string]any)
	q, _ := p["quarantine"].(map[string]any)
	if p["code"] != "Quarantine" || q["reason"] != "EncounteredQuarantineException" || q["since"] == "" || q["explanation"] == "" {
		t.Fatalf("provisioning %v", p)
	}
	problems, _ := doc["problems"].([]any)
	if len(problems) == 0 || !strings.Contains(problems[0].(string), "quarantine") || !strings.Contains(problems[0].(string), "idpctl restart entra") {
		t.Errorf("problems %v, want the quarantine and its fix", problems)
	}
	o = tn.run(invocation{}, tn.day2("status")...)
	for _, want := range []string{"Quarantine", "EncounteredQuarantineException since", "Last cycle"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("text status lacks %q:\n%s", want, o.stdout)
		}
	}
}

func TestStatusWarnsOfAnExpiringSecret(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI("--secret-expiry", "20d"))
	o := tn.run(invocation{}, tn.day2("status")...)
	if o.code != 1 || !strings.Contains(o.stdout, "expires in 19 days") || !strings.Contains(o.stdout, "idpctl rotate-secret entra") {
		t.Errorf("status of a secret expiring in 20 days: %v", o)
	}
}

func TestStatusOfNothing(t *testing.T) {
	tn := newTenant(t)
	o := tn.run(invocation{}, tn.day2("status", "--output", "json")...)
	if o.code != 1 {
		t.Fatalf("status without a setup: %v", o)
	}
	doc := jsonResult(t, o.stdout)
	if doc["found"] != false || doc["healthy"] != false {
		t.Errorf("found %v healthy %v", doc["found"], doc["healthy"])
	}
}

// Users whose latest provisioning failed are grouped by the provisioning log's error code, with their names.
func TestStatusGroupsProvisioningFailures(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI())
	_, _, job := tn.app()
	// Two new users join the assigned group; the SaaS refuses to create them.
	var joined []entra.User
	for _, name := range []string{"Nestor Wilke", "Pradeep Gupta"} {
		first, last, _ := strings.Cut(name, " ")
		u, err := tn.sb.Tenant.AddUser(entra.NewUser{UserPrincipalName: strings.ToLower(first) + "@" + tn.sb.Demo.Domain, DisplayName: name, GivenName: first, Surname: last})
		if err == nil {
			err = tn.sb.Tenant.AddGroupMember(tn.sb.Demo.SmallstepUsers.ID, u.ID)
		}
		if err != nil {
			t.Fatal(err)
		}
		joined = append(joined, u)
	}
	tn.sb.Backend.SetFaults(refbackend.Faults{Rules: []refbackend.FaultRule{{Method: http.MethodPost, Path: "/Users", Status: http.StatusConflict}}})
	if err := tn.sb.Tenant.RunCycleNow(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	o := tn.run(invocation{}, tn.day2("status", "--output", "json")...)
	if o.code != 1 {
		t.Fatalf("status with failed users: %v", o)
	}
	doc := jsonResult(t, o.stdout)
	failures, _ := doc["failures"].([]any)
	if len(failures) != 1 {
		t.Fatalf("failures %v, want one group", doc["failures"])
	}
	f := failures[0].(map[string]any)
	users, _ := f["users"].([]any)
	if f["count"] != float64(2) || len(users) != 2 || f["cause"] == "" {
		t.Errorf("failure group %v, want the two new users under one cause", f)
	}
	for _, u := range joined {
		// The log's sourceIdentity.displayName: the sandbox writes the user principal name there.
		if !strings.Contains(o.stdout, u.DisplayName) && !strings.Contains(o.stdout, u.UserPrincipalName) {
			t.Errorf("failures do not name %s: %v", u.DisplayName, f)
		}
	}
}

// --watch reports until Ctrl-C, one JSON object per line, and then exits with the last report's code rather
// than as an interrupted run.
func TestStatusWatch(t *testing.T) {
	tn := newTenant(t)
	tn.mustSetUp(tn.viaAPI())
	ctx, cancel := context.WithCancelCause(t.Context())
	time.AfterFunc(time.Second, func() { cancel(errInterrupted) })
	o := tn.run(invocation{ctx: ctx}, tn.day2("status", "--watch=5s", "--output", "json")...)
	if o.code != 0 {
		t.Fatalf("a healthy watch ended by Ctrl-C: %v", o)
	}
	lines := strings.Split(strings.TrimSpace(o.stdout), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], `{"tenantId":`) {
		t.Errorf("watch printed %q, want one JSON line", o.stdout)
	}
	if o := tn.run(invocation{}, tn.day2("status", "--watch=1s")...); o.code != 2 || !strings.Contains(o.err.Error(), "--watch 1s") {
		t.Errorf("--watch=1s: %v", o)
	}
}
