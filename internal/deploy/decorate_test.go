package deploy_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

// stepLog keeps the observer's steps.
type stepLog struct {
	mu    sync.Mutex
	steps []string
	bytes int
}

func (l *stepLog) Step(_ int, t rollout.Target, p rollout.Phase, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = append(l.steps, t.Name+" "+string(p)+": "+msg)
}

func (l *stepLog) Bytes(int, rollout.Target, int64, int64) {
	l.mu.Lock()
	l.bytes++
	l.mu.Unlock()
}

func (l *stepLog) StagePlanned([]int) { l.Step(-1, rollout.Target{}, rollout.PhaseStage, "planned") }

// A stage-only rollout, then a swap-only one: the second uploads nothing,
// swaps in what the first staged and is verified; the swap replies are
// kept per server, as the servers sent them.
func TestSwapOnlySwapsWhatWasStaged(t *testing.T) {
	f := newFarm(t, 2, 2<<20, nil)
	stage := f.plan
	stage.StageOnly = true
	if rep := rollout.Run(context.Background(), stage, f.steps, nil); rep.ExitCode != 0 || !rep.Servers[1].Staged {
		t.Fatalf("stage-only: exit %d %+v", rep.ExitCode, rep.Servers)
	}
	uploads := make([]int, len(f.servers))
	for i, srv := range f.servers {
		uploads[i] = countUploads(srv.Requests())
	}

	log := &stepLog{}
	rep := rollout.Run(context.Background(), f.plan, deploy.SwapOnly(f.steps, "RUN1"), deploy.SwapOnlyObserver(log, "RUN1"))
	if rep.ExitCode != 0 {
		t.Fatalf("swap-only: exit %d: %v", rep.ExitCode, rep.Err())
	}
	for i, srv := range f.servers {
		if srv.ExeVersion() != newVersion || !rep.Servers[i].Verified {
			t.Errorf("%s runs %s, verified %v", rep.Servers[i].Name, srv.ExeVersion(), rep.Servers[i].Verified)
		}
		if countUploads(srv.Requests()) != uploads[i] {
			t.Errorf("%s: the swap-only run uploaded", rep.Servers[i].Name)
		}
	}
	for _, s := range rep.Servers { // what the journal records for the swap
		if sw := s.SwapReply; sw == nil || sw.Version != newVersion || sw.SizeKB != f.plan.Build.Size/1000 || sw.Date == "" {
			t.Errorf("%s: swap reply %+v", s.Name, sw)
		}
	}
	text := strings.Join(log.steps, "\n")
	if log.bytes != 0 || strings.Contains(text, "planned") || strings.Contains(text, "uploading") ||
		strings.Count(text, "stage: staged by run RUN1: nothing to upload") != 2 {
		t.Errorf("swap-only progress (%d byte counts):\n%s", log.bytes, text)
	}
}

func countUploads(reqs []emulator.RequestLog) int {
	n := 0
	for _, r := range reqs {
		if r.Action == "uploadexe" {
			n++
		}
	}
	return n
}
