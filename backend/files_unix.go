//go:build unix

package backend

import (
	"os"
	"syscall"
)

// openNoBlock opens file for reading without blocking: opening a named pipe for reading otherwise waits for a
// writer, forever, and neither --timeout nor Ctrl-C can stop a blocked open.
func openNoBlock(file string) (*os.File, error) {
	return os.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
