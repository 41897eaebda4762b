package wizard

import (
	"context"
	"sync"
	"testing"

	"github.com/idpctl/idpctl/graph"
	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
)

// countingDirectory is a real directory that counts what the picker reads from it: requests, and the users in
// their answers.
type countingDirectory struct {
	Directory
	mu       sync.Mutex
	requests int
	users    int
}

func (c *countingDirectory) count(requests, users int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests += requests
	c.users += users
}

// take returns the counts so far and starts again from zero.
func (c *countingDirectory) take() (requests, users int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	requests, users = c.requests, c.users
	c.requests, c.users = 0, 0
	return requests, users
}

func (c *countingDirectory) SearchUserPage(ctx context.Context, s graph.Search) (graph.UserPage, error) {
	page, err := c.Directory.SearchUserPage(ctx, s)
	c.count(1, len(page.Users))
	return page, err
}

func (c *countingDirectory) SearchGroupPage(ctx context.Context, s graph.Search) (graph.GroupPage, error) {
	page, err := c.Directory.SearchGroupPage(ctx, s)
	c.count(1, 0)
	return page, err
}

func (c *countingDirectory) CountGroupMembers(ctx context.Context, groupID string) (int, error) {
	n, err := c.Directory.CountGroupMembers(ctx, groupID)
	c.count(1, 0)
	return n, err
}

func (c *countingDirectory) SearchUsers(ctx context.Context, text string, top int) ([]graph.User, error) {
	users, err := c.Directory.SearchUsers(ctx, text, top)
	c.count(1, len(users))
	return users, err
}

func (c *countingDirectory) SearchGroups(ctx context.Context, text string, top int) ([]graph.Group, error) {
	groups, err := c.Directory.SearchGroups(ctx, text, top)
	c.count(1, 0)
	return groups, err
}

// populatedDirectory starts a simulated tenant with users generated people in it (besides the demo directory)
// and returns the Graph client the picker reads it through, over HTTP as at a terminal.
func populatedDirectory(tb testing.TB, users int) *countingDirectory {
	tb.Helper()
	sb, err := sandbox.Start(tb.Context(), sandbox.Options{Population: entra.Population{Users: users}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sb.Close() })
	client, err := graph.New(graph.Config{BaseURL: sb.GraphURL, Credential: graph.StaticToken(sb.AccessToken)})
	if err != nil {
		tb.Fatal(err)
	}
	return &countingDirectory{Directory: client}
}

// keystrokes are the texts the picker searches for as someone types: one letter, a name, a name with its
// surname begun, and a misspelt name, which finds nothing and asks for the "did you mean" names instead.
var keystrokes = []struct{ name, text string }{
	{"one-letter", "e"},
	{"given-name", "james"},
	{"full-name", "james s"},
	{"misspelt", "grady archei"},
}

// What one keystroke reads does not grow with the directory: one page of groups with their member counts and
// one page of users, or, when nothing matches, the bounded "did you mean" searches.
func TestPickerKeystrokeReadsABoundedPage(t *testing.T) {
	dir := populatedDirectory(t, 20_000)
	for _, k := range keystrokes {
		search := newPrincipalSearch(dir, true) // no member counts known yet: the most a keystroke reads
		page, err := search.first(t.Context(), k.text)
		if err != nil {
			t.Fatal(err)
		}
		requests, users := dir.take()
		// A page of groups, a count for each group on it and a page of users; "did you mean" searches groups
		// and users for each of up to three words' beginnings, and counts the groups it suggests.
		maxRequests, maxUsers := 2+pickerGroupPage, pickerUserPage
		if page.suggested {
			maxRequests, maxUsers = 2+2*3+5, 3*25
		}
		if requests > maxRequests || users > maxUsers {
			t.Errorf("%q: %d requests and %d users read; want at most %d and %d", k.text, requests, users, maxRequests, maxUsers)
		}
		if len(page.items) == 0 {
			t.Errorf("%q found nobody in a directory of 20,000", k.text)
		}
		t.Logf("%q: %d requests, %d users read, %d shown (suggested %v)", k.text, requests, users, len(page.items), page.suggested)
	}
}

// BenchmarkPickerKeystroke is the picker's query for one keystroke against a simulated tenant of 100,000
// users, through the Graph client over HTTP: the time per keystroke (ns/op), and the requests and users it read
// (the most of any keystroke). Each keystroke starts without known member counts, the most it can cost.
//
//	go test ./wizard -run '^$' -bench BenchmarkPickerKeystroke -benchtime 50x
func BenchmarkPickerKeystroke(b *testing.B) {
	dir := populatedDirectory(b, 100_000)
	for _, k := range keystrokes {
		b.Run(k.name, func(b *testing.B) {
			dir.take()
			mostRequests, mostUsers := 0, 0
			for b.Loop() {
				if _, err := newPrincipalSearch(dir, true).first(b.Context(), k.text); err != nil {
					b.Fatal(err)
				}
				requests, users := dir.take()
				mostRequests, mostUsers = max(mostRequests, requests), max(mostUsers, users)
			}
			b.ReportMetric(float64(mostRequests), "requests/keystroke")
			b.ReportMetric(float64(mostUsers), "users/keystroke")
		})
	}
}
