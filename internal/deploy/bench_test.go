package deploy_test

import (
	"context"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

// BenchmarkFleet50 deploys to 50 emulated servers with the module's real
// 3 s swap delay, parallel 10 and one canary, over loopback HTTP through the
// real steps. It reports the wall time of the whole rollout over its ideal:
// swap groups × swap delay, plus the time one server takes to receive the
// upload (measured here, alone, before the rollout).
func BenchmarkFleet50(b *testing.B) {
	const n, swapDelay = 50, 3 * time.Second
	var ratio, wallS, idealS, uploadMS float64
	for b.Loop() {
		b.StopTimer()
		f := newFarm(b, n, 2<<20, func(_ int, c *emulator.Config) { c.SwapDelay = swapDelay })
		f.plan.Parallel, f.plan.Canary = 10, 1

		// One server's upload, alone, to a server outside the farm.
		one := newFarm(b, 1, 2<<20, nil)
		t0 := time.Now()
		if err := one.steps.Stage(context.Background(), one.plan.Targets[0], nil); err != nil {
			b.Fatal(err)
		}
		upload := time.Since(t0)
		b.StartTimer()

		t0 = time.Now()
		rep := rollout.Run(context.Background(), f.plan, f.steps, nil)
		wall := time.Since(t0)
		if rep.ExitCode != 0 {
			b.Fatalf("exit %d: %v", rep.ExitCode, rep.Err())
		}
		for i, srv := range f.servers {
			if v := srv.ExeVersion(); v != newVersion {
				b.Fatalf("%s runs %s", f.plan.Targets[i].Name, v)
			}
		}
		ideal := time.Duration(len(rep.Batches))*swapDelay + upload
		ratio = float64(wall) / float64(ideal)
		wallS, idealS, uploadMS = wall.Seconds(), ideal.Seconds(), float64(upload.Milliseconds())
	}
	b.ReportMetric(ratio, "x-ideal")
	b.ReportMetric(wallS, "wall-s")
	b.ReportMetric(idealS, "ideal-s")
	b.ReportMetric(uploadMS, "upload1-ms")
}
