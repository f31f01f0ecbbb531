package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/lock"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// Run is what a deploy, rollback, swap or resume holds from its start:
// the journal, the scope whose runs it sees, its run id and its lock.
type Run struct {
	Journal *journal.Journal
	Scope   journal.Scope
	ID      string
	Lock    *lock.Lock // nil for a dry run
	// Machine is the same lock in this machine's temporary folder, so two
	// runs of one project that use different state folders (for example
	// two CI jobs with their own WCDEPLOY_STATE_DIR) still meet.
	Machine *lock.Lock
}

// machineLockDir is where the machine-wide locks live.
func machineLockDir() string { return filepath.Join(os.TempDir(), "wcdeploy-locks") }

// StartRun begins a run of kind over the loaded profile: its id, and
// (except for a dry run) the lock of its project and profile, taken
// before any server is contacted or the journal is asked anything. A run
// that finds the lock held fails with the lock's error (exit 8), or waits
// up to wait. What it waits for and whose lock it took over it says with
// logf.
func StartRun(ctx context.Context, j *journal.Journal, loaded *config.Loaded, kind journal.Kind, dryRun bool, wait time.Duration, logf func(string, ...any)) (*Run, error) {
	scope, err := ScopeOf(loaded)
	if err != nil {
		return nil, err
	}
	rs := &Run{Journal: j, Scope: scope, ID: journal.NewID(time.Now())}
	if dryRun {
		return rs, nil
	}
	me := lock.Info{PID: os.Getpid(), Host: lock.ThisHost(), RunID: rs.ID, Command: string(kind), Scope: scope.String(), Since: time.Now().UTC()}
	o := lock.Options{
		Wait: wait,
		Waiting: func(h *lock.Info) {
			who := "another wcdeploy run"
			if h != nil {
				who = h.String()
			}
			logf("waiting up to %s for the lock held by %s", wait, who)
		},
	}
	l, err := lock.Acquire(ctx, lock.Path(j.Dir(), scope.Key()), me, o)
	if err != nil {
		return nil, err
	}
	if prev, ok := l.TookOver(); ok {
		logf("took over the lock of %s, which ended without releasing it", prev)
	}
	rs.Lock = l
	m, err := lock.Acquire(ctx, filepath.Join(machineLockDir(), filepath.Base(lock.Path(j.Dir(), scope.Key()))), me, o)
	var held *lock.HeldError
	switch {
	case errors.As(err, &held), ctx.Err() != nil:
		_ = l.Release()
		return nil, err
	case err != nil:
		// Another user's folder, say: the state folder's lock still holds.
		logf("note: the machine-wide lock could not be taken (%v); runs that use another state folder will not see this one", err)
	default:
		rs.Machine = m
	}
	return rs, nil
}

// Release gives the lock back; a failure is passed to warnf.
func (rs *Run) Release(warnf func(string, ...any)) {
	if rs == nil || rs.Lock == nil {
		return
	}
	if rs.Machine != nil {
		if err := rs.Machine.Release(); err != nil {
			warnf("%v", err)
		}
	}
	if err := rs.Lock.Release(); err != nil {
		warnf("%v", err)
	}
}

// OpenJournal opens the local journal of runs, in WCDEPLOY_STATE_DIR or
// the user's state folder on goos.
func OpenJournal(getenv func(string) string, goos string) (*journal.Journal, error) {
	dir, err := journal.DefaultDir(getenv, goos)
	if err != nil {
		return nil, exitcode.New(exitcode.Usage, err)
	}
	return journal.Open(dir), nil
}
