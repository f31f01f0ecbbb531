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
	if run.Version != "" {
		// Nothing was changed, so what the page showed is also what runs after.
		sr.VersionBefore, sr.VersionAfter = run.Version, run.Version
		sr.before = run
	}
	if err != nil {
		r.setError(ctx, i, sr, PhasePreflight, err)
		return
	}
	if !r.p.Force && run.Version != "" && run.Version == r.p.Build.Version {
		r.sameVersion(i, sr, run)
	}
}

// sameVersion decides about a server that shows the build's version: a
// no-op only when it is known to run this very build; another build of the
// same version is deployed; one this machine never deployed is deployed
// too, unless the plan skips by version.
func (r *runner) sameVersion(i int, sr *ServerReport, run Running) {
	t, v := r.target(i), run.Version
	sha, known := "", false
	if r.p.Identify != nil {
		sha, known = r.p.Identify(t, run)
	}
	mine := r.buildSHA()
	switch {
	case known && mine != "" && strings.EqualFold(sha, mine):
		sr.UpToDate, sr.Identity = true, IdentitySame
		sr.Skipped = "already runs " + v
		r.obs.Step(i, t, PhaseSkipped, sr.Skipped)
	case known && mine != "":
		sr.Identity = IdentityOther
		sr.Note = fmt.Sprintf("same version %s, other build: deploying", v)
		r.obs.Step(i, t, PhasePreflight, sr.Note)
	case r.p.SkipSameVersion:
		sr.UpToDate, sr.Identity = true, IdentityUnknown
		sr.Skipped = fmt.Sprintf("runs %s, a build this machine never deployed there: skipped by version (skip_same_version)", v)
		r.obs.Step(i, t, PhaseSkipped, sr.Skipped)
	default:
		sr.Identity = IdentityUnknown
		sr.Note = fmt.Sprintf("same version %s, but a build this machine never deployed there: deploying (--skip-same-version would leave it)", v)
		r.obs.Step(i, t, PhasePreflight, sr.Note)
	}
}

// buildSHA is the build's SHA-256, "" when it cannot be had.
func (r *runner) buildSHA() string {
	r.hashOnce.Do(func() {
		r.sha = r.p.Build.SHA256
		if r.sha == "" && r.p.Hash != nil {
			if sum, err := r.p.Hash(); err == nil {
				r.sha = sum
			}
		}
	})
	return r.sha
}

// goOnWithout decides about the servers that failed preflight: without
// SkipUnreachable nothing is changed anywhere; with it the rollout goes on
// without them.
func (r *runner) goOnWithout(failed, todo []int) bool {
	if !r.p.SkipUnreachable {
		names := strings.Join(r.names(failed), ", ")
		// Nothing started, so nothing halted: the reason is told all the same.
		r.rep.HaltReason = fmt.Sprintf("preflight failed on %s; nothing was changed", names)
		r.haltCode = r.firstFailure(failed)
		r.haltAll(todo, "not deployed: preflight failed on "+names)
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
			would := fmt.Sprintf("would stage, then swap in %s", r.groupLabel(gi, len(groups)))
			r.rep.Servers[i].Skipped = "dry run: " + would
			r.obs.Step(i, r.target(i), PhasePlanned, would)
		}
	}
}
