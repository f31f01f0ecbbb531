package deploy

import (
	"fmt"

	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/peversion"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
)

// background runs f while the servers are checked and the upload runs; the
// function it returns waits for f's result (safe to call more than once,
// from any goroutine: rollout.Plan.Hash may ask for it during the run).
func background(f func() (string, error)) func() (string, error) {
	ch := make(chan struct{})
	var sum string
	var err error
	go func() {
		defer close(ch)
		sum, err = f()
	}()
	return func() (string, error) {
		<-ch
		return sum, err
	}
}

// HashBuild starts reading the build's SHA-256 while the servers are
// checked; the function it returns waits for the sum. A dry run, which
// keeps nothing, only hashes.
func HashBuild(b rollout.Build) func() (string, error) {
	return background(func() (string, error) {
		sum, _, err := peversion.HashFile(b.File())
		if err != nil {
			return "", fmt.Errorf("hashing the EXE for the journal: %w", err)
		}
		return sum, nil
	})
}

// ArchiveBuild starts keeping the build in the archive when the run starts,
// so that a run interrupted at any point, a stage-only run and a run that
// finds nothing to do can all be resumed, swapped or rolled back to. The
// function it returns waits for the build's SHA-256. One read of the EXE
// both hashes it and writes the copy (dropped when the archive already has
// that build), so the upload beside it competes with one pass, not two; a
// build read from the archive (rollback, resume, swap) is only hashed.
func ArchiveBuild(j *journal.Journal, b rollout.Build) func() (string, error) {
	if b.Source != "" {
		return HashBuild(b)
	}
	return background(func() (string, error) {
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
