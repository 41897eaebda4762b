package steps_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/idpctl/idpctl/steps"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with the current output")

// representativePlan has every action, every kind of attribute value, a step with nothing to do and a note
// long enough to wrap at every width.
func representativePlan() *steps.Plan {
	return &steps.Plan{Steps: []steps.PlannedStep{
		{Step: "application", Change: steps.Change{Resources: []steps.Resource{{
			Action: steps.Create, Type: "enterprise application", Name: "Smallstep",
			Note:  `from Entra's non-gallery template ("Create your own application")`,
			Attrs: []steps.Attr{steps.Later("client id"), steps.Later("object id"), steps.Later("service principal")},
		}}}},
		{Step: "assignments", Change: steps.Change{Resources: []steps.Resource{
			{Action: steps.NoOp, Type: "assignment", Name: "group Smallstep Users"},
			{Action: steps.Create, Type: "assignment", Name: "user grady.archie@contoso.onmicrosoft.com", Attrs: []steps.Attr{steps.Value("role", "User")}},
		}}},
		{Step: "single sign-on settings", Change: steps.Change{Resources: []steps.Resource{{
			Action: steps.Update, Type: "app registration settings", Name: "Smallstep",
			Attrs: []steps.Attr{
				steps.Set("sign-in audience", "AzureADMyOrg", "AzureADMultipleOrgs"),
				steps.Set("display name", "Smallstep", "Smallstep"),
				{Name: "client id", Old: "563458bd-edc9-4eaf-93db-e0f02059a2b4", Unknown: true},
				steps.Value("OIDC metadata URL", "https://login.microsoftonline.com/3b321653-975d-483d-b6de-ef7ea74cbd99/v2.0/.well-known/openid-configuration"),
			},
		}}}},
		{Step: "client secret", Change: steps.Change{Resources: []steps.Resource{
			{
				Action: steps.Delete, Type: "client secret", Name: "idpctl 2026-05-01",
				Note: "replaces a secret idpctl created in an earlier run but could not confirm was handed over to the SaaS, so that no orphaned secret stays valid on the application",
			},
			{Action: steps.Create, Type: "client secret", Name: "idpctl 2026-11-29", Attrs: []steps.Attr{
				steps.Value("expires", "2027-05-28"), steps.Sensitive("value"), steps.Value("delivered to", "file ./client-secret"),
			}},
		}}},
		{Step: "attribute mappings", Change: steps.Change{}},
		{Step: "confirm users arrived", Change: steps.Change{Resources: []steps.Resource{{
			Action: steps.Run, Type: "provisioning on demand", Name: "1 user, 1 group",
			Note: "then each user is read back from the SCIM endpoint and the provisioning logs",
		}}}},
	}}
}

func TestPlanRenderTextGolden(t *testing.T) {
	plan := representativePlan()
	for _, width := range []int{40, 80, 120} {
		for _, color := range []bool{false, true} {
			name := fmt.Sprintf("plan-w%d", width)
			if color {
				name += "-color"
			}
			t.Run(name, func(t *testing.T) {
				var b bytes.Buffer
				if err := plan.RenderText(&b, steps.RenderOptions{Width: width, Color: color}); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("testdata", name+".golden"), b.Bytes())

				text := b.String()
				if hasANSI := strings.Contains(text, "\x1b["); hasANSI != color {
					t.Errorf("colour %v but ANSI escapes present = %v", color, hasANSI)
				}
				plain := ansi.ReplaceAllString(text, "")
				for _, line := range strings.Split(plain, "\n") {
					// Every line fits the width but the closing counts, which scripts read as one line: heads,
					// notes and attribute values wrap to it.
					if utf8.RuneCountInString(line) > width && !strings.HasPrefix(line, "Plan: ") {
						t.Errorf("line of %d characters at width %d: %q", len(line), width, line)
					}
				}
				// GUIDs and quoted values are never broken, at any width.
				for _, whole := range []string{`"563458bd-edc9-4eaf-93db-e0f02059a2b4"`, "3b321653-975d-483d-b6de-ef7ea74cbd99", `"file ./client-secret"`} {
					if !strings.Contains(plain, whole) {
						t.Errorf("%s is broken at width %d:\n%s", whole, width, plain)
					}
				}
				if !strings.HasSuffix(plain, "Plan: 3 to create, 1 to update, 1 to delete, 1 to run, 1 unchanged.\n") {
					t.Errorf("plan does not end with its counts:\n%s", plain)
				}
			})
		}
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// golden compares got with the file, or rewrites the file under -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./steps -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update if the change is intended)\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}

func TestPlanRenderTextMarkers(t *testing.T) {
	var b strings.Builder
	if err := representativePlan().RenderText(&b, steps.RenderOptions{Width: 80}); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"Symbols: + create  ~ update  - delete  > run\n",
		`  + enterprise application "Smallstep"` + "\n",
		`  ~ app registration settings "Smallstep"` + "\n",
		`  - client secret "idpctl 2026-05-01"` + "\n",
		`  > provisioning on demand "1 user, 1 group"` + "\n",
		`    assignment "group Smallstep Users" (unchanged)` + "\n",
		"      client id         = (known after apply)\n",
		`      sign-in audience  = "AzureADMyOrg" -> "AzureADMultipleOrgs"` + "\n",
		`      display name      = "Smallstep"` + "\n",
		// Too long for 80 columns: it continues under itself, not mid-word.
		`      client id         = "563458bd-edc9-4eaf-93db-e0f02059a2b4" ->` + "\n" +
			`                          (known after apply)` + "\n",
		"      value        = (sensitive)\n",
		"# attribute mappings\n    (nothing to do)\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
}

func TestPlanWithoutChanges(t *testing.T) {
	plan := &steps.Plan{Steps: []steps.PlannedStep{
		{Step: "application", Change: steps.Change{Resources: []steps.Resource{{Action: steps.NoOp, Type: "enterprise application", Name: "Smallstep"}}}},
		{Step: "confirm users arrived", Change: steps.Change{Resources: []steps.Resource{{Action: steps.NoOp, Type: "provisioned users", Name: "4 users in the SaaS"}}}},
	}}
	if plan.Pending() {
		t.Fatal("a plan of no-ops is pending")
	}
	var b strings.Builder
	if err := plan.RenderText(&b, steps.RenderOptions{Width: 80}); err != nil {
		t.Fatal(err)
	}
	// One line, not one per unchanged resource.
	if text, want := b.String(), "No changes. The tenant already matches the configuration (2 unchanged).\n"; text != want {
		t.Errorf("a plan without changes renders\n%s\nwant\n%s", text, want)
	}
}

func TestCountsString(t *testing.T) {
	cases := []struct {
		counts steps.Counts
		want   string
	}{
		{steps.Counts{}, "Plan: 0 to create, 0 to update, 0 unchanged."},
		{steps.Counts{Create: 7, Update: 2, Run: 3}, "Plan: 7 to create, 2 to update, 3 to run, 0 unchanged."},
		{steps.Counts{Create: 1, Update: 1, Delete: 1, Run: 1, Unchanged: 9}, "Plan: 1 to create, 1 to update, 1 to delete, 1 to run, 9 unchanged."},
		{steps.Counts{Unchanged: 11}, "Plan: 0 to create, 0 to update, 11 unchanged."},
	}
	for _, c := range cases {
		if got := c.counts.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.counts, got, c.want)
		}
	}
	got := representativePlan().Counts()
	if want := (steps.Counts{Create: 3, Update: 1, Delete: 1, Run: 1, Unchanged: 1}); got != want {
		t.Errorf("Counts() = %+v, want %+v", got, want)
	}
}

