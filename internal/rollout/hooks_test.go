package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

var allHooks = []string{HookBeforeRollout, HookBeforeSwap, HookAfterSwap, HookAfterRollout}

// fakeHooks is a Hooks that records every call in the fake servers' event
// log (so its order against the steps can be checked), prints one line, and
// fails where told.
type fakeHooks struct {
	f      *fakeSteps
	points []string

	mu    sync.Mutex
	calls []HookCall
	fail  map[string]error // by point+"/"+server ("" for run-level)
	// onRun runs inside a hook (to cancel the run, for example).
	onRun func(c HookCall)
	// hold makes a hook wait until its context ends.
	hold map[string]bool
}

func newHooks(f *fakeSteps, points ...string) *fakeHooks {
	return &fakeHooks{f: f, points: points, fail: map[string]error{}, hold: map[string]bool{}}
}

func hookKey(point string, t *Target) string {
	if t == nil {
		return point + "/"
	}
	return point + "/" + t.Name
}

func (h *fakeHooks) Configured() []string { return slices.Clone(h.points) }

func (h *fakeHooks) Run(ctx context.Context, c HookCall) (*HookResult, error) {
	if !slices.Contains(h.points, c.Point) {
		return nil, nil
	}
	server := ""
	if c.Target != nil {
		server = c.Target.Name
	}
	k := h.f.begin(server, Phase(c.Point))
	rec := c
	rec.Output = nil
	h.mu.Lock()
	h.calls = append(h.calls, rec)
	err := h.fail[hookKey(c.Point, c.Target)]
	hold := h.hold[hookKey(c.Point, c.Target)]
	h.mu.Unlock()
	c.Output(fmt.Sprintf("%s says %s", c.Point, server))
	if h.onRun != nil {
		h.onRun(c)
	}
	if hold {
		<-ctx.Done()
		err = fmt.Errorf("%s stopped: %w", c.Point, ctx.Err())
	}
	res := &HookResult{Command: "fake " + c.Point, OK: err == nil, Output: []string{c.Point + " says " + server}}
	if err != nil {
		res.ExitCode = 1
	}
	return res, h.f.end(k, err)
}

func (h *fakeHooks) call(point, server string) (HookCall, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.calls {
		if c.Point == point && (c.Target == nil && server == "" || c.Target != nil && c.Target.Name == server) {
			return c, true
		}
	}
	return HookCall{}, false
}

func (h *fakeHooks) count(point string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.calls {
		if c.Point == point {
			n++
		}
	}
	return n
}

// span is when server's call of phase p started and ended (0, 0 if never).
func (f *fakeSteps) span(server string, p Phase) (start, end int) {
	for _, e := range f.calls(p) {
		if e.server == server {
			return e.start, e.end
		}
	}
	return 0, 0
}

func errHook(point string) error {
	return fmt.Errorf("the %s hook exited 1: check the load balancer", point)
}

func hookPlan(n int, f *fakeSteps, points ...string) (Plan, *fakeHooks) {
	h := newHooks(f, points...)
	p := plan(n)
	p.Hooks = h
	return p, h
}

