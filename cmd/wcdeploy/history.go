package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/pkg/exitcode"
	"github.com/wcdeploy/wcdeploy/pkg/journal"
)

func init() { extraCommands = append(extraCommands, newHistoryCmd) }

func (a *app) journal() (*journal.Journal, error) {
	dir, err := journal.DefaultDir(a.getenv, runtime.GOOS)
	if err != nil {
		return nil, exitcode.New(exitcode.Usage, err)
	}
	return journal.Open(dir), nil
}

func newHistoryCmd(a *app) *cobra.Command {
	var limit int
	var all bool
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List past runs from the local journal (newest first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			j, err := a.journal()
			if err != nil {
				return err
			}
			profile := ""
			if !all {
				profile = a.profile
				if profile == "" {
					profile = a.getenv("WCDEPLOY_PROFILE")
				}
			}
			runs, err := j.Runs(strings.ToLower(profile))
			if err != nil {
				return fmt.Errorf("reading the journal %s: %w", j.Path(), err)
			}
			if limit > 0 && len(runs) > limit {
				runs = runs[:limit]
			}
			if a.jsonOut {
				enc := json.NewEncoder(a.out())
				enc.SetIndent("", "  ")
				if runs == nil {
					runs = []journal.Entry{}
				}
				return enc.Encode(runs)
			}
			if len(runs) == 0 {
				fmt.Fprintf(a.out(), "no runs in %s\n", j.Path())
				return nil
			}
			tw := tabwriter.NewWriter(a.out(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tTIME\tPROFILE\tVERSION\tSERVERS\tRESULT")
			for _, e := range runs {
				verified := 0
				for _, s := range e.Servers {
					if s.Verified || s.UpToDate {
						verified++
					}
				}
				result := exitcode.Code(e.ExitCode).String()
				if e.DryRun {
					result = "dry run"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d current\t%s (%d)\n", e.ID, e.Time.Local().Format(time.DateTime),
					e.Profile, e.Exe.Version, verified, len(e.Servers), result, e.ExitCode)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 20, "show at most N runs (0: all)")
	cmd.Flags().BoolVar(&all, "all", false, "runs of every profile")
	return cmd
}
