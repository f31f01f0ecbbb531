package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/completion"
	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/internal/ui"
)

// deps are what commands take from outside the process. run fills them
// with the system's; a test replaces any of them, so no command needs the
// OS.
type deps struct {
	io      *ui.Streams
	getenv  func(string) string
	keyring credentials.Keyring
	// newClient builds the HTTP client for one server.
	newClient deploy.NewClientFunc
	// getwd is the folder relative paths start at.
	getwd func() (string, error)
	// now is the clock (certificate expiry, for one).
	now  func() time.Time
	goos string
	// listen opens the emulator's listener (net.Listen).
	listen func(network, address string) (net.Listener, error)
}

func systemDeps(s *ui.Streams, getenv func(string) string) deps {
	return deps{io: s, getenv: getenv, keyring: credentials.SystemKeyring(), newClient: transport.New, getwd: os.Getwd, now: time.Now, goos: runtime.GOOS, listen: net.Listen}
}

// app is what every command shares: the dependencies and the global flags.
// Commands get it explicitly; there is no package-level state.
type app struct {
	deps

	// global flags
	configPath string
	profile    string
	jsonOut    bool
	quiet      bool
	verbose    bool
	noColor    bool

	// credResolver is shared by every server of a run, so a password read
	// from stdin or a prompt is asked for once.
	credResolver *credentials.Resolver

	// reached is set once a command's own code runs, so errors before that
	// (bad flags, bad arguments) are usage errors.
	reached bool
}

// errReported marks an error whose message the command already printed (for
// example inside a --json document), so run only sets the exit code.
var errReported = errors.New("reported")

// reportedError keeps the exit code of err but tells run not to print it.
func reportedError(err error) error {
	return exitcode.New(exitcode.Of(err), fmt.Errorf("%w: %w", errReported, err))
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "wcdeploy",
		Short: "Deploy a Web Connection server EXE and prove the new build runs",
		Long: `wcdeploy uploads a freshly built West Wind Web Connection server EXE to one or
many servers through Web Connection's hot-swap links (UploadExe.wc, UpdateExe.wc),
swaps it in, and verifies that the server now runs exactly that build.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.reached = true
			if a.noColor {
				a.io.NoColor = true
			}
			if a.quiet && a.verbose {
				return exitcode.Errorf(exitcode.Usage, "--quiet and --verbose cannot be used together")
			}
			a.traceRequests()
			return nil
		},
	}
	root.SetOut(a.io.Out)
	root.SetErr(a.io.Err)
	root.SetIn(a.io.In)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return exitcode.New(exitcode.Usage, err)
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "the config `FILE` (env WCDEPLOY_CONFIG; default: wcdeploy.yaml found by walking up from the current folder)")
	pf.StringVarP(&a.profile, "profile", "p", "", "profile in the config file (env WCDEPLOY_PROFILE; default: the file's default_profile, or the only one)")
	pf.BoolVar(&a.jsonOut, "json", false, "print one JSON document on stdout instead of human output")
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "print nothing but errors and the result (deploy: its one summary line)")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "print each request and step")
	pf.BoolVar(&a.noColor, "no-color", false, "no colour (also NO_COLOR set to any non-empty value)")

	root.AddCommand(
		newVersionCmd(a),
		newInitCmd(a),
		newLoginCmd(a),
		newLogoutCmd(a),
		newAuthCmd(a),
		newDoctorCmd(a),
		newStatusCmd(a),
		newDeployCmd(a),
		newRollbackCmd(a),
		newSwapCmd(a),
		newHistoryCmd(a),
		newDemoCmd(a),
		newEmulateCmd(a),
		newSampleExeCmd(a),
		newGenDocsCmd(a),
	)
	completion.Register(root, completion.Source{ // needs every command in place
		ConfigPath: func() string { return a.configPath },
		Profile:    func() string { return a.profile },
		Getenv:     a.getenv,
		Getwd:      a.getwd,
	})
	return root
}

// out is the stream results go to.
func (a *app) out() io.Writer { return a.io.Out }

// logf writes a progress or information line to stderr unless --quiet.
func (a *app) logf(format string, args ...any) {
	if a.quiet {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	fmt.Fprint(a.io.Err, msg)
}

// warnf writes a warning to stderr, even with --quiet.
func (a *app) warnf(format string, args ...any) {
	fmt.Fprintf(a.io.Err, "warning: "+format+"\n", args...)
}

// journal opens the local journal of runs.
func (a *app) journal() (*journal.Journal, error) {
	return deploy.OpenJournal(a.getenv, a.goos)
}