func TestHooksRunInOrderAroundEachSwap(t *testing.T) {
	const n = 7
	f := newFake(testBuild, n, "1.2.3.4")
	f.delay[PhaseSwap] = time.Millisecond
	p, h := hookPlan(n, f, allHooks...)
	p.Parallel, p.DrainDelay = 3, time.Millisecond
	o := &recObserver{steps: map[string][]Phase{}, bytes: map[int]int64{}}
	rep := Run(context.Background(), p, f, o)

	if rep.ExitCode != 0 || fmt.Sprint(rep.Hooks) != fmt.Sprint(allHooks) {
		t.Fatalf("exit %d, hooks %v: %+v", rep.ExitCode, rep.Hooks, rep)
	}
	lastStage := 0
	for _, e := range f.calls(PhaseStage) {
		lastStage = max(lastStage, e.end)
	}
	brStart, brEnd := f.span("", HookBeforeRollout)
	if brStart < lastStage {
		t.Errorf("before_rollout started before every upload ended")
	}
	for i, s := range rep.Servers {
		bs, be := f.span(s.Name, HookBeforeSwap)
		ss, _ := f.span(s.Name, PhaseSwap)
		_, he := f.span(s.Name, PhaseHealth)
		as, ae := f.span(s.Name, HookAfterSwap)
		if bs < brEnd || be > ss || as < he || ae == 0 {
			t.Errorf("%s: before_rollout end %d, before_swap %d-%d, swap %d, health end %d, after_swap %d-%d", s.Name, brEnd, bs, be, ss, he, as, ae)
		}
		if s.BeforeSwap == nil || !s.BeforeSwap.OK || s.AfterSwap == nil || !s.AfterSwap.OK {
			t.Errorf("%s: hook results %+v %+v", s.Name, s.BeforeSwap, s.AfterSwap)
		}
		c, _ := h.call(HookAfterSwap, s.Name)
		if c.Outcome != OutcomeOK || c.VersionAfter != testBuild.Version || c.VersionBefore != "1.2.3.4" || c.ExitCode != 0 || c.Batch != s.Batch {
			t.Errorf("%s: after_swap told %+v", s.Name, c)
		}
		if got := o.steps[s.Name]; got[len(got)-1] != PhaseDone || !slices.Contains(got, PhaseHook) {
			t.Errorf("%s (%d) steps %v", s.Name, i, got)
		}
	}
	ar, _ := f.span("", HookAfterRollout)
	for _, e := range f.events {
		if e.phase != Phase(HookAfterRollout) && e.end > ar {
			t.Errorf("%s %s ended after after_rollout started", e.server, e.phase)
		}
	}
	if c, _ := h.call(HookAfterRollout, ""); c.Outcome != OutcomeOK || c.ExitCode != 0 || c.Batch != -1 || c.Target != nil {
		t.Errorf("after_rollout told %+v", c)
	}
	if rep.BeforeRollout == nil || rep.AfterRollout == nil || h.count(HookBeforeSwap) != n || h.count(HookAfterSwap) != n {
		t.Errorf("run hooks %+v %+v, %d before_swap, %d after_swap", rep.BeforeRollout, rep.AfterRollout, h.count(HookBeforeSwap), h.count(HookAfterSwap))
	}
	if got := o.steps[""]; fmt.Sprint(got) != "[hook hook hook hook]" {
		t.Errorf("run-level steps %v", got)
	}
}

// TestHooksOutputReachesObserver checks what an observer is told: the hook
// point as it starts, then each line of its output.
func TestHooksOutputReachesObserver(t *testing.T) {
	f := newFake(testBuild, 1, "1.2.3.4")
	p, _ := hookPlan(1, f, HookBeforeRollout, HookBeforeSwap)
	p.DrainDelay = time.Millisecond
	var mu sync.Mutex
	var got []string
	obs := funcObserver(func(i int, t Target, ph Phase, msg string) {
		if ph == PhaseHook {
			mu.Lock()
			got = append(got, fmt.Sprintf("%d %s %s", i, t.Name, msg))
			mu.Unlock()
		}
	})
	Run(context.Background(), p, f, obs)
	want := []string{
		"-1  before_rollout", "-1  before_rollout: before_rollout says ",
		"0 web01 before_swap", "0 web01 before_swap: before_swap says web01", "0 web01 drain_delay: waiting 1ms",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("hook steps\n got %q\nwant %q", got, want)
	}
}

type funcObserver func(i int, t Target, p Phase, msg string)

func (o funcObserver) Step(i int, t Target, p Phase, msg string) { o(i, t, p, msg) }
func (funcObserver) Bytes(int, Target, int64, int64)             {}

