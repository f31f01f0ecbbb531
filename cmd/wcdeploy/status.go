package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

type statusOptions struct {
	cred credentials.Request
}

func newStatusCmd(a *app) *cobra.Command {
	o := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the version each server runs beside the local EXE's version",
		Long: `status reads every server's status page (changing nothing) and shows the
version each one runs and since when, beside the FileVersion of the local EXE
(the profile's exe, or --exe). STATE says how a server compares with the local
EXE: current (it runs that version), behind or ahead (an older or newer
version), differs (another version that does not compare as numbers),
login-failed or unreachable (with the error), or unknown when there is no local
EXE to compare with.

It exits with 0 when every server answered, 3 when a login fails and 4 when a
server cannot be reached or answers wrongly.`,
		Example: `  wcdeploy status
  wcdeploy status --profile prod --server web1,web2
  wcdeploy status --json
  wcdeploy status --url https://web1.example.com/App/ --user 'CORP\deploy'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := a.loadProfile(cmd, false)
			if err != nil {
				return err
			}
			return runStatus(cmd.Context(), a, loaded.Profile, o)
		},
	}
	config.AddCommandFlags("status", cmd.Flags(), config.SelectFlags, config.ConnectFlags, []string{"exe"})
	credentials.AddFlags(cmd.Flags(), &o.cred)
	return cmd
}

func runStatus(ctx context.Context, a *app, p config.Profile, o *statusOptions) error {
	rep, err := deploy.StatusWithLocal(ctx, p, a.clientsFor(ctx, p, o.cred), a.warnf)
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
	t := rep.Table()
	t.Width = a.io.TableWidth()
	if err := t.Write(a.out()); err != nil {
		return err
	}
	return rep.Err()
}
