package steps

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/idpctl/idpctl/graph"
)

// SCIMTemplateID is the synchronization template of non-gallery SCIM apps ("customappsso" is its retired
// predecessor, which Microsoft no longer supports).
const SCIMTemplateID = "scim"

// provisioningJob finds or creates the application's provisioning (synchronization) job from the scim template
// (documented step 3.4, "Create a new provisioning configuration"). A second job on one service principal
// must never appear: the job an earlier run created is read back by the id it saved, a create whose answer
// never came is looked for until the lookup window has passed, and a duplicate found is removed.
type provisioningJob struct{}

// jobPlan is the provisioning job step's payload. It names the job, not its status: the status changes with
// every provisioning cycle, and what the other steps do about it is in their own payloads.
type jobPlan struct {
	ID         string `json:"id,omitempty"` // the job found; "" when apply creates one
	TemplateID string `json:"templateId,omitempty"`
	// Duplicates are further scim jobs on the service principal, which apply removes.
	Duplicates []string `json:"duplicates,omitempty"`
	// CheckedAt is when the plan looked, as in applicationPlan (and likewise not saved).
	CheckedAt time.Time `json:"-"`
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
	p := jobPlan{CheckedAt: env.clock().Now().UTC()}
	var found *graph.SyncJob
	if app.Exists {
		jobs, err := s.find(ctx, env, app)
		if err != nil {
			return Change{}, err
		}
		if len(jobs) > 0 {
			found = &jobs[0]
			for _, j := range jobs[1:] {
				p.Duplicates = append(p.Duplicates, j.ID)
			}
		}
	}
	env.Out().Job.Set(found)
	var change Change
	if found != nil {
		p.ID, p.TemplateID = found.ID, found.TemplateID
		change.Resources = append(change.Resources, Resource{
			Action: NoOp, Type: "provisioning job", Name: found.ID, Attrs: []Attr{Value("status", found.Status.Code)},
		})
	} else {
		change.Resources = append(change.Resources, Resource{
			Action: Create, Type: "provisioning job", Name: "scim template", Attrs: []Attr{Later("id")},
		})
	}
	for _, id := range p.Duplicates {
		change.Resources = append(change.Resources, Resource{
			Action: Delete, Type: "provisioning job", Name: id, Note: "a second job on the same service principal, from an interrupted run",
		})
	}
	change.Payload = p
	return change, nil
}

// find returns the application's scim jobs, the one to keep first: the one the state file names, read back by
// its id, else the first listed. None when there is none.
func (s *provisioningJob) find(ctx context.Context, env *Env, app AppRef) ([]graph.SyncJob, error) {
	st := env.State.Get()
	ours := st.ServicePrincipalID == app.SP.ID
	var saved *graph.SyncJob
	if ours && st.ProvisioningJobID != "" {
		created := cmp.Or(st.ProvisioningJobCreated, st.ApplicationCreated)
		job, ok, err := readBack(ctx, env, created, func(ctx context.Context) (graph.SyncJob, error) {
			return env.Graph.GetSyncJob(ctx, app.SP.ID, st.ProvisioningJobID)
		})
		if err != nil {
			return nil, err
		}
		if ok {
			saved = &job
		}
	}
	list := func(ctx context.Context) ([]graph.SyncJob, bool, error) {
		jobs, err := env.Graph.ListSyncJobs(ctx, app.SP.ID)
		if err != nil {
			return nil, false, err
		}
		var scim []graph.SyncJob
		for _, j := range jobs {
			if isSCIMJob(j) {
				scim = append(scim, j)
			} else if strings.EqualFold(j.TemplateID, "customappsso") {
				return nil, false, fmt.Errorf("the application has a provisioning job from the retired customappsso template (%s); Microsoft's fix is to delete that job and create one from the scim template: delete it in the Entra admin center (Provisioning › Delete configuration), then run again", j.ID)
			}
		}
		return scim, len(scim) > 0, nil
	}
	jobs, _, err := list(ctx)
	if err != nil {
		return nil, err
	}
	if saved == nil && len(jobs) == 0 && ours && !st.ProvisioningJobPendingSince.IsZero() {
		// A create whose answer never came: Graph may not list the new job for a while.
		if jobs, _, err = lookFor(ctx, env, st.ProvisioningJobPendingSince, list); err != nil {
			return nil, err
		}
	}
	if saved != nil {
		jobs = append([]graph.SyncJob{*saved}, slices.DeleteFunc(jobs, func(j graph.SyncJob) bool { return strings.EqualFold(j.ID, saved.ID) })...)
	}
	if created := cmp.Or(st.ProvisioningJobCreated, app.App.Created); len(jobs) > 0 && !created.IsZero() {
		env.Graph.TrackCreated(created, jobs[0].ID)
	}
	return jobs, nil
}

