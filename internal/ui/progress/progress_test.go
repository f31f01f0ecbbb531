package progress

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/golden"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/ui"
)

func sampleBuild() rollout.Build {
	return rollout.Build{Path: `C:\builds\Shop.exe`, Version: "1.2.3.5", Size: 2_340_000, SHA256: strings.Repeat("0f", 32)}
}

func targets(n int) []rollout.Target {
	ts := make([]rollout.Target, n)
	for i := range ts {
		ts[i] = rollout.Target{Name: fmt.Sprintf("web%02d", i+1)}
	}
	return ts
}

// script drives an observer through a small rollout: two servers updated,
// one failed at the swap, with byte progress at several points.
func script(o Progress, p rollout.Plan) {
	ts := p.Targets
	for i := range ts {
		o.Step(i, ts[i], rollout.PhasePreflight, "checking the server")
	}
	o.StagePlanned([]int{0, 1, 2})
	for i := range ts {
		o.Step(i, ts[i], rollout.PhaseStage, "uploading")
	}
	size := p.Build.Size
	for _, n := range []int64{0, size / 20, size / 4, size / 2} {
		for i := range ts {
			o.Bytes(i, ts[i], n, size)
		}
	}
	o.Bytes(2, ts[2], 0, size) // a retry starts over
	for _, n := range []int64{size * 3 / 10, size} {
		for i := range ts {
			o.Bytes(i, ts[i], n, size)
		}
	}
	for i := range ts {
		o.Step(i, ts[i], rollout.PhaseStage, "staged")
	}
	o.Step(0, ts[0], rollout.PhaseSwap, "swapping (canary 1 of 1)")
	o.Step(0, ts[0], rollout.PhaseVerify, "verifying")
	o.Step(0, ts[0], rollout.PhaseHealth, "health check")
	o.Step(0, ts[0], rollout.PhaseDone, "runs 1.2.3.5")
	o.Step(1, ts[1], rollout.PhaseSwap, "swapping (batch 1 of 1)")
	o.Step(2, ts[2], rollout.PhaseSwap, "swapping (batch 1 of 1)")
	o.Step(1, ts[1], rollout.PhaseDone, "runs 1.2.3.5")
	o.Step(2, ts[2], rollout.PhaseFailed, "swap: web3: the swap answered 500\n\"Unable to copy\"")
	o.Close()
}

func smallPlan() rollout.Plan {
	return rollout.Plan{Build: sampleBuild(), Targets: []rollout.Target{{Name: "web1"}, {Name: "web2"}, {Name: "web3"}}}
}

func TestLineProgressGolden(t *testing.T) {
	var b bytes.Buffer
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	script(newLineProgress(&b, smallPlan(), func() time.Time { clock = clock.Add(time.Second); return clock }), smallPlan())
	if strings.ContainsAny(b.String(), "\r\x1b") {
		t.Error("plain output has \\r or escape codes")
	}
	golden.Assert(t, "progress_lines", b.Bytes())
}

func TestLineProgressThrottlesBytes(t *testing.T) {
	var b bytes.Buffer
	clock := time.Unix(0, 0)
	p := smallPlan()
	lp := newLineProgress(&b, p, func() time.Time { return clock })
	total := int64(1000)
	for n := int64(1); n <= total; n++ {
		lp.Bytes(0, p.Targets[0], n, total)
	}
	if got := strings.Count(b.String(), "\n"); got != 11 {
		t.Errorf("%d lines for one fast upload, want 11 (first, then every 10%%):\n%s", got, b.String())
	}
	// A slow upload still says something every 5 s.
	b.Reset()
	for n := int64(1); n <= 50; n++ {
		clock = clock.Add(time.Second)
		lp.Bytes(1, p.Targets[1], n, total) // 0.1 % per second
	}
	if got := strings.Count(b.String(), "\n"); got < 9 || got > 11 {
		t.Errorf("%d lines in 50 s of a slow upload, want about 10:\n%s", got, b.String())
	}
}

