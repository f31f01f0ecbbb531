package rollout

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/wcdeploy/wcdeploy/pkg/ui"
)

// Progress is an Observer that owns part of the screen until Close.
type Progress interface {
	Observer
	StagePlanner
	// Close draws the final state and stops redrawing. It is safe to call
	// more than once.
	Close()
}

// NewProgress is the one place that decides how progress is shown: nothing
// with --quiet, a live view redrawn in place on a terminal, and plain,
// throttled lines anywhere else (CI logs, files, pipes). It writes to
// stderr only: stdout carries results.
func NewProgress(s *ui.Streams, quiet bool, p Plan) Progress {
	switch {
	case quiet:
		return quietProgress{}
	case s.LiveProgress():
		lp := newLiveProgress(s.Err, p, !s.NoColor, termWidth(s.Err))
		lp.start(100 * time.Millisecond)
		return lp
	default:
		return newLineProgress(s.Err, p, time.Now)
	}
}

type quietProgress struct{ nopObserver }

func (quietProgress) StagePlanned([]int) {}
func (quietProgress) Close()             {}

func termWidth(w io.Writer) int {
	if f, ok := w.(interface{ Fd() uintptr }); ok {
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil && wd > 20 {
			return wd
		}
	}
	return 100
}

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

func percent(n, total int64) int {
	if total <= 0 {
		return 100
	}
	return int(min(n, total) * 100 / total)
}

// lineProgress writes one plain line per event, and byte progress only every
// 10 % or 5 s per server, so CI logs stay short and free of \r and colour.
type lineProgress struct {
	w   io.Writer
	p   Plan
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

func newLineProgress(w io.Writer, p Plan, now func() time.Time) *lineProgress {
	return &lineProgress{w: w, p: p, now: now, bytes: map[int]*lineBytes{}}
}

func (l *lineProgress) prefix(i int, t Target) string {
	n := len(l.p.Targets)
	d := len(fmt.Sprint(n))
	return fmt.Sprintf("[%*d/%d] %s:", d, i+1, n, t.Name)
}

func (l *lineProgress) StagePlanned(servers []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "uploading %s to %d of %d servers\n", humanBytes(l.p.Build.Size), len(servers), len(l.p.Targets))
}

func (l *lineProgress) Step(i int, t Target, p Phase, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := fmt.Sprintf("%s %s", l.prefix(i, t), p)
	if msg != "" {
		line += ": " + oneLine(msg)
	}
	fmt.Fprintln(l.w, line)
}

func (l *lineProgress) Bytes(i int, t Target, n, total int64) {
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
	fmt.Fprintf(l.w, "%s upload %d%% (%s of %s)\n", l.prefix(i, t), pct, humanBytes(n), humanBytes(total))
}

func (l *lineProgress) Close() {}

// oneLine keeps a message on one line so a log stays one event per line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// liveProgress redraws one status line per server plus one byte progress bar
// for all uploads, in place on stderr.
type liveProgress struct {
	w     io.Writer
	p     Plan
	color bool
	width int

	mu      sync.Mutex
	lines   []liveLine
	bar     *progressbar.ProgressBar
	barMax  int64
	drawn   int // lines on screen from the last draw
	dirty   bool
	closed  bool
	stop    chan struct{}
	stopped chan struct{}
}

type liveLine struct {
	phase       Phase
	msg         string
	sent, total int64
}

// maxLiveLines bounds the redrawn block: a 50-server farm would not fit a
// terminal, and lines that scroll off cannot be redrawn.
const maxLiveLines = 16

