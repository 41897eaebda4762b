package entra

// listProvisioningLogs serves /auditLogs/provisioning (DOCS provisioningobjectsummary-list.md): $filter with eq,
// contains, gt and lt (case-sensitive, as documented), $orderby, $top and $skiptoken. Without $orderby the order
// is the order entries were written, oldest first: Graph documents no default order, so a client that wants the
// newest entries must ask for them ($orderby=activityDateTime desc, as Microsoft's own example does).
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
	}, items)
}
