package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/credentials"
	"github.com/wcdeploy/wcdeploy/pkg/deploy"
	"github.com/wcdeploy/wcdeploy/pkg/exitcode"
	"github.com/wcdeploy/wcdeploy/pkg/peversion"
	"github.com/wcdeploy/wcdeploy/pkg/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/swapper"
)

func init() { extraCommands = append(extraCommands, newStatusCmd) }

type serverStatus struct {
	Name    string `json:"name"`
	URL     string `json:"url"`
	Running string `json:"running,omitempty"`
	Date    string `json:"date,omitempty"`
	ExeFile string `json:"exe_file,omitempty"`
	State   string `json:"state"` // current, behind, unreachable, unknown
	Error   string `json:"error,omitempty"`
	code    exitcode.Code
}

type statusDoc struct {
	Local   *peversion.Info `json:"local,omitempty"`
	Servers []serverStatus  `json:"servers"`
}

func newStatusCmd(a *app) *cobra.Command {
	var cred credentials.Request
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the version each server runs beside the local EXE's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := a.loadProfile(cmd.Flags(), false)
			if err != nil {
				return err
			}
			return a.runStatus(cmd.Context(), loaded.Profile, cred)
		},
	}
	config.AddFlags(cmd.Flags())
	credentials.AddFlags(cmd.Flags(), &cred)
	return cmd
}

func (a *app) runStatus(ctx context.Context, p config.Profile, cred credentials.Request) error {
	doc := statusDoc{}
	if p.Exe != "" {
		if info, err := peversion.ReadVersionFile(p.Exe); err == nil {
			doc.Local = info
		} else if !os.IsNotExist(err) {
			fmt.Fprintf(a.io.Err, "warning: local EXE: %v\n", err)
		}
	}
	clients := a.clientsFor(ctx, p, cred)
	doc.Servers = make([]serverStatus, len(p.Servers))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(p.Rollout.Parallel, 4))
	for i, s := range p.Servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			doc.Servers[i] = a.serverStatus(ctx, p, s, clients, doc.Local)
		}()
	}
	wg.Wait()

	var firstErr error
	for _, s := range doc.Servers {
		if s.Error != "" && firstErr == nil {
			firstErr = exitcode.Errorf(s.code, "%s: %s", s.Name, s.Error)
		}
	}
	if a.jsonOut {
		enc := json.NewEncoder(a.out())
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return err
		}
	} else {
		if doc.Local != nil {
			fmt.Fprintf(a.out(), "local EXE %s: %s (%d bytes)\n", doc.Local.Path, doc.Local.FileVersion, doc.Local.Size)
		}
		tw := tabwriter.NewWriter(a.out(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SERVER\tRUNNING\tSINCE\tSTATE\tERROR")
		for _, s := range doc.Servers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, dash(s.Running), dash(s.Date), s.State, s.Error)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return firstErr
}

func (a *app) serverStatus(ctx context.Context, p config.Profile, s config.Server, clients deploy.ClientFunc, local *peversion.Info) serverStatus {
	out := serverStatus{Name: s.Name, URL: rollout.RedactURL(s.URL), State: "unknown"}
	t := rollout.Target{Name: s.Name, URL: s.URL, Flavor: s.Flavor, StatusURL: s.StatusURL}
	c, err := clients(t)
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, p.Timeouts.Status)
		defer cancel()
		var st *swapper.Status
		st, err = swapper.FetchStatus(cctx, c, s.StatusURL)
		if err == nil {
			out.Running, out.Date, out.ExeFile = st.Version, st.Date, st.ExeFile
		}
	}
	switch {
	case err != nil:
		out.State, out.Error, out.code = "unreachable", err.Error(), exitcode.Of(err)
		if out.code == exitcode.Unexpected {
			out.code = exitcode.Upload
		}
	case local == nil:
		out.State = "unknown"
	case swapper.SameVersion(out.Running, local.FileVersion):
		out.State = "current"
	default:
		out.State = "behind"
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
