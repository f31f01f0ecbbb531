package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/ui"
)

// liveProgress redraws one status line per server plus one byte progress bar
// for all uploads, in place on stderr; a line for the rollout's own hooks
// comes first once one of them runs.
type liveProgress struct {
	w     io.Writer
	p     rollout.Plan
	color bool
	width int
	now   func() time.Time

	mu       sync.Mutex
	lines    []liveLine
	run      liveLine // the run-level hooks, shown once one has started
	runShown bool
	bar      *progressbar.ProgressBar
	barMax   int64
	barStart time.Time // when the uploads started, for speed and time left
	servers  int       // how many servers the uploads go to
	drawn    int       // lines on screen from the last draw
	dirty    bool
	closed   bool
	stop     chan struct{}
	stopped  chan struct{}
}

type liveLine struct {
	phase       rollout.Phase
	msg         string
	sent, total int64
}

// maxLiveLines bounds the redrawn block: a 50-server farm would not fit a
// terminal, and lines that scroll off cannot be redrawn.
const maxLiveLines = 16

func newLiveProgress(w io.Writer, p rollout.Plan, color bool, width int) *liveProgress {
	l := &liveProgress{w: w, p: p, color: color, width: width, now: time.Now, lines: make([]liveLine, len(p.Targets))}
	for i := range l.lines {
		l.lines[i].msg = "waiting"
	}
	return l
}

// start redraws every interval until Close; events only mark the view dirty,
// so a burst of byte counts costs one redraw.
func (l *liveProgress) start(interval time.Duration) {
	l.stop, l.stopped = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(l.stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				l.mu.Lock()
				if l.dirty && !l.closed {
					l.draw()
				}
				l.mu.Unlock()
			}
		}
	}()
}

func (l *liveProgress) StagePlanned(servers []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.barMax = l.p.Build.Size * int64(len(servers))
	if l.barMax <= 0 {
		return
	}
	l.barStart, l.servers = l.now(), len(servers)
	// The bar gets what the line leaves beside its longest text.
	longest := utf8.RuneCountInString(l.barTail(l.barMax)) + len(", 999.9 MB/s, 59m59s left")
	barWidth := min(max(l.width-1-len(" upload 100% ||")-longest, 8), 30)
	l.bar = progressbar.NewOptions64(l.barMax,
		// The bar never writes itself: its text is drawn with the status
		// block, and we feed it byte counts (its reader wrapper lies on
		// failures and replays).
		progressbar.OptionSetWriter(io.Discard),
		progressbar.OptionSetDescription("upload"),
		progressbar.OptionSetWidth(barWidth),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionShowBytes(false),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionEnableColorCodes(false),
		progressbar.OptionThrottle(0),
	)
	for _, i := range servers {
		l.lines[i].total = l.p.Build.Size
	}
	l.dirty = true
}

func (l *liveProgress) Step(i int, t rollout.Target, p rollout.Phase, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ln := &l.run
	if i >= 0 {
		ln = &l.lines[i]
	} else {
		l.runShown = true
	}
	ln.phase, ln.msg = p, ui.OneLine(msg)
	l.dirty = true
}

func (l *liveProgress) Bytes(i int, t rollout.Target, n, total int64) {
	if i < 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines[i].sent, l.lines[i].total = n, total
	l.dirty = true
}

func (l *liveProgress) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.draw()
	l.closed = true
	l.mu.Unlock()
	if l.stop != nil {
		close(l.stop)
		<-l.stopped
	}
}

func glyph(p rollout.Phase) (string, string) {
	switch p {
	case rollout.PhaseDone:
		return "✓", ui.Green
	case rollout.PhaseFailed:
		return "✗", ui.Red
	case rollout.PhaseSkipped, rollout.PhasePlanned:
		return "-", ui.Yellow
	case "":
		return "·", ui.Dim
	}
	return "•", ui.Cyan
}

// runName names the run-level line (the rollout's own hooks).
const runName = "rollout"

func (l *liveProgress) nameWidth() int {
	w := 0
	if l.runShown {
		w = len(runName)
	}
	for _, t := range l.p.Targets {
		w = max(w, utf8.RuneCountInString(t.Name))
	}
	return w
}

