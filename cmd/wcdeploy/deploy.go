package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/credentials"
	"github.com/wcdeploy/wcdeploy/pkg/deploy"
	"github.com/wcdeploy/wcdeploy/pkg/journal"
	"github.com/wcdeploy/wcdeploy/pkg/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/ui/progress"
	"github.com/wcdeploy/wcdeploy/pkg/ui/report"
)

// deployOptions are a deploy's (or rollback's) choices.
type deployOptions struct {
	deploy.Choices
	resume string // --resume RUN_ID
	// resumes is the run id a --resume finishes.
	resumes string
	cred    credentials.Request
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

With no config file, flags are enough:
  wcdeploy deploy --exe build/App.exe --url https://host/App/ --flavor module --user deploy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := a.loadProfile(cmd.Flags(), o.resume == "")
			if err != nil {
				return err
			}
			if o.resume != "" {
				if err := a.resumeProfile(loaded, o); err != nil {
					return err
				}
			}
			return a.runDeploy(cmd.Context(), loaded, o)
		},
	}
	fs := cmd.Flags()
	config.AddFlags(fs)
	credentials.AddFlags(fs, &o.cred)
	fs.BoolVar(&o.Force, "force", false, "deploy even where the same version and size already run")
	fs.BoolVar(&o.DryRun, "dry-run", false, "run the preflight and print the plan; change nothing")
	fs.StringVar(&o.resume, "resume", "", "finish run `RUN_ID`: deploy its build to the servers it did not verify")
	fs.BoolVar(&o.StageOnly, "stage-only", false, "upload to every server and stop before swapping: the running EXE is not changed")
	fs.BoolVar(&o.SkipUnreachable, "skip-unreachable", false, "go on without servers that fail preflight")
	return cmd
}

// loadProfile resolves the config file, profile, environment and flags.
func (a *app) loadProfile(fs *pflag.FlagSet, needExe bool) (*config.Loaded, error) {
	return config.Load(config.Options{
		ConfigPath: a.configPath,
		Profile:    a.profile,
		Getenv:     a.getenv,
		Flags:      fs,
		NeedExe:    needExe,
		// A run with no server would be an empty plan: say how to name one.
		NeedServers: true,
	})
}

// resumeProfile narrows the profile to the servers a run did not verify and
// points it at that run's archived EXE.
func (a *app) resumeProfile(loaded *config.Loaded, o *deployOptions) error {
	j, err := a.journal()
	if err != nil {
		return err
	}
	e, err := deploy.Resume(j, &loaded.Profile, o.resume)
	if err != nil {
		return err
	}
	a.logf("resuming run %s: %s on %d server(s): %s", e.Run.ID, e.Run.Exe.Version, len(loaded.Profile.Servers), strings.Join(e.Servers, ", "))
	e.Use(&loaded.Profile, &o.Choices)
	o.resumes = e.Run.ID
	return nil
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
// verify), the journal record and the report.
func (a *app) runDeploy(ctx context.Context, loaded *config.Loaded, o *deployOptions) error {
	p := loaded.Profile
	plan, err := deploy.NewPlan(p, o.Choices)
	if err != nil {
		return err
	}
	sum := deploy.HashBuild(plan.Build)
	warnInsecure(a, &p)
	steps, err := deploy.New(deploy.Options{
		Build:         plan.Build,
		Client:        a.clientsFor(ctx, p, o.cred),
		Retries:       p.Retries,
		SwapTimeout:   p.Timeouts.Swap,
		StatusTimeout: p.Timeouts.Status,
		Health:        p.Rollout.Health,
	})
	if err != nil {
		return err
	}
	view := progress.New(a.io, a.quiet || a.jsonOut && !a.io.ErrTTY, plan)
	rep := rollout.Run(ctx, plan, steps, view)
	view.Close()
	if rep.Build.SHA256, err = sum(); err != nil {
		a.warnf("%v", err)
	}
	runID := ""
	if !o.DryRun {
		runID = journal.NewID(rep.Started)
		a.record(runID, p, rep, o.resumes)
	}
	if err := report.Render(a.io, rep, report.Options{JSON: a.jsonOut, Quiet: a.quiet, Getenv: a.getenv}); err != nil {
		a.warnf("%v", err)
	}
	if runID != "" && !a.quiet && !a.jsonOut {
		fmt.Fprintf(a.io.Err, "run %s recorded in the journal ('wcdeploy history')\n", runID)
	}
	// With --json the document on stdout carries the error too; stderr
	// still says it once for people reading the log.
	return rep.ErrFor(runID)
}

// record journals the run; a journal problem is a warning, never a failure
// of a deploy that already happened.
func (a *app) record(runID string, p config.Profile, rep *rollout.Report, resumes string) {
	j, err := a.journal()
	if err != nil {
		a.warnf("the run was not journaled: %v", err)
		return
	}
	for _, w := range deploy.Record(j, runID, p, journal.CurrentUser(a.getenv), rep, resumes) {
		a.warnf("%v", w)
	}
}
