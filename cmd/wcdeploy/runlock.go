package main

import (
	"context"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// startRun begins a run of kind over the loaded profile (see deploy.StartRun).
func (a *app) startRun(ctx context.Context, loaded *config.Loaded, kind journal.Kind, dryRun bool, wait time.Duration) (*deploy.Run, error) {
	j, err := a.journal()
	if err != nil {
		return nil, err
	}
	return deploy.StartRun(ctx, j, loaded, kind, dryRun, wait, a.logf)
}