func isSCIMJob(j graph.SyncJob) bool {
	return strings.EqualFold(j.TemplateID, SCIMTemplateID) || strings.HasPrefix(strings.ToLower(j.ID), SCIMTemplateID+".")
}

func (s *provisioningJob) Apply(ctx context.Context, env *Env, change Change) error {
	p, err := payloadOf[jobPlan](change)
	if err != nil {
		return err
	}
	app, err := env.Out().App.Wait(ctx)
	if err != nil {
		return err
	}
	for _, id := range p.Duplicates {
		env.progress(s, "removing the second provisioning job %s, from an interrupted run", id)
		if err := env.Graph.DeleteSyncJob(ctx, app.SP.ID, id); err != nil && !graph.IsNotFound(err) {
			return fmt.Errorf("removing the second provisioning job %s: %w", id, err)
		}
	}
	job := &graph.SyncJob{ID: p.ID, TemplateID: p.TemplateID}
	if p.ID == "" && !app.Created && env.clock().Now().Sub(p.CheckedAt) > freshFor {
		// Another run may have created it since the plan looked. (One this run's application has none.)
		jobs, err := s.find(ctx, env, app)
		if err != nil {
			return err
		}
		if len(jobs) > 0 {
			job = &jobs[0]
		}
	}
	if job.ID == "" {
		if job, err = s.create(ctx, env, app); err != nil {
			return err
		}
	}
	if err := env.State.Update(env.clock().Now(), func(d *StateData) {
		if d.ProvisioningJobID != job.ID {
			d.ProvisioningJobID, d.ProvisioningJobCreated = job.ID, time.Time{}
		}
		d.ProvisioningJobPendingSince = time.Time{}
	}); err != nil {
		return err
	}
	env.Out().Job.Set(job)
	return nil
}

// create creates the job. When the create was sent is in the state file first, so that a run killed while it
// is on its way looks for the job instead of making a second one.
func (s *provisioningJob) create(ctx context.Context, env *Env, app AppRef) (*graph.SyncJob, error) {
	sent := env.clock().Now()
	if err := env.State.Update(sent, func(d *StateData) { d.ProvisioningJobPendingSince = sent.UTC() }); err != nil {
		return nil, err
	}
	job, err := env.Graph.CreateSyncJob(ctx, app.SP.ID, SCIMTemplateID)
	if err != nil && answerLost(err) {
		env.progress(s, "creating the job answered %v; looking for it", err)
		jobs, found, lerr := lookFor(ctx, env, sent, func(ctx context.Context) ([]graph.SyncJob, bool, error) {
			jobs, err := env.Graph.ListSyncJobs(ctx, app.SP.ID)
			jobs = slices.DeleteFunc(jobs, func(j graph.SyncJob) bool { return !isSCIMJob(j) })
			return jobs, len(jobs) > 0, err
		})
		switch {
		case lerr != nil:
			return nil, fmt.Errorf("creating the provisioning job: %w", lerr)
		case !found:
			return nil, fmt.Errorf("creating the provisioning job: Graph answered %w, and no job appeared within %v, the lookup window: most likely none was created. Run again: the next run looks for it once more, and creates the job only if it is still not there", err, env.lookupWindow())
		}
		job, err = jobs[0], nil
		env.Graph.TrackCreated(sent, job.ID) // the client tracks what it created from its answers only
	}
	if err != nil {
		if graph.IsBadRequest(err) || graph.IsNotFound(err) {
			if templates, lerr := env.Graph.ListSyncTemplates(ctx, app.SP.ID); lerr == nil {
				var ids []string
				for _, t := range templates {
					ids = append(ids, t.ID)
				}
				return nil, fmt.Errorf("creating the provisioning job from template %q: %w (the application offers: %s)", SCIMTemplateID, err, strings.Join(ids, ", "))
			}
		}
		return nil, fmt.Errorf("creating the provisioning job: %w", err)
	}
	if err := env.State.Update(env.clock().Now(), func(d *StateData) {
		d.ProvisioningJobID, d.ProvisioningJobCreated, d.ProvisioningJobPendingSince = job.ID, sent.UTC(), time.Time{}
	}); err != nil {
		return nil, err
	}
	return &job, nil
}
