package rollout

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wcdeploy/wcdeploy/pkg/exitcode"
)

// Defaults applied by Run when the plan leaves a field at zero.
const (
	DefaultParallel       = 4
	DefaultInterruptGrace = 60 * time.Second
)

// abandonMargin is how long past InterruptGrace Run still waits for a swap
// whose Steps did not return when its context ended; after that the server's
// outcome is recorded as unknown rather than hanging the process. A short
// grace gets a margin as short.
func abandonMargin(grace time.Duration) time.Duration { return min(5*time.Second, grace) }

// StagePlanner is an optional Observer extension: it learns, before any
// upload starts, which servers will be staged (so a byte total can be shown).
type StagePlanner interface {
	StagePlanned(servers []int)
}

type nopObserver struct{}

func (nopObserver) Step(int, Target, Phase, string) {}
func (nopObserver) Bytes(int, Target, int64, int64) {}

// Run executes the plan: preflight everywhere, stage everywhere, then swap the
// canary servers one at a time and the rest in batches. It never returns nil
// and never panics on a Steps error; everything that happened is in the
// report, including the exit code for the process.
func Run(ctx context.Context, p Plan, steps Steps, obs Observer) *Report {
	if p.Parallel <= 0 {
		p.Parallel = DefaultParallel
	}
	if p.Canary < 0 {
		p.Canary = 0
	}
	if p.MaxFailures < 0 {
		p.MaxFailures = 0
	}
	if p.InterruptGrace <= 0 {
		p.InterruptGrace = DefaultInterruptGrace
	}
	if obs == nil {
		obs = nopObserver{}
	}
	r := &runner{p: p, steps: steps, obs: obs}
	r.rep = &Report{Build: p.Build, Started: time.Now(), Servers: make([]ServerReport, len(p.Targets))}
	for i, t := range p.Targets {
		r.rep.Servers[i] = ServerReport{Name: t.Name, URL: RedactURL(t.URL), Batch: -1}
	}
	r.run(ctx)
	r.finish(ctx)
	r.rep.Duration = time.Since(r.rep.Started).Milliseconds()
	return r.rep
}

type runner struct {
	p     Plan
	steps Steps
	obs   Observer
	rep   *Report

	ncanary int // how many swap groups are canaries

	mu       sync.Mutex
	failures int // failures that count against MaxFailures
}

func (r *runner) target(i int) Target { return r.p.Targets[i] }

func (r *runner) tooManyFailures() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures > r.p.MaxFailures
}

func (r *runner) countFailure() {
	r.mu.Lock()
	r.failures++
	r.mu.Unlock()
}

// setError records err on sr. An error caused by the user's interrupt is
// worded as such and does not count as a failure of the server.
func (r *runner) setError(ctx context.Context, i int, sr *ServerReport, ph Phase, err error) {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = exitcode.New(exitcode.Interrupted, fmt.Errorf("%s: interrupted during %s: %w", r.target(i).Name, ph, err))
	} else {
		r.countFailure()
	}
	sr.err = err
	sr.Error = err.Error()
	sr.ExitCode = int(exitcode.Of(err))
	r.obs.Step(i, r.target(i), PhaseFailed, fmt.Sprintf("%s: %s", ph, sr.Error))
}

