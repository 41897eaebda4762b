//go:build !unix

package cmd

import "testing"

// The terminal tests drive a Unix pseudo-terminal; elsewhere (Windows) they say so instead of passing silently.
func TestTerminal(t *testing.T) {
	t.Skip("the terminal tests need a Unix pseudo-terminal, which this system does not have")
}
