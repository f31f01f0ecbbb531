// Package hooks runs the user's commands at the rollout's hook points
// (rollout.hooks in wcdeploy.yaml): a command line through the platform's
// shell (sh -c, cmd /C) or an argument list without one, from the config
// file's folder, with a timeout after which the hook and every process it
// started are stopped. Each line it prints goes to the progress as it comes
// and its last lines to the report. Its environment is wcdeploy's without
// any secret, plus WCDEPLOY_* variables that say which server, phase and
// versions the hook is about.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// MaxOutputLines is how many of a hook's last lines the report keeps.
const MaxOutputLines = 20

// killGrace is how long a stopped hook's processes get to end after the
// polite signal, before they are killed.
const killGrace = 2 * time.Second

// pipeGrace is how long the output of a hook that exited is still read
// while a process it left behind keeps the pipe open.
const pipeGrace = 2 * time.Second

// RunInfo is what the hooks are told about the run as a whole.
type RunInfo struct {
	// Dir is the folder hooks run in: the config file's folder
	// (config.Loaded.Dir).
	Dir string
	// RunID is the journal's id of the run (WCDEPLOY_RUN_ID).
	RunID string
	// Version is the build's FileVersion (WCDEPLOY_VERSION).
	Version string
	// Environ is the environment the hooks start from; nil means
	// wcdeploy's own (os.Environ()).
	Environ []string
	// Secrets are values that must not reach a hook, such as the deploy
	// password: a variable holding one is dropped, and the hook's output
	// shows it as ***.
	Secrets []string
	// MoreSecrets, when set, adds the secrets known only once the run is
	// under way (passwords resolved at preflight); asked at each hook.
	MoreSecrets func() []string
}

// Runner implements rollout.Hooks for one profile.
type Runner struct {
	hooks   config.Hooks
	profile string
	vars    map[string]map[string]string // server name -> its vars
	run     RunInfo
	timeout time.Duration
}

var _ rollout.Hooks = (*Runner)(nil)

// New returns the hooks of the profile, or nil when it configures none, so
// that Plan.Hooks stays nil.
func New(profile config.Profile, run RunInfo) rollout.Hooks {
	r := NewRunner(profile, run)
	if len(r.Configured()) == 0 {
		return nil
	}
	return r
}

// NewRunner is New that always returns the runner.
func NewRunner(profile config.Profile, run RunInfo) *Runner {
	r := &Runner{
		hooks:   profile.Rollout.Hooks,
		profile: profile.Name,
		vars:    map[string]map[string]string{},
		run:     run,
		timeout: profile.Rollout.Hooks.Timeout,
	}
	if r.timeout <= 0 {
		r.timeout = config.DefaultHookTimeout
	}
	for _, s := range profile.Servers {
		r.vars[s.Name] = s.Vars
	}
	return r
}

// Configured lists the hook points that have a command, in the order a
// rollout meets them.
func (r *Runner) Configured() []string {
	var out []string
	for _, k := range config.HookKeys {
		if !r.hooks.Point(k).IsZero() {
			out = append(out, k)
		}
	}
	return out
}

// Run runs the hook of c.Point, if one is configured. It returns the
// result, and an error when the hook could not start, exited non-zero, ran
// past the timeout or was stopped because ctx ended; the error names the
// hook and the server and says what to do. The caller decides what a
// failure means for the rollout.
func (r *Runner) Run(ctx context.Context, c rollout.HookCall) (*rollout.HookResult, error) {
	h := r.hooks.Point(c.Point)
	if h == nil {
		return nil, fmt.Errorf("unknown hook point %q", c.Point)
	}
	if h.IsZero() {
		return nil, nil
	}
	res := &rollout.HookResult{Command: redact(h.String(), r.secrets()), ExitCode: -1}
	if err := ctx.Err(); err != nil {
		err = fmt.Errorf("%s hook %q was not run, because the rollout was interrupted: %w", c.Point, res.Command, err)
		res.Error = err.Error()
		return res, err
	}
	out := newLineWriter(MaxOutputLines, r.secrets(), c.Output)
	cmd := command(*h)
	cmd.Dir = r.run.Dir
	cmd.Env = r.env(c)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = pipeGrace

	start := time.Now()
	err := r.wait(ctx, cmd)
	out.flush()
	res.DurationMS = time.Since(start).Milliseconds()
	res.Output = out.last()
	if cmd.ProcessState != nil && cmd.ProcessState.Exited() {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if err == nil {
		res.OK = true
		return res, nil
	}
	err = r.describe(c, *h, err, res)
	res.Error = redact(err.Error(), r.secrets())
	return res, err
}

// errTimeout says wait stopped a hook at rollout.hooks.timeout.
var errTimeout = errors.New("timed out")

// wait starts cmd and waits for it, stopping its process tree on timeout
// or when ctx ends.
func (r *Runner) wait(ctx context.Context, cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(r.timeout)
	defer timer.Stop()
	var why error
	select {
	case err := <-done:
		if errors.Is(err, exec.ErrWaitDelay) {
			// It exited; something it left behind held the output open.
			return nil
		}
		return err
	case <-timer.C:
		why = errTimeout
	case <-ctx.Done():
		why = ctx.Err()
	}
	terminateTree(cmd)
	select {
	case <-done:
		// Processes of the group that ignore the polite signal go too.
		killTree(cmd)
	case <-time.After(killGrace):
		killTree(cmd)
		<-done
	}
	return why
}

// describe turns a hook's failure into an error that names the hook, the
// server and the next step.
func (r *Runner) describe(c rollout.HookCall, h config.Hook, err error, res *rollout.HookResult) error {
	who := c.Point + " hook"
	if c.Target != nil {
		who = c.Target.Name + ": " + who
	}
	cmdText := res.Command
	tail := ""
	if n := len(res.Output); n > 0 {
		tail = fmt.Sprintf(" (last line: %q)", res.Output[n-1])
	}
	var exit *exec.ExitError
	switch {
	case errors.Is(err, errTimeout):
		return fmt.Errorf("%s %q did not finish within %s and was stopped with every process it started%s; make it faster, or raise rollout.hooks.timeout", who, cmdText, r.timeout, tail)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s %q was stopped with every process it started, because the rollout was interrupted%s: %w", who, cmdText, tail, err)
	case errors.As(err, &exit):
		if res.ExitCode < 0 {
			return fmt.Errorf("%s %q was ended by a signal (%s)%s; run it by hand from %s to see why", who, cmdText, exit.ProcessState, tail, r.dirName())
		}
		return fmt.Errorf("%s %q exited with code %d%s; run it by hand from %s (with the WCDEPLOY_* variables of docs/rollouts.md) to see why", who, cmdText, res.ExitCode, tail, r.dirName())
	}
	return fmt.Errorf("%s %q could not start: %w; check the command in rollout.hooks.%s (it runs from %s%s)", who, cmdText, err, c.Point, r.dirName(), shellNote(h))
}

func (r *Runner) dirName() string {
	if r.run.Dir == "" {
		return "the current folder"
	}
	return r.run.Dir
}

// secrets are the values no hook may see or print.
func (r *Runner) secrets() []string {
	if r.run.MoreSecrets == nil {
		return r.run.Secrets
	}
	return append(append([]string(nil), r.run.Secrets...), r.run.MoreSecrets()...)
}
