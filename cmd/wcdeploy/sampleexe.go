package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/internal/peversion"
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

// SampleExe is the document 'wcdeploy sample-exe --json' prints.
type SampleExe struct {
	Path        string `json:"path"` // absolute
	FileVersion string `json:"file_version"`
	Size        int64  `json:"size"`
}

type sampleExeOptions struct {
	fileVersion string
	size        int64
}

func runSampleExe(a *app, o *sampleExeOptions, path string) error {
	if o.fileVersion == "" {
		return exitcode.Errorf(exitcode.Usage, "--file-version must not be empty")
	}
	file := path // as given, for the message
	if !filepath.IsAbs(path) {
		cwd, err := a.getwd()
		if err != nil {
			return exitcode.Errorf(exitcode.Unexpected, "cannot read the current folder: %w", err)
		}
		path = filepath.Join(cwd, path)
	}
	if err := sampleexe.WriteFile(path, sampleexe.Options{FileVersion: o.fileVersion, Size: o.size}); err != nil {
		return exitcode.Errorf(exitcode.Usage, "writing %s: %w", path, err)
	}
	info, err := peversion.ReadVersionFile(path)
	if err != nil {
		return err
	}
	if a.jsonOut {
		return output.JSON(a.out(), SampleExe{Path: path, FileVersion: info.FileVersion, Size: info.Size})
	}
	fmt.Fprintf(a.out(), "wrote %s: FileVersion %s, %d bytes\n", file, info.FileVersion, info.Size)
	return nil
}
