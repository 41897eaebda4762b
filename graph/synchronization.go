package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"

	"github.com/idpctl/idpctl/secret"
)

// The provisioning (synchronization) API, under /servicePrincipals/{id}/synchronization (DOCS
// resources/synchronization-overview.md).
// Every call is marked sync: the provisioning service answers 403/409 while it has not seen a new service
// principal, and those are retried for objects this client created.

func (c *Client) syncOf(spID string) *serviceprincipals.ItemSynchronizationRequestBuilder {
	return c.sdk.ServicePrincipals().ByServicePrincipalId(spID).Synchronization()
}

func (c *Client) jobOf(spID, jobID string) *serviceprincipals.ItemSynchronizationJobsSynchronizationJobItemRequestBuilder {
	return c.syncOf(spID).Jobs().BySynchronizationJobId(jobID)
}

// ListSyncTemplates lists the provisioning templates of a service principal ("scim" for a non-gallery app).
func (c *Client) ListSyncTemplates(ctx context.Context, spID string) ([]SyncTemplate, error) {
	b := c.syncOf(spID).Templates()
	list, err := pages(ctx, c, call{op: "GET /servicePrincipals/{id}/synchronization/templates", refs: []string{spID}, sync: true}, 0,
		func(ctx context.Context) (page[models.SynchronizationTemplateable], error) { return b.Get(ctx, nil) },
		func(ctx context.Context, link string) (page[models.SynchronizationTemplateable], error) {
			return b.WithUrl(link).Get(ctx, nil)
		})
	return convert(list, func(t models.SynchronizationTemplateable) SyncTemplate {
		if t == nil {
			return SyncTemplate{}
		}
		return SyncTemplate{ID: str(t.GetId()), FactoryTag: str(t.GetFactoryTag())}
	}), err
}

// ListSyncJobs lists the provisioning jobs of a service principal.
func (c *Client) ListSyncJobs(ctx context.Context, spID string) ([]SyncJob, error) {
	b := c.syncOf(spID).Jobs()
	list, err := pages(ctx, c, call{op: "GET /servicePrincipals/{id}/synchronization/jobs", refs: []string{spID}, sync: true}, 0,
		func(ctx context.Context) (page[models.SynchronizationJobable], error) { return b.Get(ctx, nil) },
		func(ctx context.Context, link string) (page[models.SynchronizationJobable], error) {
			return b.WithUrl(link).Get(ctx, nil)
		})
	return convert(list, toSyncJob), err
}

// GetSyncJob reads a provisioning job: its schedule and status (quarantine, last cycle, steady state).
func (c *Client) GetSyncJob(ctx context.Context, spID, jobID string) (SyncJob, error) {
	j, err := send(ctx, c, call{op: "GET /servicePrincipals/{id}/synchronization/jobs/{jobId}", refs: []string{spID, jobID}, sync: true},
		func(ctx context.Context) (models.SynchronizationJobable, error) {
			return c.jobOf(spID, jobID).Get(ctx, nil)
		})
	return toSyncJob(j), err
}

// CreateSyncJob creates a provisioning job from a template ("scim"). The job starts disabled.
func (c *Client) CreateSyncJob(ctx context.Context, spID, templateID string) (SyncJob, error) {
	body := models.NewSynchronizationJob()
	body.SetTemplateId(&templateID)
	j, err := send(ctx, c, call{op: "POST /servicePrincipals/{id}/synchronization/jobs", refs: []string{spID}, sync: true, create: true},
		func(ctx context.Context) (models.SynchronizationJobable, error) {
			return c.syncOf(spID).Jobs().Post(ctx, body, nil)
		})
	if err != nil {
		return SyncJob{}, err
	}
	job := toSyncJob(j)
	c.track(job.ID)
	return job, nil
}

// DeleteSyncJob deletes a provisioning job.
func (c *Client) DeleteSyncJob(ctx context.Context, spID, jobID string) error {
	_, err := send(ctx, c, call{op: "DELETE /servicePrincipals/{id}/synchronization/jobs/{jobId}", refs: []string{spID, jobID}, sync: true},
		func(ctx context.Context) (struct{}, error) { return struct{}{}, c.jobOf(spID, jobID).Delete(ctx, nil) })
	if err == nil {
		c.forget(jobID)
	}
	return err
}