func (l *liveProgress) line(name string, ln liveLine) string {
	g, code := glyph(ln.phase)
	ph := string(ln.phase)
	if ph == "" {
		ph = "pending"
	}
	msg := ln.msg
	switch {
	case ln.phase != rollout.PhaseStage || ln.total <= 0 || ln.msg == "staged":
	case ln.sent < ln.total:
		msg = fmt.Sprintf("%3d%% %s of %s", percent(ln.sent, ln.total), humanBytes(ln.sent), humanBytes(ln.total))
	default:
		msg = "100% sent, " + awaitingReply
	}
	text := fmt.Sprintf("%-*s  %-9s %s", l.nameWidth(), name, ph, msg)
	// Cut before colouring so a long error never wraps and breaks the redraw.
	text = ui.Truncate(text, l.width-4)
	return " " + ui.Paint(l.color, code, g) + " " + text
}

// visible picks the lines to draw: all of them for a small farm; for a big
// one the servers being worked on and those that failed, then a summary.
func (l *liveProgress) visible() (idx []int, summary string) {
	if len(l.lines) <= maxLiveLines {
		for i := range l.lines {
			idx = append(idx, i)
		}
		return idx, ""
	}
	room := maxLiveLines - 1 // one line for the summary
	if l.runShown {
		room--
	}
	var done, failed, skipped, waiting int
	for i, ln := range l.lines {
		switch ln.phase {
		case rollout.PhaseDone:
			done++
		case rollout.PhaseFailed:
			failed++
		case rollout.PhaseSkipped, rollout.PhasePlanned:
			skipped++
		case "":
			waiting++
		}
		active := ln.phase != rollout.PhaseDone && ln.phase != rollout.PhaseSkipped && ln.phase != rollout.PhasePlanned && ln.phase != "" && !(ln.phase == rollout.PhaseStage && ln.msg == "staged")
		if active && len(idx) < room {
			idx = append(idx, i)
		}
	}
	return idx, fmt.Sprintf("   %d servers: %d done, %d failed, %d skipped, %d in progress or waiting",
		len(l.lines), done, failed, skipped, len(l.lines)-done-failed-skipped)
}

// barTail says beside the bar what was sent of what (and that the total
// is the build times the servers), how fast, and how long is left.
func (l *liveProgress) barTail(sent int64) string {
	out := fmt.Sprintf(" %s of %s", humanBytes(sent), humanBytes(l.barMax))
	if l.servers > 1 {
		out = fmt.Sprintf(" %s of %s (%d × %s)", humanBytes(sent), humanBytes(l.barMax), l.servers, humanBytes(l.p.Build.Size))
	}
	elapsed := l.now().Sub(l.barStart)
	if sent <= 0 || sent >= l.barMax || elapsed < time.Second {
		return out
	}
	rate := float64(sent) / elapsed.Seconds()
	left := time.Duration(float64(l.barMax-sent) / rate * float64(time.Second))
	return out + fmt.Sprintf(", %s/s, %s left", humanBytes(int64(rate)), humanDuration(left))
}

func (l *liveProgress) draw() {
	var b strings.Builder
	if l.drawn > 0 {
		// Back to the top of the block, erase it, draw it again.
		fmt.Fprintf(&b, "\x1b[%dA\r\x1b[J", l.drawn)
	}
	n := 0
	if l.runShown {
		b.WriteString(l.line(runName, l.run))
		b.WriteByte('\n')
		n++
	}
	idx, summary := l.visible()
	for _, i := range idx {
		b.WriteString(l.line(l.p.Targets[i].Name, l.lines[i]))
		b.WriteByte('\n')
		n++
	}
	if summary != "" {
		b.WriteString(ui.Truncate(summary, l.width-1))
		b.WriteByte('\n')
		n++
	}
	if l.bar != nil {
		var sent int64
		for _, ln := range l.lines {
			sent += min(ln.sent, ln.total)
		}
		_ = l.bar.Set64(min(sent, l.barMax))
		tail := l.barTail(sent)
		b.WriteString(ui.Truncate(" "+strings.TrimSpace(l.bar.String())+tail, l.width-1) + "\n")
		n++
	}
	l.drawn = n
	l.dirty = false
	_, _ = io.WriteString(l.w, b.String())
}
