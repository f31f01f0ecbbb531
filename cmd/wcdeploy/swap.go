package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// swapOptions are a deploy's, plus the stage-only run to swap in.
type swapOptions struct {
	deployOptions
	run string // --run: a stage-only run id; empty: the newest one
}

func newSwapCmd(a *app) *cobra.Command {
	o := &swapOptions{}
	cmd := &cobra.Command{
		Use:   "swap",
		Short: "Swap in what 'deploy --stage-only' uploaded (uploads nothing)",
		Long: `swap finishes a 'wcdeploy deploy --stage-only' run: it swaps in, on every server
that run staged, the build it uploaded, and verifies it like a deploy (the swap
reply's version and size, then the status page), canary first, then batches.
Nothing is uploaded. The stage run is the profile's newest stage-only run, or
--run. A server is left out (and named) when the stage run did not stage it, a
later run uploaded another build over it, or it runs the build already. The swap
is journaled as its own run, linked to the stage run.

Stage in the day, swap at night:
  wcdeploy deploy --profile prod --stage-only
  wcdeploy swap --profile prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := a.loadProfile(cmd, false)
			if err != nil {
				return err
			}
			return runSwap(cmd.Context(), a, loaded, o)
		},
	}
	fs := cmd.Flags()
	config.AddCommandFlags("swap", fs, config.SelectFlags, config.ConnectFlags, config.RolloutFlags)
	addRunFlags(fs, &o.deployOptions)
	fs.StringVar(&o.run, "run", "", "the stage-only run `RUN_ID` to swap in (default: the profile's newest stage-only run)")
	return cmd
}

// runSwap swaps in a stage-only run's build on the servers that still hold
// it, under the run lock.
func runSwap(ctx context.Context, a *app, loaded *config.Loaded, o *swapOptions) error {
	o.kind = journal.KindSwap
	rs, err := a.startRun(ctx, loaded, o.kind, o.DryRun, o.waitLock)
	if err != nil {
		return err
	}
	defer rs.Release(a.warnf)
	if o.stageRun, err = rs.SwapStaged(&loaded.Profile, &o.Choices, o.run, a.logf, a.warnf); err != nil {
		return err
	}
	return a.runDeploy(ctx, rs, loaded, &o.deployOptions)
}