// secretPairs converts credentials to the SDK's key/value pairs. Graph wants the key names in PascalCase
// (a client that sent "baseAddress" got 500 "Requested value 'baseAddress' was not found",
// microsoftgraph/msgraph-beta-sdk-java#372).
func secretPairs(op string, creds []SyncSecret) ([]models.SynchronizationSecretKeyStringValuePairable, []secret.Value, error) {
	pairs := make([]models.SynchronizationSecretKeyStringValuePairable, 0, len(creds))
	values := make([]secret.Value, 0, len(creds))
	for _, s := range creds {
		parsed, _ := models.ParseSynchronizationSecret(s.Key)
		key, ok := parsed.(*models.SynchronizationSecret)
		if !ok || key == nil {
			return nil, nil, fmt.Errorf("%s: %q is not a provisioning secret name Graph knows (they are PascalCase, such as BaseAddress, SecretToken, SyncAll)", op, s.Key)
		}
		v := s.Value.Reveal()
		p := models.NewSynchronizationSecretKeyStringValuePair()
		p.SetKey(key)
		p.SetValue(&v)
		pairs = append(pairs, p)
		values = append(values, s.Value)
	}
	return pairs, values, nil
}

// ValidateCredentials is the portal's "Test Connection" before a job exists: Entra calls the SCIM endpoint in
// creds (BaseAddress, SecretToken) for the template's schema. nil means the endpoint answered as Entra expects.
func (c *Client) ValidateCredentials(ctx context.Context, spID, templateID string, creds []SyncSecret) error {
	const op = "POST /servicePrincipals/{id}/synchronization/jobs/validateCredentials"
	pairs, values, err := secretPairs(op, creds)
	if err != nil {
		return err
	}
	body := serviceprincipals.NewItemSynchronizationJobsValidateCredentialsPostRequestBody()
	useSaved := false
	body.SetUseSavedCredentials(&useSaved)
	body.SetTemplateId(&templateID)
	body.SetCredentials(pairs)
	_, err = send(ctx, c, call{op: op, refs: []string{spID}, sync: true, secrets: values}, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.syncOf(spID).Jobs().ValidateCredentials().Post(ctx, body, nil)
	})
	return err
}

// ValidateJobCredentials tests a job's connection with creds, or with the saved credentials when creds is empty.
func (c *Client) ValidateJobCredentials(ctx context.Context, spID, jobID string, creds []SyncSecret) error {
	const op = "POST /servicePrincipals/{id}/synchronization/jobs/{jobId}/validateCredentials"
	pairs, values, err := secretPairs(op, creds)
	if err != nil {
		return err
	}
	body := serviceprincipals.NewItemSynchronizationJobsItemValidateCredentialsPostRequestBody()
	useSaved := len(creds) == 0
	body.SetUseSavedCredentials(&useSaved)
	if !useSaved {
		body.SetCredentials(pairs)
	}
	_, err = send(ctx, c, call{op: op, refs: []string{spID, jobID}, sync: true, secrets: values}, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.jobOf(spID, jobID).ValidateCredentials().Post(ctx, body, nil)
	})
	return err
}

// GetSyncSecrets reads the saved provisioning credentials and settings (GET .../synchronization/secrets, which
// Microsoft's Entra docs use to read the set before changing it: skip-out-of-scope-deletions.md). Settings such
// as BaseAddress, SyncAll or SyncNotificationSettings come back as saved; credentials come back masked (see
// SyncSecret.Masked). A service principal without saved secrets has none. The SDK has no GET for this property
// (Microsoft's OpenAPI description omits it), so the request is built by hand like the schema's.
func (c *Client) GetSyncSecrets(ctx context.Context, spID string) ([]SyncSecret, error) {
	const op = "GET /servicePrincipals/{id}/synchronization/secrets"
	res, err := send(ctx, c, call{op: op, refs: []string{spID}, sync: true}, func(ctx context.Context) (any, error) {
		ri := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.GET,
			"{+baseurl}/servicePrincipals/{sp}/synchronization/secrets", map[string]string{"sp": spID})
		ri.Headers.TryAdd("Accept", "application/json")
		return c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping())
	})
	if err != nil {
		return nil, err
	}
	raw, _ := res.([]byte)
	var body struct {
		Value []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"value"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		// The body holds credentials: never quote it.
		return nil, fmt.Errorf("%s: the answer is not the expected JSON (%d bytes)", op, len(raw))
	}
	out := make([]SyncSecret, 0, len(body.Value))
	for _, kv := range body.Value {
		out = append(out, SyncSecret{Key: kv.Key, Value: secret.New(kv.Value)})
	}
	return out, nil
}