func TestLiveProgressGolden(t *testing.T) {
	var b bytes.Buffer
	p := smallPlan()
	lp := newLiveProgress(&b, p, true, 80)
	// Draw at a few points, as the ticker would.
	steps := []func(){
		func() {
			for i := range p.Targets {
				lp.Step(i, p.Targets[i], rollout.PhasePreflight, "checking the server")
			}
		},
		func() {
			lp.StagePlanned([]int{0, 1, 2})
			for i := range p.Targets {
				lp.Step(i, p.Targets[i], rollout.PhaseStage, "uploading")
				lp.Bytes(i, p.Targets[i], int64(i+1)*p.Build.Size/4, p.Build.Size)
			}
		},
	}
	for _, s := range steps {
		s()
		lp.mu.Lock()
		lp.draw()
		lp.mu.Unlock()
	}
	script(lp, p)
	out := b.String()
	if !strings.Contains(out, "\x1b[4A\r\x1b[J") {
		t.Error("the block is not redrawn in place")
	}
	golden.Assert(t, "progress_live", b.Bytes())

	lp.Close() // twice is fine
}

func TestLiveProgressLargeFarm(t *testing.T) {
	var b bytes.Buffer
	p := rollout.Plan{Build: sampleBuild(), Targets: targets(40)}
	lp := newLiveProgress(&b, p, false, 60)
	for i := range p.Targets {
		lp.Step(i, p.Targets[i], rollout.PhaseDone, "runs 1.2.3.5 "+strings.Repeat("x", 100))
	}
	lp.Step(7, p.Targets[7], rollout.PhaseSwap, "swapping")
	lp.Close()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) > maxLiveLines {
		t.Errorf("%d lines drawn, want at most %d", len(lines), maxLiveLines)
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 60 {
			t.Errorf("line of %d runes wraps a 60-column terminal: %q", n, l)
		}
	}
	if !strings.Contains(b.String(), "web08") || !strings.Contains(b.String(), "39 done") {
		t.Errorf("output:\n%s", b.String())
	}
}

func TestNewProgressChoice(t *testing.T) {
	p := smallPlan()
	cases := []struct {
		name   string
		setup  func(s *ui.Streams)
		quiet  bool
		want   string
		silent bool
	}{
		{"quiet", func(s *ui.Streams) { s.ErrTTY = true }, true, "progress.quietProgress", true},
		{"terminal", func(s *ui.Streams) { s.ErrTTY = true }, false, "*progress.liveProgress", false},
		{"dumb terminal", func(s *ui.Streams) { s.ErrTTY, s.Dumb = true, true }, false, "*progress.lineProgress", false},
		{"pipe", func(s *ui.Streams) {}, false, "*progress.lineProgress", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, out, errOut := ui.Test("")
			c.setup(s)
			pr := New(s, c.quiet, p)
			if got := typeName(pr); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
			script(pr, p)
			if out.Len() != 0 {
				t.Errorf("progress on stdout: %q", out)
			}
			if (errOut.Len() == 0) != c.silent {
				t.Errorf("stderr %q", errOut)
			}
		})
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }

// farm is an in-memory rollout.Steps: every server answers after a short
// delay, and the servers in fail fail their swap.
type farm struct {
	build rollout.Build
	delay time.Duration
	fail  map[string]error
}

