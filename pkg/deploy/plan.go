package deploy

import (
	"errors"
	"os"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/exitcode"
	"github.com/wcdeploy/wcdeploy/pkg/peversion"
	"github.com/wcdeploy/wcdeploy/pkg/rollout"
)

// ReadBuild reads the local EXE: its FileVersion is what the server must
// report after the swap. deploy and doctor both read it here, so a file
// that deploy refuses fails doctor too.
// Only the headers and the version resource are read here; the SHA-256 (for
// the journal and the archive) is computed while the servers are checked
// and the upload runs.
func ReadBuild(p config.Profile, source string) (rollout.Build, error) {
	file := p.Exe
	if source != "" {
		file = source
	}
	info, err := peversion.ReadVersionFile(file)
	if err != nil {
		if errors.Is(err, peversion.ErrNoVersion) {
			return rollout.Build{}, exitcode.Errorf(exitcode.Usage,
				"%s has no version resource, so the swap could not be verified: set a version in the VFP project (Build > Version) and rebuild", p.Exe)
		}
		if os.IsNotExist(err) {
			return rollout.Build{}, exitcode.Errorf(exitcode.Usage, "the EXE %s does not exist: build it first, or fix 'exe' in the profile or --exe", p.Exe)
		}
		return rollout.Build{}, exitcode.Errorf(exitcode.Usage, "reading the EXE: %w", err)
	}
	if info.FileVersion == "" {
		return rollout.Build{}, exitcode.Errorf(exitcode.Usage,
			"%s has a version resource without a FileVersion string: set a version in the VFP project and rebuild", p.Exe)
	}
	b := rollout.Build{Path: p.Exe, Source: source, Version: info.FileVersion, Size: info.Size, DLLPath: p.DLL}
	if p.DLL != "" {
		if _, err := os.Stat(p.DLL); err != nil {
			return rollout.Build{}, exitcode.Errorf(exitcode.Usage, "the DLL %s: %w", p.DLL, err)
		}
	}
	return b, nil
}

// Targets lists the profile's servers in plan order.
func Targets(p config.Profile) []rollout.Target {
	ts := make([]rollout.Target, 0, len(p.Servers))
	for _, s := range p.Servers {
		ts = append(ts, rollout.Target{
			Name: s.Name, URL: s.URL, Flavor: s.Flavor, Group: s.Group,
			UploadURL: s.UploadURL, UpdateURL: s.UpdateURL, StatusURL: s.StatusURL,
		})
	}
	return ts
}
