package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/pkg/exitcode"
	"github.com/wcdeploy/wcdeploy/pkg/journal"
)

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
				if runs == nil {
					runs = []journal.Entry{}
				}
				return output.JSON(a.out(), runs)
			}
			if len(runs) == 0 {
				fmt.Fprintf(a.out(), "no runs in %s\n", j.Path())
				return nil
			}
			t := output.Table{Header: []string{"RUN", "TIME", "PROFILE", "VERSION", "SERVERS", "RESULT"}}
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
				t.Add(e.ID, e.Time.Local().Format(time.DateTime), e.Profile, e.Exe.Version,
					fmt.Sprintf("%d/%d current", verified, len(e.Servers)), fmt.Sprintf("%s (%d)", result, e.ExitCode))
			}
			return t.Write(a.out())
		},
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 20, "show at most N runs (0: all)")
	cmd.Flags().BoolVar(&all, "all", false, "runs of every profile")
	return cmd
}
