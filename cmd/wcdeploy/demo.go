package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/demo"
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

func newDemoCmd(a *app) *cobra.Command {
	o := demo.Options{Logf: a.logf}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Deploy sample EXEs to emulated Web Connection servers on loopback",
		Long: `demo starts three emulated Web Connection servers on loopback (IIS module 7.15,
IIS module 7.14 with a German server culture and NTLM, Web Connection Web Server 7.26),
then deploys a sample EXE (version 1.2.3.4) and a newer one (1.2.3.5) with the same
code path as 'wcdeploy deploy', and shows what each server runs. It needs no network,
no config file and no Windows.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Getenv = a.getenv
			o.Deploy = func(ctx context.Context, configFile string, getenv func(string) string) error {
				return a.demoDeploy(ctx, configFile, getenv, o.Keep)
			}
			return demo.Run(cmd.Context(), o)
		},
	}
	cmd.Flags().DurationVar(&o.SwapDelay, "swap-delay", demo.DefaultSwapDelay, "how long each emulated swap holds requests (real servers: 3s)")
	cmd.Flags().Int64Var(&o.Size, "size", demo.DefaultSize, "size of the sample EXEs in bytes")
	cmd.Flags().BoolVar(&o.Keep, "keep", false, "keep the demo folder (config, EXEs, journal) and print its path")
	return cmd
}

// demoDeploy is one 'wcdeploy deploy' of the demo, in the demo's own
// environment (its password, its journal).
func (a *app) demoDeploy(ctx context.Context, configFile string, getenv func(string) string, keep bool) error {
	da := *a
	da.getenv = getenv
	loaded, err := config.Load(config.Options{ConfigPath: configFile, Getenv: getenv, NeedExe: true})
	if err != nil {
		return err
	}
	// Not the user's journal: say which one, and how long it lives.
	note := "in the demo's journal, deleted when the demo ends"
	if keep {
		note = fmt.Sprintf("in the demo's journal (WCDEPLOY_STATE_DIR=%s wcdeploy history)", getenv("WCDEPLOY_STATE_DIR"))
	}
	o := &deployOptions{kind: journal.KindDeploy, journalNote: note}
	rs, err := da.startRun(ctx, loaded, o.kind, false, 0)
	if err != nil {
		return err
	}
	defer rs.Release(da.warnf)
	return da.runDeploy(ctx, rs, loaded, o)
}
