package rollout

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// abandonMargin is how long past InterruptGrace Run still waits for a swap
// whose Steps did not return when its context ended; after that the server's
// outcome is recorded as unknown rather than hanging the process. A short
// grace gets a margin as short.
func abandonMargin(grace time.Duration) time.Duration { return min(5*time.Second, grace) }

// swap runs the swap groups one after the other: the canaries alone first,
// then the batches. It stops starting groups once failures exceed
// MaxFailures, a canary failed, or the user interrupted.
func (r *runner) swap(ctx context.Context, groups [][]int) {
	for gi, g := range groups {
		if ctx.Err() != nil {
			r.interrupted()
			return
		}
		if r.tooManyFailures() {
			r.halt(fmt.Sprintf("%s, more than max_failures %d", plural(r.failureCount(), "failure"), r.p.MaxFailures), r.firstFailure(flatten(groups[:gi])))
			r.haltAll(flatten(groups[gi:]), "staged, not swapped: rollout halted")
			return
		}
		failedBefore := r.failureCount()
		r.swapGroup(ctx, g, gi, len(groups))
		if ctx.Err() != nil {
			r.interrupted()
			return
		}
		if gi < r.ncanary && r.failureCount() > failedBefore {
			// A canary exists to stop a bad build before it reaches the rest.
			r.halt(r.canaryFailed(g[0]), r.firstFailure(g))
			r.haltAll(flatten(groups[gi+1:]), "staged, not swapped: canary failed")
			return
		}
	}
}

// canaryFailed says why canary i stops the rollout: its failure, or a swap
// that only the status page could settle.
func (r *runner) canaryFailed(i int) string {
	sr := &r.rep.Servers[i]
	switch {
	case sr.err == nil && sr.Note != "":
		return fmt.Sprintf("canary %s: %s", sr.Name, sr.Note)
	case sr.Verified && sr.Health == HealthFailed:
		return fmt.Sprintf("canary %s failed its health check (it runs the new build)", sr.Name)
	}
	return fmt.Sprintf("canary %s failed", sr.Name)
}

func flatten(gs [][]int) []int {
	var out []int
	for _, g := range gs {
		out = append(out, g...)
	}
	return out
}

// groups splits servers into swap groups: each canary alone, then batches of
// Parallel. It also records the plan in the report.
func (r *runner) groups(idx []int) [][]int {
	var gs [][]int
	c := min(r.p.Canary, len(idx))
	r.ncanary = c
	for _, i := range idx[:c] {
		gs = append(gs, []int{i})
	}
	rest := idx[c:]
	for len(rest) > 0 {
		n := min(r.p.Parallel, len(rest))
		gs = append(gs, rest[:n])
		rest = rest[n:]
	}
	r.rep.Batches = nil
	for gi, g := range gs {
		r.rep.Batches = append(r.rep.Batches, r.names(g))
		for _, i := range g {
			r.rep.Servers[i].Batch = gi
		}
	}
	return gs
}

func (r *runner) groupLabel(gi, n int) string {
	if c := r.ncanary; gi < c {
		return fmt.Sprintf("canary %d of %d", gi+1, c)
	}
	return fmt.Sprintf("batch %d of %d", gi-r.ncanary+1, n-r.ncanary)
}

// graceContext returns a context that ends grace after ctx does (or when
// cancel is called): the work that must not be cut at the user's interrupt
// runs under it — a swap in flight, whose server may hold its requests, and
// the hooks that put a server back.
func graceContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	gctx, gcancel := context.WithCancel(context.WithoutCancel(ctx))
	var mu sync.Mutex
	var timer *time.Timer
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		timer = time.AfterFunc(grace, gcancel)
		mu.Unlock()
	})
	return gctx, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		gcancel()
	}
}

// swapGroup swaps, verifies and health-checks the servers of one group at
// once. The work runs under a context that survives the user's interrupt for
// InterruptGrace, because a server interrupted mid-swap may hold its requests
// and must at least be reported as it is.
func (r *runner) swapGroup(ctx context.Context, g []int, gi, ngroups int) {
	gctx, cancel := graceContext(ctx, r.p.InterruptGrace)
	defer cancel()
	type result struct {
		i  int
		sr ServerReport
		cf bool // counts as a failure
	}
	ch := make(chan result, len(g))
	label := r.groupLabel(gi, ngroups)
	for _, i := range g {
		sr := r.rep.Servers[i] // a copy: the worker never touches the report
		go func() {
			cf := r.swapOne(ctx, gctx, i, &sr, label)
			ch <- result{i, sr, cf}
		}()
	}
	got := make(map[int]bool, len(g))
	done := ctx.Done()
	var deadline <-chan time.Time
	for len(got) < len(g) {
		select {
		case res := <-ch:
			got[res.i] = true
			r.rep.Servers[res.i] = res.sr
			if res.cf {
				r.countFailure()
			}
		case <-done:
			done = nil
			deadline = time.After(r.p.InterruptGrace + abandonMargin(r.p.InterruptGrace))
		case <-deadline:
			for _, i := range g {
				if !got[i] {
					got[i] = true
					r.abandon(i)
				}
			}
		}
	}
}

