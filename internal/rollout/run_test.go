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

// event is one call to fakeSteps, with a global sequence number at its start
// and end so tests can assert order across goroutines.
type event struct {
	server     string
	phase      Phase
	start, end int
	err        error
}

// fakeSteps is a Steps whose servers live in memory: it records every call
// and fails where told, per server and phase.
type fakeSteps struct {
	build Build

	mu      sync.Mutex
	seq     int
	events  []event
	running map[string]string // version each server runs
	builds  map[string]string // SHA-256 of the build each server runs, when set
	fail    map[string]map[Phase]error
	delay   map[Phase]time.Duration
	slow    map[string]time.Duration // extra swap time per server
	// hang: swaps of these servers ignore their context (a broken Steps).
	hang map[string]bool
	// onSwapStart runs when a swap starts (to cancel the run, for example).
	onSwapStart func(server string)
	// stageStarted is closed (once) when any upload starts.
	stageStarted chan struct{}
	stageOnce    sync.Once

	inflight    map[Phase]int
	maxInflight map[Phase]int
	// swapDone lists the servers whose swap completed on the "server".
	swapDone []string
	// firstSwap and lastEnd time the swap phase for the benchmark.
	firstSwap, lastEnd time.Time
}

func newFake(build Build, n int, oldVersion string) *fakeSteps {
	f := &fakeSteps{
		build:        build,
		running:      map[string]string{},
		builds:       map[string]string{},
		fail:         map[string]map[Phase]error{},
		delay:        map[Phase]time.Duration{},
		slow:         map[string]time.Duration{},
		hang:         map[string]bool{},
		inflight:     map[Phase]int{},
		maxInflight:  map[Phase]int{},
		stageStarted: make(chan struct{}),
	}
	for i := range n {
		f.running[name(i)] = oldVersion
	}
	return f
}

func name(i int) string { return fmt.Sprintf("web%02d", i+1) }

func targets(n int) []Target {
	ts := make([]Target, n)
	for i := range ts {
		ts[i] = Target{Name: name(i), URL: "https://" + name(i) + ".example/app/", StatusURL: "https://" + name(i) + ".example/app/admin.aspx"}
	}
	return ts
}

func (f *fakeSteps) failOn(server string, p Phase, err error) {
	if f.fail[server] == nil {
		f.fail[server] = map[Phase]error{}
	}
	f.fail[server][p] = err
}

func (f *fakeSteps) begin(server string, p Phase) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.events = append(f.events, event{server: server, phase: p, start: f.seq})
	f.inflight[p]++
	f.maxInflight[p] = max(f.maxInflight[p], f.inflight[p])
	if p == PhaseSwap && f.firstSwap.IsZero() {
		f.firstSwap = time.Now()
	}
	return len(f.events) - 1
}

func (f *fakeSteps) end(k int, err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.events[k].end = f.seq
	f.events[k].err = err
	f.inflight[f.events[k].phase]--
	f.lastEnd = time.Now()
	return err
}

func (f *fakeSteps) injected(server string, p Phase) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail[server][p]
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeSteps) Preflight(ctx context.Context, t Target) (Running, error) {
	k := f.begin(t.Name, PhasePreflight)
	if err := sleep(ctx, f.delay[PhasePreflight]); err != nil {
		return Running{}, f.end(k, fmt.Errorf("%s: %w", t.Name, err))
	}
	if err := f.injected(t.Name, PhasePreflight); err != nil {
		return Running{}, f.end(k, err)
	}
	f.mu.Lock()
	v := f.running[t.Name]
	sha := f.builds[t.Name]
	f.mu.Unlock()
	if sha == "" && v == f.build.Version {
		sha = f.build.SHA256 // a test put this build there
	}
	if sha == "" {
		sha = "old"
	}
	return Running{Version: v, Date: "sha:" + sha}, f.end(k, nil)
}

