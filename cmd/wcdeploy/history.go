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

type historyOptions struct {
	limit int
	all   bool
}

func newHistoryCmd(a *app) *cobra.Command {
	o := &historyOptions{}
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List past runs from the local journal (newest first)",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return runHistory(a, o) },
	}
	cmd.Flags().IntVarP(&o.limit, "limit", "n", 20, "show at most N runs (0: all)")
	cmd.Flags().BoolVar(&o.all, "all", false, "runs of every profile")
	return cmd
}

func runHistory(a *app, o *historyOptions) error {
	j, err := a.journal()
	if err != nil {
		return err
	}
	profile := ""
	if !o.all {
		profile = a.profile
		if profile == "" {
			profile = a.getenv("WCDEPLOY_PROFILE")
		}
	}
	runs, err := j.Runs(strings.ToLower(profile))
	if err != nil {
		return fmt.Errorf("reading the journal %s: %w", j.Path(), err)
	}
	if o.limit > 0 && len(runs) > o.limit {
		runs = runs[:o.limit]
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
		result := exitcode.Code(e.ExitCode).String()
		if e.DryRun {
			result = "dry run"
		}
		t.Add(e.ID, e.Time.Local().Format(time.DateTime), e.Profile, e.Exe.Version,
			fmt.Sprintf("%d/%d current", e.Current(), len(e.Servers)), fmt.Sprintf("%s (%d)", result, e.ExitCode))
	}
	return t.Write(a.out())
}
