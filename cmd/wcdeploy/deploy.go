package main

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/ui/progress"
	"github.com/wcdeploy/wcdeploy/internal/ui/report"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// deployOptions are a deploy's (or rollback's, or swap's) choices.
type deployOptions struct {
	deploy.Choices
	resume   string        // --resume RUN_ID
	waitLock time.Duration // --wait-lock DURATION
	cred     credentials.Request
	// What the journal records about the run beyond its report.
	kind         journal.Kind
	resumes      string        // KindResume: the run it finishes
	stageRun     string        // KindSwap: the stage-only run it swaps in
	rollbackFrom *journal.Link // KindRollback: the build it moves away from
	// journalNote says where the run was recorded; "" is the user's journal.
	journalNote string
}

// addRunFlags adds what every command that runs a rollout takes (deploy,
// rollback, swap): the password flags, --dry-run, --skip-unreachable and
// --wait-lock for the run lock.
func addRunFlags(fs *pflag.FlagSet, o *deployOptions) {
	credentials.AddFlags(fs, &o.cred)
	fs.BoolVar(&o.DryRun, "dry-run", false, "run the preflight and print the plan; change nothing")
	fs.BoolVar(&o.SkipUnreachable, "skip-unreachable", false, "go on without servers that fail preflight")
	fs.DurationVar(&o.waitLock, "wait-lock", 0, "when another run of this project and profile holds the lock, wait up to `DURATION` for it (default: exit 8 at once)")
}

func newDeployCmd(a *app) *cobra.Command {
	o := &deployOptions{}
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Upload the EXE, swap it in and verify it runs (preflight, stage, swap, verify)",
		Long: `deploy runs the whole flow for every server of the profile:
  preflight  read the local EXE's version and each server's status page (changes nothing)
  stage      upload the EXE to every server (UploadExe.wc), checking each staged copy
  swap       trigger the hot swap (UpdateExe.wc): canary first, then batches
  verify     the version the server reports must be the local EXE's FileVersion

Servers that already run the same version and size are left alone (--force
redeploys). With no config file, flags are enough (see the last example).`,
		Example: `  wcdeploy deploy
  wcdeploy deploy --dry-run
  wcdeploy deploy --profile prod --server web1 -q
  wcdeploy deploy --resume 20261126T015904Z-f3ab6e
  WCDEPLOY_PASSWORD=... wcdeploy deploy --exe build/App.exe --url https://host/App/ --flavor module --user deploy`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := a.loadProfile(cmd, o.resume == "")
			if err != nil {
				return err
			}
			o.kind = journal.KindDeploy
			switch {
			case o.resume != "":
				o.kind = journal.KindResume
			case o.StageOnly:
				o.kind = journal.KindStage
			}
			rs, err := a.startRun(cmd.Context(), loaded, o.kind, o.DryRun, o.waitLock)
			if err != nil {
				return err
			}
			defer rs.Release(a.warnf)
			if o.resume != "" {
				if o.resumes, err = rs.Resume(&loaded.Profile, &o.Choices, o.resume, a.logf, a.warnf); err != nil {
					return err
				}
			}
			return a.runDeploy(cmd.Context(), rs, loaded, o)
		},
	}
	fs := cmd.Flags()
	config.AddCommandFlags("deploy", fs, config.BuildFlags, config.SelectFlags, config.ConnectFlags, config.RolloutFlags)
	addRunFlags(fs, o)
	fs.BoolVar(&o.Force, "force", false, "deploy even where this very build already runs")
	fs.StringVar(&o.resume, "resume", "", "finish run `RUN_ID`: deploy its build to every server of the run that does not run it now")
	fs.BoolVar(&o.StageOnly, "stage-only", false, "upload to every server and stop before swapping: the running EXE is not changed ('wcdeploy swap' swaps it in later)")
	return cmd
}

