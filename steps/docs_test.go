package steps_test

import (
	"encoding/json"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/idpctl/idpctl/backend"
	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/sandbox/refbackend"
	"github.com/idpctl/idpctl/secret"
	"github.com/idpctl/idpctl/steps"
)

// These tests are the fixes made against Microsoft's documentation (issue 9, part B), each run against the
// sandbox the way an admin would meet the problem.

// setUp is the tenant after a first run: its service principal and job.
func (h *harness) setUp(in steps.Inputs) (sp entra.ServicePrincipal, job entra.SyncJob) {
	h.t.Helper()
	h.mustRun(in)
	for _, s := range h.sb.Tenant.ServicePrincipals() {
		if s.DisplayName == in.AppName {
			sp = s
		}
	}
	jobs := h.sb.Tenant.SyncJobs(sp.ID)
	if len(jobs) != 1 {
		h.t.Fatalf("jobs after setup: %+v", jobs)
	}
	return sp, jobs[0]
}

// requestsTo are the Graph requests whose method and path (after /v1.0) match, the path by suffix.
func (h *harness) requestsTo(method, pathSuffix string) []entra.RequestRecord {
	var out []entra.RequestRecord
	for _, r := range h.sb.Tenant.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, pathSuffix) {
			out = append(out, r)
		}
	}
	return out
}

// B1: the Coalesce source is the one Entra's parseExpression returns, never one built by hand; the template's
// Switch source is kept; a second run parses nothing. B5: the provisioning logs are read newest first, asked for.
func TestMappingSourcesComeFromParseExpression(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.manual()
	sp, job := h.setUp(in)
	h.configured(in)

	const coalesce = "Coalesce([mail], [userPrincipalName])"
	parsed, err := h.client().ParseExpression(t.Context(), sp.ID, job.ID, coalesce)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mappingSource(t, job.Schema, `emails[type eq "work"].value`), canonicalJSON(t, parsed); got != want {
		t.Errorf("saved emails source\n got %s\nwant what parseExpression returns %s", got, want)
	}
	template := templateSource(t, "active")
	if got := mappingSource(t, job.Schema, "active"); got != template {
		t.Errorf("saved active source %s, want the template's %s", got, template)
	}
	calls := h.requestsTo("POST", "/schema/parseExpression")
	if len(calls) != 2 || !strings.Contains(string(calls[0].Body), `Coalesce([mail], [userPrincipalName])`) {
		t.Errorf("parseExpression calls: %d, want the setup's one for Coalesce and the test's", len(calls))
	}
	logs := h.requestsTo("GET", "/auditLogs/provisioning")
	if len(logs) == 0 {
		t.Fatal("the provisioning logs were not read")
	}
	for _, r := range logs {
		if q, _ := url.ParseQuery(r.Query); q.Get("$orderby") != "activityDateTime desc" {
			t.Errorf("provisioning logs read without $orderby=activityDateTime desc: %s", r.Query)
		}
	}

	h.sb.Tenant.ResetRequests()
	h.mustRun(in)
	if n := len(h.requestsTo("POST", "/schema/parseExpression")) + len(h.requestsTo("PUT", "/schema")); n != 0 {
		t.Errorf("a second run parsed or saved the schema (%d requests)", n)
	}
}

// B1: when a mapping the template usually has right is not (an admin changed active), its source too comes
// from parseExpression.
func TestChangedActiveMappingIsParsedToo(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.manual()
	sp, job := h.setUp(in)
	var schema map[string]any
	if err := json.Unmarshal(job.Schema, &schema); err != nil {
		t.Fatal(err)
	}
	for _, om := range schema["synchronizationRules"].([]any)[0].(map[string]any)["objectMappings"].([]any) {
		for _, am := range om.(map[string]any)["attributeMappings"].([]any) {
			if m := am.(map[string]any); m["targetAttributeName"] == "active" {
				m["source"] = map[string]any{"type": "Constant", "name": "True", "expression": `"True"`, "parameters": []any{}}
			}
		}
	}
	h.graphDo("PUT", "/servicePrincipals/"+sp.ID+"/synchronization/jobs/"+job.ID+"/schema", schema)
	h.sb.Tenant.ResetRequests()
	h.mustRun(in)
	const switchExpr = `Switch([IsSoftDeleted], , "False", "True", "True", "False")`
	parsed, err := h.client().ParseExpression(t.Context(), sp.ID, job.ID, switchExpr)
	if err != nil {
		t.Fatal(err)
	}
	saved := h.sb.Tenant.SyncJobs(sp.ID)[0].Schema
	if got, want := mappingSource(t, saved, "active"), canonicalJSON(t, parsed); got != want {
		t.Errorf("active source\n got %s\nwant %s", got, want)
	}
}

