package deploy

import (
	"context"
	"fmt"
	"sync"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
)

// SwapOnly are the steps of 'wcdeploy swap': each server already holds the
// build in its UpdateFile, uploaded by the stage-only run stageRun, so the
// stage step uploads nothing. Which servers still hold it is the journal's
// answer (journal.Stage): the server itself cannot be asked what its
// UpdateFile contains; the swap reply's version and size, checked by
// Verify as in a deploy, prove what was swapped in.
func SwapOnly(s rollout.Steps, stageRun string) rollout.Steps {
	return swapOnly{Steps: s, run: stageRun}
}

type swapOnly struct {
	rollout.Steps
	run string
}

func (s swapOnly) Stage(ctx context.Context, t rollout.Target, _ func(int64)) error {
	if err := ctx.Err(); err != nil {
		return named(t, fmt.Errorf("before the swap of what run %s staged: %w", s.run, err))
	}
	return nil
}

// SwapOnlyObserver shows a swap run's stage step as what it is: the upload
// that stage run stageRun made, nothing sent now. It drops the byte counts
// and does not announce an upload.
func SwapOnlyObserver(o rollout.Observer, stageRun string) rollout.Observer {
	return &swapObserver{Observer: o, msg: "staged by run " + stageRun + ": nothing to upload", told: map[int]bool{}}
}

type swapObserver struct {
	rollout.Observer // not a StagePlanner: no upload to announce
	msg              string
	mu               sync.Mutex
	told             map[int]bool
}

func (o *swapObserver) Step(i int, t rollout.Target, p rollout.Phase, msg string) {
	if p == rollout.PhaseStage {
		o.mu.Lock()
		seen := o.told[i]
		o.told[i] = true
		o.mu.Unlock()
		if seen {
			return
		}
		msg = o.msg
	}
	o.Observer.Step(i, t, p, msg)
}

func (o *swapObserver) Bytes(int, rollout.Target, int64, int64) {}