// loadProfile resolves the config file, profile, environment and the flags
// of cmd (see config.LoadCommand).
func (a *app) loadProfile(cmd *cobra.Command, needExe bool) (*config.Loaded, error) {
	dir, err := a.getwd()
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Usage, "cannot read the current folder: %w", err)
	}
	o := config.Options{ConfigPath: a.configPath, Profile: a.profile, Dir: dir, Getenv: a.getenv, Flags: cmd.Flags()}
	return config.LoadCommand(o, strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" "), needExe)
}

// clientsFor gives each server its authenticated client; the resolver is
// shared by every run of the process, so a password is asked for once.
func (a *app) clientsFor(ctx context.Context, p config.Profile, req credentials.Request) deploy.ClientFunc {
	if a.credResolver == nil {
		a.credResolver = newResolver(a, &p, a.keyring)
	}
	return deploy.Clients(ctx, p, a.credResolver, req, a.newClient)
}

// runDeploy runs the flow: plan, the rollout (preflight, stage, swap,
// verify), the journal record and the report. The build is archived while
// the servers are checked.
func (a *app) runDeploy(ctx context.Context, rs *deploy.Run, loaded *config.Loaded, o *deployOptions) error {
	p := loaded.Profile
	plan, sum, err := deploy.PlanRun(p, o.Choices, rs.Journal, o.DryRun)
	if err != nil {
		return err
	}
	plan.Identify = a.identify(loaded)
	runID := ""
	if !o.DryRun {
		runID = rs.ID
	}
	plan.Hooks = deploy.HooksFor(loaded, plan, runID, a.getenv, func() *credentials.Resolver { return a.credResolver }) // --dry-run lists them; none runs
	warnInsecure(a, &p)
	warnShared(a, &p)
	inner, err := deploy.ForProfile(p, plan.Build, a.clientsFor(ctx, p, o.cred), a.newClient)
	if err != nil {
		return err
	}
	view := progress.New(a.io, a.quiet, plan)
	names := &deploy.ExeNameSteps{Exe: plan.Build.Path, Steps: inner}
	var steps rollout.Steps = names
	var obs rollout.Observer = view
	if o.kind == journal.KindSwap {
		steps, obs = deploy.SwapOnly(names, o.stageRun), deploy.SwapOnlyObserver(view, o.stageRun)
	}
	rep := rollout.Run(ctx, plan, steps, obs)
	view.Close()
	for _, n := range names.Notes() {
		a.warnf("%s", n)
	}
	if rep.Build.SHA256, err = sum(); err != nil {
		a.warnf("%v", err)
	}
	if runID != "" {
		rep.RunID = runID
		a.record(rs, p, o, rep)
	}
	if err := report.Render(a.io, rep, report.Options{JSON: a.jsonOut, Quiet: a.quiet, Getenv: a.getenv}); err != nil {
		a.warnf("%v", err)
	}
	if a.quiet && !a.jsonOut {
		// The result --quiet keeps: one line a build script can log.
		fmt.Fprintln(a.out(), rep.Summary())
	}
	if runID != "" && !a.quiet && !a.jsonOut {
		fmt.Fprintf(a.io.Err, "run %s recorded %s\n", runID, cmp.Or(o.journalNote, "in the journal ('wcdeploy history')"))
	}
	// With --json the document on stdout carries the error too; stderr
	// still says it once for people reading the log.
	return rep.ErrFor(runID)
}

// record journals the run; a journal problem is a warning, never a failure
// of a deploy that already happened.
func (a *app) record(rs *deploy.Run, p config.Profile, o *deployOptions, rep *rollout.Report) {
	m := journal.Meta{
		ID: rs.ID, Project: rs.Scope.Project, Profile: p.Name, User: journal.CurrentUser(a.getenv),
		Kind: o.kind, Resumes: o.resumes, StageRun: o.stageRun, RollbackFrom: o.rollbackFrom,
	}
	for _, w := range deploy.Record(rs.Journal, m, p.ArchiveKeep, rep) {
		a.warnf("%v", w)
	}
}
