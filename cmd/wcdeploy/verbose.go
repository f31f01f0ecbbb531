package main

import (
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/wcdeploy/wcdeploy/internal/transport"
)

// traceRequests is -v: every HTTP client of the command prints one line per
// request on the wire to stderr (server, method, link, status, bytes, time,
// auth leg; never a credential). Progress then goes in plain lines: request
// lines and a view redrawn in place cannot share the screen.
func (a *app) traceRequests() {
	if !a.verbose || a.newClient == nil {
		return
	}
	a.io.Dumb = true
	// Servers are served in parallel and progress writes from its own
	// goroutine: one lock keeps every stderr line whole.
	w := &lockedWriter{w: a.io.Err}
	a.io.Err = w
	next := a.newClient
	a.newClient = func(serverURL string, o transport.Options) (*http.Client, error) {
		o.Log = func(r transport.RequestLog) { fmt.Fprintf(w, "request %s\n", r) }
		return next(serverURL, o)
	}
}

// lockedWriter serialises writes; Fd is kept so terminal checks still work.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Fd is the descriptor of the stream underneath, when it has one.
func (l *lockedWriter) Fd() uintptr {
	if f, ok := l.w.(interface{ Fd() uintptr }); ok {
		return f.Fd()
	}
	return ^uintptr(0)
}