func TestBeforeSwapFailure(t *testing.T) {
	t.Run("on the canary: not swapped, rollout stops", func(t *testing.T) {
		f := newFake(testBuild, 5, "1.2.3.4")
		p, h := hookPlan(5, f, allHooks...)
		p.MaxFailures = 3 // a canary halts regardless
		h.fail[HookBeforeSwap+"/web01"] = errHook(HookBeforeSwap)
		rep := Run(context.Background(), p, f, nil)
		if rep.ExitCode != int(exitcode.Upload) || !rep.Halted || len(f.calls(PhaseSwap)) != 0 {
			t.Fatalf("exit %d halted %v swaps %v", rep.ExitCode, rep.Halted, f.servers(PhaseSwap))
		}
		s := rep.Servers[0]
		if s.Swapped || s.BeforeSwap == nil || s.BeforeSwap.OK || !strings.Contains(s.Error, "not swapped") || s.ExitCode != int(exitcode.Upload) {
			t.Errorf("canary: %+v", s)
		}
		if h.count(HookAfterSwap) != 0 {
			t.Error("after_swap ran for a server whose before_swap failed")
		}
		for _, s := range rep.Servers[1:] {
			if s.Skipped != "staged, not swapped: canary failed" {
				t.Errorf("%s: %+v", s.Name, s)
			}
		}
		if c, _ := h.call(HookAfterRollout, ""); c.Outcome != OutcomeFailed || c.ExitCode != int(exitcode.Upload) {
			t.Errorf("after_rollout told %+v", c)
		}
	})
	t.Run("in a batch: counts against max_failures", func(t *testing.T) {
		// canary web01; batch 1 web02-05; batch 2 web06-09.
		f := newFake(testBuild, 9, "1.2.3.4")
		p, h := hookPlan(9, f, HookBeforeSwap, HookAfterSwap)
		h.fail[HookBeforeSwap+"/web03"] = errHook(HookBeforeSwap)
		rep := Run(context.Background(), p, f, nil)
		if rep.ExitCode != int(exitcode.Partial) || !rep.Halted {
			t.Fatalf("exit %d halted %v (%s)", rep.ExitCode, rep.Halted, rep.HaltReason)
		}
		if got := fmt.Sprint(names(rep, swapped)); got != "[web01 web02 web04 web05]" {
			t.Errorf("swapped %s", got)
		}
		if _, ok := h.call(HookAfterSwap, "web03"); ok || h.count(HookAfterSwap) != 4 {
			t.Errorf("after_swap calls: %d", h.count(HookAfterSwap))
		}
	})
}

func TestAfterSwapIsToldTheOutcome(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(f *fakeSteps)
		outcome string
		after   string
		code    exitcode.Code
	}{
		{"verification mismatch", func(f *fakeSteps) { f.failOn("web01", PhaseVerify, errors.New("x")) },
			OutcomeFailed, "9.9.9.9", exitcode.Verify},
		{"health failure", func(f *fakeSteps) {
			f.failOn("web01", PhaseHealth, exitcode.Errorf(exitcode.Verify, "web01: unhealthy"))
		}, OutcomeFailed, testBuild.Version, exitcode.Verify},
		{"swap refused", func(f *fakeSteps) {
			f.failOn("web01", PhaseSwap, exitcode.Errorf(exitcode.Swap, "web01: Unable to copy"))
		}, OutcomeFailed, "", exitcode.Swap},
		{"swap reply lost", func(f *fakeSteps) {
			f.failOn("web01", PhaseSwap, StateUnknown(exitcode.Errorf(exitcode.Swap, "web01: the swap reply was lost")))
		}, OutcomeUnknown, "", exitcode.Swap},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(testBuild, 3, "1.2.3.4")
			c.setup(f)
			p, h := hookPlan(3, f, allHooks...)
			rep := Run(context.Background(), p, f, nil)
			call, ok := h.call(HookAfterSwap, "web01")
			if !ok || call.Outcome != c.outcome || call.VersionAfter != c.after || call.ExitCode != int(c.code) {
				t.Errorf("after_swap told %+v (ran %v)", call, ok)
			}
			if s := rep.Servers[0]; s.AfterSwap == nil || !s.AfterSwap.OK || s.ExitCode != int(c.code) {
				t.Errorf("web01: %+v", s)
			}
			if h.count(HookAfterSwap) != 1 || !rep.Halted {
				t.Errorf("the canary failed: %d after_swap, halted %v", h.count(HookAfterSwap), rep.Halted)
			}
			if r, _ := h.call(HookAfterRollout, ""); r.Outcome != c.outcome || r.ExitCode != rep.ExitCode {
				t.Errorf("after_rollout told %+v, exit %d", r, rep.ExitCode)
			}
		})
	}
}