// mappingSource is the source of the user mapping for target in a schema, as canonical JSON.
func mappingSource(t *testing.T, schema []byte, target string) string {
	t.Helper()
	var doc struct {
		SynchronizationRules []struct {
			ObjectMappings []struct {
				SourceObjectName  string
				AttributeMappings []struct {
					TargetAttributeName string
					Source              json.RawMessage
				}
			}
		}
	}
	if err := json.Unmarshal(schema, &doc); err != nil {
		t.Fatal(err)
	}
	for _, om := range doc.SynchronizationRules[0].ObjectMappings {
		for _, m := range om.AttributeMappings {
			if om.SourceObjectName == "User" && m.TargetAttributeName == target {
				return canonicalJSON(t, m.Source)
			}
		}
	}
	t.Fatalf("no user mapping for %s", target)
	return ""
}

func templateSource(t *testing.T, target string) string {
	t.Helper()
	raw, err := os.ReadFile("../sandbox/entra/fixtures/scim-template-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return mappingSource(t, raw, target)
}

// canonicalJSON writes v with sorted keys, so two encodings of the same value compare equal.
func canonicalJSON(t *testing.T, v any) string {
	t.Helper()
	raw, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(generic)
	return string(out)
}

// B2: saving new SCIM credentials replaces the whole set of provisioning secrets, so a re-run with a new token
// saves again every setting an admin made there, and Entra tests the saved set after.
func TestNewSCIMTokenKeepsAdminSettings(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.manual()
	sp, job := h.setUp(in)
	secretsPath := "/servicePrincipals/" + sp.ID + "/synchronization/secrets"
	first := h.requestsTo("PUT", secretsPath)
	if len(first) != 1 || !strings.Contains(string(first[0].Body), `"SyncNotificationSettings"`) || !strings.Contains(string(first[0].Body), `"SyncAll"`) {
		t.Fatalf("the first save did not send SyncNotificationSettings and SyncAll")
	}

	// An admin sets a notification e-mail, a deletion threshold and SkipOutOfScopeDeletions in the portal,
	// which saves the whole set.
	notify := `{"Enabled":true,"Recipients":"alerts@contoso.com","DeleteThresholdEnabled":true,"DeleteThresholdValue":25}`
	h.graphDo("PUT", secretsPath, map[string]any{"value": []map[string]any{
		{"key": "BaseAddress", "value": h.sb.SCIMURL}, {"key": "SecretToken", "value": in.SCIMToken.Reveal()},
		{"key": "SyncAll", "value": "false"}, {"key": "SyncNotificationSettings", "value": notify},
		{"key": "SkipOutOfScopeDeletions", "value": "True"},
	}})

	// The SaaS issues a new SCIM token (a second registration gets its own), and the admin runs idpctl with it.
	reg, err := backend.NewHTTP(h.sb.BackendURL, h.sb.BackendToken, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	scim, err := reg.Register(t.Context(), backend.Registration{TenantID: h.sb.TenantID, ClientID: "6c1f3a9e-2b7d-4e5f-8a0c-9d1e2f3a4b5c",
		ClientSecret: secret.New("another-client-secret-value-0123"), DiscoveryURL: "https://login.microsoftonline.com/" + h.sb.TenantID + "/v2.0/.well-known/openid-configuration"})
	if err != nil {
		t.Fatal(err)
	}
	if scim.Token.Equal(in.SCIMToken) {
		t.Fatal("the backend gave the same token")
	}
	in.SCIMToken = scim.Token
	h.sb.Tenant.ResetRequests()
	plan, _ := h.mustRun(in)
	run := h.sb.Tenant.Requests()
	if !strings.Contains(planText(t, plan), "SkipOutOfScopeDeletions") {
		t.Errorf("the plan does not say the admin's settings are kept:\n%s", planText(t, plan))
	}

	saved, err := h.client().GetSyncSecrets(t.Context(), sp.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range saved {
		got[s.Key] = s.Value.Reveal()
	}
	if got["SyncNotificationSettings"] != notify || got["SkipOutOfScopeDeletions"] != "True" || got["SyncAll"] != "false" || got["BaseAddress"] != h.sb.SCIMURL {
		t.Errorf("saved settings after the re-run: %v", got)
	}
	puts := h.requestsTo("PUT", secretsPath)
	if len(puts) != 1 || !strings.Contains(string(puts[0].Body), scim.Token.Reveal()) {
		t.Fatalf("the re-run did not save the new token")
	}
	// Order: Entra tests the new credentials, the set is read again, saved, and the saved set tested.
	var order []string
	for _, r := range run {
		switch {
		case strings.HasSuffix(r.Path, "/synchronization/jobs/validateCredentials"):
			order = append(order, "test new")
		case r.Method == "GET" && r.Path == secretsPath:
			order = append(order, "read")
		case r.Method == "PUT" && r.Path == secretsPath:
			order = append(order, "save")
		case strings.HasSuffix(r.Path, "/jobs/"+job.ID+"/validateCredentials"):
			if !strings.Contains(string(r.Body), `"useSavedCredentials":true`) {
				t.Errorf("saved-credentials test body %s", r.Body)
			}
			order = append(order, "test saved")
		}
	}
	if want := []string{"read", "test new", "read", "save", "test saved"}; !slices.Equal(order, want) {
		t.Errorf("secret requests %v, want %v (the plan's read first)", order, want)
	}
	// Entra provisions with the new token.
	if err := h.sb.Tenant.RunCycleNow(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	if status := h.sb.Tenant.SyncJobs(sp.ID)[0]; status.StatusCode == "Quarantine" {
		t.Errorf("the job is quarantined after a cycle with the new token: %+v", status)
	}
}

// planText renders a plan as the text a person reviews.
func planText(t *testing.T, plan *steps.Plan) string {
	t.Helper()
	raw, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// B3: rewriting the ID token's optional claims keeps the four properties of claims others set.
func TestRepairingClaimsKeepsOthersClaims(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.manual()
	h.setUp(in)
	app := appNamed(t, h, in.AppName)
	// Someone adds upn with include_externally_authenticated_upn and removes email.
	h.graphDo("PATCH", "/applications/"+app.ID, map[string]any{"optionalClaims": map[string]any{
		"idToken": []map[string]any{
			{"name": "preferred_username", "source": nil, "essential": false, "additionalProperties": []string{}},
			{"name": "upn", "source": nil, "essential": true, "additionalProperties": []string{"include_externally_authenticated_upn"}},
		},
		"accessToken": []map[string]any{{"name": "groups", "source": nil, "essential": false, "additionalProperties": []string{"sam_account_name"}}},
		"saml2Token":  []any{},
	}})
	h.mustRun(in)
	app = appNamed(t, h, in.AppName)
	idToken := claimsByName(t, app.Raw, "idToken")
	if c, ok := idToken["email"]; !ok || c["essential"] != false {
		t.Errorf("email was not restored: %v", idToken)
	}
	if got := canonicalJSON(t, idToken["upn"]); got != `{"additionalProperties":["include_externally_authenticated_upn"],"essential":true,"name":"upn","source":null}` {
		t.Errorf("upn after the re-run: %s", got)
	}
	if got := canonicalJSON(t, claimsByName(t, app.Raw, "accessToken")["groups"]); got != `{"additionalProperties":["sam_account_name"],"essential":false,"name":"groups","source":null}` {
		t.Errorf("the access token's groups claim after the re-run: %s", got)
	}
}

func appNamed(t *testing.T, h *harness, name string) entra.Application {
	t.Helper()
	for _, a := range h.sb.Tenant.Applications() {
		if a.DisplayName == name {
			return a
		}
	}
	t.Fatalf("no application %s", name)
	return entra.Application{}
}

func claimsByName(t *testing.T, app map[string]any, token string) map[string]map[string]any {
	t.Helper()
	oc, _ := app["optionalClaims"].(map[string]any)
	list, _ := oc[token].([]any)
	out := map[string]map[string]any{}
	for _, c := range list {
		claim := c.(map[string]any)
		out[claim["name"].(string)] = claim
	}
	return out
}

// B4: a quarantined job is restarted with QuarantineState, Escrows and Watermark, then started; the plan shows
// why it was quarantined, and after the re-run's next cycle it is active and out of quarantine.
func TestQuarantinedJobIsRestartedThenStarted(t *testing.T) {
	h := newHarness(t, sandbox.Options{})
	in := h.manual()
	sp, job := h.setUp(in)
	h.sb.Backend.SetFaults(refbackend.Faults{RejectAllTokens: true})
	if err := h.sb.Tenant.RunCycleNow(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	if status := h.sb.Tenant.SyncJobs(sp.ID)[0].StatusCode; status != "Quarantine" {
		t.Fatalf("a SaaS refusing every token left the job %s", status)
	}
	h.sb.Backend.SetFaults(refbackend.Faults{}) // the SaaS is fixed

	h.sb.Tenant.ResetRequests()
	plan, _ := h.mustRun(in)
	if text := planText(t, plan); !strings.Contains(text, "EncounteredQuarantineException") || !strings.Contains(text, "restart, then start") {
		t.Errorf("the plan does not show the quarantine and its reason:\n%s", text)
	}
	var sent []string
	for _, r := range h.sb.Tenant.Requests() {
		if strings.HasSuffix(r.Path, "/jobs/"+job.ID+"/restart") || strings.HasSuffix(r.Path, "/jobs/"+job.ID+"/start") {
			sent = append(sent, r.Path[strings.LastIndex(r.Path, "/")+1:]+" "+string(r.Body))
		}
	}
	if want := []string{`restart {"criteria":{"resetScope":"Escrows,Watermark,QuarantineState"}}`, "start "}; !slices.Equal(sent, want) {
		t.Errorf("job requests %q, want %q", sent, want)
	}
	if err := h.sb.Tenant.RunCycleNow(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	got := h.sb.Tenant.SyncJobs(sp.ID)[0]
	status, _ := got.Raw["status"].(map[string]any)
	if got.StatusCode != "Active" || status["quarantine"] != nil {
		t.Errorf("after the re-run and a cycle: status %s, quarantine %v", got.StatusCode, status["quarantine"])
	}
}

// B6: against a strict SCIM 2.0 server, --scim-compliant saves the tenant URL with aadOptscim062020, so a user
// unassigned in Entra is deactivated there ("active": false). Without it the plan suggests the flag, and the
// deactivation fails.
func TestSCIMCompliantDeactivatesInAStrictServer(t *testing.T) {
	for _, compliant := range []bool{true, false} {
		t.Run("compliant="+map[bool]string{true: "yes", false: "no"}[compliant], func(t *testing.T) {
			h := newHarness(t, sandbox.Options{StrictSCIM: true})
			in := h.manual()
			in.SCIMCompliant = compliant
			reporter := &progressRecorder{}
			h.reporter = reporter
			plan, _ := h.mustRun(in)
			suggested := strings.Contains(planText(t, plan), "--scim-compliant") && reporter.said("--scim-compliant")
			if suggested == compliant {
				t.Errorf("suggestion of --scim-compliant shown = %v", suggested)
			}
			if compliant && !strings.Contains(planText(t, plan), steps.CompliantFlag) {
				t.Errorf("the plan does not say what --scim-compliant changes:\n%s", planText(t, plan))
			}
			sp := appSP(t, h, in.AppName)
			saved, err := h.client().GetSyncSecrets(t.Context(), sp.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range saved {
				if s.Key == "BaseAddress" && strings.HasSuffix(s.Value.Reveal(), "?"+steps.CompliantFlag) != compliant {
					t.Errorf("saved tenant URL %s", s.Value.Reveal())
				}
			}

			user := in.AssignUsers[0]
			target, ok := h.sb.Backend.UserByUserName(user)
			if !ok || !target.Active() {
				t.Fatalf("%s did not arrive active", user)
			}
			for _, a := range h.sb.Tenant.AppRoleAssignments(sp.ID) {
				if a.PrincipalType == "User" {
					h.graphDo("DELETE", "/servicePrincipals/"+sp.ID+"/appRoleAssignedTo/"+a.ID, nil)
				}
			}
			job := h.sb.Tenant.SyncJobs(sp.ID)[0]
			if err := h.sb.Tenant.RunCycleNow(t.Context(), job.ID); err != nil {
				t.Fatal(err)
			}
			target, _ = h.sb.Backend.UserByUserName(user)
			if target.Active() == compliant {
				t.Errorf("compliant=%v: %s active=%v after being unassigned", compliant, user, target.Active())
			}
		})
	}
}

func appSP(t *testing.T, h *harness, name string) entra.ServicePrincipal {
	t.Helper()
	for _, s := range h.sb.Tenant.ServicePrincipals() {
		if s.DisplayName == name {
			return s
		}
	}
	t.Fatalf("no service principal %s", name)
	return entra.ServicePrincipal{}
}

// progressRecorder keeps the progress lines steps report.
type progressRecorder struct {
	waitRecorder
	lines []string
}

func (r *progressRecorder) Progress(_ string, line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
}

func (r *progressRecorder) said(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.lines, func(l string) bool { return strings.Contains(l, s) })
}
