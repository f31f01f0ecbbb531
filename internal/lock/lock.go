// Package lock keeps one run of a project and profile at a time: a lock
// file in the state folder, held with the operating system's file lock
// (flock, LockFileEx), which the system releases when the process ends in
// any way, so two processes racing for it can never both win and a crashed
// run never blocks the next one. The file also says who holds it (pid,
// host, run id, start time), for the message the second run prints.
package lock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// Dir is the folder of lock files inside the state folder.
const Dir = "locks"

// DefaultPoll is how often a waiting Acquire tries again.
const DefaultPoll = 250 * time.Millisecond

// readTries bounds the re-reads of a holder's details that are being
// written at that moment.
const readTries = 20

// Info says who holds a lock. It is the lock file's content.
type Info struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	RunID   string    `json:"run_id"`
	Command string    `json:"command,omitempty"` // deploy, rollback, swap, resume
	Scope   string    `json:"scope,omitempty"`   // the project and profile, for people
	Since   time.Time `json:"since"`
}

func (i Info) String() string {
	cmd := i.Command
	if cmd == "" {
		cmd = "run"
	}
	return fmt.Sprintf("%s %s (pid %d on host %s, since %s)", cmd, i.RunID, i.PID, i.Host, i.Since.UTC().Format("2006-01-02 15:04:05 UTC"))
}

// Path is the lock file of a scope key (journal.Scope.Key) in stateDir.
// The name is a hash of the key: keys hold paths and URLs.
func Path(stateDir, key string) string {
	return filepath.Join(stateDir, Dir, fileName(key))
}

// HeldError says that another run holds the lock.
type HeldError struct {
	Path   string
	Holder *Info // nil when its details could not be read
	Waited time.Duration
}

func (e *HeldError) Error() string {
	who := "another wcdeploy run (its details in " + e.Path + " could not be read)"
	scope := ""
	if e.Holder != nil {
		who = "another wcdeploy run, " + e.Holder.String()
		if e.Holder.Scope != "" {
			scope = " of " + e.Holder.Scope
		}
	}
	waited := "; nothing was contacted: wait for it to end, or pass --wait-lock DURATION (e.g. --wait-lock 15m) to wait for it"
	if e.Waited > 0 {
		waited = fmt.Sprintf(" after waiting %s; nothing was contacted: wait longer with a larger --wait-lock", e.Waited)
	}
	return fmt.Sprintf("%s holds the lock%s%s", who, scope, waited)
}

// Options tune Acquire.
type Options struct {
	// Wait is how long to wait for the holder to finish (0: fail at once).
	Wait time.Duration
	// Poll is how often to try again while waiting (0: DefaultPoll).
	Poll time.Duration
	// Waiting, when set, is told once who holds the lock when Acquire
	// starts to wait, for a progress line.
	Waiting func(holder *Info)
}

// Lock is a held lock.
type Lock struct {
	f     *os.File
	path  string
	stale *Info
	once  sync.Once
	err   error
}

// Acquire takes the lock at path for me. When another process holds it,
// Acquire fails at once with a *HeldError (carrying exitcode.Locked), or
// waits up to opts.Wait. A lock whose holder ended without releasing it
// (killed, crashed, power lost) is taken over; TookOver says whose it was.
func Acquire(ctx context.Context, path string, me Info, opts Options) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the lock folder %s: %w; set WCDEPLOY_STATE_DIR to a folder wcdeploy may write to", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the lock file %s: %w", path, err)
	}
	if err := wait(ctx, f, path, opts); err != nil {
		f.Close()
		return nil, err
	}
	l := &Lock{f: f, path: path}
	if prev, ok := readInfo(f); ok {
		l.stale = prev
	}
	if err := l.write(me); err != nil {
		l.Release()
		return nil, err
	}
	return l, nil
}

// wait takes the OS lock on f, trying again until opts.Wait has passed.
func wait(ctx context.Context, f *os.File, path string, opts Options) error {
	poll := opts.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	start := time.Now()
	told := false
	for {
		err := tryLock(f)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errBusy) {
			return fmt.Errorf("cannot lock %s: %w", path, err)
		}
		waited := time.Since(start)
		if waited >= opts.Wait {
			return exitcode.New(exitcode.Locked, &HeldError{Path: path, Holder: holder(f), Waited: opts.Wait})
		}
		if !told && opts.Waiting != nil {
			opts.Waiting(holder(f))
			told = true
		}
		t := time.NewTimer(min(poll, opts.Wait-waited))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("stopped waiting for the lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}

// holder reads the details of the process that holds the lock. They may
// be missing for a moment (the holder has just taken the lock) or be a dead
// holder's (the new one has not written its own yet): read again briefly.
func holder(f *os.File) *Info {
	var last *Info
	for range readTries {
		in, ok := readInfo(f)
		if ok && (!sameHost(in.Host) || alive(in.PID)) {
			return in
		}
		if ok {
			last = in
		}
		time.Sleep(5 * time.Millisecond)
	}
	return last
}

func readInfo(f *os.File) (*Info, bool) {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 || st.Size() > 1<<16 {
		return nil, false
	}
	b := make([]byte, st.Size())
	n, err := f.ReadAt(b, 0)
	if n == 0 || (err != nil && n < len(b)) {
		return nil, false
	}
	var in Info
	if json.Unmarshal(bytes.TrimSpace(b[:n]), &in) != nil || in.PID == 0 {
		return nil, false
	}
	return &in, true
}

func (l *Lock) write(me Info) error {
	b, err := json.Marshal(me)
	if err != nil {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	b = append(b, '\n')
	if _, err := l.f.WriteAt(b, 0); err != nil {
		return fmt.Errorf("cannot write the lock file %s: %w", l.path, err)
	}
	if err := l.f.Truncate(int64(len(b))); err != nil {
		return fmt.Errorf("cannot write the lock file %s: %w", l.path, err)
	}
	return nil
}

// TookOver returns the holder whose lock was taken over because it ended
// without releasing it, for a note ("took over the lock of run X ...").
func (l *Lock) TookOver() (Info, bool) {
	if l.stale == nil {
		return Info{}, false
	}
	return *l.stale, true
}

// Path is the lock file.
func (l *Lock) Path() string { return l.path }

// Release empties the lock file (a clean end, no takeover note for the
// next run) and releases the lock. The file stays: removing a file that
// others may have open and be waiting to lock would let two runs in.
// Calling it again does nothing.
func (l *Lock) Release() error {
	l.once.Do(func() {
		errs := []error{l.f.Truncate(0), unlock(l.f), l.f.Close()}
		if err := errors.Join(errs...); err != nil {
			l.err = fmt.Errorf("releasing the lock %s: %w", l.path, err)
		}
	})
	return l.err
}

// ThisHost names this machine as locks record it.
func ThisHost() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}

func sameHost(h string) bool { return h == ThisHost() }
