// Command wcdeploy deploys a West Wind Web Connection server EXE to one or
// many servers through their hot-swap links and proves the new build runs.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/ui"
)

func main() {
	os.Exit(run(os.Args[1:], ui.System(), os.Getenv))
}

// run executes the command line with the system's keychain, HTTP clients
// and folders, and returns the process exit code.
func run(args []string, s *ui.Streams, getenv func(string) string) int {
	return execute(context.Background(), args, systemDeps(s, getenv))
}

// execute runs the command line with d. It makes the one context every
// command runs under, ended by Ctrl-C or SIGTERM (or when parent ends),
// prints the error once and maps it to the exit code. A panic is a bug:
// exit 1 with a short line, the stack only with -v.
func execute(parent context.Context, args []string, d deps) (code int) {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{deps: d}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(d.io.Err, "wcdeploy: internal error: %v\nThis is a bug in wcdeploy, please report it with the output of 'wcdeploy version'.\n", r)
			if a.verbose {
				if w, ok := r.(interface{ WorkerStack() []byte }); ok {
					fmt.Fprintf(d.io.Err, "%s\n", w.WorkerStack()) // where a worker panicked
				}
				fmt.Fprintf(d.io.Err, "%s", debug.Stack())
			} else {
				fmt.Fprintln(d.io.Err, "Run the command again with -v to include the stack trace.")
			}
			code = int(exitcode.Unexpected)
		}
	}()
	root := newRootCmd(a)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && !a.reached {
		var coded *exitcode.Error
		if !errors.As(err, &coded) {
			err = exitcode.New(exitcode.Usage, err)
		}
	}
	code = int(exitcode.Of(err))
	if err != nil && !errors.Is(err, errReported) {
		fmt.Fprintf(d.io.Err, "wcdeploy: %s\n", err)
		if exitcode.Code(code) == exitcode.Usage && !a.reached {
			fmt.Fprintf(d.io.Err, "Run '%s --help' for usage.\n", commandPath(cmd))
		}
	}
	return code
}

// commandPath names the command a usage error belongs to, so the hint
// points at the help that lists its flags.
func commandPath(cmd *cobra.Command) string {
	if cmd == nil {
		return "wcdeploy"
	}
	return cmd.CommandPath()
}
