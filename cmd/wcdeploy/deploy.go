package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/credentials"
	"github.com/wcdeploy/wcdeploy/pkg/deploy"
	"github.com/wcdeploy/wcdeploy/pkg/journal"
	"github.com/wcdeploy/wcdeploy/pkg/peversion"
	"github.com/wcdeploy/wcdeploy/pkg/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/transport"
)

func init() { extraCommands = append(extraCommands, newDeployCmd) }

type deployOpts struct {
	force           bool
	dryRun          bool
	skipUnreachable bool
	stageOnly       bool
	resume          string
	// source is the archived copy rollback and --resume read the build
	// from; resumes is the run id a --resume finishes.
	source  string
	resumes string
	cred    credentials.Request
}

func newDeployCmd(a *app) *cobra.Command {
	o := &deployOpts{}
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
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			loaded, err := a.loadProfile(cmd.Flags(), o.resume == "")
			if err != nil {
				return err
			}
			if o.resume != "" {
				if err := a.resumeProfile(loaded, o); err != nil {
					return err
				}
			}
			return a.runDeploy(ctx, loaded, o)
		},
	}
	fs := cmd.Flags()
	config.AddFlags(fs)
	credentials.AddFlags(fs, &o.cred)
	fs.BoolVar(&o.force, "force", false, "deploy even where the same version and size already run")
	fs.BoolVar(&o.dryRun, "dry-run", false, "run the preflight and print the plan; change nothing")
	fs.StringVar(&o.resume, "resume", "", "finish run `RUN_ID`: deploy its build to the servers it did not verify")
	fs.BoolVar(&o.stageOnly, "stage-only", false, "upload to every server and stop before swapping: the running EXE is not changed")
	fs.BoolVar(&o.skipUnreachable, "skip-unreachable", false, "go on without servers that fail preflight")
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

// clientsFor builds one authenticated client per server, resolving the
// password once per host (the resolver caches stdin and prompt answers).
func (a *app) clientsFor(ctx context.Context, p config.Profile, req credentials.Request) deploy.ClientFunc {
	if a.credResolver == nil {
		a.credResolver = newResolver(a, &p, credentials.SystemKeyring())
	}
	resolver := a.credResolver
	guard := transport.NewGuard() // one refused login is not retried on every server
	return func(t rollout.Target) (*http.Client, error) {
		o := transportOptions(&p, "")
		o.Kerberos.SPN = p.ServerSPN(t.Name)
		if p.Username != "" {
			r, err := credentialRequest(&p, config.Server{URL: t.URL}, req)
			if err != nil {
				return nil, err
			}
			// With a Kerberos keytab or ticket cache the password is asked
			// for only if a scheme needs it.
			resolve := func(ctx context.Context) (string, error) {
				cred, err := resolver.Resolve(ctx, r)
				return cred.Password, err
			}
			if o.PasswordFunc = resolve; !transport.StoredKerberos(o) {
				if o.Password, err = resolve(ctx); err != nil {
					return nil, err
				}
			}
		}
		// The swap holds the reply for seconds: the header wait must allow it.
		o.ResponseHeaderTimeout = max(p.Timeouts.Response, p.Timeouts.Swap)
		o.Guard = guard
		return transport.New(t.URL, o)
	}
}

func (a *app) runDeploy(ctx context.Context, loaded *config.Loaded, o *deployOpts) error {
	p := loaded.Profile
	build, err := deploy.ReadBuild(p, o.source)
	if err != nil {
		return err
	}
	type hashed struct {
		sum string
		err error
	}
	sumCh := make(chan hashed, 1)
	go func() {
		sum, _, err := peversion.HashFile(build.File())
		sumCh <- hashed{sum, err}
	}()
	warnInsecure(a, &p)
	steps := deploy.New(deploy.Options{
		Build:         build,
		Client:        a.clientsFor(ctx, p, o.cred),
		Retries:       p.Retries,
		SwapTimeout:   p.Timeouts.Swap,
		StatusTimeout: p.Timeouts.Status,
		Health:        p.Rollout.Health,
	})
	plan := rollout.Plan{
		Build:           build,
		Targets:         deploy.Targets(p),
		Parallel:        p.Rollout.Parallel,
		Canary:          p.Rollout.Canary,
		MaxFailures:     p.Rollout.MaxFailures,
		Force:           o.force,
		SkipUnreachable: o.skipUnreachable,
		DryRun:          o.dryRun,
		StageOnly:       o.stageOnly,
	}
	progress := rollout.NewProgress(a.io, a.quiet || a.jsonOut && !a.io.ErrTTY, plan)
	rep := rollout.Run(ctx, plan, steps, progress)
	progress.Close()
	if h := <-sumCh; h.err != nil {
		fmt.Fprintf(a.io.Err, "warning: hashing the EXE for the journal: %v\n", h.err)
	} else {
		rep.Build.SHA256 = h.sum
	}
	runID := journal.NewID(rep.Started)
	if !o.dryRun {
		a.record(runID, p, rep, o.resumes)
	}
	if err := rollout.Render(a.io, rep, rollout.RenderOptions{JSON: a.jsonOut, Quiet: a.quiet, Getenv: a.getenv}); err != nil {
		fmt.Fprintf(a.io.Err, "warning: %v\n", err)
	}
	if !o.dryRun && !a.quiet && !a.jsonOut {
		fmt.Fprintf(a.io.Err, "run %s recorded in the journal ('wcdeploy history')\n", runID)
	}
	id := ""
	if !o.dryRun {
		id = runID
	}
	// With --json the document on stdout carries the error too; stderr
	// still says it once for people reading the log.
	return rep.ErrFor(id)
}

// record appends the run to the journal and keeps the EXE in the archive,
// so rollback can redeploy it. A journal problem never fails a deploy that
// already happened: it is a warning.
func (a *app) record(runID string, p config.Profile, rep *rollout.Report, resumes string) {
	dir, err := journal.DefaultDir(a.getenv, runtime.GOOS)
	if err != nil {
		fmt.Fprintf(a.io.Err, "warning: the run was not journaled: %v\n", err)
		return
	}
	j := journal.Open(dir)
	staged := false
	for _, s := range rep.Servers {
		staged = staged || s.Staged
	}
	// A stage-only run changed no running EXE: nothing to roll back to.
	if staged && !rep.StageOnly && rep.Build.SHA256 != "" {
		if _, err := j.Store(rep.Build.File(), rep.Build.SHA256); err != nil {
			fmt.Fprintf(a.io.Err, "warning: the EXE was not archived (rollback to it will not be possible): %v\n", err)
		}
	}
	entry := journal.NewEntry(runID, p.Name, journal.CurrentUser(a.getenv), rep)
	entry.Resumes = resumes
	if err := j.Append(entry); err != nil {
		fmt.Fprintf(a.io.Err, "warning: the run was not journaled: %v\n", err)
		return
	}
	if _, err := j.Prune(p.ArchiveKeep); err != nil {
		fmt.Fprintf(a.io.Err, "warning: pruning the archive: %v\n", err)
	}
}
