package deploy

import (
	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/hooks"
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// IdentifyFrom is the plan's Identify: the builds this machine deployed to
// the profile's servers, from the journal j.
func IdentifyFrom(j *journal.Journal, loaded *config.Loaded) (func(rollout.Target, rollout.Running) (string, bool), error) {
	urls := make([]string, 0, len(loaded.Profile.Servers))
	for _, s := range loaded.Profile.Servers {
		urls = append(urls, rollout.RedactURL(s.URL))
	}
	scope, err := journal.NewScope(loaded.File, loaded.Profile.Name, urls)
	if err != nil {
		return nil, err
	}
	ids, err := j.Identities(scope)
	if err != nil {
		return nil, err
	}
	return Identify(ids), nil
}

// HooksFor runs the profile's rollout.hooks from the config file's folder;
// nil when none is configured. No password this run resolves (resolver
// gives the run's resolver, nil before one is made), nor
// WCDEPLOY_PASSWORD, reaches a hook or its output.
func HooksFor(loaded *config.Loaded, plan rollout.Plan, runID string, getenv func(string) string, resolver func() *credentials.Resolver) rollout.Hooks {
	info := hooks.RunInfo{Dir: loaded.Dir, RunID: runID, Version: plan.Build.Version}
	if pw := getenv(credentials.EnvPassword); pw != "" {
		info.Secrets = []string{pw}
	}
	info.MoreSecrets = func() []string {
		if r := resolver(); r != nil {
			return r.Secrets()
		}
		return nil
	}
	return hooks.New(loaded.Profile, info)
}
