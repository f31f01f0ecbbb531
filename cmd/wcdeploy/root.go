package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/pkg/credentials"
	"github.com/wcdeploy/wcdeploy/pkg/exitcode"
	"github.com/wcdeploy/wcdeploy/pkg/ui"
)

// app holds what every command shares: the streams, the environment and the
// global flags. Commands get it explicitly; there is no global state.
type app struct {
	io     *ui.Streams
	getenv func(string) string

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

// run executes the command line and returns the process exit code. The error
// is printed once, here.
func run(args []string, s *ui.Streams, getenv func(string) string) int {
	a := &app{io: s, getenv: getenv}
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil && !a.reached {
		var coded *exitcode.Error
		if !errors.As(err, &coded) {
			err = exitcode.New(exitcode.Usage, err)
		}
	}
	code := exitcode.Of(err)
	if err != nil && !errors.Is(err, errReported) {
		fmt.Fprintf(s.Err, "wcdeploy: %s\n", err)
		if code == exitcode.Usage && !a.reached {
			fmt.Fprintf(s.Err, "Run 'wcdeploy --help' for usage.\n")
		}
	}
	return int(code)
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
	pf.StringVar(&a.configPath, "config", "", "config file (default: wcdeploy.yaml found by walking up from the current folder)")
	pf.StringVarP(&a.profile, "profile", "p", "", "profile in the config file (default: the file's default_profile, or the only one)")
	pf.BoolVar(&a.jsonOut, "json", false, "print one JSON document on stdout instead of human output")
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "print nothing but errors and the result")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "print each request and step")
	pf.BoolVar(&a.noColor, "no-color", false, "no colour (also NO_COLOR=1)")

	root.AddCommand(newVersionCmd(a))
	for _, add := range extraCommands {
		root.AddCommand(add(a))
	}
	for _, hook := range completionHooks {
		hook(a, root)
	}
	return root
}

// extraCommands lets each command file register itself.
var extraCommands []func(*app) *cobra.Command

// out and errOut are the streams commands write to.
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
