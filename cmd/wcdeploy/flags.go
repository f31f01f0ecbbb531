package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// noArgs refuses arguments. For a command with --exe, a file name given as
// an argument (the habit of 'wcdeploy deploy Orders.exe') is answered with
// the flag to use.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.Flags().Lookup("exe") != nil && strings.HasSuffix(strings.ToLower(args[0]), ".exe") {
		return fmt.Errorf("%s takes the EXE as a flag, not an argument: %s --exe %s", cmd.CommandPath(), cmd.CommandPath(), args[0])
	}
	return fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
}
