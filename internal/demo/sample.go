package demo

import (
	"path/filepath"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/peversion"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// SampleExe is the document 'wcdeploy sample-exe --json' prints.
type SampleExe struct {
	Path        string `json:"path"` // absolute
	FileVersion string `json:"file_version"`
	Size        int64  `json:"size"`
}

// WriteSample writes a sample EXE with o at path (relative to the folder
// getwd gives) and reads back what it wrote, as deploy would read it.
func WriteSample(path string, getwd func() (string, error), o sampleexe.Options) (SampleExe, error) {
	if o.FileVersion == "" {
		return SampleExe{}, exitcode.Errorf(exitcode.Usage, "--file-version must not be empty")
	}
	if !filepath.IsAbs(path) {
		cwd, err := getwd()
		if err != nil {
			return SampleExe{}, exitcode.Errorf(exitcode.Unexpected, "cannot read the current folder: %w", err)
		}
		path = filepath.Join(cwd, path)
	}
	if err := sampleexe.WriteFile(path, o); err != nil {
		return SampleExe{}, exitcode.Errorf(exitcode.Usage, "writing %s: %w", path, err)
	}
	info, err := peversion.ReadVersionFile(path)
	if err != nil {
		return SampleExe{}, err
	}
	return SampleExe{Path: path, FileVersion: info.FileVersion, Size: info.Size}, nil
}
