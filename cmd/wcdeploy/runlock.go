package main

import (
	"context"
	"os"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/lock"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// runState is what a deploy, rollback, swap or resume holds from its start:
// the journal, the scope whose runs it sees, its run id and its lock.
type runState struct {
	j     *journal.Journal
	scope journal.Scope
	id    string
	lock  *lock.Lock // nil for a dry run
}

// startRun begins a run of kind over the loaded profile: its id, and
// (except for a dry run) the lock of its project and profile, taken
// before any server is contacted or the journal is asked anything. A run
// that finds the lock held fails with the lock's error (exit 8), or waits
// up to wait.
func (a *app) startRun(ctx context.Context, loaded *config.Loaded, kind journal.Kind, dryRun bool, wait time.Duration) (*runState, error) {
	j, err := a.journal()
	if err != nil {
		return nil, err
	}
	scope, err := deploy.ScopeOf(loaded)
	if err != nil {
		return nil, err
	}
	rs := &runState{j: j, scope: scope, id: journal.NewID(time.Now())}
	if dryRun {
		return rs, nil
	}
	me := lock.Info{PID: os.Getpid(), Host: lock.ThisHost(), RunID: rs.id, Command: string(kind), Scope: scope.String(), Since: time.Now().UTC()}
	l, err := lock.Acquire(ctx, lock.Path(j.Dir(), scope.Key()), me, lock.Options{
		Wait: wait,
		Waiting: func(h *lock.Info) {
			who := "another wcdeploy run"
			if h != nil {
				who = h.String()
			}
			a.logf("waiting up to %s for the lock held by %s", wait, who)
		},
	})
	if err != nil {
		return nil, err
	}
	if prev, ok := l.TookOver(); ok {
		a.logf("took over the lock of %s, which ended without releasing it", prev)
	}
	rs.lock = l
	return rs, nil
}

// release gives the lock back.
func (rs *runState) release(a *app) {
	if rs == nil || rs.lock == nil {
		return
	}
	if err := rs.lock.Release(); err != nil {
		a.warnf("%v", err)
	}
}
