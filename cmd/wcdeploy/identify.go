package main

import (
	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// identify is the plan's Identify (deploy.IdentifyFrom). Without a readable
// journal no build is known, so servers that show the build's version are
// deployed to (a warning says why).
func (a *app) identify(loaded *config.Loaded) func(rollout.Target, rollout.Running) (string, bool) {
	j, err := a.journal()
	if err == nil {
		var id func(rollout.Target, rollout.Running) (string, bool)
		if id, err = deploy.IdentifyFrom(j, loaded); err == nil {
			return id
		}
	}
	a.warnf("the run journal is not readable, so no server is known to run this build: %v", err)
	return nil
}
