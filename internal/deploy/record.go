package deploy

import (
	"fmt"
	"sync"

	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/peversion"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
)

// HashBuild reads the build's SHA-256 when first asked (rollout.Plan.Hash:
// during the preflight when a server shows the build's version, in the
// background once the uploads are done, or when the run is recorded); the
// function it returns is safe to call more than once, from any goroutine.
// A dry run, which keeps nothing, only hashes.
func HashBuild(b rollout.Build) func() (string, error) {
	return sync.OnceValues(func() (string, error) {
		sum, _, err := peversion.HashFile(b.File())
		if err != nil {
			return "", fmt.Errorf("hashing the EXE for the journal: %w", err)
		}
		return sum, nil
	})
}

// ArchiveBuild keeps the build in the archive when first asked, as
// HashBuild hashes, so that a run interrupted at any point, a stage-only
// run and a run that finds nothing to do can all be resumed, swapped or
// rolled back to (each is recorded, and recording asks). The function it
// returns gives the build's SHA-256. The archive reads the EXE once
// (journal.ArchiveBuild); a build read from the archive (rollback, resume,
// swap) is only hashed.
func ArchiveBuild(j *journal.Journal, b rollout.Build) func() (string, error) {
	if b.Source != "" {
		return HashBuild(b)
	}
	return sync.OnceValues(func() (string, error) {
		sum, _, err := j.ArchiveBuild(b.File())
		if err != nil {
			return "", fmt.Errorf("the EXE was not archived, so resuming this run or rolling back to this build will not be possible: %w", err)
		}
		return sum, nil
	})
}

// Record appends the run to the journal, with what each verified server
// showed after its swap (RecordSwaps), and prunes the archive to keep
// builds per project and profile. A journal problem never fails a
// deploy that already happened: what went wrong comes back as warnings.
func Record(j *journal.Journal, m journal.Meta, keep int, rep *rollout.Report) (warnings []error) {
	entry := journal.NewRun(m, rep)
	RecordSwaps(&entry, rep)
	if err := j.Append(entry); err != nil {
		return append(warnings, fmt.Errorf("the run was not journaled: %w", err))
	}
	if _, err := j.Prune(keep); err != nil {
		warnings = append(warnings, fmt.Errorf("pruning the archive: %w", err))
	}
	return warnings
}
