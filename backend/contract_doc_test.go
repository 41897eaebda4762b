package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idpctl/idpctl/secret"
)

// documentedCall is one "## `METHOD /path`" section of docs/backend-contract.md and its first http example.
type documentedCall struct {
	method, path string
	pattern      *regexp.Regexp // path with each {parameter} matching one segment
	optional     bool           // "(optional)": idpctl does not call it
	requestKeys  []string       // the example request body's keys; nil without a body
	status       int            // the example answer's status
	answer       string         // the example answer's body, served as it is
	called       int
}

// TestBackendContractDoc: docs/backend-contract.md is what backend.HTTP does. Every request idpctl makes is a
// documented call, with the documented body keys and headers; every documented call but the optional ones is
// made; the documented example answers are served as they are and idpctl accepts them; and the retry and size
// limits the page states are the code's.
func TestBackendContractDoc(t *testing.T) {
	raw, err := os.ReadFile("../docs/backend-contract.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	calls := documentedCalls(t, doc)
	// Every call of the contract the HTTP backend makes, once each. A new call is added here and documented in
	// docs/backend-contract.md.
	contractCalls := []func(ctx context.Context, h *HTTP) error{
		func(ctx context.Context, h *HTTP) error { return h.Check(ctx) },
		func(ctx context.Context, h *HTTP) error { _, err := h.Register(ctx, registration()); return err },
		func(ctx context.Context, h *HTTP) error { return h.SetRole(ctx, "adele.vance@contoso.com", RoleOwner) },
		func(ctx context.Context, h *HTTP) error {
			return h.Unregister(ctx, registration().TenantID, registration().ClientID)
		},
	}

	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		path := strings.TrimPrefix(r.URL.EscapedPath(), "/api")
		i := slices.IndexFunc(calls, func(c *documentedCall) bool { return c.method == r.Method && c.pattern.MatchString(path) })
		if i < 0 {
			t.Errorf("idpctl sent %s %s, which docs/backend-contract.md does not document", r.Method, path)
			http.Error(w, "undocumented", http.StatusTeapot)
			return
		}
		c := calls[i]
		c.called++
		name := c.method + " " + c.path
		if got := r.Header.Get("Authorization"); got != "Bearer "+backendToken {
			t.Errorf("%s: Authorization %q, the contract says Bearer <IDPCTL_BACKEND_TOKEN>", name, got)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("%s: Accept %q, the contract says application/json", name, got)
		}
		if got := r.Header.Get("User-Agent"); got != testUserAgent {
			t.Errorf("%s: User-Agent %q, want %q", name, got, testUserAgent)
		}
		body, _ := io.ReadAll(r.Body)
		var keys []string
		if len(body) > 0 {
			if got := r.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("%s: Content-Type %q with a body, the contract says application/json", name, got)
			}
			keys = objectKeys(t, name+" request", string(body))
		}
		if !slices.Equal(keys, c.requestKeys) {
			t.Errorf("%s: idpctl sends the keys %v, docs/backend-contract.md shows %v", name, keys, c.requestKeys)
		}
		if c.answer != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(c.status)
		io.WriteString(w, c.answer)
	}))
	defer srv.Close()

	h, err := NewHTTP(srv.URL+"/api/", secret.New(backendToken), WithUserAgent(srv.Client(), testUserAgent), &sleeper{})
	if err != nil {
		t.Fatal(err)
	}
	for i, call := range contractCalls {
		if err := call(t.Context(), h); err != nil {
			t.Errorf("contract call %d with the documented answer: %s", i, errText(t, err))
		}
	}
	for _, c := range calls {
		switch {
		case c.optional && c.called > 0:
			t.Errorf("%s %s is documented as optional (idpctl does not need it), but idpctl calls it", c.method, c.path)
		case !c.optional && c.called != 1:
			t.Errorf("%s %s is documented; the contract calls made it %d times, want once (add the call to contractCalls)", c.method, c.path, c.called)
		}
	}

	for _, fact := range []string{
		fmt.Sprintf("at most %d attempts", maxAttempts),
		fmt.Sprintf("up to %d minutes", maxRetryWait/time.Minute),
		fmt.Sprintf("backing off from %d second", firstBackoff/time.Second),
		fmt.Sprintf("up to %d MiB", maxBody>>20),
	} {
		if !strings.Contains(strings.Join(strings.Fields(doc), " "), fact) {
			t.Errorf("docs/backend-contract.md does not say %q, which is what the code does", fact)
		}
	}
}

// documentedCalls reads the call sections: a heading `## \`METHOD /path\“ then, in the first ```http block, an
// optional request line and JSON body, then the answer's status line and JSON body. "# ..." ends a line early.
func documentedCalls(t *testing.T, doc string) []*documentedCall {
	t.Helper()
	heading := regexp.MustCompile("(?m)^## `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`( \\(optional\\))?$")
	var calls []*documentedCall
	for _, loc := range heading.FindAllStringSubmatchIndex(doc, -1) {
		c := &documentedCall{method: doc[loc[2]:loc[3]], path: doc[loc[4]:loc[5]], optional: loc[6] >= 0}
		c.pattern = regexp.MustCompile("^" + regexp.MustCompile(`\\\{[A-Za-z]+\\\}`).ReplaceAllString(regexp.QuoteMeta(c.path), "[^/]+") + "$")
		calls = append(calls, c)
		if c.optional {
			continue
		}
		section := doc[loc[1]:]
		if next := strings.Index(section, "\n## "); next >= 0 {
			section = section[:next]
		}
		_, block, opened := strings.Cut(section, "```http\n")
		block, _, closed := strings.Cut(block, "```")
		if !opened || !closed {
			t.Fatalf("docs/backend-contract.md: %s %s has no ```http example", c.method, c.path)
		}
		var request, answer []string
		status := regexp.MustCompile(`^(\d{3}) `)
		for _, line := range strings.Split(block, "\n") {
			line, _, _ = strings.Cut(line, "#")
			switch m := status.FindStringSubmatch(line); {
			case m != nil:
				c.status, _ = strconv.Atoi(m[1])
			case strings.HasPrefix(line, c.method+" "):
			case c.status == 0:
				request = append(request, line)
			default:
				answer = append(answer, line)
			}
		}
		if c.status == 0 {
			t.Fatalf("docs/backend-contract.md: %s %s: the example has no status line", c.method, c.path)
		}
		if body := strings.TrimSpace(strings.Join(request, "\n")); body != "" {
			c.requestKeys = objectKeys(t, c.method+" "+c.path+" documented request", body)
		}
		c.answer = strings.TrimSpace(strings.Join(answer, "\n"))
	}
	if len(calls) == 0 {
		t.Fatal("docs/backend-contract.md: no call sections")
	}
	return calls
}

// objectKeys are a JSON object's keys, sorted.
func objectKeys(t *testing.T, what, body string) []string {
	t.Helper()
	var object map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &object); err != nil {
		t.Errorf("%s is not a JSON object: %v\n%s", what, err, body)
		return nil
	}
	var keys []string
	for k := range object {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
