package main

import (
	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/hooks"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// hooksFor runs the profile's rollout.hooks from the config file's folder;
// nil when none is configured. No password this run resolves, nor
// WCDEPLOY_PASSWORD, reaches a hook or its output.
func (a *app) hooksFor(loaded *config.Loaded, plan rollout.Plan, runID string) rollout.Hooks {
	info := hooks.RunInfo{Dir: loaded.Dir, RunID: runID, Version: plan.Build.Version}
	if pw := a.getenv(credentials.EnvPassword); pw != "" {
		info.Secrets = []string{pw}
	}
	info.MoreSecrets = func() []string {
		if a.credResolver == nil {
			return nil
		}
		return a.credResolver.Secrets()
	}
	return hooks.New(loaded.Profile, info)
}

// warnShared says when two servers of the profile share a scheme, host and
// port: the admin links must reach each node directly, not a balancer.
func warnShared(a *app, p *config.Profile) {
	for _, e := range config.SharedEndpoints(p.Servers) {
		a.warnf("%s", e.Warning())
	}
}
