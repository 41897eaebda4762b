package backend

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// maxSecretFileBytes bounds what idpctl reads from a file said to hold a token or a client secret. Real ones are
// well under a kilobyte; the bound keeps a path such as /dev/zero or a huge file from filling the memory.
const maxSecretFileBytes = 64 << 10

// readSecretBytes reads the small file that name (an input such as `--scim-token-file "x"`) says holds a secret;
// fix is the advice when the path is not a regular file.
// Only a regular file is read (a symbolic link to one is followed, as Kubernetes mounts secrets that way): a
// directory, named pipe (FIFO), device or socket is refused by its kind, and opening never blocks on a pipe
// swapped in after the check. A file whose content differs from its reported size (those under /proc and
// /sys, or one being rewritten) is refused rather than trusted. No message holds any of the file's content.
func readSecretBytes(name, file, fix string) ([]byte, error) {
	info, err := os.Stat(file)
	if err != nil {
		return nil, statError(name, err)
	}
	if !info.Mode().IsRegular() {
		return nil, notRegular(name, info.Mode(), fix)
	}
	f, err := openNoBlock(file)
	if err != nil {
		return nil, statError(name, err)
	}
	defer f.Close()
	opened, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, errors.Unwrap(err))
	}
	if !opened.Mode().IsRegular() || !os.SameFile(info, opened) {
		return nil, fmt.Errorf("%s changed while idpctl opened it: run again", name)
	}
	if opened.Size() > maxSecretFileBytes {
		return nil, fmt.Errorf("%s is %d bytes, far more than a token or secret: give the path of the file that holds only the token", name, opened.Size())
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading: %v", name, unwrapPath(err))
	}
	if int64(len(raw)) != opened.Size() {
		return nil, fmt.Errorf("%s is not an ordinary file (its content does not match its size, as in /proc or /sys, or it is being rewritten): give the path of a file that holds only the token", name)
	}
	return raw, nil
}

// statError explains a failed stat or open of an input file. It wraps err, so callers can tell a missing file.
func statError(name string, err error) error {
	msg := fmt.Sprintf("%s: %v", name, unwrapPath(err))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		msg = name + ": no such file"
	case errors.Is(err, fs.ErrPermission):
		msg = name + ": permission denied; make the file readable by the user running idpctl"
	}
	return &fileError{msg: msg, err: err}
}

type fileError struct {
	msg string
	err error
}

func (e *fileError) Error() string { return e.msg }
func (e *fileError) Unwrap() error { return e.err }

// notRegular says what a path is when idpctl needs a regular file there, then the fix. It never prints the
// mode as ls does (L---------), which tells a person nothing.
func notRegular(name string, mode fs.FileMode, fix string) error {
	kind := "not a regular file"
	switch {
	case mode.IsDir():
		kind = "a directory"
	case mode&fs.ModeSymlink != 0:
		kind = "a symbolic link"
	case mode&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO), not a regular file"
	case mode&fs.ModeDevice != 0:
		kind = "a device, not a regular file"
	case mode&fs.ModeSocket != 0:
		kind = "a socket, not a regular file"
	}
	return fmt.Errorf("%s is %s: %s", name, kind, fix)
}

// unwrapPath drops the *fs.PathError wrapping, whose message repeats the path the caller already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
