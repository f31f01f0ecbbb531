package deploy_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/peversion"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

const (
	password   = "fleet-Pa55word!"
	oldVersion = "1.0.0.0"
	newVersion = "2.0.0.0"
)

// farm is n emulated module servers and the plan and steps to deploy a
// build to them, as cmd/wcdeploy builds them.
type farm struct {
	servers []*emulator.Server
	plan    rollout.Plan
	steps   *deploy.Steps
}

func newFarm(tb testing.TB, n int, exeSize int64, cfg func(i int, c *emulator.Config)) *farm {
	tb.Helper()
	exe := filepath.Join(tb.TempDir(), "WcDemo.exe")
	if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: newVersion, Size: exeSize, Seed: 3}); err != nil {
		tb.Fatal(err)
	}
	info, err := peversion.ReadFile(exe)
	if err != nil {
		tb.Fatal(err)
	}
	build := rollout.Build{Path: exe, Version: info.FileVersion, Size: info.Size, SHA256: info.SHA256}
	f := &farm{}
	for i := range n {
		c := emulator.Config{Flavor: emulator.Module715, Auth: emulator.AuthBasic, Users: map[string]string{"deploy": password}, InitialVersion: oldVersion}
		if cfg != nil {
			cfg(i, &c)
		}
		srv := emulatortest.Start(tb, c)
		up, upd, st, err := config.DeriveURLs(config.FlavorModule, srv.URL())
		if err != nil {
			tb.Fatal(err)
		}
		f.servers = append(f.servers, srv)
		f.plan.Targets = append(f.plan.Targets, rollout.Target{
			Name: fmt.Sprintf("web%02d", i+1), URL: srv.URL(), Flavor: config.FlavorModule,
			UploadURL: up, UpdateURL: upd, StatusURL: st,
		})
	}
	f.plan.Build = build
	steps, err := deploy.New(deploy.Options{
		Build: build,
		Client: func(t rollout.Target) (*http.Client, error) {
			return transport.New(t.URL, transport.Options{Auth: "basic", User: "deploy", Password: password})
		},
		Retries:       1,
		Backoff:       10 * time.Millisecond,
		SwapTimeout:   30 * time.Second,
		StatusTimeout: config.Defaults().Timeouts.Status,
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.steps = steps
	return f
}

// swapObserver calls onSwap when a server starts its swap.
type swapObserver struct {
	onSwap func(i int)
}

func (o swapObserver) Step(i int, _ rollout.Target, p rollout.Phase, _ string) {
	if p == rollout.PhaseSwap && o.onSwap != nil {
		o.onSwap(i)
	}
}
func (swapObserver) Bytes(int, rollout.Target, int64, int64) {}

// TestFleetInterruptDuringSwap cancels a 20-server rollout while a batch is
// on hold in the middle of its swaps: the batch in flight must finish, no
// server may be left holding requests, nothing else may be swapped, and the
// report must name exactly the servers that now run the build.
func TestFleetInterruptDuringSwap(t *testing.T) {
	const n = 20
	const swapDelay = 400 * time.Millisecond
	cases := []struct {
		name   string
		nth    int // cancel when the nth swap (1-based) starts ...
		onHold bool
	}{
		{name: "as the swap starts", nth: 4},
		{name: "while the server holds requests", nth: 8, onHold: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFarm(t, n, 2<<20, func(_ int, cfg *emulator.Config) { cfg.SwapDelay = swapDelay })
			f.plan.Parallel, f.plan.Canary = 5, 1
			f.plan.InterruptGrace = 10 * time.Second
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var started atomic.Int32
			var once sync.Once
			var heldAtCancel atomic.Bool
			obs := swapObserver{onSwap: func(i int) {
				if int(started.Add(1)) != c.nth {
					return
				}
				once.Do(func() {
					if !c.onHold {
						cancel()
						return
					}
					srv := f.servers[i]
					go func() {
						// Wait until the server holds requests, then interrupt.
						deadline := time.Now().Add(5 * time.Second)
						for !srv.OnHold() && time.Now().Before(deadline) {
							time.Sleep(time.Millisecond)
						}
						heldAtCancel.Store(srv.OnHold())
						cancel()
					}()
				})
			}}
			done := make(chan *rollout.Report, 1)
			go func() { done <- rollout.Run(ctx, f.plan, f.steps, obs) }()
			var rep *rollout.Report
			select {
			case rep = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("the rollout hung after the interrupt")
			}
			if c.onHold && !heldAtCancel.Load() {
				t.Fatal("the server never held requests before the interrupt")
			}
			if rep.ExitCode != int(exitcode.Interrupted) || !rep.Halted || rep.HaltReason != "interrupted" {
				t.Errorf("exit %d halted %v reason %q, want 130, halted, interrupted", rep.ExitCode, rep.Halted, rep.HaltReason)
			}
			// The cancelled server's batch (nth swap) must have run to its end.
			var swapped []string
			for i, srv := range f.servers {
				if srv.OnHold() {
					t.Errorf("%s was left on hold", f.plan.Targets[i].Name)
				}
				s := rep.Servers[i]
				runs := srv.ExeVersion()
				if (runs == newVersion) != s.Swapped || s.Swapped != s.Verified {
					t.Errorf("%s runs %s; report: swapped %v verified %v", s.Name, runs, s.Swapped, s.Verified)
				}
				if s.Swapped {
					swapped = append(swapped, s.Name)
				} else if !strings.Contains(s.Skipped, "interrupted") || s.Error != "" {
					t.Errorf("%s: skipped %q error %q, want it named as not swapped because of the interrupt", s.Name, s.Skipped, s.Error)
				}
			}
			// The nth swap is in the batch after the canary (web02..web06)
			// or the next (web07..web11); exactly that batch and those
			// before it are swapped.
			batchEnd := 6
			if c.nth > 6 {
				batchEnd = 11
			}
			var want []string
			for i := range batchEnd {
				want = append(want, fmt.Sprintf("web%02d", i+1))
			}
			if strings.Join(swapped, ",") != strings.Join(want, ",") {
				t.Errorf("swapped %v, want %v", swapped, want)
			}
			// Health is not checked once interrupted, but the swap is verified.
			for _, s := range rep.Servers[batchEnd-5 : batchEnd] {
				if s.Health != "skipped" && s.Health != "ok" {
					t.Errorf("%s: health %q", s.Name, s.Health)
				}
			}
			err := rep.Err()
			if exitcode.Of(err) != exitcode.Interrupted || !strings.Contains(err.Error(), fmt.Sprintf("%d of %d servers", batchEnd, n)) {
				t.Errorf("summary: %v", err)
			}
		})
	}
}