// forEach runs fn for the given servers, at most limit at once, in plan
// order. It starts nothing once ctx is done or stop reports true, and returns
// the servers it never started.
func (r *runner) forEach(ctx context.Context, idx []int, limit int, stop func() bool, fn func(i int)) (notStarted []int) {
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	halted := func() bool { return ctx.Err() != nil || (stop != nil && stop()) }
loop:
	for k, i := range idx {
		if halted() {
			notStarted = idx[k:]
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			notStarted = idx[k:]
			break loop
		}
		// Failures may have come in while waiting for a slot.
		if halted() {
			<-sem
			notStarted = idx[k:]
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
	return notStarted
}

func (r *runner) run(ctx context.Context) {
	all := make([]int, len(r.p.Targets))
	for i := range all {
		all[i] = i
	}

	// Phase 1: preflight. It changes nothing, so every server is asked.
	notStarted := r.forEach(ctx, all, r.p.Parallel, nil, func(i int) {
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
	})
	if ctx.Err() != nil {
		r.interrupted()
		return
	}

	var candidates, failed []int
	for _, i := range all {
		sr := &r.rep.Servers[i]
		switch {
		case sr.err != nil:
			failed = append(failed, i)
		case !sr.UpToDate:
			candidates = append(candidates, i)
		}
	}
	if len(failed) > 0 {
		if !r.p.SkipUnreachable {
			names := r.names(failed)
			r.rep.HaltReason = fmt.Sprintf("preflight failed on %s; nothing was changed", strings.Join(names, ", "))
			for _, i := range candidates {
				r.skip(i, "not deployed: preflight failed on "+strings.Join(names, ", "))
			}
			return
		}
		// The user accepted to go on without them; they are not failures
		// of this rollout, but the exit code still tells they were missed.
		r.mu.Lock()
		r.failures -= len(failed)
		r.mu.Unlock()
		for _, i := range failed {
			r.rep.Servers[i].Skipped = "failed preflight, skipped (skip unreachable)"
		}
	}
	if len(candidates) == 0 {
		return
	}

	if r.p.DryRun {
		r.rep.DryRun = true
		groups := r.groups(candidates)
		for gi, g := range groups {
			for _, i := range g {
				r.skip(i, fmt.Sprintf("dry run: would stage, then swap in %s", r.groupLabel(gi, len(groups))))
			}
		}
		return
	}

	// Phase 2: stage everywhere first; nobody is on hold while uploading.
	if sp, ok := r.obs.(StagePlanner); ok {
		sp.StagePlanned(candidates)
	}
	notStarted = r.forEach(ctx, candidates, r.p.Parallel, r.tooManyFailures, func(i int) {
		sr, t := &r.rep.Servers[i], r.target(i)
		r.obs.Step(i, t, PhaseStage, "uploading")
		t0 := time.Now()
		size := r.p.Build.Size
		err := r.steps.Stage(ctx, t, func(sent int64) { r.obs.Bytes(i, t, sent, size) })
		sr.DurationMS += time.Since(t0).Milliseconds()
		if err != nil {
			r.setError(ctx, i, sr, PhaseStage, err)
			return
		}
		sr.Staged = true
		r.obs.Step(i, t, PhaseStage, "staged")
	})
	var staged []int
	for _, i := range candidates {
		if r.rep.Servers[i].Staged {
			staged = append(staged, i)
		}
	}
	if ctx.Err() != nil {
		r.interrupted()
		return
	}
	if r.tooManyFailures() {
		r.halt(fmt.Sprintf("%s during upload, more than max_failures %d; nothing was swapped", plural(r.failures, "failure"), r.p.MaxFailures))
		for _, i := range notStarted {
			r.skip(i, "not staged: rollout halted")
		}
		for _, i := range staged {
			r.skip(i, "staged, not swapped: rollout halted")
		}
		return
	}

	if r.p.StageOnly {
		r.rep.StageOnly = true
		for _, i := range staged {
			r.skip(i, "staged, not swapped (--stage-only)")
		}
		return
	}

	// Phase 3: swap, canary servers alone first, then batches.
	groups := r.groups(staged)
	for gi, g := range groups {
		if ctx.Err() != nil {
			r.interrupted()
			return
		}
		if r.tooManyFailures() {
			r.halt(fmt.Sprintf("%s, more than max_failures %d", plural(r.failures, "failure"), r.p.MaxFailures))
			r.skipAll(flatten(groups[gi:]), "staged, not swapped: rollout halted")
			return
		}
		failedBefore := r.failures
		r.swapGroup(ctx, g, gi, len(groups))
		if ctx.Err() != nil {
			r.interrupted()
			return
		}
		if gi < r.ncanary && r.failures > failedBefore {
			// A canary exists to stop a bad build before it reaches the rest.
			r.halt(fmt.Sprintf("canary %s failed", r.target(g[0]).Name))
			r.skipAll(flatten(groups[gi+1:]), "staged, not swapped: canary failed")
			return
		}
	}
}

func flatten(gs [][]int) []int {
	var out []int
	for _, g := range gs {
		out = append(out, g...)
	}
	return out
}

func (r *runner) canaries(n int) int { return min(r.p.Canary, n) }

// groups splits servers into swap groups: each canary alone, then batches of
// Parallel. It also records the plan in the report.
func (r *runner) groups(idx []int) [][]int {
	var gs [][]int
	c := r.canaries(len(idx))
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

func (r *runner) names(idx []int) []string {
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = r.target(i).Name
	}
	return out
}

func (r *runner) skip(i int, why string) {
	r.rep.Servers[i].Skipped = why
	r.obs.Step(i, r.target(i), PhaseSkipped, why)
}

func (r *runner) skipAll(idx []int, why string) {
	for _, i := range idx {
		r.skip(i, why)
	}
}

func (r *runner) halt(why string) {
	r.rep.Halted = true
	r.rep.HaltReason = why
}

// interrupted ends the run after Ctrl-C: every server that has no outcome
// yet gets a reason, so none is left unaccounted for.
func (r *runner) interrupted() {
	r.halt("interrupted")
	for i := range r.rep.Servers {
		s := &r.rep.Servers[i]
		switch {
		case s.err != nil || s.Verified || s.UpToDate || s.Skipped != "":
		case s.Staged:
			r.skip(i, "staged, not swapped: interrupted")
		default:
			r.skip(i, "not deployed: interrupted before the upload")
		}
	}
}

// swapGroup swaps, verifies and health-checks the servers of one group at
// once. The work runs under a context that survives the user's interrupt for
// InterruptGrace, because a server interrupted mid-swap may hold its requests
// and must at least be reported as it is.
func (r *runner) swapGroup(ctx context.Context, g []int, gi, ngroups int) {
	gctx, gcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer gcancel()
	var timerMu sync.Mutex
	var graceTimer *time.Timer
	stopAfter := context.AfterFunc(ctx, func() {
		timerMu.Lock()
		graceTimer = time.AfterFunc(r.p.InterruptGrace, gcancel)
		timerMu.Unlock()
	})
	defer func() {
		stopAfter()
		timerMu.Lock()
		if graceTimer != nil {
			graceTimer.Stop()
		}
		timerMu.Unlock()
	}()

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
				if got[i] {
					continue
				}
				got[i] = true
				sr, t := &r.rep.Servers[i], r.target(i)
				err := exitcode.Errorf(exitcode.Swap,
					"%s: the swap did not answer within %s of the interrupt; what the server runs now is unknown: open its status page (%s) and, if it still holds requests, run the swap link again",
					t.Name, r.p.InterruptGrace, RedactURL(t.StatusURL))
				sr.err, sr.Error, sr.ExitCode = err, err.Error(), int(exitcode.Swap)
				sr.VersionAfter = ""
				r.countFailure()
				r.obs.Step(i, t, PhaseFailed, sr.Error)
			}
		}
	}
}

