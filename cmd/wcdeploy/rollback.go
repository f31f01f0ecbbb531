package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/credentials"
	"github.com/wcdeploy/wcdeploy/pkg/deploy"
)

func newRollbackCmd(a *app) *cobra.Command {
	o := &rollbackOptions{}
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Redeploy the build that ran before the last successful run (from the local archive)",
		Long: `rollback redeploys, through the same preflight, stage, swap and verify as deploy,
the build that ran before the profile's last successful run, or the build of a given
run or version (--to). The EXE comes from the local archive that every deploy fills;
Web Connection itself keeps no previous EXE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := a.loadProfile(cmd.Flags(), false)
			if err != nil {
				return err
			}
			return runRollback(cmd.Context(), a, loaded, o)
		},
	}
	fs := cmd.Flags()
	config.AddFlags(fs)
	credentials.AddFlags(fs, &o.cred)
	fs.StringVar(&o.to, "to", "", "the run id or version to go back to (default: the build before the last successful run)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "run the preflight and print the plan; change nothing")
	fs.BoolVar(&o.SkipUnreachable, "skip-unreachable", false, "go on without servers that fail preflight")
	return cmd
}

// rollbackOptions are a deploy's, plus the build to go back to.
type rollbackOptions struct {
	deployOptions
	to string // a run id or version; empty: the build before the last successful run
}

// runRollback deploys an earlier build from the archive, through the same
// flow as deploy.
func runRollback(ctx context.Context, a *app, loaded *config.Loaded, o *rollbackOptions) error {
	j, err := a.journal()
	if err != nil {
		return err
	}
	e, err := deploy.RollbackTarget(j, loaded.Profile.Name, o.to)
	if err != nil {
		return err
	}
	a.logf("rolling back profile %q to %s (run %s, archived %s)", loaded.Profile.Name, e.Run.Exe.Version, e.Run.ID, e.Archive)
	e.Use(&loaded.Profile, &o.Choices)
	return a.runDeploy(ctx, loaded, &o.deployOptions)
}
