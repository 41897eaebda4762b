package entra

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
)

// provisioningEvent is what happened to one object in one run. It becomes a provisioningObjectSummary (DOCS
// resources/provisioningobjectsummary.md, provisioningobjectsummary-list.md examples) and, for on-demand runs,
// the value document of provisionOnDemand's answer (DOCS synchronization-synchronizationjob-provisionondemand.md).
type provisioningEvent struct {
	changeID   string
	action     string // provisioningAction: create, update, disable, delete, other
	status     string // provisioningResult: success, failure, skipped
	kind       string // User or Group
	sourceID   string
	sourceName string
	targetID   string
	targetType string
	err        *exportError
	skipReason string
	skipText   string
	steps      []provisioningStep
	modified   []modifiedProperty
	began      time.Time
	ended      time.Time
}

type provisioningStep struct {
	name        string
	stepType    string // provisioningStepType: import, scoping, matching, export
	status      string // success, failure, skipped
	description string
	details     map[string]string
	at          time.Time
}

type modifiedProperty struct {
	name     string
	old, new *string
}

func newEvent(kind, sourceID, sourceName string, began time.Time) *provisioningEvent {
	return &provisioningEvent{changeID: uuid.NewString(), kind: kind, sourceID: sourceID, sourceName: sourceName,
		action: "other", status: "success", began: began}
}

func (e *provisioningEvent) step(name, stepType, status, description string, details map[string]string, at time.Time) {
	e.steps = append(e.steps, provisioningStep{name: name, stepType: stepType, status: status, description: description, details: details, at: at})
}

// fail marks the event failed by err at its export step.
func (e *provisioningEvent) fail(err *exportError) {
	e.status, e.err = "failure", err
}

// skip marks the event skipped with a SkipReason (NotEffectivelyEntitled, RedundantExport).
func (e *provisioningEvent) skip(reason, text string) {
	e.status, e.skipReason, e.skipText = "skipped", reason, text
}

// logEntry renders the provisioningObjectSummary.
func (e *provisioningEvent) logEntry(tenantID, jobID, cycleID string, src *sourceDirectory, targetSystemID string) map[string]any {
	steps := make([]any, 0, len(e.steps))
	for _, s := range e.steps {
		details := map[string]any{}
		for k, v := range s.details {
			details[k] = v
		}
		steps = append(steps, map[string]any{
			"name": s.name, "provisioningStepType": s.stepType, "status": s.status, "description": s.description, "details": details,
		})
	}
	var errInfo any
	if e.err != nil {
		errInfo = map[string]any{
			"errorCode": e.err.code, "reason": e.err.reason, "additionalDetails": nil,
			"errorCategory": e.err.category, "recommendedAction": nil,
		}
	} else if e.skipReason != "" {
		errInfo = map[string]any{
			"errorCode": e.skipReason, "reason": e.skipText, "additionalDetails": nil,
			"errorCategory": "nonServiceFailure", "recommendedAction": nil,
		}
	}
	return map[string]any{
		"id":                     uuid.NewString(),
		"activityDateTime":       e.ended.UTC().Format(time.RFC3339Nano),
		"tenantId":               tenantID,
		"jobId":                  jobID,
		"cycleId":                cycleID,
		"changeId":               e.changeID,
		"provisioningAction":     e.action,
		"durationInMilliseconds": e.ended.Sub(e.began).Milliseconds(),
		"provisioningStatusInfo": map[string]any{"status": e.status, "errorInformation": errInfo},
		"provisioningSteps":      steps,
		"modifiedProperties":     e.modifiedList(),
		"servicePrincipal":       map[string]any{"id": src.spID, "displayName": src.spDisplayName},
		"sourceSystem":           map[string]any{"id": azureADDirectoryID, "displayName": "Azure Active Directory", "details": map[string]any{}},
		"targetSystem": map[string]any{"id": targetSystemID, "displayName": "customappsso", "details": map[string]any{
			"ApplicationId": src.appID, "ServicePrincipalId": src.spID, "ServicePrincipalDisplayName": src.spDisplayName,
		}},
		"initiatedBy":    map[string]any{"id": "", "displayName": "Azure AD Provisioning Service", "initiatorType": "system"},
		"sourceIdentity": map[string]any{"id": e.sourceID, "displayName": e.sourceName, "identityType": e.kind, "details": map[string]any{}},
		"targetIdentity": map[string]any{"id": e.targetID, "displayName": e.sourceName, "identityType": e.targetType, "details": map[string]any{}},
	}
}

