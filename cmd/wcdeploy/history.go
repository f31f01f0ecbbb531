package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/pkg/config"
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
		Long: `history lists the runs of this project (the config file, or the servers of a
flags-only run) and profile, newest first: the run id, when it ran, the kind of
run (deploy, resume, stage, swap, rollback from a version), the version
deployed, how many servers ran it afterwards, and how the run ended (its exit
code). --all lists every project's runs, with a PROJECT column. A run id is what
'wcdeploy deploy --resume', 'wcdeploy swap --run' and 'wcdeploy rollback --to'
take. The journal is kept in WCDEPLOY_STATE_DIR, or the user's state folder.`,
		Example: `  wcdeploy history
  wcdeploy history --profile prod -n 5
  wcdeploy history --all --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runHistory(a, cmd.Flags(), o) },
	}
	cmd.Flags().IntVarP(&o.limit, "limit", "n", 20, "show at most N runs (0: all)")
	cmd.Flags().BoolVar(&o.all, "all", false, "runs of every project and profile, with a PROJECT column")
	cmd.Flags().String("url", "", "the runs of the flags-only project of this server (as 'wcdeploy deploy --url' ran them)")
	return cmd
}

// historyRuns returns the runs to list: the project and profile's, or all.
func historyRuns(a *app, fs *pflag.FlagSet, j *journal.Journal, all bool) ([]journal.Entry, error) {
	if all {
		return j.All()
	}
	// The profile's servers only say which older lines belong to it: a
	// profile without servers still has a history.
	dir, err := a.getwd()
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Usage, "cannot read the current folder: %w", err)
	}
	loaded, err := config.Load(config.Options{ConfigPath: a.configPath, Profile: a.profile, Dir: dir, Getenv: a.getenv, Flags: fs})
	if err != nil {
		return nil, err
	}
	scope, err := deploy.ScopeOf(loaded)
	if err != nil {
		return nil, err
	}
	return j.History(scope)
}

func runHistory(a *app, fs *pflag.FlagSet, o *historyOptions) error {
	j, err := a.journal()
	if err != nil {
		return err
	}
	runs, err := historyRuns(a, fs, j, o.all)
	if err != nil {
		return err
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
		what := "no runs of this project and profile in %s; 'wcdeploy history --all' lists every project's\n"
		if o.all {
			what = "no runs in %s\n"
		}
		fmt.Fprintf(a.out(), what, j.Path())
		return nil
	}
	t := deploy.HistoryTable(runs, o.all)
	t.Width = a.io.TableWidth()
	return t.Write(a.out())
}
