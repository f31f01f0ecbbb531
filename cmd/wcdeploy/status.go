package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/credentials"
	"github.com/wcdeploy/wcdeploy/pkg/deploy"
	"github.com/wcdeploy/wcdeploy/pkg/peversion"
)

type statusOptions struct {
	cred credentials.Request
}

func newStatusCmd(a *app) *cobra.Command {
	o := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the version each server runs beside the local EXE's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := a.loadProfile(cmd.Flags(), false)
			if err != nil {
				return err
			}
			return runStatus(cmd.Context(), a, loaded.Profile, o)
		},
	}
	config.AddFlags(cmd.Flags())
	credentials.AddFlags(cmd.Flags(), &o.cred)
	return cmd
}

func runStatus(ctx context.Context, a *app, p config.Profile, o *statusOptions) error {
	var local *peversion.Info
	if p.Exe != "" {
		if info, err := peversion.ReadVersionFile(p.Exe); err == nil {
			local = info
		} else if !os.IsNotExist(err) {
			a.warnf("local EXE: %v", err)
		}
	}
	rep, err := deploy.Status(ctx, p, local, a.clientsFor(ctx, p, o.cred))
	if err != nil {
		return err
	}
	if a.jsonOut {
		if err := output.JSON(a.out(), rep); err != nil {
			return err
		}
		return rep.Err()
	}
	if rep.Local != nil {
		fmt.Fprintf(a.out(), "local EXE %s: %s (%d bytes)\n", rep.Local.Path, rep.Local.FileVersion, rep.Local.Size)
	}
	t := output.Table{Header: []string{"SERVER", "RUNNING", "SINCE", "STATE", "ERROR"}}
	for _, s := range rep.Servers {
		t.Add(s.Name, dash(s.Running), dash(s.Date), s.State, s.Error)
	}
	if err := t.Write(a.out()); err != nil {
		return err
	}
	return rep.Err()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
