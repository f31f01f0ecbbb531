package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/pkg/exitcode"
	"github.com/wcdeploy/wcdeploy/pkg/peversion"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

func newSampleExeCmd(a *app) *cobra.Command {
	var fileVersion string
	var size int64
	cmd := &cobra.Command{
		Use:   "sample-exe PATH",
		Short: "Write a real Windows EXE with a chosen FileVersion, to try wcdeploy without Visual FoxPro",
		Long: `sample-exe writes a small, real 32-bit Windows executable whose version resource
carries the FileVersion you choose, optionally padded to a size. Deploy it to
'wcdeploy emulate' to try the whole flow (init, login, doctor, deploy) without a
FoxPro build.`,
		Example: "  wcdeploy sample-exe --file-version 1.2.0.0 deploy/Orders.exe",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if fileVersion == "" {
				return exitcode.Errorf(exitcode.Usage, "--file-version must not be empty")
			}
			if err := sampleexe.WriteFile(args[0], sampleexe.Options{FileVersion: fileVersion, Size: size}); err != nil {
				return exitcode.Errorf(exitcode.Usage, "writing %s: %w", args[0], err)
			}
			info, err := peversion.ReadVersionFile(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out(), "wrote %s: FileVersion %s, %d bytes\n", args[0], info.FileVersion, info.Size)
			return nil
		},
	}
	cmd.Flags().StringVar(&fileVersion, "file-version", "1.0.0.1", "the FileVersion string of the version resource")
	cmd.Flags().Int64Var(&size, "size", 0, "pad the file to this many bytes (0: as small as possible, about 1.1 MB)")
	return cmd
}
