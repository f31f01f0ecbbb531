package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/internal/peversion"
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
unreachable (with the error), or unknown when there is no local EXE to compare with.

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
	local := localExe(a, p.Exe)
	// The hash is read while the servers answer, so a large EXE costs no
	// extra time; it lets --json name the exact build.
	type hash struct {
		sum string
		err error
	}
	hashed := make(chan hash, 1)
	if local != nil {
		go func() {
			sum, _, err := peversion.HashFile(p.Exe)
			hashed <- hash{sum, err}
		}()
	} else {
		hashed <- hash{}
	}
	rep, err := deploy.Status(ctx, p, local, a.clientsFor(ctx, p, o.cred))
	if h := <-hashed; h.err != nil {
		a.warnf("local EXE: %v", h.err)
	} else if local != nil {
		local.SHA256 = h.sum
	}
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

// localExe reads the version of the EXE status compares with; nil when there
// is none (a missing file is no error: status works without a build).
func localExe(a *app, path string) *peversion.Info {
	if path == "" {
		return nil
	}
	info, err := peversion.ReadVersionFile(path)
	if err != nil {
		if !os.IsNotExist(err) {
			a.warnf("local EXE: %v", err)
		}
		return nil
	}
	return info
}
