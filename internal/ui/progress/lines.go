package progress

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/ui"
)

// lineProgress writes one plain line per event, and byte progress only every
// 10 % or 5 s per server, so CI logs stay short and free of \r and colour.
type lineProgress struct {
	w   io.Writer
	p   rollout.Plan
	now func() time.Time

	mu    sync.Mutex
	bytes map[int]*lineBytes
}

type lineBytes struct {
	pct     int // last printed percentage
	at      time.Time
	sent    int64
	printed int64 // bytes at the last printed line
}

func newLineProgress(w io.Writer, p rollout.Plan, now func() time.Time) *lineProgress {
	return &lineProgress{w: w, p: p, now: now, bytes: map[int]*lineBytes{}}
}

// prefix names the server as "[i/n] name:", or the run for its hooks.
func (l *lineProgress) prefix(i int, t rollout.Target) string {
	if i < 0 {
		return "rollout:"
	}
	n := len(l.p.Targets)
	d := len(fmt.Sprint(n))
	return fmt.Sprintf("[%*d/%d] %s:", d, i+1, n, t.Name)
}

func (l *lineProgress) StagePlanned(servers []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "uploading %s to %d of %d servers\n", humanBytes(l.p.Build.Size), len(servers), len(l.p.Targets))
}

func (l *lineProgress) Step(i int, t rollout.Target, p rollout.Phase, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := fmt.Sprintf("%s %s", l.prefix(i, t), p)
	if msg != "" {
		line += ": " + ui.OneLine(msg)
	}
	fmt.Fprintln(l.w, line)
}

func (l *lineProgress) Bytes(i int, t rollout.Target, n, total int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bytes[i]
	now := l.now()
	if b == nil || n < b.sent {
		// First report, or the upload restarted after a retry.
		b = &lineBytes{pct: -1, at: now}
		l.bytes[i] = b
	}
	b.sent = n
	pct := percent(n, total)
	due := pct/10 > b.pct/10 || (now.Sub(b.at) >= 5*time.Second && n > b.printed)
	if b.pct < 0 {
		due = n > 0
	}
	if !due {
		return
	}
	b.pct, b.at, b.printed = pct, now, n
	line := fmt.Sprintf("%s upload %d%% (%s of %s)", l.prefix(i, t), pct, humanBytes(n), humanBytes(total))
	if total > 0 && n >= total {
		line += ", " + awaitingReply
	}
	fmt.Fprintln(l.w, line)
}

func (l *lineProgress) Close() {}