// fakeIdentify reads the build a fake server runs from the "file date" its
// preflight showed, as the journal tells it from the real one.
func fakeIdentify(_ Target, r Running) (string, bool) {
	return strings.CutPrefix(r.Date, "sha:")
}

func (f *fakeSteps) Stage(ctx context.Context, t Target, progress func(int64)) error {
	k := f.begin(t.Name, PhaseStage)
	f.stageOnce.Do(func() { close(f.stageStarted) })
	for n := int64(0); n <= f.build.Size; n += f.build.Size / 4 {
		progress(n)
		if err := sleep(ctx, f.delay[PhaseStage]/4); err != nil {
			return f.end(k, fmt.Errorf("%s: upload: %w", t.Name, err))
		}
	}
	return f.end(k, f.injected(t.Name, PhaseStage))
}

func (f *fakeSteps) Swap(ctx context.Context, t Target) (Swapped, error) {
	k := f.begin(t.Name, PhaseSwap)
	if f.onSwapStart != nil {
		f.onSwapStart(t.Name)
	}
	d := f.delay[PhaseSwap] + f.slow[t.Name]
	if f.hang[t.Name] {
		time.Sleep(d)
	} else if err := sleep(ctx, d); err != nil {
		return Swapped{}, f.end(k, exitcode.Errorf(exitcode.Swap, "%s: swap: %w", t.Name, err))
	}
	if err := f.injected(t.Name, PhaseSwap); err != nil {
		return Swapped{}, f.end(k, err)
	}
	v := f.build.Version
	if f.injected(t.Name, PhaseVerify) != nil {
		v = "9.9.9.9" // the server swapped in something else
	}
	f.mu.Lock()
	f.running[t.Name] = v
	f.builds[t.Name] = f.build.SHA256
	f.swapDone = append(f.swapDone, t.Name)
	f.mu.Unlock()
	return Swapped{Version: v, SizeKB: f.build.Size / 1000}, f.end(k, nil)
}

func (f *fakeSteps) Verify(ctx context.Context, t Target, s Swapped) (Running, error) {
	k := f.begin(t.Name, PhaseVerify)
	if s.Version != f.build.Version {
		return Running{Version: s.Version}, f.end(k, exitcode.Errorf(exitcode.Verify, "%s: runs %s, not %s", t.Name, s.Version, f.build.Version))
	}
	return Running{Version: s.Version}, f.end(k, nil)
}

func (f *fakeSteps) Health(ctx context.Context, t Target) error {
	k := f.begin(t.Name, PhaseHealth)
	if err := sleep(ctx, f.delay[PhaseHealth]); err != nil {
		return f.end(k, err)
	}
	return f.end(k, f.injected(t.Name, PhaseHealth))
}

func (f *fakeSteps) calls(p Phase) []event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []event
	for _, e := range f.events {
		if e.phase == p {
			out = append(out, e)
		}
	}
	return out
}

func (f *fakeSteps) servers(p Phase) []string {
	var out []string
	for _, e := range f.calls(p) {
		out = append(out, e.server)
	}
	slices.Sort(out)
	return out
}

var testBuild = Build{Path: "/builds/App.exe", Version: "1.2.3.5", Size: 4000, SHA256: strings.Repeat("ab", 32)}

func plan(n int) Plan {
	return Plan{Build: testBuild, Targets: targets(n), Parallel: 4, Canary: 1, InterruptGrace: 2 * time.Second, Identify: fakeIdentify}
}

func names(rep *Report, pick func(ServerReport) bool) []string {
	var out []string
	for _, s := range rep.Servers {
		if pick(s) {
			out = append(out, s.Name)
		}
	}
	slices.Sort(out)
	return out
}

func swapped(s ServerReport) bool  { return s.Swapped }
func verified(s ServerReport) bool { return s.Verified }
func failed(s ServerReport) bool   { return s.Error != "" }

var errAuth = exitcode.Errorf(exitcode.Auth, "401 from web: check the user name, or set WCDEPLOY_PASSWORD")

