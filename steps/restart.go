package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Restart is `idpctl restart entra`: the Entra admin center's "Restart provisioning", with the reset scope
// written out, then a start when provisioning is not running. It is setup's own start step, told to restart
// whatever the job's state.
func Restart(resetScope []string) []Step {
	return []Step{
		&existing{}, // the application setup made, and its provisioning job
		&startProvisioning{restartScope: strings.Join(resetScope, ",")},
	}
}

// RestartScope is one value of a restart's resetScope and what it resets.
type RestartScope struct {
	Name    string
	Resets  string // what the value does, for --help and the plan
	Warning string // Microsoft's advice against it, when it has some
}

// RestartScopes are the values of a restart's resetScope idpctl sends, in the order of Microsoft's
// synchronizationJobRestartScope (the order a resetScope is written in on the wire) and in its words (DOCS
// resources/synchronization-synchronizationjobrestartcriteria.md). None is left out: Microsoft says not to use
// it ("Use the Start synchronizationJob API instead"), and idpctl starts a job that is not running anyway.
func RestartScopes() []RestartScope {
	return []RestartScope{
		{Name: "ConnectorDataStore", Resets: "clears the service's cache of every user and its links to the users in the SaaS",
			Warning: "Microsoft says not to use it without Microsoft Support's guidance"},
		{Name: "Escrows", Resets: "clears the provisioning failures the service retries (escrows): it stops retrying them"},
		{Name: "Watermark", Resets: "removes the watermark: the next cycle is an initial one that evaluates every user and group again, not only the changes"},
		{Name: "QuarantineState", Resets: "lifts the quarantine"},
		{Name: "Full", Resets: "all of these, the connector data store included",
			Warning: "Microsoft says not to clear the connector data store without Microsoft Support's guidance"},
		{Name: "ForceDeletes", Resets: "sends the disables and deletions that accidental-deletions prevention is holding back (quarantine TooManyDeletes)"},
	}
}

// PortalRestartScope is what `idpctl restart entra` resets by default: the portal's "Restart provisioning",
// which Microsoft describes as similar to QuarantineState, Watermark and Escrows. Setup restarts a quarantined
// job with it too.
func PortalRestartScope() []string { return strings.Split(quarantineResetScope, ",") }

// ParseRestartScope checks the values of --reset (names in any case, comma-separated or repeated) and returns
// them in Microsoft's spelling and order, each once: as the request writes them.
func ParseRestartScope(values []string) ([]string, error) {
	known := RestartScopes()
	var names, problems []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if strings.EqualFold(part, "None") {
				problems = append(problems, `--reset None: Microsoft says not to use it; leave --reset out for the portal's "Restart provisioning", and idpctl starts a job that is not running anyway`)
				continue
			}
			i := slices.IndexFunc(known, func(s RestartScope) bool { return strings.EqualFold(s.Name, part) })
			if i < 0 {
				all := make([]string, len(known))
				for j, s := range known {
					all[j] = s.Name
				}
				problems = append(problems, fmt.Sprintf("--reset %q: not a reset scope; use %s (idpctl restart entra --help says what each resets)", part, strings.Join(all, ", ")))
				continue
			}
			if !slices.Contains(names, known[i].Name) {
				names = append(names, known[i].Name)
			}
		}
	}
	if len(problems) > 0 {
		return nil, &InputError{Problems: problems}
	}
	if len(names) == 0 {
		return PortalRestartScope(), nil
	}
	slices.SortFunc(names, func(a, b string) int {
		at := slices.IndexFunc(known, func(s RestartScope) bool { return s.Name == a })
		bt := slices.IndexFunc(known, func(s RestartScope) bool { return s.Name == b })
		return at - bt
	})
	return names, nil
}

// resets reports whether a restart with the comma-separated scope resets the named part; Full resets them all.
func resets(scope, name string) bool {
	parts := strings.Split(scope, ",")
	return slices.Contains(parts, name) || slices.Contains(parts, "Full")
}

// planRestart is the start step's plan for `idpctl restart entra`: a restart with the scope the admin chose,
// each part explained, then a start when the job is not running, as the portal does.
func (s *startProvisioning) planRestart(ctx context.Context, env *Env) (Change, error) {
	_, job, err := requireJob(ctx, env)
	if err != nil {
		return Change{}, err
	}
	attrs := []Attr{Value("status", job.Status.Code), Value("schedule", job.ScheduleState)}
	quarantined := strings.EqualFold(job.Status.Code, "Quarantine")
	var notes []string
	if quarantined && job.Status.Quarantine != nil {
		q := job.Status.Quarantine
		attrs = append(attrs, quarantineAttrs(q)...)
		if strings.EqualFold(q.Reason, tooManyDeletes) && !resets(s.restartScope, "ForceDeletes") {
			notes = append(notes, "the job is quarantined for too many deletions: without --reset ForceDeletes the next cycle holds them back again; review them in the provisioning logs (action StagedDelete) first")
		}
	}
	attrs = append(attrs, Value("reset scope", s.restartScope))
	for _, rs := range RestartScopes() {
		if !slices.Contains(strings.Split(s.restartScope, ","), rs.Name) {
			continue
		}
		explained := rs.Resets
		if rs.Warning != "" {
			explained += " (" + rs.Warning + ")"
		}
		attrs = append(attrs, Value(rs.Name, explained))
	}
	// Start clears a quarantine too (DOCS synchronization-synchronizationjob-start.md), so a quarantined job is
	// started only when the admin asked for the quarantine to go.
	p := startPlan{Restart: true, ResetScope: s.restartScope}
	switch {
	case quarantined && !resets(s.restartScope, "QuarantineState"):
		notes = append(notes, "the quarantine stays: the reset scope leaves out QuarantineState")
	case quarantined:
		p.Start = true
		notes = append(notes, "the restart lifts the quarantine, the start turns provisioning back on")
	case !strings.EqualFold(job.ScheduleState, "Active"):
		p.Start = true
		notes = append(notes, "provisioning is off: the start after the restart turns it on")
	}
	name := "restart"
	if p.Start {
		name = "restart, then start"
	}
	return Change{Payload: p, Resources: []Resource{{
		Action: Run, Type: "provisioning", Name: name, Attrs: attrs, Note: strings.Join(notes, "; "),
	}}}, nil
}