func (e *provisioningEvent) modifiedList() []any {
	out := make([]any, 0, len(e.modified))
	for _, m := range e.modified {
		out = append(out, map[string]any{"displayName": m.name, "oldValue": nullableString(m.old), "newValue": nullableString(m.new)})
	}
	return out
}

func nullableString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// onDemandResult renders the answer of provisionOnDemand: key {"result", "details": {errorCode, errorMessage}}
// and value with the steps, in the shape of the documented example (capitalised step types and statuses).
func (e *provisioningEvent) onDemandResult(src *sourceDirectory, targetSystemID string) (onDemandResult, error) {
	result := map[string]string{"success": "Success", "failure": "Failure", "skipped": "Skipped"}[e.status]
	details := map[string]any{}
	statusInfo := map[string]any{"status": result, "errorCode": nil, "reason": nil, "additionalDetails": nil, "errorCategory": nil, "recommendedAction": nil}
	switch {
	case e.err != nil:
		details["errorCode"], details["errorMessage"] = e.err.code, e.err.reason
		statusInfo["errorCode"], statusInfo["reason"], statusInfo["errorCategory"] = e.err.code, e.err.reason, e.err.category
	case e.skipReason != "":
		details["errorCode"], details["errorMessage"] = e.skipReason, e.skipText
		statusInfo["errorCode"], statusInfo["reason"] = e.skipReason, e.skipText
	}
	key, err := json.Marshal(map[string]any{"result": result, "details": details})
	if err != nil {
		return onDemandResult{}, err
	}
	steps := make([]any, 0, len(e.steps))
	for _, s := range e.steps {
		details := map[string]any{}
		for k, v := range s.details {
			details[k] = v
		}
		steps = append(steps, map[string]any{
			"name": s.name, "type": capitalise(s.stepType), "status": capitalise(s.status), "description": s.description,
			"timestamp": s.at.UTC().Format(graphTime), "details": details,
		})
	}
	val, err := json.Marshal(map[string]any{
		"action":               capitalise(e.action),
		"changeId":             e.changeID,
		"startTime":            e.began.UTC().Format(graphTime),
		"endTime":              e.ended.UTC().Format(graphTime),
		"modifiedProperties":   e.modifiedList(),
		"provisioningSteps":    steps,
		"reportableIdentifier": e.sourceName,
		"statusInfo":           statusInfo,
		"sourceIdentity":       map[string]any{"id": e.sourceID, "type": e.kind, "displayName": e.sourceName, "details": nil},
		"sourceSystem":         map[string]any{"id": azureADDirectoryID, "name": "Azure Active Directory", "details": nil},
		"targetIdentity":       map[string]any{"id": nullIfEmpty(e.targetID), "type": e.targetType, "displayName": nil, "details": nil},
		"targetSystem":         map[string]any{"id": targetSystemID, "name": "customappsso", "details": nil},
	})
	if err != nil {
		return onDemandResult{}, err
	}
	return onDemandResult{Key: string(key), Value: string(val)}, nil
}

// graphTime is the timestamp format of the synchronization API (seven fractional digits, as its examples).
const graphTime = "2006-01-02T15:04:05.0000000Z"

// azureADDirectoryID is the id of the "Azure Active Directory" directory in the template schema.
const azureADDirectoryID = "66e4a8cc-1b7b-435e-95f8-f06cea133828"

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
