package backend

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"path"
	"strings"
	"unicode"

	"github.com/idpctl/idpctl/secret"
)

// ValidateSCIMURL checks a SCIM tenant URL given with --scim-url before anything is written to the tenant.
// A query is allowed because Entra reads feature flags from it (e.g. ?aadOptscim062020).
func ValidateSCIMURL(raw string) error {
	return checkSCIMURL("--scim-url", raw)
}

// ValidateBackendURL checks the --backend-url base URL, to which idpctl appends /v1/... paths.
func ValidateBackendURL(raw string) error {
	u, err := checkEndpointURL("--backend-url", raw, "use the API base URL your SaaS documents, e.g. https://api.example.com")
	if err != nil {
		return err
	}
	if u.RawQuery != "" || u.ForceQuery {
		return fmt.Errorf("--backend-url %q: remove the query (?...); idpctl appends the API paths to this base URL", ShowURL(u))
	}
	return nil
}

// checkSCIMURL validates a SCIM base URL that came from input called name.
func checkSCIMURL(name, raw string) error {
	u, err := checkEndpointURL(name, raw, "use the https URL your SaaS gave you")
	if err != nil {
		return err
	}
	// Entra appends /Users and /Groups itself: a pasted resource URL would become .../Users/Users.
	if last := path.Base(strings.TrimRight(u.Path, "/")); strings.EqualFold(last, "Users") || strings.EqualFold(last, "Groups") {
		return fmt.Errorf("%s %q: ends in /%s; give the base URL without it, Entra appends /Users and /Groups itself", name, ShowURL(u), last)
	}
	return nil
}

// checkEndpointURL applies the rules every URL idpctl sends a bearer token to must meet: absolute, https
// (plain http only on this machine, where nothing crosses a network), no user info, no fragment.
//
// A URL given as input may carry a password (user info) or a token (a query parameter), so no message here
// quotes the input: each shows it through ShowURL, and a URL that does not parse is not shown at all.
func checkEndpointURL(name, raw, fix string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("%s is empty: %s", name, fix)
	}
	trimmed := strings.TrimSpace(raw)
	u, err := url.Parse(trimmed)
	if err != nil || u.Opaque != "" {
		// url.Parse errors quote the whole input.
		return nil, fmt.Errorf("%s: not a valid URL; %s", name, fix)
	}
	if trimmed != raw {
		return nil, fmt.Errorf("%s %q: remove the leading or trailing spaces or line break", name, ShowURL(u))
	}
	if u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("%s %q: not an absolute URL (it needs https:// and a host name); %s", name, ShowURL(u), fix)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s: remove the user name and password before the @ in %q; credentials go in the token, never in the URL", name, ShowURL(u))
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, fmt.Errorf("%s %q: remove the #fragment; it is never sent to the server", name, ShowURL(u))
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("%s %q: must use https (only loopback may use http); %s", name, ShowURL(u), fix)
		}
	default:
		return nil, fmt.Errorf("%s %q: scheme %q is not supported, it must use https; %s", name, ShowURL(u), u.Scheme, fix)
	}
	return u, nil
}

// ShowURL is u as it may appear in a message: scheme, host and path. It leaves out the user info (it may hold
// a password), the query (it may hold a token) and the fragment (OAuth puts tokens there), marking a query
// or fragment that was there with "…".
func ShowURL(u *url.URL) string {
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
	if u.RawQuery != "" || u.ForceQuery {
		shown += "?…"
	}
	if u.Fragment != "" {
		shown += "#…"
	}
	return shown
}

// isLoopback reports whether host names this machine: localhost, 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ValidateToken checks a bearer token given through the input called name (a flag, an environment variable or a
// file). It catches what pasting typically gets wrong. The error never contains the token.
func ValidateToken(name string, tok secret.Value) error {
	t := tok.Reveal()
	if t == "" {
		return fmt.Errorf("%s is empty: paste the token your SaaS gave you", name)
	}
	if strings.TrimSpace(t) != t {
		return fmt.Errorf("%s starts or ends with a space or line break (a typical copy-paste mistake): remove it", name)
	}
	if len(t) > 7 && strings.EqualFold(t[:7], "bearer ") {
		return fmt.Errorf("%s starts with \"Bearer \": give the token alone, idpctl adds the Bearer prefix", name)
	}
	for i, r := range t {
		switch {
		case unicode.IsSpace(r):
			return fmt.Errorf("%s has a space or line break at character %d: a bearer token has none; copy the token again in one piece", name, i+1)
		case r > unicode.MaxASCII:
			return fmt.Errorf("%s has a non-ASCII character at character %d (often a typographic quote added by an editor or chat tool): copy the token again from its source", name, i+1)
		case !unicode.IsPrint(r):
			return fmt.Errorf("%s has a non-printable character at character %d: copy the token again from its source", name, i+1)
		}
	}
	return nil
}

// ReadTokenFile reads the SCIM token from the --scim-token-file file. Exactly one trailing newline (LF or CRLF),
// as editors and `echo` add, is dropped; anything else around the token is an error rather than silently trimmed,
// since Entra would send it verbatim. Only a small regular file is read (readSecretBytes).
func ReadTokenFile(file string) (secret.Value, error) {
	name := fmt.Sprintf("--scim-token-file %q", file)
	raw, err := readSecretBytes(name, file, "give the path of the file that holds the token")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return secret.Value{}, fmt.Errorf("%s: no such file; save the SCIM token your SaaS gave you in it, or set IDPCTL_SCIM_TOKEN instead", name)
	case err != nil:
		return secret.Value{}, err
	}
	tok := trimOneNewline(string(raw))
	if err := ValidateToken(name, secret.New(tok)); err != nil {
		return secret.Value{}, fmt.Errorf("%w (the file must hold the token alone, optionally followed by one newline)", err)
	}
	return secret.New(tok), nil
}

func trimOneNewline(s string) string {
	if t, ok := strings.CutSuffix(s, "\r\n"); ok {
		return t
	}
	t, _ := strings.CutSuffix(s, "\n")
	return t
}
