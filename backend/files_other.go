//go:build !unix

package backend

import "os"

// openNoBlock opens file for reading. Outside Unix, opening a file does not wait for a writer.
func openNoBlock(file string) (*os.File, error) {
	return os.Open(file)
}
