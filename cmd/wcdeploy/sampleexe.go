package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/demo"
	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

func newSampleExeCmd(a *app) *cobra.Command {
	o := &sampleExeOptions{}
	cmd := &cobra.Command{
		Use:   "sample-exe PATH",
		Short: "Write a real Windows EXE with a chosen FileVersion, to try wcdeploy without Visual FoxPro",
		Long: `sample-exe writes a small, real 32-bit Windows executable whose version resource
carries the FileVersion you choose, optionally padded to a size. Deploy it to
'wcdeploy emulate' to try the whole flow (init, login, doctor, deploy) without a
FoxPro build.`,
		Example: "  wcdeploy sample-exe --file-version 1.2.0.0 deploy/Orders.exe",
		Args:    cobra.ExactArgs(1),
		RunE:    func(_ *cobra.Command, args []string) error { return runSampleExe(a, o, args[0]) },
	}
	cmd.Flags().StringVar(&o.fileVersion, "file-version", "1.0.0.1", "the FileVersion string of the version resource")
	cmd.Flags().Int64Var(&o.size, "size", 0, "pad the file to this many bytes (0: as small as possible, about 1.1 MB)")
	return cmd
}

type sampleExeOptions struct {
	fileVersion string
	size        int64
}

func runSampleExe(a *app, o *sampleExeOptions, path string) error {
	res, err := demo.WriteSample(path, a.getwd, sampleexe.Options{FileVersion: o.fileVersion, Size: o.size})
	if err != nil {
		return err
	}
	if a.jsonOut {
		return output.JSON(a.out(), res)
	}
	fmt.Fprintf(a.out(), "wrote %s: FileVersion %s, %d bytes\n", path, res.FileVersion, res.Size)
	return nil
}

// SampleExe is the document 'wcdeploy sample-exe --json' prints.
type SampleExe = demo.SampleExe
