package rollout

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/pool"
)

// preflight asks every server what it runs; it changes nothing, so every
// server is asked. It returns the servers to deploy to, and false when the
// run ends here: interrupted, a server failed (and may not be skipped), or
// every server already runs the build.
func (r *runner) preflight(ctx context.Context) (todo []int, ok bool) {
	pool.All(ctx, r.all(), r.p.Parallel, func(i int) { r.preflightOne(ctx, i) })
	if ctx.Err() != nil {
		r.interrupted()
		return nil, false
	}
	var failed []int
	for _, i := range r.all() {
		sr := &r.rep.Servers[i]
		switch {
		case sr.err != nil:
			failed = append(failed, i)
		case !sr.UpToDate:
			todo = append(todo, i)
		}
	}
	if len(failed) > 0 && !r.goOnWithout(failed, todo) {
		return nil, false
	}
	return todo, len(todo) > 0
}

func (r *runner) preflightOne(ctx context.Context, i int) {
	sr, t := &r.rep.Servers[i], r.target(i)
	r.obs.Step(i, t, PhasePreflight, "checking the server")
	t0 := time.Now()
	run, err := r.steps.Preflight(ctx, t)
	sr.DurationMS += time.Since(t0).Milliseconds()
	if err != nil {
		r.setError(ctx, i, sr, PhasePreflight, err)
		return
	}
	sr.VersionBefore, sr.VersionAfter = run.Version, run.Version
	if !r.p.Force && run.Version != "" && run.Version == r.p.Build.Version {
		sr.UpToDate = true
		sr.Skipped = "already runs " + run.Version
		r.obs.Step(i, t, PhaseSkipped, sr.Skipped)
	}
}

// goOnWithout decides about the servers that failed preflight: without
// SkipUnreachable nothing is changed anywhere; with it the rollout goes on
// without them.
func (r *runner) goOnWithout(failed, todo []int) bool {
	if !r.p.SkipUnreachable {
		names := strings.Join(r.names(failed), ", ")
		r.rep.HaltReason = fmt.Sprintf("preflight failed on %s; nothing was changed", names)
		r.skipAll(todo, "not deployed: preflight failed on "+names)
		return false
	}
	// The user accepted to go on without them; they are not failures of
	// this rollout, but the exit code still tells they were missed.
	r.mu.Lock()
	r.failures -= len(failed)
	r.mu.Unlock()
	for _, i := range failed {
		r.rep.Servers[i].Skipped = "failed preflight, skipped (skip unreachable)"
	}
	return true
}

// planOnly ends a dry run: the swap groups that would run, and nothing
// changed.
func (r *runner) planOnly(todo []int) {
	r.rep.DryRun = true
	groups := r.groups(todo)
	for gi, g := range groups {
		for _, i := range g {
			r.skip(i, fmt.Sprintf("dry run: would stage, then swap in %s", r.groupLabel(gi, len(groups))))
		}
	}
}
