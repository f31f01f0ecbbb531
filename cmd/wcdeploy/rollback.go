package main

import (
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/credentials"
	"github.com/wcdeploy/wcdeploy/pkg/exitcode"
	"github.com/wcdeploy/wcdeploy/pkg/journal"
)

func init() { extraCommands = append(extraCommands, newRollbackCmd) }

func newRollbackCmd(a *app) *cobra.Command {
	o := &deployOpts{}
	var to string
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Redeploy the build that ran before the last successful run (from the local archive)",
		Long: `rollback redeploys, through the same preflight, stage, swap and verify as deploy,
the build that ran before the profile's last successful run, or the build of a given
run or version (--to). The EXE comes from the local archive that every deploy fills;
Web Connection itself keeps no previous EXE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			loaded, err := a.loadProfile(cmd.Flags(), false)
			if err != nil {
				return err
			}
			j, err := a.journal()
			if err != nil {
				return err
			}
			var e journal.Entry
			if to != "" {
				e, err = j.Find(to)
			} else {
				e, err = j.PreviousBuild(loaded.Profile.Name)
			}
			if err != nil {
				return exitcode.New(exitcode.Usage, err)
			}
			path, err := j.Archived(e.Exe.SHA256)
			if err != nil {
				return exitcode.New(exitcode.Usage, err)
			}
			a.logf("rolling back profile %q to %s (run %s, archived %s)", loaded.Profile.Name, e.Exe.Version, e.ID, path)
			loaded.Profile.Exe = e.Exe.Path // reports keep the build's own name
			loaded.Profile.DLL = ""
			o.source = path
			return a.runDeploy(ctx, loaded, o)
		},
	}
	fs := cmd.Flags()
	config.AddFlags(fs)
	credentials.AddFlags(fs, &o.cred)
	fs.StringVar(&to, "to", "", "the run id or version to go back to (default: the build before the last successful run)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "run the preflight and print the plan; change nothing")
	fs.BoolVar(&o.skipUnreachable, "skip-unreachable", false, "go on without servers that fail preflight")
	return cmd
}

// resumeProfile narrows a profile to the servers a run did not verify and
// points it at the archived EXE of that run.
func (a *app) resumeProfile(loaded *config.Loaded, o *deployOpts) error {
	runID := o.resume
	j, err := a.journal()
	if err != nil {
		return err
	}
	e, names, err := j.Unverified(runID)
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	if len(names) == 0 {
		return exitcode.Errorf(exitcode.Usage, "run %s left nothing to finish: every server was verified", e.ID)
	}
	path, err := j.Archived(e.Exe.SHA256)
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[strings.ToLower(n)] = true
	}
	var servers []config.Server
	for _, s := range loaded.Profile.Servers {
		if want[strings.ToLower(s.Name)] {
			servers = append(servers, s)
		}
	}
	if len(servers) == 0 {
		return exitcode.Errorf(exitcode.Usage, "run %s left %s unverified, but profile %q has none of them now", e.ID, strings.Join(names, ", "), loaded.Profile.Name)
	}
	a.logf("resuming run %s: %s on %d server(s): %s", e.ID, e.Exe.Version, len(servers), strings.Join(names, ", "))
	loaded.Profile.Servers = servers
	loaded.Profile.Exe = e.Exe.Path // reports keep the build's own name
	loaded.Profile.DLL = ""
	o.source = path
	o.resumes = e.ID
	return nil
}
