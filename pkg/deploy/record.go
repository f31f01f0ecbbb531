package deploy

import (
	"fmt"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/journal"
	"github.com/wcdeploy/wcdeploy/pkg/peversion"
	"github.com/wcdeploy/wcdeploy/pkg/rollout"
)

// HashBuild starts reading the build's SHA-256 (for the journal and the
// archive) while the servers are checked and the upload runs; the function
// it returns waits for the sum.
func HashBuild(b rollout.Build) func() (string, error) {
	type hashed struct {
		sum string
		err error
	}
	ch := make(chan hashed, 1)
	go func() {
		sum, _, err := peversion.HashFile(b.File())
		ch <- hashed{sum, err}
	}()
	return func() (string, error) {
		h := <-ch
		if h.err != nil {
			return "", fmt.Errorf("hashing the EXE for the journal: %w", h.err)
		}
		return h.sum, nil
	}
}

// Record appends the run to the journal and keeps the EXE in the archive,
// so rollback can redeploy it. A journal problem never fails a deploy that
// already happened: what went wrong comes back as warnings.
func Record(j *journal.Journal, runID string, p config.Profile, user string, rep *rollout.Report, resumes string) (warnings []error) {
	staged := false
	for _, s := range rep.Servers {
		staged = staged || s.Staged
	}
	// A stage-only run changed no running EXE: nothing to roll back to.
	if staged && !rep.StageOnly && rep.Build.SHA256 != "" {
		if _, err := j.Store(rep.Build.File(), rep.Build.SHA256); err != nil {
			warnings = append(warnings, fmt.Errorf("the EXE was not archived (rollback to it will not be possible): %w", err))
		}
	}
	entry := journal.NewEntry(runID, p.Name, user, rep)
	entry.Resumes = resumes
	if err := j.Append(entry); err != nil {
		return append(warnings, fmt.Errorf("the run was not journaled: %w", err))
	}
	if _, err := j.Prune(p.ArchiveKeep); err != nil {
		warnings = append(warnings, fmt.Errorf("pruning the archive: %w", err))
	}
	return warnings
}
