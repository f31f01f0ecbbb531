package rollout

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// Defaults applied by Run when the plan leaves a field at zero.
const (
	DefaultParallel       = 4
	DefaultInterruptGrace = 60 * time.Second
)

// StagePlanner is an optional Observer extension: it learns, before any
// upload starts, which servers will be staged (so a byte total can be shown).
type StagePlanner interface {
	StagePlanned(servers []int)
}

type nopObserver struct{}

func (nopObserver) Step(int, Target, Phase, string) {}
func (nopObserver) Bytes(int, Target, int64, int64) {}

// Run executes the plan: preflight everywhere, stage everywhere,
// before_rollout, then swap the canary servers one at a time and the rest in
// batches (each between its before_swap and after_swap), and after_rollout
// once the exit code is known. It never returns nil and never panics on a
// Steps or Hooks error; everything that happened is in the report,
// including the exit code for the process.
func Run(ctx context.Context, p Plan, steps Steps, obs Observer) *Report {
	r := newRunner(p, steps, obs)
	r.run(ctx)
	r.decide(ctx)
	r.afterRollout(ctx)
	r.rep.Duration = time.Since(r.rep.Started).Milliseconds()
	return r.rep
}

// run is the flow, one phase after the other; a phase that ends the run
// (nothing to do, a failure over the limit, an interrupt) says so and the
// phases after it do not start.
func (r *runner) run(ctx context.Context) {
	todo, ok := r.preflight(ctx)
	if !ok {
		return
	}
	if r.p.DryRun {
		r.planOnly(todo)
		return
	}
	staged, ok := r.stage(ctx, todo)
	// The uploads are done: the build's hash (and archive copy) is read
	// now, beside the swaps' waits, rather than beside the uploads.
	go r.buildSHA()
	if !ok {
		return
	}
	if r.p.StageOnly {
		r.stageOnly(staged)
		return
	}
	if len(staged) == 0 {
		return
	}
	groups := r.groups(staged)
	if !r.beforeRollout(ctx, staged) {
		return
	}
	r.swap(ctx, groups)
}

type runner struct {
	p     Plan
	steps Steps
	obs   Observer
	rep   *Report

	hooks   map[string]bool // hook points with a command
	ncanary int             // how many swap groups are canaries

	mu       sync.Mutex
	failures int // failures that count against MaxFailures

	hashOnce sync.Once
	sha      string // the build's SHA-256, once asked for

	haltCode exitcode.Code // the exit code of what halted the rollout
}

func newRunner(p Plan, steps Steps, obs Observer) *runner {
	if p.Parallel <= 0 {
		p.Parallel = DefaultParallel
	}
	if p.UploadParallel <= 0 {
		p.UploadParallel = p.Parallel
	}
	p.Canary = max(p.Canary, 0)
	p.MaxFailures = max(p.MaxFailures, 0)
	p.DrainDelay = max(p.DrainDelay, 0)
	if p.InterruptGrace <= 0 {
		p.InterruptGrace = DefaultInterruptGrace
	}
	if obs == nil {
		obs = nopObserver{}
	}
	r := &runner{p: p, steps: steps, obs: obs, hooks: map[string]bool{}}
	r.rep = &Report{Build: p.Build, Started: time.Now(), Servers: make([]ServerReport, len(p.Targets))}
	for i, t := range p.Targets {
		r.rep.Servers[i] = ServerReport{Name: t.Name, URL: RedactURL(t.URL), Batch: -1}
	}
	if p.Hooks != nil {
		r.rep.Hooks = p.Hooks.Configured()
		for _, h := range r.rep.Hooks {
			r.hooks[h] = true
		}
	}
	return r
}

func (r *runner) target(i int) Target { return r.p.Targets[i] }

func (r *runner) all() []int {
	all := make([]int, len(r.p.Targets))
	for i := range all {
		all[i] = i
	}
	return all
}

func (r *runner) failureCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures
}

func (r *runner) tooManyFailures() bool { return r.failureCount() > r.p.MaxFailures }

func (r *runner) countFailure() {
	r.mu.Lock()
	r.failures++
	r.mu.Unlock()
}

// setError records err on sr. An error caused by the user's interrupt is
// worded as such and does not count as a failure of the server.
func (r *runner) setError(ctx context.Context, i int, sr *ServerReport, ph Phase, err error) {
	if r.recordError(ctx, i, sr, ph, err) {
		r.countFailure()
	}
}

// recordError is setError for a worker that counts its failures itself: it
// reports whether err counts as one.
func (r *runner) recordError(ctx context.Context, i int, sr *ServerReport, ph Phase, err error) (failure bool) {
	failure = true
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = exitcode.New(exitcode.Interrupted, interruptedError{fmt.Sprintf("%s: interrupted during %s", r.target(i).Name, ph), err})
		failure = false
	}
	sr.err = err
	sr.Error = err.Error()
	sr.ExitCode = int(exitcode.Of(err))
	sr.failedIn = ph
	r.obs.Step(i, r.target(i), PhaseFailed, fmt.Sprintf("%s: %s", ph, Cause(sr.Name, sr.Error)))
	return failure
}

// interruptedError says that the user's interrupt ended a step, without
// the context's "context canceled"; errors.Is still sees it.
type interruptedError struct {
	msg string
	err error
}

func (e interruptedError) Error() string { return e.msg }
func (e interruptedError) Unwrap() error { return e.err }

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

// halt records that the rollout stops early, why, and the exit code the
// servers it leaves out carry.
func (r *runner) halt(why string, code exitcode.Code) {
	r.rep.Halted = true
	r.rep.HaltReason = why
	r.haltCode = code
}

// haltAll marks servers left out by the halt: they keep what they ran, and
// their exit code and not_swapped say why.
func (r *runner) haltAll(idx []int, why string) {
	for _, i := range idx {
		sr := &r.rep.Servers[i]
		sr.NotSwapped = "halted: " + r.rep.HaltReason
		if r.haltCode == exitcode.Interrupted {
			sr.NotSwapped = "interrupted"
		}
		sr.ExitCode = int(r.haltCode)
		r.skip(i, why)
	}
}

// firstFailure is the exit code of the first of idx with an error.
func (r *runner) firstFailure(idx []int) exitcode.Code {
	for _, i := range idx {
		if err := r.rep.Servers[i].err; err != nil {
			return exitcode.Of(err)
		}
	}
	return exitcode.Swap
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
