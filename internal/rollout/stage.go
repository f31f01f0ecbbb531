package rollout

import (
	"context"
	"fmt"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/pool"
)

// stage uploads the build to every server before any swap, so nobody is on
// hold while uploading; at most UploadParallel at once. It returns the
// servers staged, and false when the run ends here: interrupted, or more
// failures than MaxFailures (then nothing is swapped).
func (r *runner) stage(ctx context.Context, todo []int) (staged []int, ok bool) {
	if sp, ok := r.obs.(StagePlanner); ok {
		sp.StagePlanned(todo)
	}
	notStarted := pool.Each(ctx, todo, r.p.UploadParallel, r.tooManyFailures, func(i int) { r.stageOne(ctx, i) })
	for _, i := range todo {
		if r.rep.Servers[i].Staged {
			staged = append(staged, i)
		}
	}
	if ctx.Err() != nil {
		r.interrupted()
		return nil, false
	}
	if r.tooManyFailures() {
		r.halt(fmt.Sprintf("%s during upload, more than max_failures %d; nothing was swapped", plural(r.failureCount(), "failure"), r.p.MaxFailures), r.firstFailure(todo))
		r.haltAll(notStarted, "not staged: rollout halted")
		r.haltAll(staged, "staged, not swapped: rollout halted")
		return nil, false
	}
	return staged, true
}

func (r *runner) stageOne(ctx context.Context, i int) {
	sr, t := &r.rep.Servers[i], r.target(i)
	r.obs.Step(i, t, PhaseStage, "uploading")
	t0 := time.Now()
	size := r.p.Build.Size
	err := r.steps.Stage(ctx, t, func(sent int64) { r.obs.Bytes(i, t, sent, size) })
	sr.DurationMS += time.Since(t0).Milliseconds()
	if err != nil {
		r.setError(ctx, i, sr, PhaseStage, err)
		return
	}
	sr.Staged = true
	r.obs.Step(i, t, PhaseStage, "staged")
}

// stageOnly ends a --stage-only run: every server keeps running its EXE.
func (r *runner) stageOnly(staged []int) {
	r.rep.StageOnly = true
	r.skipAll(staged, "staged, not swapped (--stage-only)")
}
