package steps_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/steps"
)

// cycleDuringConfirm is Graph while Entra's first cycle runs during the confirmation: the cycle runs just before
// the first read of the provisioning logs, and that read shows only half of its entries, as logs written a while
// after the provisioning they describe do.
type cycleDuringConfirm struct {
	steps.Graph
	tenant *entra.Tenant
	mu     sync.Mutex
	reads  int
}

func (g *cycleDuringConfirm) ListProvisioningEvents(ctx context.Context, q graph.ProvisioningQuery) ([]graph.ProvisioningEvent, error) {
	g.mu.Lock()
	g.reads++
	first := g.reads == 1
	g.mu.Unlock()
	if first {
		if err := g.tenant.RunCycleNow(ctx, q.JobID); err != nil {
			return nil, err
		}
	}
	events, err := g.Graph.ListProvisioningEvents(ctx, q)
	if first {
		events = events[:len(events)/2]
	}
	return events, err
}

// Confirmation of a large group (issue 12): five members are provisioned on demand in one group call, the
// others are read back from the SaaS and Entra's provisioning logs, read again with backoff while the cycle's
// entries are still arriving; the result counts everyone and lists only the users who need attention. The group
// has 150 members, over the 100 a result lists one by one: the sandbox's cycle for 2,000 takes minutes on a
// loaded machine, and TestLargeGroupSetup (cmd) counts the requests of a 2,000-member group.
func TestLargeGroupConfirmation(t *testing.T) {
	h := newHarness(t, sandbox.Options{Population: entra.Population{Users: 150, GroupSize: 150}})
	group := h.sb.Population.Groups[0]
	disabled, err := h.sb.Tenant.AddUser(entra.NewUser{UserPrincipalName: "ines.ortiz@" + h.sb.Demo.Domain, DisplayName: "Ines Ortiz", Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sb.Tenant.AddGroupMember(group.ID, disabled.ID); err != nil {
		t.Fatal(err)
	}
	waits := &waitRecorder{}
	h.reporter = waits
	in := h.manual()
	in.AssignGroups, in.AssignUsers = []string{group.DisplayName}, nil
	env := h.env(in)
	g := &cycleDuringConfirm{Graph: env.Graph, tenant: h.sb.Tenant}
	env.Graph = g
	ctx := t.Context()
	runner := &steps.Runner{Steps: steps.Flow()}
	plan, err := runner.Plan(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	report, err := runner.Apply(ctx, env, plan)
	if err != nil {
		t.Fatal(err)
	}

	onDemand := 0
	for _, r := range h.sb.Tenant.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/provisionOnDemand") {
			onDemand++
		}
	}
	if onDemand != 1 {
		t.Errorf("%d provisionOnDemand calls, want the group's one call with five members", onDemand)
	}
	if g.reads < 2 {
		t.Errorf("the provisioning logs were read %d times, want again while the cycle's entries were arriving", g.reads)
	}
	waits.saw(t, "confirm users arrived", steps.WaitReplication, "the provisioning logs")
	waits.allOver(t)

	result := steps.NewResult(env, plan, report, nil)
	doc, err := json.Marshal(result)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		UserCounts    steps.UserCounts   `json:"userCounts"`
		Users         []steps.UserResult `json:"users"`
		UsersUnlisted int                `json:"usersUnlisted"`
		Notes         []string           `json:"notes"`
	}
	if err := json.Unmarshal(doc, &out); err != nil {
		t.Fatal(err)
	}
	if want := (steps.UserCounts{Total: 151, Arrived: 150, Skipped: 1}); out.UserCounts != want {
		t.Errorf("counts %+v, want %+v", out.UserCounts, want)
	}
	if got := out.UserCounts.String(); got != "150 arrived, 1 skipped" {
		t.Errorf("summary %q", got)
	}
	if len(out.Users) != 1 || out.Users[0].ID != disabled.ID || out.Users[0].Outcome != steps.Skipped || out.UsersUnlisted != 150 {
		t.Errorf("listed %+v (%d unlisted), want only the disabled member, the 150 who arrived counted", out.Users, out.UsersUnlisted)
	}
	notes := strings.Join(out.Notes, "\n")
	if !strings.Contains(notes, "5 users provisioned on demand as a sample") || !strings.Contains(notes, "the other 146 were looked for in the SaaS and in Entra's provisioning logs") {
		t.Errorf("the notes do not say how the users were confirmed:\n%s", notes)
	}
}
