package rollout

import (
	"context"
	"fmt"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// Exit codes of failed hooks. Nothing here is a new code: each is the
// documented code whose production state is what a failed hook leaves.
//
//   - before_rollout and before_swap: exitcode.Upload (4), "nothing was
//     swapped" — the build is staged, no swap was attempted (on any server,
//     or on that server). exitcode.Swap (5) would say a swap was tried and
//     its message tells what runs now.
//   - after_swap and after_rollout: exitcode.Verify (6), like a failed
//     health check — the server was swapped and runs what the message
//     says, but the step after it (putting it back in the load balancer)
//     did not succeed.
const (
	beforeHookCode = exitcode.Upload
	afterHookCode  = exitcode.Verify
)

// hook runs the user's command for one hook point, telling the observer
// (i is -1 for the run-level hooks) that it starts and each line it prints.
// It returns nil and no error when the point has no command.
func (r *runner) hook(ctx context.Context, i int, c HookCall) (*HookResult, error) {
	if !r.hooks[c.Point] {
		return nil, nil
	}
	var t Target
	if c.Target != nil {
		t = *c.Target
	}
	r.obs.Step(i, t, PhaseHook, c.Point)
	c.Output = func(line string) { r.obs.Step(i, t, PhaseHook, c.Point+": "+line) }
	res, err := r.p.Hooks.Run(ctx, c)
	if err != nil {
		if res == nil {
			res = &HookResult{}
		}
		res.OK = false
		if res.Error == "" {
			res.Error = err.Error()
		}
	}
	return res, err
}

// beforeRollout runs after every upload and before the first swap. When it
// fails nothing is swapped and the run halts; an interrupt ends the run.
func (r *runner) beforeRollout(ctx context.Context, staged []int) bool {
	res, err := r.hook(ctx, -1, HookCall{Point: HookBeforeRollout, Batch: -1})
	r.rep.BeforeRollout = res
	if ctx.Err() != nil {
		r.interrupted()
		return false
	}
	if err != nil {
		r.rep.err = exitcode.New(beforeHookCode, fmt.Errorf("nothing was swapped: %w", err))
		r.halt("before_rollout hook failed; nothing was swapped", beforeHookCode)
		r.haltAll(staged, "staged, not swapped: before_rollout failed")
		return false
	}
	return true
}

// beforeSwap runs right before one server's swap, under the grace context so
// an interrupt does not cut a load balancer change in half; then it waits
// DrainDelay (cut short by an interrupt). drained says that it ran and
// succeeded. A failure means the server is not swapped, and after_swap
// does not run; otherwise after_swap runs whatever happens next.
func (r *runner) beforeSwap(ctx, gctx context.Context, i int, sr *ServerReport) (drained bool, err error) {
	t := r.target(i)
	res, err := r.hook(gctx, i, HookCall{Point: HookBeforeSwap, Target: &t, Batch: sr.Batch, VersionBefore: sr.VersionBefore})
	sr.BeforeSwap = res
	if err != nil {
		return false, exitcode.New(beforeHookCode, fmt.Errorf("%s: not swapped: %w", t.Name, err))
	}
	if res == nil {
		return false, nil
	}
	if d := r.p.DrainDelay; d > 0 && ctx.Err() == nil {
		r.obs.Step(i, t, PhaseHook, fmt.Sprintf("drain_delay: waiting %s", d))
		wait(ctx, d)
	}
	return true, nil
}

// afterSwap runs after the server's swap, verification and health check, or
// after they failed, or instead of them when an interrupt came after
// before_swap: it is told the outcome. It reports whether it failed; its
// failure counts against MaxFailures, since a farm whose servers are not put
// back runs out of servers.
func (r *runner) afterSwap(gctx context.Context, i int, sr *ServerReport) (failed bool) {
	t := r.target(i)
	outcome, code := sr.outcome(), sr.ExitCode
	if outcome != OutcomeOK && code == 0 {
		code = int(exitcode.Interrupted) // not swapped: interrupted after before_swap
	}
	res, err := r.hook(gctx, i, HookCall{Point: HookAfterSwap, Target: &t, Batch: sr.Batch,
		VersionBefore: sr.VersionBefore, Outcome: outcome, VersionAfter: sr.VersionAfter, ExitCode: code})
	sr.AfterSwap = res
	if err == nil {
		return false
	}
	if sr.err != nil {
		// The server failed already, with its own code; say this too.
		sr.Error += "; then " + err.Error()
		r.obs.Step(i, t, PhaseFailed, HookAfterSwap+": "+err.Error())
		return true
	}
	state := "was not swapped"
	if sr.Verified {
		state = "runs " + sr.VersionAfter
	}
	err = exitcode.New(afterHookCode, fmt.Errorf("%s: %s, but %w", t.Name, state, err))
	sr.err, sr.Error, sr.ExitCode = err, err.Error(), int(afterHookCode)
	r.obs.Step(i, t, PhaseFailed, HookAfterSwap+": "+sr.Error)
	return true
}

// outcome is what after_swap is told about the server.
func (s *ServerReport) outcome() string {
	switch {
	case s.stateUnknown:
		return OutcomeUnknown
	case s.Verified && s.Health != "failed":
		return OutcomeOK
	}
	return OutcomeFailed
}

// afterRollout runs at the end of every run that is not a dry run or
// --stage-only (those change nothing running), told the outcome; after an
// interrupt it still runs, within InterruptGrace. A failure makes a run that
// succeeded exit with afterHookCode; a run that failed keeps its own code.
func (r *runner) afterRollout(ctx context.Context) {
	if r.p.DryRun || r.p.StageOnly {
		return
	}
	hctx, cancel := graceContext(ctx, r.p.InterruptGrace)
	defer cancel()
	res, err := r.hook(hctx, -1, HookCall{Point: HookAfterRollout, Batch: -1, Outcome: r.rep.outcome(), ExitCode: r.rep.ExitCode})
	r.rep.AfterRollout = res
	if err == nil || r.rep.ExitCode != 0 {
		return
	}
	r.rep.err = exitcode.New(afterHookCode, fmt.Errorf("every server runs the build, but %w", err))
	r.rep.ExitCode, r.rep.OK = int(afterHookCode), false
}

// outcome is what after_rollout is told about the run.
func (rep *Report) outcome() string {
	for i := range rep.Servers {
		if rep.Servers[i].stateUnknown {
			return OutcomeUnknown
		}
	}
	if rep.ExitCode == 0 {
		return OutcomeOK
	}
	return OutcomeFailed
}

// wait sleeps for d or until ctx ends.
func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