func TestPlanJSON(t *testing.T) {
	raw, err := json.Marshal(representativePlan())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Pending bool
		Counts  map[string]int
		Steps   []struct {
			Step   string
			Change struct {
				Resources []struct {
					Action, Type, Name, Note string
					Attributes               []map[string]any
				}
			}
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !doc.Pending {
		t.Error("pending = false")
	}
	wantCounts := map[string]int{"create": 3, "update": 1, "delete": 1, "run": 1, "unchanged": 1}
	if fmt.Sprint(doc.Counts) != fmt.Sprint(wantCounts) {
		t.Errorf("counts = %v, want %v", doc.Counts, wantCounts)
	}
	if len(doc.Steps) != 6 || doc.Steps[0].Step != "application" || doc.Steps[5].Step != "confirm users arrived" {
		t.Fatalf("steps = %+v", doc.Steps)
	}
	app := doc.Steps[0].Change.Resources[0]
	if app.Action != "create" || app.Type != "enterprise application" || app.Name != "Smallstep" || !strings.Contains(app.Note, "non-gallery") {
		t.Errorf("application resource = %+v", app)
	}
	if a := app.Attributes[0]; a["name"] != "client id" || a["knownAfterApply"] != true || a["new"] != nil {
		t.Errorf("known-after-apply attribute = %v", a)
	}
	sso := doc.Steps[2].Change.Resources[0].Attributes[0]
	if sso["old"] != "AzureADMyOrg" || sso["new"] != "AzureADMultipleOrgs" {
		t.Errorf("old -> new attribute = %v", sso)
	}
	secretAttr := doc.Steps[3].Change.Resources[1].Attributes[1]
	if secretAttr["name"] != "value" || secretAttr["sensitive"] != true || len(secretAttr) != 2 {
		t.Errorf("sensitive attribute = %v, want only its name and sensitive", secretAttr)
	}
	noChanges, err := json.Marshal(&steps.Plan{Steps: []steps.PlannedStep{{Step: "application", Change: steps.Change{Resources: []steps.Resource{{Action: steps.NoOp, Type: "t", Name: "n"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(noChanges), `"pending":false`) || !strings.Contains(string(noChanges), `"unchanged":1`) {
		t.Errorf("no-change plan JSON = %s", noChanges)
	}
}

// Folded, the plan shows only what changes; the closing line still counts the unchanged resources.
func TestPlanRenderTextHideUnchanged(t *testing.T) {
	var b bytes.Buffer
	if err := representativePlan().RenderText(&b, steps.RenderOptions{Width: 80, HideUnchanged: true}); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, hidden := range []string{"Smallstep Users", "(unchanged)", "# attribute mappings", "(nothing to do)"} {
		if strings.Contains(text, hidden) {
			t.Errorf("folded plan shows %q:\n%s", hidden, text)
		}
	}
	for _, shown := range []string{"# assignments", `+ assignment "user grady.archie@contoso.onmicrosoft.com"`, "# confirm users arrived",
		"Plan: 3 to create, 1 to update, 1 to delete, 1 to run, 1 unchanged."} {
		if !strings.Contains(text, shown) {
			t.Errorf("folded plan lacks %q:\n%s", shown, text)
		}
	}
}