func (f farm) pause(ctx context.Context) error {
	select {
	case <-time.After(f.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f farm) Preflight(ctx context.Context, t rollout.Target) (rollout.Running, error) {
	return rollout.Running{Version: "1.2.3.4"}, nil
}

func (f farm) Stage(ctx context.Context, t rollout.Target, progress func(int64)) error {
	for n := int64(0); n <= f.build.Size; n += f.build.Size / 4 {
		progress(n)
		if err := f.pause(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (f farm) Swap(ctx context.Context, t rollout.Target) (rollout.Swapped, error) {
	if err := f.pause(ctx); err != nil {
		return rollout.Swapped{}, err
	}
	if err := f.fail[t.Name]; err != nil {
		return rollout.Swapped{}, err
	}
	return rollout.Swapped{Version: f.build.Version}, nil
}

func (f farm) Verify(ctx context.Context, t rollout.Target, s rollout.Swapped) (rollout.Running, error) {
	return rollout.Running{Version: s.Version}, nil
}

func (f farm) Health(ctx context.Context, t rollout.Target) error { return nil }

// TestRunWithLiveProgress runs a real rollout with the live view on (the
// ticker redrawing concurrently), for the race detector and the final state.
func TestRunWithLiveProgress(t *testing.T) {
	const n = 12
	f := farm{build: sampleBuild(), delay: 5 * time.Millisecond,
		fail: map[string]error{"web09": exitcode.Errorf(exitcode.Swap, "web09: swap failed")}}
	s, out, errOut := ui.Test("")
	s.ErrTTY, s.NoColor = true, false
	p := rollout.Plan{Build: f.build, Targets: targets(n), Parallel: 4, Canary: 1, MaxFailures: 5}
	pr := New(s, false, p)
	rep := rollout.Run(context.Background(), p, f, pr)
	pr.Close()
	if rep.ExitCode != 7 {
		t.Errorf("exit %d", rep.ExitCode)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q", out)
	}
	last := errOut.String()
	if k := strings.LastIndex(last, "\x1b[J"); k >= 0 {
		last = last[k:]
	}
	// The row names the server once: "web09  failed  swap: swap failed".
	if strings.Count(last, "✓") != n-1 || !regexp.MustCompile(`web09 +failed +swap: swap failed`).MatchString(last) || strings.Contains(last, "web09: swap failed") || !strings.Contains(last, "100%") {
		t.Errorf("final view:\n%s", last)
	}
}

// TestHookLines checks that hook output shows up in both views: prefixed
// with its server, or with the rollout for the run-level hooks (i = -1).
func TestHookLines(t *testing.T) {
	p := smallPlan()
	run := func(o rollout.Observer) {
		o.Step(-1, rollout.Target{}, rollout.PhaseHook, rollout.HookBeforeRollout)
		o.Step(-1, rollout.Target{}, rollout.PhaseHook, "before_rollout: maintenance page on")
		o.Step(1, p.Targets[1], rollout.PhaseHook, "before_swap: disable server be/web2\n(runtime API)")
	}
	var b bytes.Buffer
	run(newLineProgress(&b, p, time.Now))
	want := "rollout: hook: before_rollout\nrollout: hook: before_rollout: maintenance page on\n[2/3] web2: hook: before_swap: disable server be/web2 (runtime API)\n"
	if b.String() != want {
		t.Errorf("lines\n got %q\nwant %q", b.String(), want)
	}

	b.Reset()
	lp := newLiveProgress(&b, p, false, 80)
	run(lp)
	lp.Close()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "rollout  hook      before_rollout: maintenance page on") ||
		!strings.Contains(lines[2], "web2     hook      before_swap: disable server be/web2 (runtime API)") {
		t.Errorf("live view:\n%s", b.String())
	}
}

// TestLiveProgressSpeedAndReply: at 80 columns the bar says how fast the
// uploads go and how long is left, the total says it is the build times the
// servers, and a server that has all the bytes but has not answered says so.
func TestLiveProgressSpeedAndReply(t *testing.T) {
	var b bytes.Buffer
	p := smallPlan()
	lp := newLiveProgress(&b, p, false, 80)
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	lp.now = func() time.Time { return clock }
	lp.StagePlanned([]int{0, 1, 2})
	for i := range p.Targets {
		lp.Step(i, p.Targets[i], rollout.PhaseStage, "uploading")
	}
	clock = clock.Add(2 * time.Second)
	lp.Bytes(0, p.Targets[0], p.Build.Size, p.Build.Size) // sent, no reply yet
	lp.Bytes(1, p.Targets[1], p.Build.Size/2, p.Build.Size)
	lp.Close()
	out := b.String()
	for _, want := range []string{
		"web1  stage     100% sent, waiting for the server's reply",
		"3.5 MB of 7.0 MB (3 × 2.3 MB), 1.8 MB/s, 2s left",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("live view lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if n := len([]rune(l)); n >= 80 {
			t.Errorf("line of %d runes on an 80-column terminal: %q", n, l)
		}
	}
	golden.Assert(t, "progress_live_80", b.Bytes())
}
