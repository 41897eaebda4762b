package refbackend

import (
	"slices"

	"github.com/idpctl/idpctl/secret"
)

// IssueSCIMToken issues another SCIM bearer token, as a SaaS does when its admin asks for a new one (the token
// `idpctl rotate-secret entra --scim-token` saves). It is accepted at once, alongside the others.
func (s *Server) IssueSCIMToken() (secret.Value, error) {
	token, err := newToken()
	if err != nil {
		return secret.Value{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scimTokens = append(s.scimTokens, scimToken{token: token})
	return token, nil
}

// RevokeSCIMToken stops accepting a SCIM token, as a SaaS does once it has been replaced; it reports whether
// the token was accepted until now.
func (s *Server) RevokeSCIMToken(token secret.Value) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.scimTokens)
	s.scimTokens = slices.DeleteFunc(s.scimTokens, func(t scimToken) bool { return t.token.Reveal() == token.Reveal() })
	return len(s.scimTokens) < n
}