// abandon records a server whose swap did not return within the grace.
func (r *runner) abandon(i int) {
	sr, t := &r.rep.Servers[i], r.target(i)
	err := exitcode.Errorf(exitcode.Swap,
		"%s: the swap did not answer within %s of the interrupt; what the server runs now is unknown: open its status page (%s) and, if it still holds requests, run the swap link again",
		t.Name, r.p.InterruptGrace, RedactURL(t.StatusURL))
	sr.err, sr.Error, sr.ExitCode = err, err.Error(), int(exitcode.Swap)
	sr.VersionAfter = ""
	sr.stateUnknown = true
	r.countFailure()
	r.obs.Step(i, t, PhaseFailed, sr.Error)
}

// swapOne takes one server through before_swap, the swap, its verification
// and health check, and after_swap. It works on its own copy of the server's
// report and says whether the outcome counts as a failure.
func (r *runner) swapOne(ctx, gctx context.Context, i int, sr *ServerReport, label string) (failure bool) {
	t0 := time.Now()
	defer func() { sr.DurationMS += time.Since(t0).Milliseconds() }()

	drained, err := r.beforeSwap(ctx, gctx, i, sr)
	if err != nil {
		return r.recordError(ctx, i, sr, PhaseHook, err)
	}
	done := ""
	// An interrupt during before_swap or the drain delay keeps the server
	// as it is; after_swap still puts it back.
	if !drained || ctx.Err() == nil {
		done, failure = r.swapVerify(ctx, gctx, i, sr, label)
	}
	if r.afterSwap(gctx, i, sr) {
		failure = true
	}
	if done != "" && sr.err == nil {
		r.obs.Step(i, r.target(i), PhaseDone, done)
	}
	return failure
}

// swapVerify swaps, verifies and health-checks one server. It returns what
// the server runs, for the observer, or that it failed.
func (r *runner) swapVerify(ctx, gctx context.Context, i int, sr *ServerReport, label string) (done string, failure bool) {
	t := r.target(i)
	fail := func(ph Phase, err error) (string, bool) {
		sr.err, sr.Error, sr.ExitCode, sr.failedIn = err, err.Error(), int(exitcode.Of(err)), ph
		r.obs.Step(i, t, PhaseFailed, fmt.Sprintf("%s: %s", ph, Cause(sr.Name, sr.Error)))
		return "", true
	}
	r.obs.Step(i, t, PhaseSwap, "swapping ("+label+")")
	sw, err := r.steps.Swap(gctx, t)
	sr.VersionAfter = sw.Version // empty when unknown
	if err != nil {
		// An interrupted swap may or may not have happened.
		sr.stateUnknown = IsStateUnknown(err) || errors.Is(err, context.Canceled)
		return fail(PhaseSwap, err)
	}
	sr.Swapped = true
	sr.SwapReply, sr.Evidence = &sw, sw.Evidence
	if sw.Settled != "" {
		// Not an error of the server, but no clean swap either: it counts
		// against max_failures and stops after a canary.
		sr.Note = joinNote(sr.Note, sw.Settled)
		failure = true
		r.obs.Step(i, t, PhaseSwap, sw.Settled)
	}

	r.obs.Step(i, t, PhaseVerify, "verifying")
	run, err := r.steps.Verify(gctx, t, sw)
	if run.Version != "" {
		sr.VersionAfter = run.Version
		sr.Running = &run
	}
	if err != nil {
		sr.stateUnknown = IsStateUnknown(err)
		return fail(PhaseVerify, err)
	}
	sr.Verified = true

	if r.p.NoHealthCheck {
		sr.Health = HealthNone
		return "runs " + sr.VersionAfter + " (no health check configured)", failure
	}
	if ctx.Err() != nil {
		// Interrupted: the swap is accounted for; health checks can wait.
		sr.Health = HealthSkipped
		return "runs " + sr.VersionAfter + " (health not checked: interrupted)", failure
	}
	r.obs.Step(i, t, PhaseHealth, "health check")
	if err := r.steps.Health(gctx, t); err != nil {
		sr.Health = HealthFailed
		return fail(PhaseHealth, err)
	}
	sr.Health = HealthOK
	return "runs " + sr.VersionAfter, failure
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