func TestRunAllSucceedCanaryThenBatches(t *testing.T) {
	const n = 22
	f := newFake(testBuild, n, "1.2.3.4")
	f.delay[PhaseSwap] = 5 * time.Millisecond
	f.delay[PhaseStage] = 4 * time.Millisecond
	p := plan(n)
	p.Canary = 2
	rep := Run(context.Background(), p, f, nil)

	if !rep.OK || rep.ExitCode != 0 || rep.Halted {
		t.Fatalf("report: ok=%v exit=%d halted=%v (%s)", rep.OK, rep.ExitCode, rep.Halted, rep.HaltReason)
	}
	if got := names(rep, verified); len(got) != n {
		t.Fatalf("verified %d servers, want %d: %v", len(got), n, got)
	}
	for _, s := range rep.Servers {
		if s.VersionBefore != "1.2.3.4" || s.VersionAfter != "1.2.3.5" || !s.Staged || s.Health != "ok" || s.ExitCode != 0 {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
	// Plan: two canaries alone, then batches of 4 in plan order.
	want := [][]string{{"web01"}, {"web02"}}
	for i := 2; i < n; i += 4 {
		var b []string
		for j := i; j < min(i+4, n); j++ {
			b = append(b, name(j))
		}
		want = append(want, b)
	}
	if fmt.Sprint(rep.Batches) != fmt.Sprint(want) {
		t.Fatalf("batches\n got %v\nwant %v", rep.Batches, want)
	}
	assertGroupsSequential(t, f, rep.Batches)
	if f.maxInflight[PhaseStage] > 4 || f.maxInflight[PhaseSwap] > 4 {
		t.Errorf("concurrency: stage %d swap %d, want ≤ 4", f.maxInflight[PhaseStage], f.maxInflight[PhaseSwap])
	}
	if f.maxInflight[PhaseSwap] < 2 {
		t.Errorf("swaps within a batch did not overlap (max in flight %d)", f.maxInflight[PhaseSwap])
	}
	// Every upload finished before the first swap started.
	lastStage := 0
	for _, e := range f.calls(PhaseStage) {
		lastStage = max(lastStage, e.end)
	}
	if first := f.calls(PhaseSwap)[0]; first.start < lastStage {
		t.Errorf("a swap started before all uploads ended")
	}
}

// assertGroupsSequential checks that each group's work (swap to health)
// began only after the previous group's work ended.
func assertGroupsSequential(t *testing.T, f *fakeSteps, groups [][]string) {
	t.Helper()
	span := map[string][2]int{}
	for _, e := range f.events {
		if e.phase == PhaseSwap || e.phase == PhaseVerify || e.phase == PhaseHealth {
			s, ok := span[e.server]
			if !ok {
				s = [2]int{e.start, e.end}
			}
			s[0], s[1] = min(s[0], e.start), max(s[1], e.end)
			span[e.server] = s
		}
	}
	prevEnd := 0
	for gi, g := range groups {
		end := 0
		for _, s := range g {
			sp, ok := span[s]
			if !ok {
				continue
			}
			if sp[0] < prevEnd {
				t.Errorf("group %d (%s) started before group %d ended", gi, s, gi-1)
			}
			end = max(end, sp[1])
		}
		if end > 0 {
			prevEnd = end
		}
	}
}

func TestRunHaltingAndExitCodes(t *testing.T) {
	const n = 21
	cases := []struct {
		name        string
		setup       func(f *fakeSteps, p *Plan)
		exit        exitcode.Code
		halted      bool
		swapped     []string // nil: check count only via swappedCount
		swappedN    int
		noStage     bool
		failedNames []string
	}{
		{
			name:  "preflight 401 stops everything",
			setup: func(f *fakeSteps, p *Plan) { f.failOn("web07", PhasePreflight, errAuth) },
			exit:  exitcode.Auth, noStage: true, failedNames: []string{"web07"},
		},
		{
			name: "preflight 401 skipped when unreachable servers may be skipped",
			setup: func(f *fakeSteps, p *Plan) {
				f.failOn("web07", PhasePreflight, errAuth)
				p.SkipUnreachable = true
			},
			exit: exitcode.Partial, swappedN: n - 1, failedNames: []string{"web07"},
		},
		{
			name: "stage failure with max_failures 0 swaps nothing",
			setup: func(f *fakeSteps, p *Plan) {
				f.failOn("web05", PhaseStage, exitcode.Errorf(exitcode.Upload, "web05: upload failed: 500"))
			},
			exit: exitcode.Upload, halted: true, swappedN: 0, failedNames: []string{"web05"},
		},
		{
			name: "stage failure within max_failures goes on without that server",
			setup: func(f *fakeSteps, p *Plan) {
				f.failOn("web05", PhaseStage, exitcode.Errorf(exitcode.Upload, "web05: upload failed: 500"))
				p.MaxFailures = 1
			},
			exit: exitcode.Partial, swappedN: n - 1, failedNames: []string{"web05"},
		},
		{
			name: "swap failure in batch 2 finishes the batch and starts no other",
			setup: func(f *fakeSteps, p *Plan) {
				// canary web01; batch 1 web02-05; batch 2 web06-09
				f.failOn("web07", PhaseSwap, exitcode.Errorf(exitcode.Swap, "web07: swap failed: Unable to copy"))
			},
			exit: exitcode.Partial, halted: true, failedNames: []string{"web07"},
			swapped: []string{"web01", "web02", "web03", "web04", "web05", "web06", "web08", "web09"},
		},
		{
			name: "verification mismatch on the canary halts with 6",
			setup: func(f *fakeSteps, p *Plan) {
				f.failOn("web01", PhaseVerify, errors.New("mismatch"))
				p.MaxFailures = 3 // a canary halts regardless
			},
			exit: exitcode.Verify, halted: true, swapped: []string{"web01"}, failedNames: []string{"web01"},
		},
		{
			name: "health failure on the canary halts: one server updated, others not",
			setup: func(f *fakeSteps, p *Plan) {
				f.failOn("web01", PhaseHealth, exitcode.Errorf(exitcode.Verify, "web01: health check /ping answered 500"))
			},
			exit: exitcode.Partial, halted: true, swapped: []string{"web01"}, failedNames: []string{"web01"},
		},
		{
			name: "max_failures 2 tolerates two and halts after the batch with the third",
			setup: func(f *fakeSteps, p *Plan) {
				p.MaxFailures = 2
				f.failOn("web03", PhaseSwap, exitcode.Errorf(exitcode.Swap, "web03: swap failed"))
				f.failOn("web08", PhaseHealth, exitcode.Errorf(exitcode.Verify, "web08: unhealthy"))
				f.failOn("web11", PhaseVerify, errors.New("x"))
			},
			// canary web01; b1 02-05; b2 06-09; b3 10-13 (web11 fails: 3 > 2); b4 not started
			exit: exitcode.Partial, halted: true, failedNames: []string{"web03", "web08", "web11"},
			swapped: []string{"web01", "web02", "web04", "web05", "web06", "web07", "web08", "web09", "web10", "web11", "web12", "web13"},
		},
		{
			name: "one failure in the last batch within max_failures",
			setup: func(f *fakeSteps, p *Plan) {
				p.MaxFailures = 1
				f.failOn("web21", PhaseSwap, exitcode.Errorf(exitcode.Swap, "web21: swap failed"))
			},
			exit: exitcode.Partial, swappedN: n - 1, failedNames: []string{"web21"},
		},
		{
			name: "all servers already run the build",
			setup: func(f *fakeSteps, p *Plan) {
				for i := range n {
					f.running[name(i)] = testBuild.Version
				}
			},
			exit: exitcode.OK, swappedN: 0, noStage: true,
		},
		{
			name: "a server already running the build is skipped",
			setup: func(f *fakeSteps, p *Plan) {
				f.running["web04"] = testBuild.Version
			},
			exit: exitcode.OK, swappedN: n - 1,
		},
		{
			name: "force deploys where the build already runs",
			setup: func(f *fakeSteps, p *Plan) {
				f.running["web04"] = testBuild.Version
				p.Force = true
			},
			exit: exitcode.OK, swappedN: n,
		},
		{
			name: "dry run changes nothing",
			setup: func(f *fakeSteps, p *Plan) {
				p.DryRun = true
			},
			exit: exitcode.OK, swappedN: 0, noStage: true,
		},
		{
			name: "no canary: the first batch fails entirely, nothing updated",
			setup: func(f *fakeSteps, p *Plan) {
				p.Canary = 0
				for i := range 4 {
					f.failOn(name(i), PhaseSwap, exitcode.Errorf(exitcode.Swap, "%s: swap failed", name(i)))
				}
			},
			exit: exitcode.Swap, halted: true, swappedN: 0,
			failedNames: []string{"web01", "web02", "web03", "web04"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(testBuild, n, "1.2.3.4")
			f.delay[PhaseSwap] = time.Millisecond
			p := plan(n)
			c.setup(f, &p)
			rep := Run(context.Background(), p, f, nil)

			if rep.ExitCode != int(c.exit) || rep.OK != (c.exit == 0) {
				t.Errorf("exit %d ok=%v, want %d", rep.ExitCode, rep.OK, c.exit)
			}
			if rep.Halted != c.halted {
				t.Errorf("halted=%v (%q), want %v", rep.Halted, rep.HaltReason, c.halted)
			}
			got := names(rep, swapped)
			if c.swapped != nil {
				if fmt.Sprint(got) != fmt.Sprint(c.swapped) {
					t.Errorf("swapped\n got %v\nwant %v", got, c.swapped)
				}
			} else if len(got) != c.swappedN {
				t.Errorf("swapped %d servers, want %d: %v", len(got), c.swappedN, got)
			}
			// The report says exactly what the servers saw.
			f.mu.Lock()
			done := slices.Clone(f.swapDone)
			f.mu.Unlock()
			slices.Sort(done)
			if fmt.Sprint(done) != fmt.Sprint(got) {
				t.Errorf("report swapped %v, servers swapped %v", got, done)
			}
			if c.noStage && len(f.calls(PhaseStage)) > 0 {
				t.Errorf("uploads ran: %v", f.servers(PhaseStage))
			}
			if fn := names(rep, failed); fmt.Sprint(fn) != fmt.Sprint(c.failedNames) && !(len(fn) == 0 && c.failedNames == nil) {
				t.Errorf("failed %v, want %v", fn, c.failedNames)
			}
			for _, s := range rep.Servers {
				if s.Error == "" && !s.Verified && s.Skipped == "" {
					t.Errorf("%s: neither done, failed nor skipped: %+v", s.Name, s)
				}
				// A server left out by a halt carries the halt's exit code.
				if (s.Error != "" || s.NotSwapped != "") != (s.ExitCode != 0) {
					t.Errorf("%s: error %q, not swapped %q, with exit code %d", s.Name, s.Error, s.NotSwapped, s.ExitCode)
				}
			}
			assertGroupsSequential(t, f, rep.Batches)
			if err := rep.Err(); (err == nil) != rep.OK || exitcode.Of(err) != exitcode.Code(rep.ExitCode) {
				t.Errorf("Err() = %v (code %d), report exit %d", err, exitcode.Of(err), rep.ExitCode)
			}
		})
	}
}

func TestRunPreflightFailureReport(t *testing.T) {
	f := newFake(testBuild, 3, "1.2.3.4")
	f.failOn("web02", PhasePreflight, errAuth)
	rep := Run(context.Background(), plan(3), f, nil)
	s := rep.Servers[1]
	if s.ExitCode != 3 || !strings.Contains(s.Error, "401") || s.Staged {
		t.Errorf("web02: %+v", s)
	}
	for _, i := range []int{0, 2} {
		if got := rep.Servers[i].Skipped; got != "not deployed: preflight failed on web02" {
			t.Errorf("%s skipped %q", rep.Servers[i].Name, got)
		}
	}
	if !strings.Contains(rep.HaltReason, "web02") {
		t.Errorf("halt reason %q", rep.HaltReason)
	}
	if err := rep.Err(); !strings.Contains(fmt.Sprint(err), "WCDEPLOY_PASSWORD") {
		t.Errorf("Err() = %v, want the server's own advice", err)
	}
}

func TestRunDryRunReportsPlan(t *testing.T) {
	f := newFake(testBuild, 7, "1.2.3.4")
	f.running["web03"] = testBuild.Version
	p := plan(7)
	p.DryRun, p.Parallel = true, 3
	rep := Run(context.Background(), p, f, nil)
	if !rep.DryRun || rep.ExitCode != 0 {
		t.Fatalf("dry run: %+v", rep)
	}
	want := "[[web01] [web02 web04 web05] [web06 web07]]"
	if fmt.Sprint(rep.Batches) != want {
		t.Errorf("batches %v, want %s", rep.Batches, want)
	}
	if got := rep.Servers[4].Skipped; got != "dry run: would stage, then swap in batch 1 of 2" {
		t.Errorf("web05: %q", got)
	}
	if got := rep.Servers[2].Skipped; got != "already runs 1.2.3.5" || !rep.Servers[2].UpToDate {
		t.Errorf("web03: %+v", rep.Servers[2])
	}
	if len(f.calls(PhaseStage))+len(f.calls(PhaseSwap)) > 0 {
		t.Error("dry run staged or swapped")
	}
}

func TestRunInterruptDuringSwapBatch(t *testing.T) {
	const n = 24
	f := newFake(testBuild, n, "1.2.3.4")
	f.delay[PhaseSwap] = 60 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	f.onSwapStart = func(server string) {
		if server == "web07" { // batch 2 (web06-09)
			once.Do(cancel)
		}
	}
	start := time.Now()
	rep := Run(ctx, plan(n), f, nil)

	if rep.ExitCode != 130 || !rep.Halted {
		t.Fatalf("exit %d halted %v", rep.ExitCode, rep.Halted)
	}
	f.mu.Lock()
	done := slices.Clone(f.swapDone)
	f.mu.Unlock()
	slices.Sort(done)
	got := names(rep, swapped)
	if fmt.Sprint(got) != fmt.Sprint(done) {
		t.Fatalf("report swapped %v, servers swapped %v", got, done)
	}
	// The in-flight batch finished its swaps under the grace context.
	for _, s := range []string{"web06", "web07", "web08", "web09"} {
		if !slices.Contains(got, s) {
			t.Errorf("%s was in flight and should have been swapped: %v", s, got)
		}
	}
	if slices.Contains(f.servers(PhaseSwap), "web10") {
		t.Error("a new batch started after the interrupt")
	}
	for _, s := range rep.Servers[9:] {
		if s.Skipped != "staged, not swapped: interrupted" || s.Swapped {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
	// Health checks of the interrupted batch were skipped, not failed.
	for _, s := range rep.Servers[5:9] {
		if s.Health != "skipped" || !s.Verified || s.Error != "" {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("interrupt took %s", el)
	}
	if err := rep.ErrFor("20260301T120000Z-abc123"); exitcode.Of(err) != 130 || !strings.Contains(err.Error(), "--resume 20260301T120000Z-abc123") || !strings.Contains(err.Error(), "9 of 24") {
		t.Errorf("ErrFor: %v", err)
	}
}

func TestRunInterruptGraceExpires(t *testing.T) {
	const n = 6
	f := newFake(testBuild, n, "1.2.3.4")
	f.delay[PhaseSwap] = 10 * time.Millisecond
	f.slow["web03"] = 10 * time.Second // honours its context: ends at the grace
	f.hang["web04"] = true             // ignores its context: abandoned
	f.slow["web04"] = 3 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.onSwapStart = func(server string) {
		if server == "web03" {
			go func() { time.Sleep(20 * time.Millisecond); cancel() }()
		}
	}
	p := plan(n)
	p.InterruptGrace = 100 * time.Millisecond
	start := time.Now()
	rep := Run(ctx, p, f, nil)
	el := time.Since(start)

	if rep.ExitCode != 130 {
		t.Fatalf("exit %d", rep.ExitCode)
	}
	if el > 2*time.Second {
		t.Errorf("Run waited %s for a hung swap", el)
	}
	// web01 canary; batch 1 = web02..web05.
	byName := map[string]ServerReport{}
	for _, s := range rep.Servers {
		byName[s.Name] = s
	}
	if s := byName["web02"]; !s.Swapped || !s.Verified {
		t.Errorf("web02 finished within the grace: %+v", s)
	}
	if s := byName["web03"]; s.Swapped || s.ExitCode != int(exitcode.Swap) {
		t.Errorf("web03 (swap cut at the grace): %+v", s)
	}
	if s := byName["web04"]; s.Swapped || !strings.Contains(s.Error, "unknown") || !strings.Contains(s.Error, "admin.aspx") {
		t.Errorf("web04 (abandoned): %+v", s)
	}
	if s := byName["web06"]; s.Swapped || s.Skipped == "" {
		t.Errorf("web06 (not started): %+v", s)
	}
}

func TestRunInterruptDuringStage(t *testing.T) {
	const n = 10
	f := newFake(testBuild, n, "1.2.3.4")
	f.delay[PhaseStage] = 2 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-f.stageStarted; time.Sleep(10 * time.Millisecond); cancel() }()
	start := time.Now()
	rep := Run(ctx, plan(n), f, nil)
	if el := time.Since(start); el > time.Second {
		t.Errorf("uploads were not aborted: %s", el)
	}
	if rep.ExitCode != 130 || len(f.calls(PhaseSwap)) != 0 {
		t.Fatalf("exit %d, swaps %v", rep.ExitCode, f.servers(PhaseSwap))
	}
	if got := len(f.calls(PhaseStage)); got != 4 {
		t.Errorf("%d uploads started, want 4 (Parallel) and no new one after the interrupt", got)
	}
	for _, s := range rep.Servers {
		if s.Staged || s.Swapped {
			t.Errorf("%s: %+v", s.Name, s)
		}
		if s.Error != "" && (s.ExitCode != 130 || !strings.Contains(s.Error, "interrupted during stage")) {
			t.Errorf("%s: %q (%d)", s.Name, s.Error, s.ExitCode)
		}
	}
}

func TestRunRedactsURLPasswords(t *testing.T) {
	f := newFake(testBuild, 1, "1.2.3.4")
	p := plan(1)
	p.Targets[0].URL = "https://admin:s3cret@web01.example/app/"
	rep := Run(context.Background(), p, f, nil)
	if strings.Contains(rep.Servers[0].URL, "s3cret") {
		t.Errorf("URL in report: %s", rep.Servers[0].URL)
	}
	if got := RedactURL("ht tp://a:b@c/%zz"); strings.Contains(got, "b@") {
		t.Errorf("unparseable URL kept its password: %s", got)
	}
}

// recObserver counts what an observer is told, checking the contract.
type recObserver struct {
	mu      sync.Mutex
	steps   map[string][]Phase
	planned []int
	bytes   map[int]int64
}

func (o *recObserver) Step(i int, t Target, p Phase, msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.steps[t.Name] = append(o.steps[t.Name], p)
}
func (o *recObserver) Bytes(i int, t Target, n, total int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.bytes[i] = n
}
func (o *recObserver) StagePlanned(s []int) { o.planned = s }

func TestRunTellsObserver(t *testing.T) {
	f := newFake(testBuild, 5, "1.2.3.4")
	f.running["web02"] = testBuild.Version
	f.failOn("web05", PhaseHealth, errors.New("web05: health: 500"))
	p := plan(5)
	p.MaxFailures = 1
	o := &recObserver{steps: map[string][]Phase{}, bytes: map[int]int64{}}
	Run(context.Background(), p, f, o)
	if fmt.Sprint(o.planned) != "[0 2 3 4]" {
		t.Errorf("planned %v", o.planned)
	}
	if got := fmt.Sprint(o.steps["web01"]); got != "[preflight stage stage swap verify health done]" {
		t.Errorf("web01 steps %s", got)
	}
	if got := fmt.Sprint(o.steps["web02"]); got != "[preflight skipped]" {
		t.Errorf("web02 steps %s", got)
	}
	if got := o.steps["web05"]; got[len(got)-1] != PhaseFailed {
		t.Errorf("web05 steps %v", got)
	}
	if o.bytes[0] != testBuild.Size {
		t.Errorf("bytes %v", o.bytes)
	}
}

func TestRunInterruptEdges(t *testing.T) {
	t.Run("during the canary", func(t *testing.T) {
		f := newFake(testBuild, 8, "1.2.3.4")
		f.delay[PhaseSwap] = 30 * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f.onSwapStart = func(string) { cancel() }
		rep := Run(ctx, plan(8), f, nil)
		if rep.ExitCode != 130 || fmt.Sprint(names(rep, swapped)) != "[web01]" || fmt.Sprint(f.servers(PhaseSwap)) != "[web01]" {
			t.Errorf("exit %d, swapped %v, swap calls %v", rep.ExitCode, names(rep, swapped), f.servers(PhaseSwap))
		}
	})
	t.Run("during preflight", func(t *testing.T) {
		f := newFake(testBuild, 8, "1.2.3.4")
		f.delay[PhasePreflight] = 5 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		rep := Run(ctx, plan(8), f, nil)
		// A deadline is not Ctrl-C, but it ends the run the same way.
		if time.Since(start) > time.Second || len(f.calls(PhaseStage)) > 0 || !rep.Halted {
			t.Errorf("report %+v", rep)
		}
		for _, s := range rep.Servers {
			if s.Error == "" && s.Skipped == "" {
				t.Errorf("%s unaccounted for", s.Name)
			}
		}
	})
	t.Run("no servers", func(t *testing.T) {
		rep := Run(context.Background(), Plan{Build: testBuild}, newFake(testBuild, 0, ""), nil)
		if rep.ExitCode != 0 || len(rep.Servers) != 0 {
			t.Errorf("%+v", rep)
		}
	})
}

func TestRunStageOnlyUploadsAndNeverSwaps(t *testing.T) {
	f := newFake(testBuild, 5, "1.2.3.4")
	f.failOn("web04", PhaseStage, exitcode.Errorf(exitcode.Upload, "web04: reset"))
	p := plan(5)
	p.StageOnly, p.MaxFailures = true, 1
	rep := Run(context.Background(), p, f, nil)
	if !rep.StageOnly || rep.ExitCode != int(exitcode.Upload) {
		t.Fatalf("stage only with one failed upload: exit %d, %+v", rep.ExitCode, rep)
	}
	if got := len(f.calls(PhaseStage)); got != 5 {
		t.Errorf("%d uploads, want 5", got)
	}
	if got := len(f.calls(PhaseSwap)); got != 0 {
		t.Errorf("%d swaps in a stage-only run", got)
	}
	for i, s := range rep.Servers {
		if i == 3 {
			continue
		}
		if !s.Staged || s.Swapped || s.Skipped != "staged, not swapped (--stage-only)" {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
}
