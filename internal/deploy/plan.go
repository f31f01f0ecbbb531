package deploy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/peversion"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// ReadBuild reads the local EXE: its FileVersion is what the server must
// report after the swap. deploy and doctor both read it here, so a file
// that deploy refuses fails doctor too.
// Only the headers and the version resource are read here; the build is
// archived and hashed (ArchiveBuild) once the uploads are done.
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
		return rollout.Build{}, exitcode.New(exitcode.Usage, unreadableExe(file, p.Exe, err))
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

// Choices are what the command line decides about one run, beside the
// profile.
type Choices struct {
	Force           bool
	SkipUnreachable bool
	DryRun          bool
	StageOnly       bool
	// SkipSameVersion leaves alone a server that shows the build's version
	// but runs a build this machine never deployed (--skip-same-version or
	// the profile's key).
	SkipSameVersion bool
	// Source is the archived copy rollback and --resume read the build
	// from (empty: the profile's exe).
	Source string
}

// NewPlan is the plan of one run: the build read as ReadBuild reads it, the
// profile's targets in order and its rollout settings.
func NewPlan(p config.Profile, c Choices) (rollout.Plan, error) {
	build, err := ReadBuild(p, c.Source)
	if err != nil {
		return rollout.Plan{}, err
	}
	return rollout.Plan{
		Build:           build,
		Targets:         Targets(p),
		Parallel:        p.Rollout.Parallel,
		Canary:          p.Rollout.Canary,
		MaxFailures:     p.Rollout.MaxFailures,
		Force:           c.Force,
		SkipUnreachable: c.SkipUnreachable,
		DryRun:          c.DryRun,
		StageOnly:       c.StageOnly,
		SkipSameVersion: c.SkipSameVersion || p.Rollout.SkipSameVersion,
		UploadParallel:  p.Rollout.UploadParallel,
		DrainDelay:      p.Rollout.DrainDelay,
		NoHealthCheck:   len(p.Rollout.Health) == 0,
	}, nil
}

// ScopeOf is the journal scope of a loaded profile: its project (the config
// file, or the servers of a flags-only run) and profile. History, rollback,
// resume and swap see only the runs of that scope, and its lock keeps one
// run of it at a time.
func ScopeOf(ld *config.Loaded) (journal.Scope, error) {
	var urls []string
	for _, t := range Targets(ld.Profile) {
		urls = append(urls, t.URL)
	}
	s, err := journal.NewScope(ld.File, ld.Profile.Name, urls)
	return s, exitcode.New(exitcode.Usage, err)
}

// UseArchived points p at the build of an earlier run, kept in the archive
// at archived: the archived bytes are read, while reports and the journal
// keep the build's own name.
func UseArchived(p *config.Profile, c *Choices, exe journal.Exe, archived string) {
	p.Exe = exe.Path
	p.DLL = ""
	c.Source = archived
}

// Narrow keeps the servers of p that a journaled run names, in p's order,
// and returns the names of the run's servers that p no longer lists.
func Narrow(p *config.Profile, servers []journal.Server) (missing []string) {
	want := map[string]bool{}
	for _, s := range servers {
		want[strings.ToLower(s.Name)] = true
	}
	var kept []config.Server
	for _, s := range p.Servers {
		if want[strings.ToLower(s.Name)] {
			kept = append(kept, s)
			delete(want, strings.ToLower(s.Name))
		}
	}
	for _, s := range servers {
		if want[strings.ToLower(s.Name)] {
			missing = append(missing, s.Name)
		}
	}
	p.Servers = kept
	return missing
}

// unreadableExe explains an EXE that is no Windows executable, with the
// next step: an empty file, a text file (a Git LFS pointer, a script, a
// log renamed by mistake) or a truncated copy.
func unreadableExe(file, name string, err error) error {
	fi, serr := os.Stat(file)
	switch {
	case serr == nil && fi.Size() == 0:
		return fmt.Errorf("reading the EXE %s: it is empty (0 bytes): the build or the copy that made it failed; rebuild it (VFP: Build > Win32 executable) and check the step that copies it", name)
	case errors.Is(err, peversion.ErrNotPE) && looksLikeText(file):
		return fmt.Errorf("reading the EXE %s: it is a text file, not a Windows executable (a Git LFS pointer that was never fetched, or a file saved under the EXE's name?): run 'git lfs pull' or rebuild it, and check 'exe' in the profile or --exe: %w", name, peversion.ErrNotPE)
	case errors.Is(err, peversion.ErrNotPE):
		return fmt.Errorf("reading the EXE %s: %w; check that 'exe' in the profile or --exe points to the built server EXE", name, peversion.ErrNotPE)
	case errors.Is(err, peversion.ErrTruncated):
		return fmt.Errorf("reading the EXE %s: %w (an interrupted copy or download?): rebuild it or copy it again, then deploy", name, peversion.ErrTruncated)
	}
	return fmt.Errorf("reading the EXE %s: %w", name, err)
}

// looksLikeText says whether the file's first bytes are printable text.
func looksLikeText(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 512)
	n, _ := io.ReadFull(f, buf)
	if n == 0 {
		return false
	}
	for _, c := range buf[:n] {
		if c < 0x09 || (c > 0x0d && c < 0x20) || c == 0x7f {
			return false
		}
	}
	return true
}

// PlanRun is NewPlan with the build's hash, which the engine tells builds
// of the same version apart by, and which the journal records: the build
// is hashed (and, unless dryRun, archived in j) when first asked, which the
// engine does once the uploads are done, so the read never competes with
// them. sum gives it.
func PlanRun(p config.Profile, c Choices, j *journal.Journal, dryRun bool) (plan rollout.Plan, sum func() (string, error), err error) {
	plan, err = NewPlan(p, c)
	if err != nil {
		return plan, nil, err
	}
	// One read of the EXE, never two, and not beside the uploads: on a
	// loaded machine a hash of a large build takes CPU from them.
	if dryRun {
		sum = HashBuild(plan.Build)
	} else {
		sum = ArchiveBuild(j, plan.Build)
	}
	plan.Hash = sum
	return plan, sum, nil
}
