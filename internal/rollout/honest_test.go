package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// TestRunWithoutHealthCheck: with none configured, Health is never called,
// the report says "none" (not a passed check) and advises one.
func TestRunWithoutHealthCheck(t *testing.T) {
	f := newFake(testBuild, 2, "1.2.3.4")
	p := plan(2)
	p.NoHealthCheck = true
	o := &recObserver{steps: map[string][]Phase{}, bytes: map[int]int64{}}
	rep := Run(context.Background(), p, f, o)
	if rep.ExitCode != 0 || len(f.calls(PhaseHealth)) != 0 {
		t.Fatalf("exit %d, %d health calls", rep.ExitCode, len(f.calls(PhaseHealth)))
	}
	for _, s := range rep.Servers {
		if s.Health != HealthNone || s.State != ServerUpdated {
			t.Errorf("%s: health %q, state %q", s.Name, s.Health, s.State)
		}
	}
	if a := rep.Advice(); len(a) != 1 || !strings.Contains(a[0], "no health check is configured") {
		t.Errorf("advice %q", a)
	}
	for name, phases := range o.steps {
		for _, ph := range phases {
			if ph == PhaseHealth {
				t.Errorf("%s: the observer was told of a health check that did not run", name)
			}
		}
	}
}

// TestRunHealthFailsAfterGoodSwap: the canary runs the build but failed its
// check: the report says so and how to go back, not "0 updated".
func TestRunHealthFailsAfterGoodSwap(t *testing.T) {
	f := newFake(testBuild, 3, "1.2.3.4")
	f.failOn("web01", PhaseHealth, exitcode.New(exitcode.Verify, errors.New("web01: runs 1.2.3.5 but failed its health check: /health answered HTTP 500, not 200 (1 attempt)")))
	rep := Run(context.Background(), plan(3), f, nil)
	sum := rep.Summary()
	for _, want := range []string{"0 of 3 servers updated", "1 runs the build but failed its health check"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary %q lacks %q", sum, want)
		}
	}
	if !strings.Contains(rep.HaltReason, "canary web01 failed its health check (it runs the new build)") {
		t.Errorf("halt reason %q", rep.HaltReason)
	}
	if err := fmt.Sprint(rep.Err()); !strings.Contains(err, "web01 failed the health check") {
		t.Errorf("Err() = %s", err)
	}
}

// TestRunErrorsInTheUsersTerms: an interrupted upload does not say
// "context canceled"; the last line names how many more servers failed in
// good English; exit 4 from a preflight says nothing was uploaded.
func TestRunErrorsInTheUsersTerms(t *testing.T) {
	f := newFake(testBuild, 3, "1.2.3.4")
	for _, s := range []string{"web01", "web02", "web03"} {
		f.failOn(s, PhasePreflight, exitcode.New(exitcode.Upload, fmt.Errorf("%s: preflight failed, nothing was changed: the status page was not found (404); check the status URL", s)))
	}
	p := plan(3)
	p.SkipUnreachable = true
	rep := Run(context.Background(), p, f, nil)
	err := fmt.Sprint(rep.Err())
	if !strings.Contains(err, "(and 2 more servers failed, see the report)") {
		t.Errorf("Err() = %s", err)
	}
	if sum := rep.Summary(); !strings.Contains(sum, "exit 4 (preflight: nothing was uploaded)") {
		t.Errorf("summary %q", sum)
	}
	if got := Cause("web01", rep.Servers[0].Error); got != "the status page was not found (404)" {
		t.Errorf("cause %q", got)
	}
	if got := runsNewBuild(nil, 1); got != "the server does not run the new build" {
		t.Errorf("runsNewBuild = %q", got)
	}

	f = newFake(testBuild, 1, "1.2.3.4")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sr := ServerReport{Name: "web01"}
	r := newRunner(plan(1), f, nil)
	r.recordError(ctx, 0, &sr, PhaseStage, fmt.Errorf("upload: %w", context.Canceled))
	if strings.Contains(sr.Error, "context canceled") || !strings.Contains(sr.Error, "interrupted during stage") || !errors.Is(sr.Err(), context.Canceled) {
		t.Errorf("interrupted upload: %q", sr.Error)
	}
}

// TestStageOnlySummary: a stage-only run says how many servers hold the
// staged build and how to swap it in, not "not updated".
func TestStageOnlySummary(t *testing.T) {
	f := newFake(testBuild, 2, "1.2.3.4")
	p := plan(2)
	p.StageOnly = true
	rep := Run(context.Background(), p, f, nil)
	sum := rep.Summary()
	if !strings.Contains(sum, "0 of 2 servers updated, 2 staged (swap them in with 'wcdeploy swap'); exit 0") || strings.Contains(sum, "not updated") {
		t.Errorf("summary %q", sum)
	}
}

// TestFailedCanaryNamesTheStagedServers: when the canary's swap fails, the
// others hold the staged build; the run's error says so and how to go on.
func TestFailedCanaryNamesTheStagedServers(t *testing.T) {
	f := newFake(testBuild, 3, "1.2.3.4")
	f.failOn("web01", PhaseSwap, exitcode.New(exitcode.Swap, fmt.Errorf("web01: the server could not swap in the new EXE")))
	rep := Run(context.Background(), plan(3), f, nil)
	if rep.ExitCode != int(exitcode.Swap) {
		t.Fatalf("exit %d", rep.ExitCode)
	}
	msg := rep.ErrFor("20261201T120000Z-abc123").Error()
	if !strings.Contains(msg, "web02, web03 hold the staged build, not swapped in") || !strings.Contains(msg, "'wcdeploy deploy --resume 20261201T120000Z-abc123'") {
		t.Errorf("error %q", msg)
	}
}

// TestInterruptedAfterEveryUpdate: an interrupt that comes when every server
// runs the build does not offer a resume of nothing.
func TestInterruptedAfterEveryUpdate(t *testing.T) {
	rep := &Report{ExitCode: int(exitcode.Interrupted), Servers: []ServerReport{{Name: "web01", Verified: true}, {Name: "web02", Verified: true}}}
	msg := rep.ErrFor("20261201T120000Z-abc123").Error()
	if !strings.Contains(msg, "interrupted after every server was updated") || strings.Contains(msg, "--resume") {
		t.Errorf("error %q", msg)
	}
	rep.Servers[1].Verified = false
	if msg := rep.ErrFor("20261201T120000Z-abc123").Error(); !strings.Contains(msg, "--resume 20261201T120000Z-abc123") {
		t.Errorf("error %q", msg)
	}
}

// TestInterruptWithoutHealthCheck: a server swapped as the interrupt came,
// with no health check configured, says none (nothing was ever to be
// checked), not skipped.
func TestInterruptWithoutHealthCheck(t *testing.T) {
	f := newFake(testBuild, 1, "1.2.3.4")
	f.delay[PhaseSwap] = 50 * time.Millisecond
	p := plan(1)
	p.NoHealthCheck = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.onSwapStart = func(string) { cancel() } // Ctrl-C while the swap runs
	rep := Run(ctx, p, f, nil)
	s := rep.Servers[0]
	if !s.Verified || s.Health != HealthNone {
		t.Errorf("verified %v, health %q, want none (exit %d, %s)", s.Verified, s.Health, rep.ExitCode, s.Error)
	}
}
