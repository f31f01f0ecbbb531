package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
)

// ExeNameDiffers compares the local EXE's file name with a server's ExeFile
// (a Windows path wherever wcdeploy runs). A swap puts the build in place of
// ExeFile whatever its name, so Web Connection does not mind; a different
// name is a sign of the wrong project or profile. It returns what differs
// and what to check.
func ExeNameDiffers(localPath, exeFile string) (msg, next string, differs bool) {
	local, remote := windowsBase(localPath), windowsBase(exeFile)
	if exeFile == "" || strings.EqualFold(local, remote) {
		return "", "", false
	}
	msg = fmt.Sprintf("the local EXE is %s, the server runs %s (ExeFile %s)", local, remote, exeFile)
	next = fmt.Sprintf("a deploy puts %s in place of %s: check that --exe (or the profile's exe) is this server's application", local, remote)
	return msg, next, true
}

// windowsBase is the file name of a path written with / or \.
func windowsBase(p string) string {
	return p[strings.LastIndexAny(p, `/\`)+1:]
}

// ExeNameSteps are a deploy's steps that note, at preflight, each server
// whose ExeFile has another name than the local EXE. The notes are printed
// after the rollout, so they do not break a live progress display.
type ExeNameSteps struct {
	rollout.Steps
	Exe string

	mu    sync.Mutex
	notes []string
}

func (s *ExeNameSteps) Preflight(ctx context.Context, t rollout.Target) (rollout.Running, error) {
	r, err := s.Steps.Preflight(ctx, t)
	if msg, next, differs := ExeNameDiffers(s.Exe, r.ExeFile); err == nil && differs {
		s.mu.Lock()
		s.notes = append(s.notes, fmt.Sprintf("%s: %s; %s", t.Name, msg, next))
		s.mu.Unlock()
	}
	return r, err
}

// Notes are the notes, in the order of the servers' names.
func (s *ExeNameSteps) Notes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	slices.Sort(s.notes)
	return slices.Clone(s.notes)
}
