// Package rollout runs a deploy plan over one or many servers: preflight
// everywhere, stage (upload) everywhere, then swap a canary group and the rest
// in batches, verifying and health-checking each server, halting once
// failures exceed the plan's limit; the user's hooks run around the swaps
// and the rollout. It knows nothing about HTTP or processes: the Steps
// interface does the work for one server, Hooks runs the user's commands,
// an Observer shows progress.
//
// The files follow the flow: run.go (Run, the sequence), preflight.go,
// stage.go, swap.go, hooks.go, outcome.go (exit code and summary).
package rollout

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Target is one server of the plan.
type Target struct {
	Name      string `json:"name"`
	URL       string `json:"url"` // the application's base URL
	Flavor    string `json:"flavor"`
	Group     string `json:"group,omitempty"`
	UploadURL string `json:"-"`
	UpdateURL string `json:"-"`
	StatusURL string `json:"-"`
}

// Build is the EXE being deployed.
type Build struct {
	Path    string `json:"path"`
	Version string `json:"version"` // StringFileInfo FileVersion
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	DLLPath string `json:"dll_path,omitempty"`
	// Source is where the bytes are read from when that is not Path: the
	// archived copy of a build that rollback or --resume deploys again.
	// Reports and the journal keep naming Path.
	Source string `json:"source,omitempty"`
}

// File is the file to read the build's bytes from.
func (b Build) File() string {
	if b.Source != "" {
		return b.Source
	}
	return b.Path
}

