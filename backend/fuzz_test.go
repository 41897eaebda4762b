package backend

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/secret"
)

// cannedAnswer is a transport that answers every request with the same status, Content-Type and body.
type cannedAnswer struct {
	status      int
	contentType string
	body        []byte
}

func (c cannedAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	h := http.Header{}
	if c.contentType != "" {
		h.Set("Content-Type", c.contentType)
	}
	return &http.Response{StatusCode: c.status, Header: h, Body: io.NopCloser(strings.NewReader(string(c.body))), Request: req}, nil
}

// fuzzStatus turns any number into an HTTP status: mostly 200, some redirects and errors.
func fuzzStatus(n uint16) int {
	statuses := []int{200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 409, 413, 429, 500, 501, 503}
	return statuses[int(n)%len(statuses)]
}

// quick bounds the pacer: a 429 or 503 is not waited for past this deadline, so the fuzzer never sleeps.
func quick(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

// FuzzSCIMAnswers: whatever a SCIM endpoint answers, the probe and the read-back return a result or an error,
// never panic, and never repeat the SCIM token, even when the endpoint echoes it.
func FuzzSCIMAnswers(f *testing.F) {
	list := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":%d,"startIndex":1,"itemsPerPage":1,"Resources":[%s]}`
	for _, s := range []struct {
		status uint16
		ct     string
		body   string
	}{
		{0, "application/scim+json", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}`},
		{0, "application/scim+json", strings.Replace(strings.Replace(list, "%d", "1", 1), "%s", `{"id":"u1","userName":"ada@contoso.com","active":"False","emails":[{"value":"a@b","primary":"true"}]}`, 1)},
		{0, "application/json", strings.Replace(strings.Replace(list, "%d", "99999999", 1), "%s", `{"id":"u1","members":[{"value":"x","display":"y"}]}`, 1)},
		{0, "application/scim+json", `{"totalResults":-1,"Resources":null}`},
		{0, "application/scim+json", `{"totalResults":1e99,"Resources":[1,"x",null,{"active":{"a":1}}]}`},
		{0, "text/html", `<html><head><title>Sign in ` + scimToken + `</title></head></html>`},
		{7, "application/scim+json", `{"detail":"bad token ` + scimToken + `","status":"401"}`},
		{12, "", ""},
		{5, "application/json", `{"error":{"message":"x","target":"` + scimToken + `"}}`},
		{0, "application/scim+json", `{"patch":{"supported":"yes"},"filter":{"maxResults":"many"},"authenticationSchemes":{}}`},
	} {
		f.Add(s.status, s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status uint16, contentType string, body []byte) {
		client := &http.Client{Transport: cannedAnswer{status: fuzzStatus(status), contentType: contentType, body: body}}
		scim := SCIM{BaseURL: "https://scim.example.com/scim/v2", Token: secret.New(scimToken)}
		ctx := quick(t)
		var errs []error
		_, err := Probe(ctx, client, nil, scim)
		errs = append(errs, err)
		r, err := NewReader(client, &sleeper{}, scim)
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.FindUserByUserName(ctx, "ada@contoso.com")
		errs = append(errs, err)
		_, err = r.FindGroupByDisplayName(ctx, "Smallstep Users")
		errs = append(errs, err)
		_, err = r.Users(ctx)
		errs = append(errs, err)
		_, err = r.GroupMembers(ctx, "g1")
		errs = append(errs, err)
		for _, err := range errs {
			if err != nil && strings.Contains(err.Error(), scimToken) {
				t.Fatalf("an error repeats the SCIM token: %v", err)
			}
		}
	})
}

// FuzzBackendAnswers: whatever the backend answers a registration or a role, idpctl returns a checked SCIM
// endpoint or an error that repeats no secret the request carried.
func FuzzBackendAnswers(f *testing.F) {
	for _, s := range []struct {
		status uint16
		ct     string
		body   string
	}{
		{3, "application/json", `{"id":"idp-1","scim":{"baseUrl":"https://scim.example.com/scim/v2","token":"tok-0123456789abcdef"}}`},
		{3, "application/json", `{"id":"idp-1","scim":{"baseUrl":"http://scim.example.com/Users","token":"has space"}}`},
		{3, "application/json", `{"scim":{"baseUrl":"https://u:` + clientSecret + `@h/scim","token":"` + backendToken + `"}}`},
		{6, "application/json", `{"error":{"field":"clientSecret","message":"` + clientSecret + ` is wrong"}}`},
		{7, "text/plain", "Bearer " + backendToken},
		{5, "text/html", "<title>301</title>"},
		{0, "application/json", `{"scim":null}`},
		{0, "application/json", `[`},
	} {
		f.Add(s.status, s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status uint16, contentType string, body []byte) {
		client := &http.Client{Transport: cannedAnswer{status: fuzzStatus(status), contentType: contentType, body: body}}
		h, err := NewHTTP("https://api.example.com", secret.New(backendToken), client, &sleeper{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := quick(t)
		scim, regErr := h.Register(ctx, registration())
		if regErr == nil {
			if err := ValidateSCIMURL(scim.BaseURL); err != nil {
				t.Fatalf("Register accepted a SCIM URL --scim-url would refuse: %v", err)
			}
			if err := ValidateToken("token", scim.Token); err != nil {
				t.Fatalf("Register accepted a SCIM token: %v", err)
			}
		}
		if regErr != nil && (strings.Contains(regErr.Error(), backendToken) || strings.Contains(regErr.Error(), clientSecret)) {
			t.Fatalf("the registration's error repeats a secret: %v", regErr)
		}
		// Setting a role handles the backend token only.
		if err := h.SetRole(ctx, "ada@contoso.com", RoleAdmin); err != nil && strings.Contains(err.Error(), backendToken) {
			t.Fatalf("the role's error repeats the backend token: %v", err)
		}
	})
}

// FuzzReadProblem: an error body of any shape becomes one line of field and message.
func FuzzReadProblem(f *testing.F) {
	for _, s := range []string{`{"field":"a","message":"b"}`, `{"error":{"target":"t","message":"m"}}`, `{"error":"text"}`,
		`{"detail":"d"}`, `{"errors":[{"param":"p","title":"t"}]}`, `<html><title>x</title>`, "line\nbreak", `{"error":{"error":{}}}`, `{"errors":[]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		p := readProblem(body)
		if strings.ContainsAny(p.field+p.message, "\r\n") {
			t.Fatalf("readProblem(%q) = %+v: not one line", body, p)
		}
	})
}

// FuzzValidateURL: a SCIM or backend URL is accepted only when idpctl can safely send a bearer token to it, and
// an error never repeats a password written into the URL.
func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"https://example.smallstep.com/scim/v2", "https://h/scim?aadOptscim062020", "http://127.0.0.1:8080/scim",
		"http://example.com/scim", "https://u:p4ssw0rd-0123@h/scim", "https://h/scim#frag", " https://h", "https://h/Users", "ftp://h",
		"https://[::1]:99/scim", "http://localhost./scim", "https://h/%zz", "https:///scim", "//h/scim", "https://h/scim?x=#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for name, validate := range map[string]func(string) error{"--scim-url": ValidateSCIMURL, "--backend-url": ValidateBackendURL} {
			err := validate(raw)
			if err != nil {
				if !strings.HasPrefix(err.Error(), name) {
					t.Errorf("%s error does not name the input: %v", name, err)
				}
				if u, perr := url.Parse(raw); perr == nil && u.User != nil {
					if p, ok := u.User.Password(); ok && len(p) >= 6 && strings.Contains(err.Error(), p) {
						t.Errorf("%s error repeats the password in the URL: %v", name, err)
					}
				}
				continue
			}
			u, perr := url.Parse(raw)
			if perr != nil || u.Host == "" || u.User != nil || u.Fragment != "" ||
				!(strings.EqualFold(u.Scheme, "https") || strings.EqualFold(u.Scheme, "http") && isLoopback(u.Hostname())) {
				t.Errorf("%s accepted %q", name, raw)
			}
		}
	})
}

// FuzzTokens: a token from the environment or a file is accepted only when it can go in a header as it is, and
// an error never repeats it.
func FuzzTokens(f *testing.F) {
	for _, s := range []string{scimToken, scimToken + "\n", scimToken + "\r\n", "Bearer " + scimToken, " " + scimToken, "tok\u201cen-0123456789",
		"tok\x00en-0123456789", scimToken + "\n\n", ""} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		file := filepath.Join(dir, "token")
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		tok, fileErr := ReadTokenFile(file)
		envErr := ValidateToken("IDPCTL_SCIM_TOKEN", secret.New(content))
		for _, err := range []error{fileErr, envErr} {
			if err != nil && len(strings.TrimSpace(content)) >= 8 && strings.Contains(err.Error(), strings.TrimSpace(content)) {
				t.Fatalf("the error repeats the token: %v", err)
			}
		}
		if fileErr == nil {
			if v := tok.Reveal(); v == "" || strings.ContainsAny(v, " \t\r\n") {
				t.Fatalf("ReadTokenFile accepted %q", v)
			}
		}
	})
}
