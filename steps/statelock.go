package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/idpctl/idpctl/clock"
)

// LockHolder says which run holds a setup's lock: enough for a person to find it (ps, the host) or wait.
type LockHolder struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	Since time.Time `json:"since"`
}

func (h LockHolder) String() string {
	if h.PID == 0 {
		return "another idpctl run"
	}
	return fmt.Sprintf("another idpctl run (pid %d on %s, since %s)", h.PID, h.Host, h.Since.Local().Format("15:04:05"))
}

// StateLock is one run's exclusive hold on a setup's state directory entry (one tenant and application name):
// two runs at once would each plan to create what the other is creating. The operating system releases the
// lock when the process ends, however it ends, so a killed run never leaves a stale lock behind.
type StateLock struct {
	file *os.File
}

// lockPoll is how often a waiting run tries the lock again.
const lockPoll = 200 * time.Millisecond

// LockState takes the lock of the setup of appName in tenantID in dir, waiting while another run holds it;
// waiting, if not nil, is told once who that is. The wait ends with ctx (--timeout, Ctrl-C). dir "" (state
// kept in memory) needs no lock.
func LockState(ctx context.Context, dir, tenantID, appName string, waiting func(LockHolder)) (*StateLock, error) {
	if dir == "" {
		return &StateLock{}, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory: %w", err)
	}
	path := filepath.Join(dir, strings.TrimSuffix(stateFileName(tenantID, appName), ".json")+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the state lock %s: %w", path, err)
	}
	told := false
	for {
		locked, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if locked {
			break
		}
		holder := readHolder(f)
		if !told && waiting != nil {
			waiting(holder)
			told = true
		}
		// The system clock, not the run's: the holder is another process, which no test clock moves.
		if (clock.System{}).Sleep(ctx, lockPoll) != nil {
			f.Close()
			return nil, &LockedError{Holder: holder, Path: path, Err: context.Cause(ctx)}
		}
	}
	host, _ := os.Hostname()
	if err := writeHolder(f, LockHolder{PID: os.Getpid(), Host: host, Since: time.Now().UTC()}); err != nil {
		f.Close() // closing releases the lock
		return nil, fmt.Errorf("writing the state lock %s: %w", path, err)
	}
	return &StateLock{file: f}, nil
}

// Release gives the lock up. The file stays: removing it would let a waiting run lock a file that a third run
// then no longer finds.
func (l *StateLock) Release() error {
	if l == nil || l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file = nil
	return err
}

// LockedError is a wait for another run's lock that ended before the lock was free.
type LockedError struct {
	Holder LockHolder
	Path   string
	Err    error // why the wait ended: the context's cause
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%s is setting up the same application in this tenant and holds %s: let it finish, or stop it, then run again (%v)", e.Holder, e.Path, e.Err)
}

func (e *LockedError) Unwrap() error { return e.Err }

// readHolder reads who holds the lock from the lock file; the zero value when it cannot tell.
func readHolder(f *os.File) LockHolder {
	var h LockHolder
	raw, err := io.ReadAll(io.NewSectionReader(f, 0, 4096))
	if err == nil {
		_ = json.Unmarshal(raw, &h)
	}
	return h
}

func writeHolder(f *os.File, h LockHolder) error {
	raw, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(append(raw, '\n'), 0); err != nil {
		return err
	}
	return f.Sync()
}
