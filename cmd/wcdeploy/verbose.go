package main

import (
	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/ui"
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
	w := &ui.LockedWriter{W: a.io.Err}
	a.io.Err = w
	a.newClient = deploy.TraceClients(a.newClient, w)
}
