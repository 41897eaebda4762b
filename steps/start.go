package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/idpctl/idpctl/graph"
)

// startProvisioning turns provisioning on (documented steps 4 and 5.6: "Provisioning Status: On"). A job in
// quarantine is brought back the way the portal and Microsoft's runbooks do it: a restart that lifts the
// quarantine, retries the failed objects and looks at every object again, then start (which also clears a
// quarantine, DOCS synchronization-synchronizationjob-start.md). This run has just saved working credentials
// and mappings, the usual causes. A job quarantined for too many deletions is left alone: Microsoft says not to
// restart it before the deletions are understood (ENTRA accidental-deletions.md), and only an admin can allow them.
type startProvisioning struct {
	// restartScope is set by idpctl restart entra: restart with it whatever the job's state (planRestart). Empty:
	// setup's start, which restarts only a quarantined job.
	restartScope string
}

// startPlan is the start step's payload: what apply sends, restart first when both are set.
type startPlan struct {
	Restart    bool   `json:"restart,omitempty"`    // the job is in quarantine
	ResetScope string `json:"resetScope,omitempty"` // what the restart resets
	Start      bool   `json:"start,omitempty"`
}

// quarantineResetScope is what a restart resets for a quarantined job (DOCS
// resources/synchronization-synchronizationjobrestartcriteria.md): QuarantineState lifts the quarantine, Escrows
// retries the objects that failed, Watermark has every object evaluated again. It is the portal's "Restart
// provisioning", written out; ForceDeletes, ConnectorDataStore and Full are never sent.
const quarantineResetScope = "Escrows,Watermark,QuarantineState"

// tooManyDeletes is the quarantine reason of the accidental-deletion threshold.
const tooManyDeletes = "TooManyDeletes"

func (s *startProvisioning) String() string { return "start provisioning" }

func (s *startProvisioning) Sets(phase Phase, out *Outputs) []Slot {
	if phase == Planning {
		return nil
	}
	return []Slot{&out.Started}
}

func (s *startProvisioning) Plan(ctx context.Context, env *Env) (Change, error) {
	if s.restartScope != "" {
		return s.planRestart(ctx, env)
	}
	job, err := env.Out().Job.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	switch {
	case job == nil:
		return Change{Payload: startPlan{Start: true}, Resources: []Resource{{Action: Run, Type: "provisioning", Name: "start"}}}, nil
	case strings.EqualFold(job.Status.Code, "Quarantine"):
		q := job.Status.Quarantine
		if q == nil {
			q = &graph.Quarantine{Reason: "Unknown"}
		}
		attrs := quarantineAttrs(q)
		if strings.EqualFold(q.Reason, tooManyDeletes) {
			return Change{Payload: startPlan{}, Resources: []Resource{{
				Action: NoOp, Type: "provisioning", Name: "quarantined", Attrs: attrs,
				Note: "more users would be disabled or deleted than the accidental-deletion threshold allows: review them in the provisioning logs (action StagedDelete), then allow the deletions or fix the assignments and restart in the Entra admin center; idpctl does not restart this job",
			}}}, nil
		}
		attrs = append(attrs, Value("reset scope", quarantineResetScope))
		return Change{Payload: startPlan{Restart: true, ResetScope: quarantineResetScope, Start: true}, Resources: []Resource{{
			Action: Run, Type: "provisioning", Name: "restart, then start", Attrs: attrs,
			Note: "the job is in quarantine; the restart lifts it and retries the failed users, the start turns provisioning back on",
		}}}, nil
	case strings.EqualFold(job.ScheduleState, "Active"):
		return Change{Payload: startPlan{}, Resources: []Resource{{Action: NoOp, Type: "provisioning", Name: "on", Attrs: []Attr{Value("status", job.Status.Code)}}}}, nil
	default:
		return Change{Payload: startPlan{Start: true}, Resources: []Resource{{
			Action: Run, Type: "provisioning", Name: "start", Attrs: []Attr{Set("schedule", job.ScheduleState, "Active")},
		}}}, nil
	}
}

func (s *startProvisioning) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[startPlan](change)
	if err != nil {
		return err
	}
	// In setup the job starts once its credentials and mappings are saved; restart changes neither.
	if s.restartScope == "" {
		for _, wait := range []func(context.Context) error{
			func(ctx context.Context) error { _, err := env.Out().Credentials.Wait(ctx); return err },
			func(ctx context.Context) error { _, err := env.Out().Mappings.Wait(ctx); return err },
		} {
			if err := wait(ctx); err != nil {
				return err
			}
		}
	}
	if p.Restart || p.Start {
		app, err := env.Out().App.Wait(ctx)
		if err != nil {
			return err
		}
		job, err := env.Out().Job.Wait(ctx)
		if err != nil {
			return err
		}
		if p.Restart {
			if err := env.Graph.RestartSyncJob(ctx, app.SP.ID, job.ID, p.ResetScope); err != nil {
				return fmt.Errorf("restarting provisioning: %w", err)
			}
		}
		if p.Start {
			if err := env.Graph.StartSyncJob(ctx, app.SP.ID, job.ID); err != nil {
				return fmt.Errorf("turning provisioning on: %w", err)
			}
		}
	}
	env.Out().Started.Set(struct{}{})
	return nil
}

// quarantineAttrs show why and since when a job is in quarantine.
func quarantineAttrs(q *graph.Quarantine) []Attr {
	attrs := []Attr{Value("quarantine reason", q.Reason)}
	if q.Error != nil && q.Error.Code != "" {
		attrs = append(attrs, Value("quarantine error", q.Error.Code))
	}
	if !q.SeriesBegan.IsZero() {
		attrs = append(attrs, Value("quarantined since", q.SeriesBegan.Format(time.RFC3339)))
	}
	return attrs
}
