package journal

import (
	"fmt"
	"strings"
)

// maxChain bounds how far links between runs are followed (a hand-edited
// journal could hold a loop).
const maxChain = 1000

// Resume is what deploy --resume finishes.
type Resume struct {
	// Run is the run to finish: the first run of its chain when the id
	// named a resume run (a resume of a resume finishes the same run).
	Run Entry
	// Servers are every server of that run. The resume must read each one
	// at preflight and deploy to those that do not run the build now: a
	// rollback or a hand fix since may have changed any of them.
	Servers []Server
	// Unverified names the servers no run of the chain verified, for the
	// message ("resuming run X: 3 of 5 servers were not verified").
	Unverified []string
	// Archived is the build's EXE in the archive.
	Archived string
}

// Resume finds the run that deploy --resume id finishes, within the scope.
// Runs of another project or profile, dry runs and stage-only runs (which
// 'wcdeploy swap' finishes) are refused with a message saying what to do.
func (j *Journal) Resume(s Scope, id string) (Resume, error) {
	all, err := j.All()
	if err != nil {
		return Resume{}, err
	}
	e, ok, err := findID(all, strings.TrimSpace(id))
	if err != nil {
		return Resume{}, err
	}
	if !ok {
		return Resume{}, fmt.Errorf("no run %q: %w %s; 'wcdeploy history' lists the runs of %s", id, ErrNotFound, j.Path(), s)
	}
	if !s.Holds(&e) {
		return Resume{}, j.otherScope(s, &e)
	}
	byID := map[string]*Entry{}
	for k := range all {
		if s.Holds(&all[k]) {
			byID[all[k].ID] = &all[k]
		}
	}
	root := byID[chainRoot(byID, &e)]
	switch {
	case root.DryRun:
		return Resume{}, fmt.Errorf("run %s was a dry run: it changed nothing, so there is nothing to resume; run 'wcdeploy deploy'", root.ID)
	case root.RunKind() == KindStage:
		return Resume{}, fmt.Errorf("run %s only staged %s: 'wcdeploy swap --run %s' swaps it in", root.ID, root.Exe.Version, root.ID)
	}
	path, err := j.Archived(root.Exe.SHA256)
	if err != nil {
		return Resume{}, fmt.Errorf("cannot resume run %s: %w", root.ID, err)
	}
	r := Resume{Run: *root, Servers: root.Servers, Archived: path}
	done := map[string]bool{}
	for _, c := range byID { // the chain's runs: root and its resumes
		if chainRoot(byID, c) != root.ID {
			continue
		}
		for _, sv := range c.Servers {
			if sv.Verified || sv.UpToDate {
				done[serverKey(sv.URL, sv.Name)] = true
			}
		}
	}
	for _, sv := range root.Servers {
		if !done[serverKey(sv.URL, sv.Name)] {
			r.Unverified = append(r.Unverified, sv.Name)
		}
	}
	return r, nil
}

// chainRoot follows a resume run's links to the run it finishes.
func chainRoot(byID map[string]*Entry, e *Entry) string {
	for range maxChain {
		prev, ok := byID[e.Resumes]
		if e.RunKind() != KindResume || !ok {
			break
		}
		e = prev
	}
	return e.ID
}

// Staged is what 'wcdeploy swap' swaps in.
type Staged struct {
	Run Entry // the stage-only run
	// Servers hold the run's build in their UpdateFile as far as the
	// journal knows, and do not run it yet.
	Servers []Server
	// Notes say which of the run's servers were left out, and why.
	Notes []string
	// Archived is the build's EXE in the archive (the swap uploads nothing;
	// the verification compares against it).
	Archived string
}

// Stage finds the stage-only run to swap in: runID, or the scope's newest
// stage-only run. A server is left out when the stage run did not stage it,
// a later run uploaded another build over its UpdateFile, or a later run
// already verified it on the build.
func (j *Journal) Stage(s Scope, runID string) (Staged, error) {
	runs, err := j.History(s)
	if err != nil {
		return Staged{}, err
	}
	at := -1
	for k := range runs {
		if runID == "" && runs[k].RunKind() == KindStage && !runs[k].DryRun {
			at = k
			break
		}
	}
	if runID != "" {
		e, err := j.FindIn(s, runID)
		if err != nil {
			return Staged{}, err
		}
		if e.RunKind() != KindStage {
			return Staged{}, fmt.Errorf("run %s is a %s run, not a stage-only one; 'wcdeploy history' lists the runs (kind stage)", e.ID, e.RunKind())
		}
		at = indexOf(runs, e.ID)
	}
	if at < 0 {
		return Staged{}, fmt.Errorf("no stage-only run of %s: %w %s; stage with 'wcdeploy deploy --stage-only' first", s, ErrNotFound, j.Path())
	}
	st := Staged{Run: runs[at]}
	for _, sv := range st.Run.Servers {
		if why := stageLost(runs[:at], &st.Run, sv); why != "" {
			st.Notes = append(st.Notes, sv.Name+": "+why)
			continue
		}
		st.Servers = append(st.Servers, sv)
	}
	if len(st.Servers) == 0 {
		return st, fmt.Errorf("run %s (%s) left nothing to swap: %s; stage again with 'wcdeploy deploy --stage-only'",
			st.Run.ID, st.Run.Exe.Version, strings.Join(st.Notes, "; "))
	}
	path, err := j.Archived(st.Run.Exe.SHA256)
	if err != nil {
		return st, fmt.Errorf("cannot swap run %s: %w", st.Run.ID, err)
	}
	st.Archived = path
	return st, nil
}

// stageLost says why a server of a stage run no longer waits for its swap
// ("" when it does); newer are the scope's runs after it, newest first.
func stageLost(newer []Entry, stage *Entry, sv Server) string {
	if !sv.Staged {
		return "was not staged" + errSuffix(sv.Error)
	}
	key := serverKey(sv.URL, sv.Name)
	for k := len(newer) - 1; k >= 0; k-- { // oldest first
		e := &newer[k]
		if e.DryRun {
			continue
		}
		for _, o := range e.Servers {
			if serverKey(o.URL, o.Name) != key {
				continue
			}
			switch {
			case o.Verified && e.Exe.SHA256 == stage.Exe.SHA256:
				return fmt.Sprintf("already runs %s (run %s)", stage.Exe.Version, e.ID)
			case o.Staged && e.Exe.SHA256 != stage.Exe.SHA256:
				return fmt.Sprintf("run %s uploaded %s over it", e.ID, e.Exe.Version)
			}
		}
	}
	return ""
}

func errSuffix(msg string) string {
	if msg == "" {
		return ""
	}
	return " (" + msg + ")"
}

func indexOf(runs []Entry, id string) int {
	for k := range runs {
		if runs[k].ID == id {
			return k
		}
	}
	return -1
}
