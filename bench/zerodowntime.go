//go:build linux || darwin

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/lbtest"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// benchZeroDowntime rolls a build over three emulated servers behind a real
// HAProxy (default health checks) while users send rate requests a second
// through it: once without hooks, once with the HAProxy recipe's drain and
// ready hooks. Targets: no failed user request with hooks, and wall time
// with hooks at most 1.2x without.
func benchZeroDowntime(work string, delay time.Duration, rate int) []result {
	if err := lbtest.Available(); err != nil {
		return []result{{"zero downtime behind HAProxy", "not run: " + err.Error(), "", false}}
	}
	root, err := lbtest.RepoRoot()
	check(err)
	run := func(name string, h config.Hooks) *lbtest.Result {
		dir := filepath.Join(work, "zerodowntime-"+name)
		check(os.MkdirAll(dir, 0o755))
		farm, err := lbtest.NewFarm(dir, 3, delay)
		check(err)
		defer farm.Close()
		res, err := farm.Rollout(context.Background(), h, rate, nil)
		check(err)
		if !res.Report.OK {
			check(fmt.Errorf("zero downtime, %s: the rollout failed: %w", name, res.Report.Err()))
		}
		fmt.Fprintf(os.Stderr, "zero downtime, %s: %d of %d user requests failed %v, rollout %v\n",
			name, res.Traffic.Failed, res.Traffic.Total, res.Traffic.FailedBy, res.Wall.Round(time.Millisecond))
		return res
	}
	without := run("without-hooks", config.Hooks{})
	with := run("with-hooks", lbtest.DrainHooks(root))
	hooked := 0
	for _, s := range with.Report.Servers {
		if s.BeforeSwap != nil {
			hooked++
		}
	}
	ratio := with.Wall.Seconds() / without.Wall.Seconds()
	label := fmt.Sprintf("HAProxy x3, %d req/s, swap %v", rate, delay)
	out := []result{
		{label + ": failed, no hooks", fmt.Sprintf("%d of %d", without.Traffic.Failed, without.Traffic.Total), "> 0", without.Traffic.Failed > 0},
		{label + ": failed, drain hooks", fmt.Sprintf("%d of %d", with.Traffic.Failed, with.Traffic.Total), "0", with.Traffic.Failed == 0 && hooked == 3},
		{label + ": wall hooks/none", fmt.Sprintf("%.2f (%v / %v)", ratio, with.Wall.Round(10*time.Millisecond), without.Wall.Round(10*time.Millisecond)), "<= 1.20", ratio <= 1.2 && hooked == 3},
	}
	if hooked != 3 {
		out[1].value += fmt.Sprintf(" (hooks ran on %d of 3)", hooked)
		fmt.Fprintf(os.Stderr, "zero downtime: the rollout engine ran the hooks for %d of 3 servers; it must call Plan.Hooks around each swap\n", hooked)
	}
	return out
}