// SaveSyncSecrets saves the provisioning credentials and settings (the portal's "Save"). The PUT replaces the
// whole set (ENTRA hybrid/cloud-sync/how-to-inbound-synch-ms-graph.md: "we don't support PATCH requests for
// secrets, so you need to add all the values in the body of the PUT request"): send every key to keep, read
// with GetSyncSecrets first.
func (c *Client) SaveSyncSecrets(ctx context.Context, spID string, secrets []SyncSecret) error {
	const op = "PUT /servicePrincipals/{id}/synchronization/secrets"
	pairs, values, err := secretPairs(op, secrets)
	if err != nil {
		return err
	}
	body := serviceprincipals.NewItemSynchronizationSecretsPutRequestBody()
	body.SetValue(pairs)
	_, err = send(ctx, c, call{op: op, refs: []string{spID}, sync: true, secrets: values}, func(ctx context.Context) (struct{}, error) {
		// Put is deprecated in favour of PutAsSecretsPutResponse; both send the same request (msgraph-sdk-go
		// serviceprincipals/item_synchronization_secrets_request_builder.go).
		_, err := c.syncOf(spID).Secrets().PutAsSecretsPutResponse(ctx, body, nil)
		return struct{}{}, err
	})
	return err
}

// errorMapping makes raw requests report Graph's error envelope like the typed ones do.
func errorMapping() abstractions.ErrorMappings {
	return abstractions.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}
}

const schemaTemplate = "{+baseurl}/servicePrincipals/{sp}/synchronization/jobs/{job}/schema"

// GetSyncSchema returns a job's synchronization schema as the raw JSON Graph sent. It is read raw because the
// typed models drop unknown enum values and, through their backing store, would PUT back almost nothing
// (kiota-abstractions-go store/inmemory_backing_store.go; the SDK's Parse* enum functions return nil for an
// unknown value).
func (c *Client) GetSyncSchema(ctx context.Context, spID, jobID string) ([]byte, error) {
	res, err := send(ctx, c, call{op: "GET /servicePrincipals/{id}/synchronization/jobs/{jobId}/schema", refs: []string{spID, jobID}, sync: true},
		func(ctx context.Context) (any, error) {
			ri := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.GET, schemaTemplate,
				map[string]string{"sp": spID, "job": jobID})
			ri.Headers.TryAdd("Accept", "application/json")
			return c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping())
		})
	if err != nil {
		return nil, err
	}
	raw, _ := res.([]byte)
	if !json.Valid(raw) {
		return nil, fmt.Errorf("GET /servicePrincipals/{id}/synchronization/jobs/{jobId}/schema: the answer is not JSON (%d bytes)", len(raw))
	}
	return raw, nil
}

// PutSyncSchema replaces a job's synchronization schema with raw JSON (the whole schema, as GetSyncSchema
// returned it, edited). The SDK only offers PATCH here, which the service answers with 404
// (microsoftgraph/msgraph-sdk-python#820), so the PUT is built by hand and sent through the same adapter (token,
// pipeline, errors).
func (c *Client) PutSyncSchema(ctx context.Context, spID, jobID string, schema []byte) error {
	const op = "PUT /servicePrincipals/{id}/synchronization/jobs/{jobId}/schema"
	if !json.Valid(schema) {
		return fmt.Errorf("%s: the schema is not valid JSON", op)
	}
	_, err := send(ctx, c, call{op: op, refs: []string{spID, jobID}, sync: true}, func(ctx context.Context) (struct{}, error) {
		ri := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.PUT, schemaTemplate,
			map[string]string{"sp": spID, "job": jobID})
		ri.SetStreamContentAndContentType(schema, "application/json")
		return struct{}{}, c.adapter.SendNoContent(ctx, ri, errorMapping())
	})
	return err
}