func TestAfterSwapFailure(t *testing.T) {
	t.Run("on the last server: all updated, exit 6", func(t *testing.T) {
		f := newFake(testBuild, 3, "1.2.3.4")
		p, h := hookPlan(3, f, allHooks...)
		h.fail[HookAfterSwap+"/web03"] = errHook(HookAfterSwap)
		rep := Run(context.Background(), p, f, nil)
		if rep.ExitCode != int(exitcode.Verify) || rep.OK {
			t.Fatalf("exit %d", rep.ExitCode)
		}
		s := rep.Servers[2]
		if !s.Verified || s.AfterSwap == nil || s.AfterSwap.OK || s.AfterSwap.Error == "" || s.ExitCode != int(exitcode.Verify) ||
			!strings.Contains(s.Error, "runs 1.2.3.5, but the after_swap hook exited 1") {
			t.Errorf("web03: %+v", s)
		}
		if err := rep.Err(); exitcode.Of(err) != exitcode.Verify || !strings.Contains(err.Error(), "after_swap") {
			t.Errorf("Err() = %v", err)
		}
	})
	t.Run("on the canary: the rollout stops", func(t *testing.T) {
		f := newFake(testBuild, 5, "1.2.3.4")
		p, h := hookPlan(5, f, HookBeforeSwap, HookAfterSwap)
		h.fail[HookAfterSwap+"/web01"] = errHook(HookAfterSwap)
		rep := Run(context.Background(), p, f, nil)
		if rep.ExitCode != int(exitcode.Partial) || !rep.Halted || fmt.Sprint(names(rep, swapped)) != "[web01]" {
			t.Errorf("exit %d halted %v swapped %v", rep.ExitCode, rep.Halted, names(rep, swapped))
		}
	})
	t.Run("after a failed swap: both are reported", func(t *testing.T) {
		f := newFake(testBuild, 1, "1.2.3.4")
		f.failOn("web01", PhaseSwap, exitcode.Errorf(exitcode.Swap, "web01: Unable to copy"))
		p, h := hookPlan(1, f, HookBeforeSwap, HookAfterSwap)
		h.fail[HookAfterSwap+"/web01"] = errHook(HookAfterSwap)
		rep := Run(context.Background(), p, f, nil)
		s := rep.Servers[0]
		if rep.ExitCode != int(exitcode.Swap) || s.ExitCode != int(exitcode.Swap) || !strings.Contains(s.Error, "Unable to copy") || !strings.Contains(s.Error, "after_swap hook exited 1") {
			t.Errorf("exit %d: %+v", rep.ExitCode, s)
		}
	})
}

