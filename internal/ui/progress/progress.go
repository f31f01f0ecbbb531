// Package progress shows a rollout as it runs, behind rollout's Observer:
// a live view redrawn in place on a terminal, plain throttled lines in CI
// logs, files and pipes, nothing with --quiet. It writes to stderr only:
// stdout carries results.
package progress

import (
	"fmt"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/ui"
)

// Progress is an Observer that owns part of the screen until Close.
type Progress interface {
	rollout.Observer
	rollout.StagePlanner
	// Close draws the final state and stops redrawing. It is safe to call
	// more than once.
	Close()
}

// redrawEvery is how often the live view is redrawn while it changes.
const redrawEvery = 100 * time.Millisecond

// New is the one place that decides how progress is shown: nothing when
// quiet, a live view on a terminal that may be redrawn, plain lines
// anywhere else.
func New(s *ui.Streams, quiet bool, p rollout.Plan) Progress {
	switch {
	case quiet:
		return quietProgress{}
	case s.LiveProgress():
		lp := newLiveProgress(s.Err, p, !s.NoColor, s.ErrWidth())
		lp.start(redrawEvery)
		return lp
	default:
		return newLineProgress(s.Err, p, time.Now)
	}
}

type quietProgress struct{}

func (quietProgress) Step(int, rollout.Target, rollout.Phase, string) {}
func (quietProgress) Bytes(int, rollout.Target, int64, int64)         {}
func (quietProgress) StagePlanned([]int)                              {}
func (quietProgress) Close()                                          {}

// humanBytes formats a byte count in decimal units, like the server's kb.
func humanBytes(n int64) string {
	switch {
	case n >= 1_000_000_000:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1_000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// awaitingReply is what a server's row says once its upload is sent and
// the server has not answered yet.
const awaitingReply = "waiting for the server's reply"

// humanDuration rounds d for people: "45s", "3m05s", "1h02m".
func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

func percent(n, total int64) int {
	if total <= 0 {
		return 100
	}
	return int(min(n, total) * 100 / total)
}
