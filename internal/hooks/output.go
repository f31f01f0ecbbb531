package hooks

import (
	"strings"
	"sync"
)

// maxLine is the longest line passed on at once; a longer one is split, so
// a hook printing without newlines cannot grow memory.
const maxLine = 4096

// lineWriter splits a hook's output into lines, hands each to emit as it
// comes (secrets shown as ***), and keeps the last n.
type lineWriter struct {
	mu      sync.Mutex
	n       int
	secrets []string
	emit    func(string)
	partial []byte
	ring    []string
	next    int
	full    bool
}

func newLineWriter(n int, secrets []string, emit func(string)) *lineWriter {
	return &lineWriter{n: n, secrets: secrets, emit: emit, ring: make([]string, n)}
}

// Write takes stdout and stderr alike.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range p {
		if b == '\n' {
			w.line()
			continue
		}
		w.partial = append(w.partial, b)
		if len(w.partial) >= maxLine {
			w.line()
		}
	}
	return len(p), nil
}

// flush passes on a last line without a newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.line()
	}
}

func (w *lineWriter) line() {
	s := redact(strings.TrimRight(string(w.partial), "\r"), w.secrets)
	w.partial = w.partial[:0]
	if w.emit != nil {
		w.emit(s)
	}
	if w.n == 0 {
		return
	}
	w.ring[w.next] = s
	w.next = (w.next + 1) % w.n
	if w.next == 0 {
		w.full = true
	}
}

// last returns the kept lines, oldest first (nil when there were none).
func (w *lineWriter) last() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.full {
		if w.next == 0 {
			return nil
		}
		return append([]string(nil), w.ring[:w.next]...)
	}
	return append(append([]string(nil), w.ring[w.next:]...), w.ring[:w.next]...)
}