// swapOne works on its own copy of the server's report and says whether the
// outcome counts as a failure.
func (r *runner) swapOne(ctx, gctx context.Context, i int, sr *ServerReport, label string) (failure bool) {
	t := r.target(i)
	fail := func(ph Phase, err error) bool {
		sr.err, sr.Error, sr.ExitCode = err, err.Error(), int(exitcode.Of(err))
		r.obs.Step(i, t, PhaseFailed, fmt.Sprintf("%s: %s", ph, sr.Error))
		return true
	}
	t0 := time.Now()
	defer func() { sr.DurationMS += time.Since(t0).Milliseconds() }()

	r.obs.Step(i, t, PhaseSwap, "swapping ("+label+")")
	sw, err := r.steps.Swap(gctx, t)
	sr.VersionAfter = sw.Version // empty when unknown
	if err != nil {
		return fail(PhaseSwap, err)
	}
	sr.Swapped = true

	r.obs.Step(i, t, PhaseVerify, "verifying")
	run, err := r.steps.Verify(gctx, t, sw)
	if run.Version != "" {
		sr.VersionAfter = run.Version
	}
	if err != nil {
		return fail(PhaseVerify, err)
	}
	sr.Verified = true

	if ctx.Err() != nil {
		// Interrupted: the swap is accounted for; health checks can wait.
		sr.Health = "skipped"
		r.obs.Step(i, t, PhaseDone, "runs "+sr.VersionAfter+" (health not checked: interrupted)")
		return false
	}
	r.obs.Step(i, t, PhaseHealth, "health check")
	if err := r.steps.Health(gctx, t); err != nil {
		sr.Health = "failed"
		return fail(PhaseHealth, err)
	}
	sr.Health = "ok"
	r.obs.Step(i, t, PhaseDone, "runs "+sr.VersionAfter)
	return false
}

