package main

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/credentials"
	"github.com/wcdeploy/wcdeploy/pkg/deploy"
	"github.com/wcdeploy/wcdeploy/pkg/exitcode"
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
	// journalNote says where the run was recorded; "" is the user's journal.
	journalNote string
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
			if o.resume != "" {
				if err := a.resumeProfile(loaded, o); err != nil {
					return err
				}
			}
			return a.runDeploy(cmd.Context(), loaded, o)
		},
	}
	fs := cmd.Flags()
	addConfigFlags("deploy", fs, buildFlags, selectFlags, connectFlags, rolloutFlags)
	credentials.AddFlags(fs, &o.cred)
	fs.BoolVar(&o.Force, "force", false, "deploy even where the same version and size already run")
	fs.BoolVar(&o.DryRun, "dry-run", false, "run the preflight and print the plan; change nothing")
	fs.StringVar(&o.resume, "resume", "", "finish run `RUN_ID`: deploy its build to the servers it did not verify")
	fs.BoolVar(&o.StageOnly, "stage-only", false, "upload to every server and stop before swapping: the running EXE is not changed")
	fs.BoolVar(&o.SkipUnreachable, "skip-unreachable", false, "go on without servers that fail preflight")
	return cmd
}

// loadProfile resolves the config file, profile, environment and the flags
// of cmd. A profile without servers is refused in cmd's words, and with the
// way to name one (in an empty folder: 'wcdeploy init'); the EXE is checked
// after that, so a first try in an empty folder learns about init.
func (a *app) loadProfile(cmd *cobra.Command, needExe bool) (*config.Loaded, error) {
	dir, err := a.getwd()
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Usage, "cannot read the current folder: %w", err)
	}
	o := config.Options{ConfigPath: a.configPath, Profile: a.profile, Dir: dir, Getenv: a.getenv, Flags: cmd.Flags()}
	ld, err := config.Load(o)
	if err != nil {
		return nil, err
	}
	if len(ld.Profile.Servers) == 0 {
		return nil, noServer(cmd, ld, needExe)
	}
	if !needExe {
		return ld, nil
	}
	o.NeedExe = true
	return config.Load(o)
}

// noServer says that the profile names no server, and how to name one.
func noServer(cmd *cobra.Command, ld *config.Loaded, needExe bool) error {
	verb := cmp.Or(serverVerbs[strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")], "use")
	if ld.File == "" {
		hint := "--url https://host/App/"
		if needExe {
			hint = "--exe build/App.exe " + hint
		}
		return exitcode.Errorf(exitcode.Usage, "no server to %s: there is no %s in %s or a folder above it; run 'wcdeploy init' in the project folder to write one, or pass %s",
			verb, config.FileName, ld.Dir, hint)
	}
	return exitcode.Errorf(exitcode.Usage, "no server to %s: %s: profile %q lists no servers; add one under servers: (as 'wcdeploy init' writes it), or pass --url https://host/App/",
		verb, ld.File, ld.Profile.Name)
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
	sum := sync.OnceValues(deploy.HashBuild(plan.Build))
	plan.Hash = sum // the engine tells builds of the same version apart by it
	plan.Identify = a.identify(loaded)
	runID := ""
	if !o.DryRun {
		runID = journal.NewID(a.now())
	}
	plan.Hooks = a.hooksFor(loaded, plan, runID) // --dry-run lists them; none runs
	warnInsecure(a, &p)
	warnShared(a, &p)
	inner, err := deploy.New(deploy.Options{
		Build:         plan.Build,
		Client:        a.clientsFor(ctx, p, o.cred),
		Retries:       p.Retries,
		SwapTimeout:   p.Timeouts.Swap,
		StatusTimeout: p.Timeouts.Status,
		Health:        p.Rollout.Health,
		HealthClient:  deploy.AnonymousClients(p, a.newClient),
	})
	if err != nil {
		return err
	}
	steps := &exeNameSteps{exe: plan.Build.Path, Steps: inner}
	view := progress.New(a.io, a.quiet, plan)
	rep := rollout.Run(ctx, plan, steps, view)
	view.Close()
	steps.warn(a)
	if rep.Build.SHA256, err = sum(); err != nil {
		a.warnf("%v", err)
	}
	if runID != "" {
		rep.RunID = runID
		a.record(runID, p, rep, o.resumes)
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
