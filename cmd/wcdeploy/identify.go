package main

import (
	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// identify is the plan's Identify: the builds this machine deployed to the
// profile's servers, from the journal. Without a readable journal no build
// is known, so servers that show the build's version are deployed to (a
// warning says why).
func (a *app) identify(loaded *config.Loaded) func(rollout.Target, rollout.Running) (string, bool) {
	j, err := a.journal()
	if err != nil {
		a.warnf("the run journal is not readable, so no server is known to run this build: %v", err)
		return nil
	}
	urls := make([]string, 0, len(loaded.Profile.Servers))
	for _, s := range loaded.Profile.Servers {
		urls = append(urls, rollout.RedactURL(s.URL))
	}
	scope, err := journal.NewScope(loaded.File, loaded.Profile.Name, urls)
	if err == nil {
		var ids *journal.Identities
		if ids, err = j.Identities(scope); err == nil {
			return deploy.Identify(ids)
		}
	}
	a.warnf("the run journal is not readable, so no server is known to run this build: %v", err)
	return nil
}
