package refbackend

import "strings"

// These methods let tests look at what the SaaS side holds. Each returns copies.

// Users returns every user in creation order.
func (s *Server) Users() []Resource { return s.all(s.users) }

// Groups returns every group in creation order.
func (s *Server) Groups() []Resource { return s.all(s.groups) }

// User returns the user with the given id.
func (s *Server) User(id string) (Resource, bool) { return s.byID(s.users, id) }

// Group returns the group with the given id.
func (s *Server) Group(id string) (Resource, bool) { return s.byID(s.groups, id) }

// UserByUserName finds a user by userName, case-insensitively as SCIM compares it.
func (s *Server) UserByUserName(userName string) (Resource, bool) {
	return s.find(s.users, func(r Resource) bool { return strings.EqualFold(r.UserName(), userName) })
}

// UserByExternalID finds a user by externalId (case-sensitive, as SCIM compares it).
func (s *Server) UserByExternalID(externalID string) (Resource, bool) {
	return s.find(s.users, func(r Resource) bool { return r.ExternalID() == externalID })
}

// GroupByDisplayName finds a group by displayName, case-insensitively.
func (s *Server) GroupByDisplayName(displayName string) (Resource, bool) {
	return s.find(s.groups, func(r Resource) bool { return strings.EqualFold(r.DisplayName(), displayName) })
}

// GroupByExternalID finds a group by externalId.
func (s *Server) GroupByExternalID(externalID string) (Resource, bool) {
	return s.find(s.groups, func(r Resource) bool { return r.ExternalID() == externalID })
}

// GroupMembers returns the ids of a group's members, or nil when there is no such group.
func (s *Server) GroupMembers(groupID string) []string {
	g, ok := s.Group(groupID)
	if !ok {
		return nil
	}
	return g.MemberIDs()
}

func (s *Server) all(rs resourceSchema) []Resource {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Resource
	for _, rec := range sorted(s.directory.records(rs)) {
		out = append(out, snapshot(rs, rec))
	}
	return out
}

func (s *Server) byID(rs resourceSchema, id string) (Resource, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.directory.records(rs)[id]
	if !ok {
		return Resource{}, false
	}
	return snapshot(rs, rec), true
}

func (s *Server) find(rs resourceSchema, match func(Resource) bool) (Resource, bool) {
	for _, r := range s.all(rs) {
		if match(r) {
			return r, true
		}
	}
	return Resource{}, false
}

func snapshot(rs resourceSchema, rec *record) Resource {
	return Resource{
		Type:         rs.name,
		ID:           rec.id,
		Attributes:   copyAttributes(rec.attrs),
		Created:      rec.created,
		LastModified: rec.modified,
		Version:      etag(rec.version),
		schema:       rs,
	}
}
