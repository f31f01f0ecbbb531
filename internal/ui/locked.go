package ui

import (
	"io"
	"sync"
)

// LockedWriter serialises writes to W, so lines written from several
// goroutines stay whole; Fd is kept so terminal checks still work.
type LockedWriter struct {
	mu sync.Mutex
	W  io.Writer
}

func (l *LockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.W.Write(p)
}

// Fd is the descriptor of the stream underneath, when it has one.
func (l *LockedWriter) Fd() uintptr {
	if f, ok := l.W.(interface{ Fd() uintptr }); ok {
		return f.Fd()
	}
	return ^uintptr(0)
}