// finish decides the report's exit code: what state production is in.
func (r *runner) finish(ctx context.Context) {
	rep := r.rep
	var updated, notUpdated int
	var firstErr error
	for i := range rep.Servers {
		s := &rep.Servers[i]
		if s.Verified {
			updated++
		} else if !s.UpToDate {
			notUpdated++
		}
		if s.err != nil && firstErr == nil && exitcode.Of(s.err) != exitcode.Interrupted {
			firstErr = s.err
		}
	}
	var code exitcode.Code
	switch {
	case ctx.Err() != nil && rep.Halted:
		code = exitcode.Interrupted
	case ctx.Err() != nil && notUpdated > 0:
		// Cancelled so late that nothing was left to stop, yet not all ran.
		code = exitcode.Interrupted
		rep.Halted, rep.HaltReason = true, "interrupted"
	case rep.DryRun, rep.StageOnly:
		code = exitcode.Of(firstErr)
	case firstErr == nil && notUpdated == 0:
		code = exitcode.OK
	case updated == 0:
		code = exitcode.Of(firstErr)
		if firstErr == nil {
			code = exitcode.Unexpected
		}
	case notUpdated > 0:
		code = exitcode.Partial
	default:
		// Every server runs the build, yet one failed afterwards (health).
		code = exitcode.Of(firstErr)
	}
	rep.ExitCode = int(code)
	rep.OK = code == exitcode.OK
}

// Err returns an error for the whole run carrying its exit code, or nil when
// the run succeeded. Its message sums up the run in one line for people.
func (rep *Report) Err() error { return rep.ErrFor("") }

// ErrFor is Err for a run recorded in the journal under runID, so the advice
// names the exact command that resumes it.
func (rep *Report) ErrFor(runID string) error {
	if rep.ExitCode == 0 {
		return nil
	}
	resume := "'wcdeploy deploy --resume RUN_ID' (ids in 'wcdeploy history')"
	if runID != "" {
		resume = "'wcdeploy deploy --resume " + runID + "'"
	}
	var failed, updated []string
	for i := range rep.Servers {
		s := &rep.Servers[i]
		if s.Error != "" && s.ExitCode != int(exitcode.Interrupted) {
			failed = append(failed, s.Name)
		}
		if s.Verified {
			updated = append(updated, s.Name)
		}
	}
	code := exitcode.Code(rep.ExitCode)
	switch code {
	case exitcode.Interrupted:
		return exitcode.Errorf(code, "interrupted: %d of %d servers run the new build (%s); see the report, then run %s to finish", len(updated), len(rep.Servers), listOrNone(updated), resume)
	case exitcode.Partial:
		return exitcode.Errorf(code, "partial rollout: %d of %d servers run the new build; failed: %s; fix them and run %s, or 'wcdeploy rollback'", len(updated), len(rep.Servers), listOrNone(failed), resume)
	}
	for i := range rep.Servers {
		if err := rep.Servers[i].err; err != nil && int(exitcode.Of(err)) == rep.ExitCode {
			if len(failed) > 1 {
				return exitcode.Errorf(code, "%w (and %d more failed servers, see the report)", err, len(failed)-1)
			}
			return exitcode.New(code, err)
		}
	}
	return exitcode.Errorf(code, "the rollout failed on %s; see the report", listOrNone(failed))
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// RedactURL removes a password from a URL so reports and journals never carry
// one, whatever the configuration held.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return "(unreadable URL)"
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