// TestFleetTwentyServersMixedFaults runs deploy.Steps over 20 emulators,
// with a fault at a chosen step on some, under max_failures 3: the faulted
// servers fail with their own code, the rest are updated.
func TestFleetTwentyServersMixedFaults(t *testing.T) {
	const n = 20
	faults := map[int]emulator.Fault{
		4:  {Kind: emulator.FaultSwapCopy},
		9:  {Kind: emulator.FaultResetAfter, Action: "upload", Bytes: 50_000},
		14: {Kind: emulator.FaultVersionMismatch, Version: "9.9.9.9"},
	}
	wantCode := map[int]exitcode.Code{4: exitcode.Swap, 9: exitcode.Upload, 14: exitcode.Verify}
	f := newFarm(t, n, 2<<20, nil)
	for i, flt := range faults {
		f.servers[i].Inject(flt)
	}
	f.plan.Parallel, f.plan.Canary, f.plan.MaxFailures = 6, 2, 3
	rep := rollout.Run(context.Background(), f.plan, f.steps, nil)
	if rep.ExitCode != int(exitcode.Partial) || rep.Halted {
		t.Fatalf("exit %d halted %v (%s)", rep.ExitCode, rep.Halted, rep.HaltReason)
	}
	for i, srv := range f.servers {
		s := rep.Servers[i]
		want := newVersion
		switch i {
		case 4, 9:
			want = oldVersion
		case 14:
			want = "9.9.9.9"
		}
		if got := srv.ExeVersion(); got != want {
			t.Errorf("%s runs %s, want %s", s.Name, got, want)
		}
		if code, bad := wantCode[i]; s.ExitCode != int(code) || bad != (s.Error != "") || s.Verified == bad {
			t.Errorf("%s: exit %d error %q verified %v", s.Name, s.ExitCode, s.Error, s.Verified)
		}
		if srv.OnHold() {
			t.Errorf("%s left on hold", s.Name)
		}
	}
}