func newLiveProgress(w io.Writer, p Plan, color bool, width int) *liveProgress {
	l := &liveProgress{w: w, p: p, color: color, width: width, lines: make([]liveLine, len(p.Targets))}
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
	l.bar = progressbar.NewOptions64(l.barMax,
		// The bar never writes itself: its text is drawn with the status
		// block, and we feed it byte counts (its reader wrapper lies on
		// failures and replays).
		progressbar.OptionSetWriter(io.Discard),
		progressbar.OptionSetDescription("upload"),
		progressbar.OptionSetWidth(30),
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

func (l *liveProgress) Step(i int, t Target, p Phase, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines[i].phase, l.lines[i].msg = p, oneLine(msg)
	l.dirty = true
}

func (l *liveProgress) Bytes(i int, t Target, n, total int64) {
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

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[90m" // grey; the same length as the other codes, for tabwriter
	ansiPlain  = "\x1b[39m" // default colour: pads plain cells like coloured ones
)

func (l *liveProgress) paint(code, s string) string {
	if !l.color {
		return s
	}
	return code + s + ansiReset
}

func glyph(p Phase) (string, string) {
	switch p {
	case PhaseDone:
		return "✓", ansiGreen
	case PhaseFailed:
		return "✗", ansiRed
	case PhaseSkipped:
		return "-", ansiYellow
	case "":
		return "·", ansiDim
	}
	return "•", ansiCyan
}

func (l *liveProgress) nameWidth() int {
	w := 0
	for _, t := range l.p.Targets {
		w = max(w, utf8.RuneCountInString(t.Name))
	}
	return w
}

func (l *liveProgress) line(i int) string {
	ln := l.lines[i]
	g, code := glyph(ln.phase)
	ph := string(ln.phase)
	if ph == "" {
		ph = "pending"
	}
	msg := ln.msg
	if ln.phase == PhaseStage && ln.total > 0 && ln.sent < ln.total && ln.msg != "staged" {
		msg = fmt.Sprintf("%3d%% %s of %s", percent(ln.sent, ln.total), humanBytes(ln.sent), humanBytes(ln.total))
	}
	text := fmt.Sprintf("%-*s  %-9s %s", l.nameWidth(), l.p.Targets[i].Name, ph, msg)
	// Cut before colouring so a long error never wraps and breaks the redraw.
	text = truncate(text, l.width-4)
	return " " + l.paint(code, g) + " " + text
}

func truncate(s string, n int) string {
	if n <= 1 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
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
	var done, failed, skipped, waiting int
	for i, ln := range l.lines {
		switch ln.phase {
		case PhaseDone:
			done++
		case PhaseFailed:
			failed++
		case PhaseSkipped:
			skipped++
		case "":
			waiting++
		}
		active := ln.phase != PhaseDone && ln.phase != PhaseSkipped && ln.phase != "" && !(ln.phase == PhaseStage && ln.msg == "staged")
		if active && len(idx) < maxLiveLines-1 {
			idx = append(idx, i)
		}
	}
	return idx, fmt.Sprintf("   %d servers: %d done, %d failed, %d skipped, %d in progress or waiting",
		len(l.lines), done, failed, skipped, len(l.lines)-done-failed-skipped)
}

func (l *liveProgress) draw() {
	var b strings.Builder
	if l.drawn > 0 {
		// Back to the top of the block, erase it, draw it again.
		fmt.Fprintf(&b, "\x1b[%dA\r\x1b[J", l.drawn)
	}
	n := 0
	idx, summary := l.visible()
	for _, i := range idx {
		b.WriteString(l.line(i))
		b.WriteByte('\n')
		n++
	}
	if summary != "" {
		b.WriteString(truncate(summary, l.width-1))
		b.WriteByte('\n')
		n++
	}
	if l.bar != nil {
		var sent int64
		for _, ln := range l.lines {
			sent += min(ln.sent, ln.total)
		}
		_ = l.bar.Set64(min(sent, l.barMax))
		b.WriteString(" " + truncate(strings.TrimSpace(l.bar.String()), l.width-24))
		fmt.Fprintf(&b, " %s of %s\n", humanBytes(sent), humanBytes(l.barMax))
		n++
	}
	l.drawn = n
	l.dirty = false
	_, _ = io.WriteString(l.w, b.String())
}
