package main

import (
	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/credentials"
	"github.com/wcdeploy/wcdeploy/pkg/deploy"
)

func newRollbackCmd(a *app) *cobra.Command {
	o := &deployOptions{}
	var to string
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
			j, err := a.journal()
			if err != nil {
				return err
			}
			e, err := deploy.RollbackTarget(j, loaded.Profile.Name, to)
			if err != nil {
				return err
			}
			a.logf("rolling back profile %q to %s (run %s, archived %s)", loaded.Profile.Name, e.Run.Exe.Version, e.Run.ID, e.Archive)
			e.Use(&loaded.Profile, &o.Choices)
			return a.runDeploy(cmd.Context(), loaded, o)
		},
	}
	fs := cmd.Flags()
	config.AddFlags(fs)
	credentials.AddFlags(fs, &o.cred)
	fs.StringVar(&to, "to", "", "the run id or version to go back to (default: the build before the last successful run)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "run the preflight and print the plan; change nothing")
	fs.BoolVar(&o.SkipUnreachable, "skip-unreachable", false, "go on without servers that fail preflight")
	return cmd
}