// ParseExpression turns an attribute-mapping expression, e.g. `Coalesce([mail], [userPrincipalName])`, into the
// source structure the provisioning service stores for it (POST .../jobs/{jobId}/schema/parseExpression, DOCS
// synchronization-synchronizationschema-parseexpression.md). The service names a function's parameters after
// its own parameter definitions, so a source built this way is the one the portal would save. An expression the
// service cannot parse is an error naming it.
func (c *Client) ParseExpression(ctx context.Context, spID, jobID, expression string) (MappingSource, error) {
	const op = "POST /servicePrincipals/{id}/synchronization/jobs/{jobId}/schema/parseExpression"
	body := serviceprincipals.NewItemSynchronizationJobsItemSchemaParseExpressionPostRequestBody()
	body.SetExpression(&expression)
	res, err := send(ctx, c, call{op: op, refs: []string{spID, jobID}, sync: true}, func(ctx context.Context) (models.ParseExpressionResponseable, error) {
		return c.jobOf(spID, jobID).Schema().ParseExpression().Post(ctx, body, nil)
	})
	if err != nil {
		return MappingSource{}, err
	}
	if res == nil || !flag(res.GetParsingSucceeded()) || res.GetParsedExpression() == nil {
		reason := "it answered without a parsed expression"
		if res != nil && res.GetError() != nil {
			reason = strings.TrimSpace(str(res.GetError().GetCode()) + " " + str(res.GetError().GetMessage()))
		}
		return MappingSource{}, fmt.Errorf("%s: the provisioning service could not parse the expression %s: %s", op, expression, reason)
	}
	return toMappingSource(res.GetParsedExpression()), nil
}

// StartSyncJob starts (or resumes) a job: the portal's "Provisioning Status: On".
func (c *Client) StartSyncJob(ctx context.Context, spID, jobID string) error {
	_, err := send(ctx, c, call{op: "POST /servicePrincipals/{id}/synchronization/jobs/{jobId}/start", refs: []string{spID, jobID}, sync: true},
		func(ctx context.Context) (struct{}, error) {
			return struct{}{}, c.jobOf(spID, jobID).Start().Post(ctx, nil)
		})
	return err
}

// PauseSyncJob pauses a job: the portal's "Provisioning Status: Off".
func (c *Client) PauseSyncJob(ctx context.Context, spID, jobID string) error {
	_, err := send(ctx, c, call{op: "POST /servicePrincipals/{id}/synchronization/jobs/{jobId}/pause", refs: []string{spID, jobID}, sync: true},
		func(ctx context.Context) (struct{}, error) {
			return struct{}{}, c.jobOf(spID, jobID).Pause().Post(ctx, nil)
		})
	return err
}

// restartScopes are the synchronizationJobRestartScope flags (DOCS synchronization-synchronizationjobrestartcriteria.md).
func restartScopes() []string {
	return []string{"None", "ConnectorDataStore", "Escrows", "Watermark", "QuarantineState", "Full", "ForceDeletes"}
}

// RestartSyncJob restarts a job. resetScope is a comma-separated list of restartScopes; empty is the portal's
// "Restart provisioning" (clears quarantine, watermark and escrows).
func (c *Client) RestartSyncJob(ctx context.Context, spID, jobID, resetScope string) error {
	const op = "POST /servicePrincipals/{id}/synchronization/jobs/{jobId}/restart"
	criteria := models.NewSynchronizationJobRestartCriteria()
	if strings.TrimSpace(resetScope) != "" {
		known := restartScopes()
		var names []string
		for _, s := range strings.Split(resetScope, ",") {
			s = strings.TrimSpace(s)
			i := slices.IndexFunc(known, func(r string) bool { return strings.EqualFold(r, s) })
			if i < 0 {
				return fmt.Errorf("%s: unknown reset scope %q; use a comma-separated list of %s, or nothing for the portal's restart",
					op, s, strings.Join(known, ", "))
			}
			names = append(names, known[i])
		}
		parsed, _ := models.ParseSynchronizationJobRestartScope(strings.Join(names, ","))
		scope, ok := parsed.(*models.SynchronizationJobRestartScope)
		if !ok || scope == nil {
			return fmt.Errorf("%s: reset scope %q was not understood", op, resetScope)
		}
		criteria.SetResetScope(scope)
	}
	body := serviceprincipals.NewItemSynchronizationJobsItemRestartPostRequestBody()
	body.SetCriteria(criteria)
	_, err := send(ctx, c, call{op: op, refs: []string{spID, jobID}, sync: true}, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.jobOf(spID, jobID).Restart().Post(ctx, body, nil)
	})
	return err
}

