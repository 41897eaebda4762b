package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/idpctl/idpctl/graph"
)

// SCIMTemplateID is the synchronization template of non-gallery SCIM apps ("customappsso" is its retired
// predecessor, which Microsoft no longer supports).
const SCIMTemplateID = "scim"

// provisioningJob finds or creates the application's provisioning (synchronization) job from the scim template
// (documented step 3.4, "Create a new provisioning configuration").
type provisioningJob struct{}

// jobPlan is the provisioning job step's payload. It names the job, not its status: the status changes with
// every provisioning cycle, and what the other steps do about it is in their own payloads.
type jobPlan struct {
	ID         string `json:"id,omitempty"` // the job found; "" when apply creates one
	TemplateID string `json:"templateId,omitempty"`
}

func (s *provisioningJob) String() string { return "provisioning job" }

func (s *provisioningJob) Sets(_ Phase, out *Outputs) []Slot {
	return []Slot{&out.Job}
}

func (s *provisioningJob) Plan(ctx context.Context, env *Env) (Change, error) {
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return Change{}, err
	}
	var found *graph.SyncJob
	if app.Exists {
		jobs, err := env.Graph.ListSyncJobs(ctx, app.SP.ID)
		if err != nil {
			return Change{}, err
		}
		for _, j := range jobs {
			if isSCIMJob(j) {
				found = &j
				break
			}
		}
		if found == nil {
			for _, j := range jobs {
				if strings.EqualFold(j.TemplateID, "customappsso") {
					return Change{}, fmt.Errorf("the application has a provisioning job from the retired customappsso template (%s); Microsoft's fix is to delete that job and create one from the scim template: delete it in the Entra admin center (Provisioning › Delete configuration), then run again", j.ID)
				}
			}
		}
	}
	env.Out().Job.Set(found)
	if found != nil {
		return Change{Payload: jobPlan{ID: found.ID, TemplateID: found.TemplateID}, Resources: []Resource{{
			Action: NoOp, Type: "provisioning job", Name: found.ID, Attrs: []Attr{Value("status", found.Status.Code)},
		}}}, nil
	}
	return Change{Payload: jobPlan{}, Resources: []Resource{{
		Action: Create, Type: "provisioning job", Name: "scim template", Attrs: []Attr{Later("id")},
	}}}, nil
}

func isSCIMJob(j graph.SyncJob) bool {
	return strings.EqualFold(j.TemplateID, SCIMTemplateID) || strings.HasPrefix(strings.ToLower(j.ID), SCIMTemplateID+".")
}

func (s *provisioningJob) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[jobPlan](change)
	if err != nil {
		return err
	}
	if p.ID != "" {
		env.Out().Job.Set(&graph.SyncJob{ID: p.ID, TemplateID: p.TemplateID})
		return nil
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	job, err := env.Graph.CreateSyncJob(ctx, app.SP.ID, SCIMTemplateID)
	if err != nil {
		if graph.IsBadRequest(err) || graph.IsNotFound(err) {
			if templates, lerr := env.Graph.ListSyncTemplates(ctx, app.SP.ID); lerr == nil {
				var ids []string
				for _, t := range templates {
					ids = append(ids, t.ID)
				}
				return fmt.Errorf("creating the provisioning job from template %q: %w (the application offers: %s)", SCIMTemplateID, err, strings.Join(ids, ", "))
			}
		}
		return fmt.Errorf("creating the provisioning job: %w", err)
	}
	if err := env.State.Update(env.clock().Now(), func(d *StateData) { d.ProvisioningJobID = job.ID }); err != nil {
		return err
	}
	env.Out().Job.Set(&job)
	return nil
}
