package main

import (
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// warnShared says when two servers of the profile share a scheme, host and
// port: the admin links must reach each node directly, not a balancer.
func warnShared(a *app, p *config.Profile) {
	for _, e := range config.SharedEndpoints(p.Servers) {
		a.warnf("%s", e.Warning())
	}
}
