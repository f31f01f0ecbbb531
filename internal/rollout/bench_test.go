package rollout

import (
	"context"
	"testing"
	"time"
)

// BenchmarkRollout50 measures the swap phase of a 50-server rollout with
// parallel 10 against its ideal, groups × swap time (the product target is
// at most 1.3×). The servers are in memory, so the ratio is the engine's own
// overhead and batching, not the network's.
func BenchmarkRollout50(b *testing.B) {
	const n, swap = 50, 20 * time.Millisecond
	p := plan(n)
	p.Parallel = 10
	var ratio float64
	for b.Loop() {
		f := newFake(testBuild, n, "1.2.3.4")
		f.delay[PhaseSwap] = swap
		rep := Run(context.Background(), p, f, nil)
		if rep.ExitCode != 0 {
			b.Fatalf("exit %d", rep.ExitCode)
		}
		ideal := time.Duration(len(rep.Batches)) * swap
		ratio = float64(swapPhase(f)) / float64(ideal)
	}
	b.ReportMetric(ratio, "x-ideal")
}

// swapPhase is the wall time from the first swap's start to the last health
// check's end, measured by the fake's own clock.
func swapPhase(f *fakeSteps) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastEnd.Sub(f.firstSwap)
}