func TestBeforeRolloutFailureSwapsNothing(t *testing.T) {
	f := newFake(testBuild, 4, "1.2.3.4")
	p, h := hookPlan(4, f, allHooks...)
	h.fail[HookBeforeRollout+"/"] = errHook(HookBeforeRollout)
	rep := Run(context.Background(), p, f, nil)
	if rep.ExitCode != int(exitcode.Upload) || !rep.Halted || len(f.calls(PhaseSwap)) != 0 || h.count(HookBeforeSwap) != 0 {
		t.Fatalf("exit %d halted %v swaps %v", rep.ExitCode, rep.Halted, f.servers(PhaseSwap))
	}
	if rep.BeforeRollout == nil || rep.BeforeRollout.OK || len(f.calls(PhaseStage)) != 4 {
		t.Errorf("before_rollout %+v, %d uploads", rep.BeforeRollout, len(f.calls(PhaseStage)))
	}
	for _, s := range rep.Servers {
		if !s.Staged || s.Skipped != "staged, not swapped: before_rollout failed" {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
	if err := rep.Err(); exitcode.Of(err) != exitcode.Upload || !strings.Contains(err.Error(), "nothing was swapped") || !strings.Contains(err.Error(), "before_rollout hook exited 1") {
		t.Errorf("Err() = %v", err)
	}
	if c, _ := h.call(HookAfterRollout, ""); c.Outcome != OutcomeFailed || c.ExitCode != int(exitcode.Upload) {
		t.Errorf("after_rollout told %+v", c)
	}
}

func TestAfterRollout(t *testing.T) {
	t.Run("a failure fails a run that succeeded", func(t *testing.T) {
		f := newFake(testBuild, 2, "1.2.3.4")
		p, h := hookPlan(2, f, HookAfterRollout)
		h.fail[HookAfterRollout+"/"] = errHook(HookAfterRollout)
		rep := Run(context.Background(), p, f, nil)
		if rep.ExitCode != int(exitcode.Verify) || rep.OK || rep.AfterRollout == nil || rep.AfterRollout.OK {
			t.Fatalf("exit %d: %+v", rep.ExitCode, rep.AfterRollout)
		}
		if err := rep.Err(); exitcode.Of(err) != exitcode.Verify || !strings.Contains(err.Error(), "after_rollout hook exited 1") {
			t.Errorf("Err() = %v", err)
		}
	})
	t.Run("a failed run keeps its code", func(t *testing.T) {
		f := newFake(testBuild, 2, "1.2.3.4")
		f.failOn("web02", PhasePreflight, errAuth)
		p, h := hookPlan(2, f, allHooks...)
		h.fail[HookAfterRollout+"/"] = errHook(HookAfterRollout)
		rep := Run(context.Background(), p, f, nil)
		if rep.ExitCode != int(exitcode.Auth) || h.count(HookBeforeRollout) != 0 {
			t.Errorf("exit %d, before_rollout ran %d times", rep.ExitCode, h.count(HookBeforeRollout))
		}
		if c, _ := h.call(HookAfterRollout, ""); c.Outcome != OutcomeFailed || c.ExitCode != int(exitcode.Auth) {
			t.Errorf("after_rollout told %+v", c)
		}
	})
	t.Run("runs when every server is current", func(t *testing.T) {
		f := newFake(testBuild, 2, testBuild.Version)
		p, h := hookPlan(2, f, allHooks...)
		rep := Run(context.Background(), p, f, nil)
		if rep.ExitCode != 0 || h.count(HookAfterRollout) != 1 || h.count(HookBeforeRollout) != 0 {
			t.Errorf("exit %d, after_rollout %d, before_rollout %d", rep.ExitCode, h.count(HookAfterRollout), h.count(HookBeforeRollout))
		}
	})
}

func TestDryRunListsHooksAndRunsNone(t *testing.T) {
	for _, mode := range []string{"dry run", "stage only"} {
		t.Run(mode, func(t *testing.T) {
			f := newFake(testBuild, 3, "1.2.3.4")
			p, h := hookPlan(3, f, HookBeforeSwap, HookAfterRollout)
			p.DryRun, p.StageOnly = mode == "dry run", mode == "stage only"
			rep := Run(context.Background(), p, f, nil)
			if rep.ExitCode != 0 || fmt.Sprint(rep.Hooks) != "[before_swap after_rollout]" {
				t.Errorf("exit %d, hooks %v", rep.ExitCode, rep.Hooks)
			}
			if len(h.calls) != 0 {
				t.Errorf("hooks ran: %+v", h.calls)
			}
		})
	}
	rep := Run(context.Background(), plan(1), newFake(testBuild, 1, "1.2.3.4"), nil)
	if rep.Hooks != nil {
		t.Errorf("no hooks, yet %v", rep.Hooks)
	}
}

func TestUploadParallelBoundsUploadsOnly(t *testing.T) {
	const n = 8
	f := newFake(testBuild, n, "1.2.3.4")
	f.delay[PhaseStage] = 8 * time.Millisecond
	f.delay[PhaseSwap] = 2 * time.Millisecond
	p := plan(n)
	p.Parallel, p.UploadParallel = 1, 4
	rep := Run(context.Background(), p, f, nil)
	if rep.ExitCode != 0 {
		t.Fatalf("exit %d", rep.ExitCode)
	}
	if f.maxInflight[PhaseStage] > 4 || f.maxInflight[PhaseStage] < 2 || f.maxInflight[PhaseSwap] != 1 {
		t.Errorf("in flight: stage %d (want 2..4), swap %d (want 1)", f.maxInflight[PhaseStage], f.maxInflight[PhaseSwap])
	}
	if len(rep.Batches) != n {
		t.Errorf("batches %v", rep.Batches)
	}
}

func TestHooksOnInterrupt(t *testing.T) {
	t.Run("every swap awaited gets its after_swap", func(t *testing.T) {
		const n = 12
		f := newFake(testBuild, n, "1.2.3.4")
		f.delay[PhaseSwap] = 30 * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var once sync.Once
		f.onSwapStart = func(server string) {
			if server == "web07" { // batch 2 (web06-09)
				once.Do(cancel)
			}
		}
		p, h := hookPlan(n, f, allHooks...)
		rep := Run(ctx, p, f, nil)
		if rep.ExitCode != 130 {
			t.Fatalf("exit %d", rep.ExitCode)
		}
		for _, s := range rep.Servers {
			_, before := h.call(HookBeforeSwap, s.Name)
			_, after := h.call(HookAfterSwap, s.Name)
			// A server drained when the interrupt came is put back unswapped.
			if before != after || (s.Swapped && !after) || (s.Batch > 2 && before) {
				t.Errorf("%s (batch %d, swapped %v): before_swap %v, after_swap %v", s.Name, s.Batch, s.Swapped, before, after)
			}
		}
		if c, _ := h.call(HookAfterRollout, ""); c.Outcome != OutcomeFailed || c.ExitCode != 130 {
			t.Errorf("after_rollout told %+v", c)
		}
	})
	t.Run("during before_swap: not swapped, put back", func(t *testing.T) {
		f := newFake(testBuild, 3, "1.2.3.4")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		p, h := hookPlan(3, f, allHooks...)
		h.onRun = func(c HookCall) {
			if c.Point == HookBeforeSwap {
				cancel()
			}
		}
		rep := Run(ctx, p, f, nil)
		c, ok := h.call(HookAfterSwap, "web01")
		if rep.ExitCode != 130 || len(f.calls(PhaseSwap)) != 0 || !ok || c.Outcome != OutcomeFailed || c.ExitCode != 130 || c.VersionAfter != "1.2.3.4" {
			t.Errorf("exit %d, swaps %v, after_swap %+v", rep.ExitCode, f.servers(PhaseSwap), c)
		}
		if s := rep.Servers[0]; s.Skipped != "staged, not swapped: interrupted" || s.AfterSwap == nil || s.Error != "" {
			t.Errorf("web01: %+v", s)
		}
		if h.count(HookAfterRollout) != 1 {
			t.Error("after_rollout did not run after the interrupt")
		}
	})
	t.Run("during the drain delay", func(t *testing.T) {
		f := newFake(testBuild, 2, "1.2.3.4")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		p, h := hookPlan(2, f, HookBeforeSwap, HookAfterSwap)
		p.DrainDelay = time.Hour
		obs := funcObserver(func(i int, t Target, ph Phase, msg string) {
			if strings.HasPrefix(msg, "drain_delay") {
				cancel()
			}
		})
		rep := Run(ctx, p, f, obs)
		if rep.ExitCode != 130 || len(f.calls(PhaseSwap)) != 0 || h.count(HookAfterSwap) != 1 {
			t.Errorf("exit %d, swaps %v, %d after_swap", rep.ExitCode, f.servers(PhaseSwap), h.count(HookAfterSwap))
		}
	})
	t.Run("after_swap outlives the interrupt within the grace", func(t *testing.T) {
		f := newFake(testBuild, 2, "1.2.3.4")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		p, h := hookPlan(2, f, HookAfterSwap)
		p.InterruptGrace = 50 * time.Millisecond
		h.hold[HookAfterSwap+"/web01"] = true
		f.onSwapStart = func(string) { cancel() }
		rep := Run(ctx, p, f, nil)
		s := rep.Servers[0]
		// The hook ran under the grace context: cut at the grace, not at
		// the interrupt, and its failure is the server's.
		if !s.Verified || s.AfterSwap == nil || s.AfterSwap.OK || s.ExitCode != int(exitcode.Verify) || rep.ExitCode != 130 {
			t.Errorf("exit %d, web01: %+v", rep.ExitCode, s)
		}
	})
}
