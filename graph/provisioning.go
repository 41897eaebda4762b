package graph

import (
	"context"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// ListProvisioningEvents reads the provisioning logs (GET /auditLogs/provisioning), newest first. The filter
// uses only what the API documents: eq and gt; its filters are case-sensitive, so ids are sent as Graph
// writes them (lower case). The order is asked for: the API's default order is not documented, and Top keeps
// the first entries, which must be the newest (Microsoft's own example sends $orderby=activityDateTime desc,
// ENTRA cross-tenant-synchronization-configure-graph.md).
func (c *Client) ListProvisioningEvents(ctx context.Context, q ProvisioningQuery) ([]ProvisioningEvent, error) {
	var clauses []string
	if q.ServicePrincipalID != "" {
		clauses = append(clauses, "servicePrincipal/id eq "+quote(strings.ToLower(q.ServicePrincipalID)))
	}
	if q.JobID != "" {
		clauses = append(clauses, "jobId eq "+quote(q.JobID))
	}
	if !q.Since.IsZero() {
		clauses = append(clauses, "activityDateTime gt "+q.Since.UTC().Format(time.RFC3339))
	}
	params := &auditlogs.ProvisioningRequestBuilderGetQueryParameters{Orderby: []string{"activityDateTime desc"}}
	if len(clauses) > 0 {
		filter := strings.Join(clauses, " and ")
		params.Filter = &filter
	}
	if q.Top > 0 {
		top := clampTop(q.Top)
		params.Top = &top
	}
	cfg := &auditlogs.ProvisioningRequestBuilderGetRequestConfiguration{QueryParameters: params}
	list, err := pages(ctx, c, call{op: "GET /auditLogs/provisioning"}, q.Top,
		func(ctx context.Context) (page[models.ProvisioningObjectSummaryable], error) {
			return c.sdk.AuditLogs().Provisioning().Get(ctx, cfg)
		},
		func(ctx context.Context, link string) (page[models.ProvisioningObjectSummaryable], error) {
			return c.sdk.AuditLogs().Provisioning().WithUrl(link).Get(ctx, nil)
		})
	return convert(list, toProvisioningEvent), err
}
