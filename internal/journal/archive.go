package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// pruneGrace protects files younger than this from Prune: another run may
// have archived its EXE and not yet written its journal line.
const pruneGrace = time.Hour

// ArchiveDir is the folder of archived EXEs.
func (j *Journal) ArchiveDir() string { return filepath.Join(j.dir, "archive", "sha256") }

func validSHA(sum string) bool {
	if len(sum) != 64 {
		return false
	}
	_, err := hex.DecodeString(sum)
	return err == nil && strings.ToLower(sum) == sum
}

// ArchivePath is where the build with this SHA-256 (lower-case hex) is kept.
func (j *Journal) ArchivePath(sum string) (string, error) {
	sum = strings.ToLower(sum)
	if !validSHA(sum) {
		return "", fmt.Errorf("%q is not a SHA-256 in hex", sum)
	}
	return filepath.Join(j.ArchiveDir(), sum+".exe"), nil
}

// Archived returns the archived EXE of a build, or an error that says it is
// gone (pruned, or never archived).
func (j *Journal) Archived(sum string) (string, error) {
	p, err := j.ArchivePath(sum)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the build %s is not in the archive (%s): %w; it was pruned or never deployed from this machine: deploy that EXE by path instead", sum[:12], p, err)
	}
	return p, nil
}

// Store copies the EXE at src into the archive under its SHA-256 sum and
// returns the archived path; an EXE whose hash is not sum is refused before
// anything is written. The copy is renamed into place, so a reader never
// sees half a file. A copy, not a hard link: builds are often rewritten in
// place, which would change the archive.
func (j *Journal) Store(src, sum string) (string, error) {
	dst, err := j.ArchivePath(sum)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(dst); err == nil {
		touch(dst)
		return dst, nil
	}
	_, p, err := j.archive(src, strings.ToLower(sum))
	return p, err
}

// ArchiveBuild keeps the EXE at src in the archive and returns its SHA-256
// and archived path. Every recorded run has called it by the time it is
// journaled (a deploy once its uploads are done), so that a run
// interrupted at any point, and a run that finds nothing to do, can be
// resumed or rolled back to: the journal never names a build the archive
// lacks. The EXE is read once, to hash it; a build the archive lacks is
// then copied by the system (copy_file_range, a reflink where the file
// system has them), and a copy of a file that changed meanwhile is
// refused. A build deployed again costs the hash alone, a new one no
// second hash.
func (j *Journal) ArchiveBuild(src string) (sum, path string, err error) {
	return j.archive(src, "")
}

// archive is ArchiveBuild; want, when set, is the SHA-256 the EXE must
// have (Store), checked before anything is written.
func (j *Journal) archive(src, want string) (sum, path string, err error) {
	in, err := os.Open(src)
	if err != nil {
		return "", "", fmt.Errorf("archiving the EXE: %w", err)
	}
	defer in.Close()
	before, err := in.Stat()
	if err != nil {
		return "", "", fmt.Errorf("archiving the EXE: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, in); err != nil {
		return "", "", fmt.Errorf("archiving %s: %w", src, err)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if want != "" && sum != want {
		return "", "", fmt.Errorf("archiving %s: its SHA-256 is now %s, not %s: the file changed during the deploy; rebuild and deploy again", src, sum[:12], want[:12])
	}
	dst, _ := j.ArchivePath(sum)
	if _, err := os.Stat(dst); err == nil { // archived by an earlier run
		touch(dst)
		return sum, dst, nil
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return "", "", fmt.Errorf("archiving %s: %w", src, err)
	}
	tmp, err := j.tempFile()
	if err != nil {
		return "", "", err
	}
	defer discard(tmp)
	if _, err := io.Copy(tmp, in); err != nil {
		return "", "", fmt.Errorf("archiving %s: %w", src, err)
	}
	if why := changedSince(in, src, before); why != "" {
		return "", "", fmt.Errorf("archiving %s: %s while it was read; let the build finish, then run the deploy again", src, why)
	}
	return sum, dst, commit(tmp, dst, src)
}

// changedSince says how the open file (at path) differs from before, "" if
// it does not: a rebuild writes a new file at the path, or rewrites it.
func changedSince(f *os.File, path string, before fs.FileInfo) string {
	open, err := f.Stat()
	if err != nil {
		return "it could no longer be read"
	}
	now, err := os.Stat(path)
	switch {
	case err != nil || !os.SameFile(before, now):
		return "a new file was written in its place"
	case open.Size() != before.Size() || !open.ModTime().Equal(before.ModTime()):
		return "it was written again"
	}
	return ""
}

// tempFile is a new file in the archive folder, for a copy to be renamed
// into place.
func (j *Journal) tempFile() (*os.File, error) {
	if err := os.MkdirAll(j.ArchiveDir(), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the EXE archive %s: %w; set WCDEPLOY_STATE_DIR to a folder wcdeploy may write to", j.ArchiveDir(), err)
	}
	tmp, err := os.CreateTemp(j.ArchiveDir(), ".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("archiving the EXE: %w", err)
	}
	return tmp, nil
}

// discard removes a temporary copy that was not committed (after commit
// renamed it, there is nothing left to remove).
func discard(tmp *os.File) {
	tmp.Close()
	os.Remove(tmp.Name())
}

// commit makes the written copy tmp the archived build dst: on disk first,
// then renamed into place, so a reader never sees half a file.
func commit(tmp *os.File, dst, src string) error {
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("archiving %s: %w", src, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("archiving %s: %w", src, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		// Windows refuses to rename over a file another run just stored.
		if _, serr := os.Stat(dst); serr != nil {
			return fmt.Errorf("archiving %s: %w", src, err)
		}
		os.Remove(tmp.Name())
	}
	return nil
}

// touch marks an archived build as recently used, past Prune's grace.
func touch(p string) {
	now := time.Now()
	_ = os.Chtimes(p, now, now)
}

// Prune keeps the last keep distinct builds of every project and profile (by the runs
// that deployed them) and deletes the rest of the archive; keep 0 keeps none
// (archive.keep: 0). Files younger than an hour stay: another run may have
// stored them and not yet journaled its run. It returns the files removed.
func (j *Journal) Prune(keep int) ([]string, error) {
	keep = max(keep, 0)
	all, err := j.All()
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	perProfile := map[string]int{}
	seen := map[string]map[string]bool{}
	for _, e := range all { // newest first
		if e.DryRun || !validSHA(e.Exe.SHA256) {
			continue
		}
		scope := e.Project + "\x00" + e.Profile
		if seen[scope] == nil {
			seen[scope] = map[string]bool{}
		}
		if seen[scope][e.Exe.SHA256] || perProfile[scope] >= keep {
			continue
		}
		seen[scope][e.Exe.SHA256] = true
		perProfile[scope]++
		wanted[e.Exe.SHA256] = true
	}
	ents, err := os.ReadDir(j.ArchiveDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pruning the EXE archive: %w", err)
	}
	var removed []string
	var errs []error
	for _, de := range ents {
		name := de.Name()
		sum, isExe := strings.CutSuffix(name, ".exe")
		isTmp := strings.HasPrefix(name, ".tmp-")
		if de.IsDir() || (!isExe && !isTmp) || (isExe && (!validSHA(sum) || wanted[sum])) {
			continue
		}
		info, err := de.Info()
		if err != nil || time.Since(info.ModTime()) < pruneGrace {
			continue
		}
		p := filepath.Join(j.ArchiveDir(), name)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("pruning the EXE archive %s: %w", j.ArchiveDir(), err)
	}
	return removed, nil
}