// FileName is the build's file name, whichever OS wrote Path.
func (b Build) FileName() string {
	if k := strings.LastIndexAny(b.Path, `/\`); k >= 0 {
		return b.Path[k+1:]
	}
	return b.Path
}

// Plan says what to deploy where and how carefully.
type Plan struct {
	Build       Build
	Targets     []Target
	Parallel    int  // bounded concurrency for uploads and swap batches (default 4)
	Canary      int  // servers swapped first, alone (default 1; 0 = no canary)
	MaxFailures int  // failures tolerated before swapping stops (default 0)
	Force       bool // deploy even where this very build already runs
	// SkipUnreachable lets the rollout go on without servers that fail preflight.
	SkipUnreachable bool
	// DryRun stops after preflight.
	DryRun bool
	// StageOnly stops after the uploads: every server keeps running its EXE.
	StageOnly bool
	// InterruptGrace bounds how long Ctrl-C waits for swaps in flight.
	InterruptGrace time.Duration
	// UploadParallel bounds concurrent uploads (0: Parallel), so swapping
	// one server at a time need not make every upload serial.
	UploadParallel int
	// Hooks are the user's commands around each swap and the rollout
	// (nil: none). None runs in a dry run (Report.Hooks lists them) or with
	// StageOnly, which swap nothing.
	Hooks Hooks
	// DrainDelay is waited after a server's before_swap hook succeeded, so
	// a load balancer can finish the requests in flight.
	DrainDelay time.Duration
	// Identify tells which build a server runs from what its status page
	// shows (version and file date): the SHA-256 of a build this machine
	// deployed there, and whether it is known at all. nil: no build is
	// known, so every server that shows the build's version is deployed
	// to anyway (or skipped, with SkipSameVersion).
	Identify func(t Target, r Running) (sha256 string, known bool)
	// Hash returns the build's SHA-256 when Build.SHA256 is not set yet:
	// in the preflight when a server shows the build's version, else in the
	// background once the uploads are done (so reading a large build never
	// takes CPU from them). Called at most once.
	Hash func() (string, error)
	// SkipSameVersion leaves alone a server that shows the build's version
	// but runs a build this machine never deployed (by version, as before
	// builds were told apart).
	SkipSameVersion bool
	// NoHealthCheck: no health check is configured, so Steps.Health is not
	// called and the report says "none" rather than a check that passed
	// without being asked anything.
	NoHealthCheck bool
}

// Identities of what a server runs when it shows the build's version, in
// ServerReport.Identity.
const (
	IdentitySame    = "same_build"   // known to run this very build
	IdentityOther   = "other_build"  // known to run another build of the same version
	IdentityUnknown = "unidentified" // a build this machine never deployed there
)

// States of a server after the run, in ServerReport.State: what it runs
// as far as the evidence goes.
const (
	ServerUpdated    = "updated"     // runs this build now (verified by its size or file date)
	ServerCurrent    = "current"     // ran this build already (or skipped by version)
	ServerNotUpdated = "not_updated" // known not to run this build
	ServerUnknown    = "unknown"     // not known: open the status page (status_url)
)

// Outcomes of a server's health checks, in ServerReport.Health ("": not run).
const (
	HealthOK      = "ok"
	HealthFailed  = "failed"
	HealthSkipped = "skipped" // interrupted before the checks
	HealthNone    = "none"    // no health check is configured
)

// Hook points, in the order a server meets them.
const (
	HookBeforeRollout = "before_rollout" // after every upload, before the first swap
	HookBeforeSwap    = "before_swap"    // right before one server's swap
	HookAfterSwap     = "after_swap"     // after its verification and health check
	HookAfterRollout  = "after_rollout"  // at the end, always
)

// Outcomes told to the after-hooks.
const (
	OutcomeOK      = "ok"
	OutcomeFailed  = "failed"
	OutcomeUnknown = "unknown"
)

// HookCall says which hook point is reached, for whom and with what result
// so far. Target is nil for the run-level hooks.
type HookCall struct {
	Point         string // one of the Hook* constants
	Target        *Target
	Batch         int // the server's swap group index (-1 for run-level hooks)
	VersionBefore string
	// Set for the after-hooks.
	Outcome      string // OutcomeOK, OutcomeFailed or OutcomeUnknown
	VersionAfter string
	ExitCode     int
	// Output receives each line the hook prints, for live progress.
	Output func(line string)
}

// HookResult is what a hook did, for the report and the journal.
type HookResult struct {
	Command    string   `json:"command"`
	OK         bool     `json:"ok"`
	ExitCode   int      `json:"exit_code"`
	DurationMS int64    `json:"duration_ms"`
	Output     []string `json:"output,omitempty"` // its last lines
	Error      string   `json:"error,omitempty"`
}

// Hooks runs the user's commands at the hook points. Run returns nil (and
// no error) when nothing is configured for that point. A failed hook returns
// its result and an error naming the hook and the next step.
type Hooks interface {
	Run(ctx context.Context, c HookCall) (*HookResult, error)
	// Configured lists the hook points that have a command, for --dry-run.
	Configured() []string
}

// Running is what a server runs now, read from its status page.
type Running struct {
	Version string `json:"version"`
	Date    string `json:"date,omitempty"`
	ExeFile string `json:"exe_file,omitempty"`
}

// Swapped is what the swap reply said, or, when the reply was lost or
// unreadable, what the status page showed once the server was off hold.
type Swapped struct {
	Version string `json:"version"`
	SizeKB  int64  `json:"size_kb"`
	Date    string `json:"date,omitempty"`
	// Evidence says what identifies the build that now runs, for the
	// report (e.g. "swap reply: 2.0.0.0, 1670 kb").
	Evidence string `json:"evidence,omitempty"`
	// Settled is set when the reply itself could not be used (lost, late,
	// unreadable) and the status page settled the swap: it says why. Such
	// a swap counts against max_failures and stops after a canary, yet the
	// server counts as updated.
	Settled string `json:"settled,omitempty"`
}

// Steps does the work for one server. Every method must honour ctx and
// return an error that names the server and the next step for the user;
// errors should carry an exitcode (internal/exitcode) saying which phase failed.
type Steps interface {
	// Preflight authenticates and reads the running version. Changes nothing.
	// A check that fails after the status page was read (the size limit)
	// returns what the page showed beside the error.
	Preflight(ctx context.Context, t Target) (Running, error)
	// Stage uploads the build; progress is called with the bytes sent so far
	// (it may go back to 0 when an upload is retried).
	Stage(ctx context.Context, t Target, progress func(sent int64)) error
	// Swap triggers the hot swap. It is never retried; if the reply is lost it
	// must find out what runs (status page) and say so in its error, marked
	// with StateUnknown when even that could not be found out.
	Swap(ctx context.Context, t Target) (Swapped, error)
	// Verify checks the swap's result and the status page against the build.
	Verify(ctx context.Context, t Target, s Swapped) (Running, error)
	// Health runs the configured health checks (nil when none are set).
	Health(ctx context.Context, t Target) error
}

// StateUnknown marks a Swap error after which what the server runs is not
// known (the reply was lost and the status page could not tell), so the
// after-hooks are told OutcomeUnknown. The message stays err's.
func StateUnknown(err error) error {
	if err == nil {
		return nil
	}
	return stateUnknownError{err}
}

// IsStateUnknown reports whether err was marked with StateUnknown.
func IsStateUnknown(err error) bool {
	var u stateUnknownError
	return errors.As(err, &u)
}

type stateUnknownError struct{ error }

func (e stateUnknownError) Unwrap() error { return e.error }

// Phase names a step of the flow, for observers and reports.
type Phase string

const (
	PhasePreflight Phase = "preflight"
	PhaseStage     Phase = "stage"
	PhaseSwap      Phase = "swap"
	PhaseVerify    Phase = "verify"
	PhaseHealth    Phase = "health"
	PhaseHook      Phase = "hook" // a hook starts (msg: its point) or prints a line (msg: "point: line")
	PhaseDone      Phase = "done"
	PhaseSkipped   Phase = "skipped"
	PhasePlanned   Phase = "planned" // a dry run: what would happen to the server
	PhaseFailed    Phase = "failed"
)

// Observer is told what happens, for live output. Calls may come from many
// goroutines at once.
type Observer interface {
	// Step: server i (0-based in plan order) entered phase, with a short
	// message. The run-level hooks (before_rollout, after_rollout) come
	// with i = -1 and a zero Target.
	Step(i int, t Target, p Phase, msg string)
	// Bytes: server i has sent n of total bytes of its upload.
	Bytes(i int, t Target, n, total int64)
}

// ServerReport is the outcome for one server.
type ServerReport struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// State is what the server runs after the run, as far as the evidence
	// goes: one of the Server* constants.
	State string `json:"state"`
	// StatusURL is the status page to open when State is unknown.
	StatusURL string `json:"status_url,omitempty"`
	// NotSwapped says why a server that should have been swapped was not:
	// the rollout halted (its ExitCode is then the halt's).
	NotSwapped string `json:"not_swapped,omitempty"`
	// Identity: when the server showed the build's version before the
	// run, which build that was (Identity* constants).
	Identity string `json:"identity,omitempty"`
	// Note says what people should know beside the outcome: a same version
	// of another build, a swap settled from the status page.
	Note string `json:"note,omitempty"`
	// Evidence is what identified the build after the swap.
	Evidence string `json:"evidence,omitempty"`
	// SwapReply is what the swap echoed (version, kb, file date), and
	// Running the status page after verification: together they let a
	// later run tell that the server runs exactly this build.
	SwapReply     *Swapped `json:"swap_reply,omitempty"`
	Running       *Running `json:"running,omitempty"`
	VersionBefore string   `json:"version_before"`
	VersionAfter  string   `json:"version_after"`
	Staged        bool     `json:"staged"`
	Swapped       bool     `json:"swapped"`
	Verified      bool     `json:"verified"`
	Health        string   `json:"health"`            // HealthOK, HealthFailed, HealthSkipped, HealthNone, "" (not run)
	Skipped       string   `json:"skipped,omitempty"` // why nothing was done, e.g. "already runs 1.2.3.5"
	// UpToDate: the server already ran the build, so nothing was needed
	// (a resumed run leaves it alone).
	UpToDate bool `json:"up_to_date,omitempty"`
	// Batch is the index in Report.Batches of the server's swap group, -1
	// when it was not planned for a swap (skipped, failed before the swap).
	Batch      int    `json:"batch"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
	ExitCode   int    `json:"exit_code"` // this server's own outcome
	// The server's hooks, when configured and run.
	BeforeSwap *HookResult `json:"before_swap,omitempty"`
	AfterSwap  *HookResult `json:"after_swap,omitempty"`
	err        error
	// stateUnknown: the swap's result is not known (a lost reply nobody
	// could settle, an interrupted or abandoned swap).
	stateUnknown bool
	// before is what the server ran at preflight.
	before Running
	// failedIn is the phase the error came from (lost in a report read
	// back from JSON).
	failedIn Phase
}

// Err returns the server's error with its exit code, or nil.
func (s *ServerReport) Err() error { return s.err }

// Report is the outcome of a run.
type Report struct {
	// RunID is the run's id in the journal (set by the caller; empty for a
	// dry run): 'wcdeploy deploy --resume RUN_ID' takes it.
	RunID    string         `json:"run_id,omitempty"`
	Build    Build          `json:"exe"`
	Servers  []ServerReport `json:"servers"`
	OK       bool           `json:"ok"`
	ExitCode int            `json:"exit_code"`
	Halted   bool           `json:"halted,omitempty"` // swapping stopped early (max_failures or interrupt)
	// HaltReason says why swapping stopped early, for people.
	HaltReason string `json:"halt_reason,omitempty"`
	// DryRun: only preflight ran; Batches is the plan that would have run.
	DryRun bool `json:"dry_run,omitempty"`
	// StageOnly: the build was uploaded but not swapped in.
	StageOnly bool `json:"stage_only,omitempty"`
	// Batches are the planned swap groups by server name: the canary servers
	// one group each, then the batches of Parallel.
	Batches [][]string `json:"batches,omitempty"`
	// The run-level hooks, when configured and run.
	BeforeRollout *HookResult `json:"before_rollout,omitempty"`
	AfterRollout  *HookResult `json:"after_rollout,omitempty"`
	// Hooks are the hook points with a command; in a dry run, the hooks
	// that would have run.
	Hooks    []string  `json:"hooks,omitempty"`
	Started  time.Time `json:"started"`
	Duration int64     `json:"duration_ms"`
	err      error     // a run-level hook's failure
}