// ProvisionOnDemand provisions one user, or one group with up to five of its members, now instead of at the
// next cycle. ruleID is the id of the schema's synchronization rule. Graph allows 5 calls per 10 seconds per
// job; a 429 is retried after the wait Graph asks for. A user assigned minutes ago can come back Skipped as not
// in scope while the assignment replicates: that is a result, not an error, and worth trying again later.
func (c *Client) ProvisionOnDemand(ctx context.Context, spID, jobID, ruleID string, subject OnDemandSubject) (OnDemandResult, error) {
	const op = "POST /servicePrincipals/{id}/synchronization/jobs/{jobId}/provisionOnDemand"
	s := models.NewSynchronizationJobSubject()
	s.SetObjectId(&subject.ObjectID)
	s.SetObjectTypeName(&subject.ObjectTypeName)
	if len(subject.Members) > 0 {
		members := make([]models.SynchronizationJobSubjectable, 0, len(subject.Members))
		for _, id := range subject.Members {
			m := models.NewSynchronizationJobSubject()
			m.SetObjectId(&id)
			user := "User"
			m.SetObjectTypeName(&user)
			members = append(members, m)
		}
		links := models.NewSynchronizationLinkedObjects()
		links.SetMembers(members)
		s.SetLinks(links)
	}
	param := models.NewSynchronizationJobApplicationParameters()
	param.SetRuleId(&ruleID)
	param.SetSubjects([]models.SynchronizationJobSubjectable{s})
	body := serviceprincipals.NewItemSynchronizationJobsItemProvisionOnDemandPostRequestBody()
	body.SetParameters([]models.SynchronizationJobApplicationParametersable{param})
	kv, err := send(ctx, c, call{op: op, refs: []string{spID, jobID}, sync: true}, func(ctx context.Context) (models.StringKeyStringValuePairable, error) {
		return c.jobOf(spID, jobID).ProvisionOnDemand().Post(ctx, body, nil)
	})
	if err != nil {
		return OnDemandResult{}, err
	}
	if kv == nil {
		return OnDemandResult{}, fmt.Errorf("%s: Graph answered without a result", op)
	}
	return parseOnDemand(str(kv.GetKey()), str(kv.GetValue())), nil
}

// parseOnDemand reads the two JSON texts of a provisionOnDemand answer (DOCS
// synchronization-synchronizationjob-provisionondemand.md): key {"result", "details": {"errorCode",
// "errorMessage"}} and value {"action", "statusInfo": {"status", "errorCode", "reason"}, "targetIdentity":
// {"id"}, "provisioningSteps": [...]}. It is tolerant: unknown fields are ignored, unreadable text leaves the
// fields empty, and the raw texts are kept.
func parseOnDemand(key, value string) OnDemandResult {
	r := OnDemandResult{RawKey: key, RawValue: value}
	var k struct {
		Result  string         `json:"result"`
		Details map[string]any `json:"details"`
	}
	if json.Unmarshal([]byte(key), &k) == nil {
		r.Result = k.Result
		r.ErrorCode = text(k.Details["errorCode"])
		r.Reason = firstNonEmpty(text(k.Details["errorMessage"]), text(k.Details["reason"]))
	}
	var v struct {
		Action     string `json:"action"`
		StatusInfo struct {
			Status    any `json:"status"`
			ErrorCode any `json:"errorCode"`
			Reason    any `json:"reason"`
		} `json:"statusInfo"`
		TargetIdentity struct {
			ID any `json:"id"`
		} `json:"targetIdentity"`
		Steps []struct {
			Name        any `json:"name"`
			Type        any `json:"type"`
			Status      any `json:"status"`
			Description any `json:"description"`
		} `json:"provisioningSteps"`
	}
	if json.Unmarshal([]byte(value), &v) == nil {
		r.Action = v.Action
		r.Result = firstNonEmpty(r.Result, text(v.StatusInfo.Status))
		r.ErrorCode = firstNonEmpty(r.ErrorCode, text(v.StatusInfo.ErrorCode))
		r.Reason = firstNonEmpty(r.Reason, text(v.StatusInfo.Reason))
		r.TargetID = text(v.TargetIdentity.ID)
		for _, s := range v.Steps {
			r.RawSteps = append(r.RawSteps, OnDemandStep{Name: text(s.Name), Type: text(s.Type), Status: text(s.Status), Description: text(s.Description)})
		}
	}
	return r
}

// text reads a JSON value that should be a string; null and other types give "" (numbers print as numbers).
func text(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	case float64, bool:
		return fmt.Sprint(t)
	}
	return ""
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
