package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

func newRollbackCmd(a *app) *cobra.Command {
	o := &rollbackOptions{}
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Redeploy the build the servers ran before (from the local archive)",
		Long: `rollback redeploys, through the same preflight, stage, swap and verify as deploy,
the build the profile's servers ran before: the newest build that was fully deployed
(every server verified) before the newest build that reached any server. After a
partial rollout of 2.0.0.3 over a farm that ran 2.0.0.2, that is 2.0.0.2. A rollback
right after a rollback goes one good build further back; it never undoes the first
(to return, deploy that build, or use --to). --to deploys the build of a given run
or version instead. The EXE comes from the local archive that every deploy fills;
Web Connection itself keeps no previous EXE. Only runs of this project and profile
count.

Run it from the machine that deployed: the archive and the journal are local
('wcdeploy history' lists the runs; the archive keeps archive.keep builds). It
exits like deploy.`,
		Example: `  wcdeploy rollback --dry-run
  wcdeploy rollback
  wcdeploy rollback --to 1.2.0.0
  wcdeploy rollback --profile prod --to 20261126T015904Z-f3ab6e`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := a.loadProfile(cmd, false)
			if err != nil {
				return err
			}
			return runRollback(cmd.Context(), a, loaded, o)
		},
	}
	fs := cmd.Flags()
	config.AddCommandFlags("rollback", fs, config.SelectFlags, config.ConnectFlags, config.RolloutFlags)
	addRunFlags(fs, &o.deployOptions)
	fs.StringVar(&o.to, "to", "", "the run id or version to go back to (default: the newest build fully deployed before the newest build that reached a server)")
	return cmd
}

// rollbackOptions are a deploy's, plus the build to go back to.
type rollbackOptions struct {
	deployOptions
	to string // a run id or version; empty: where rollback goes (journal.RollbackTarget)
}

// runRollback deploys an earlier build from the archive, through the same
// flow as deploy, under the run lock.
func runRollback(ctx context.Context, a *app, loaded *config.Loaded, o *rollbackOptions) error {
	o.kind = journal.KindRollback
	rs, err := a.startRun(ctx, loaded, o.kind, o.DryRun, o.waitLock)
	if err != nil {
		return err
	}
	defer rs.Release(a.warnf)
	if o.rollbackFrom, err = rs.Rollback(&loaded.Profile, &o.Choices, o.to, a.logf); err != nil {
		return err
	}
	return a.runDeploy(ctx, rs, loaded, &o.deployOptions)
}
