package sandbox_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idpctl/idpctl/sandbox"
)

// Issue 10 item 10: a client that sends its request body slowly, or not at all, is cut off after the read
// timeout, on both servers, whether or not it holds a valid token.
func TestSlowRequestBodiesAreCutOff(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Options{ReadTimeout: 300 * time.Millisecond, ManualCycles: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()

	for name, c := range map[string]struct {
		url, token, path string
		answer           int // 0: the server cuts the connection
	}{
		"Graph":           {sb.GraphURL, sb.AccessToken.Reveal(), "/v1.0/applications", 0},
		"Graph anonymous": {sb.GraphURL, "", "/v1.0/applications", http.StatusUnauthorized},
		"SCIM":            {sb.SCIMURL, sb.SCIMToken.Reveal(), "/scim/v2/Users", 0},
		"SCIM anonymous":  {sb.SCIMURL, "", "/scim/v2/Users", http.StatusUnauthorized},
		"backend":         {sb.BackendURL, sb.BackendToken.Reveal(), "/v1/identity-providers/entra", 0},
	} {
		t.Run(name, func(t *testing.T) {
			host := strings.TrimPrefix(c.url, "http://")
			host, _, _ = strings.Cut(host, "/")
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			auth := ""
			if c.token != "" {
				auth = "Authorization: Bearer " + c.token + "\r\n"
			}
			// The headers promise a body of 1000 bytes; one arrives, then nothing.
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", c.path, host, auth)
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode < 400 || (c.answer != 0 && resp.StatusCode != c.answer) {
					t.Errorf("a request with its body cut short answered %d, want %d", resp.StatusCode, c.answer)
				}
				return
			}
			if c.answer != 0 {
				t.Fatalf("no answer (%v); want %d at once, without the body", err, c.answer)
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the server still waits for the body after 20 s")
			}
			// Otherwise the server closed the connection: cut off, as it should be.
		})
	}
}
