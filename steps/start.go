package steps

import (
	"context"
	"fmt"
	"strings"
)

// startProvisioning turns provisioning on (documented steps 4 and 5.6: "Provisioning Status: On"). A job in
// quarantine is restarted instead, which is what the portal's "Restart provisioning" does and what lifts the
// quarantine once its cause is fixed.
type startProvisioning struct{}

// startPlan is the start step's payload: what apply sends, restart first when both are set.
type startPlan struct {
	Restart bool `json:"restart,omitempty"` // the job is in quarantine
	Start   bool `json:"start,omitempty"`
}

func (s *startProvisioning) String() string { return "start provisioning" }

func (s *startProvisioning) Sets(phase Phase, out *Outputs) []Slot {
	if phase == Planning {
		return nil
	}
	return []Slot{&out.Started}
}

func (s *startProvisioning) Plan(ctx context.Context, env *Env) (Change, error) {
	job, err := env.Out().Job.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	switch {
	case job == nil:
		return Change{Payload: startPlan{Start: true}, Resources: []Resource{{Action: Run, Type: "provisioning", Name: "start"}}}, nil
	case strings.EqualFold(job.Status.Code, "Quarantine"):
		reason := ""
		if job.Status.Quarantine != nil {
			reason = job.Status.Quarantine.Reason
		}
		return Change{Payload: startPlan{Restart: true}, Resources: []Resource{{
			Action: Run, Type: "provisioning", Name: "restart",
			Note: fmt.Sprintf("the job is in quarantine (%s); restarting lifts it once the cause is fixed", reason),
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
	for _, wait := range []func(context.Context) error{
		func(ctx context.Context) error { _, err := env.Out().Credentials.Wait(ctx); return err },
		func(ctx context.Context) error { _, err := env.Out().Mappings.Wait(ctx); return err },
	} {
		if err := wait(ctx); err != nil {
			return err
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
			if err := env.Graph.RestartSyncJob(ctx, app.SP.ID, job.ID, ""); err != nil {
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
