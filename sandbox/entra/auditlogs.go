package entra

// listProvisioningLogs serves /auditLogs/provisioning (DOCS provisioningobjectsummary-list.md): $filter with eq,
// contains, gt and lt (case-sensitive, as documented), $orderby, $top and $skiptoken; newest first by default.
func (t *Tenant) listProvisioningLogs(c *call) response {
	t.mu.Lock()
	items := make([]object, 0, len(t.st.provisioning))
	for _, e := range t.st.provisioning {
		items = append(items, deepCopy(e))
	}
	t.mu.Unlock()
	return t.page(c, collection{
		context:       "auditLogs/provisioning",
		resource:      "ProvisioningObjectSummary",
		caseSensitive: true,
		defaultOrder: func(a, b object) int {
			return -compareValues(a["activityDateTime"], b["activityDateTime"], true)
		},
	}, items)
}
