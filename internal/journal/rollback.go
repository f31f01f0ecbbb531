package journal

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
)

// Rollback is where 'wcdeploy rollback' goes.
type Rollback struct {
	// Target is the run whose build is deployed again: the run that
	// completed the target build's full deploy (or the run --to named).
	Target Entry
	// From is the newest run whose build reached a server: the build the
	// rollback moves away from (zero when no run reached one).
	From Entry
	// Archived is the target build's EXE in the archive.
	Archived string
}

// FromLink is what the rollback run records in RollbackFrom.
func (r Rollback) FromLink() *Link {
	if r.From.ID == "" {
		return nil
	}
	return &Link{Run: r.From.ID, Version: r.From.Exe.Version, SHA256: r.From.Exe.SHA256}
}

// farmEvent is one run replayed over the servers of its scope.
type farmEvent struct {
	run     *Entry
	full    bool // after it, every server of its rollout ran its build
	reached bool // its build ran on at least one server
}

// replay walks the runs of a scope oldest first, keeping what each server
// runs as far as the journal knows, and says after each run whether its
// build ran somewhere and whether it ran everywhere. A run's servers are its
// rollout's: a resume's are those of the run it finishes, a swap's those of
// the stage run it swapped.
func replay(runs []Entry) []farmEvent {
	state := map[string]string{} // server key → SHA-256 ("" unknown)
	scopeOf := map[string][]string{}
	var out []farmEvent
	for k := len(runs) - 1; k >= 0; k-- {
		e := &runs[k]
		if e.DryRun || !validSHA(e.Exe.SHA256) {
			continue
		}
		var keys []string
		for _, s := range e.Servers {
			keys = append(keys, serverKey(s.URL, s.Name))
		}
		if prev, ok := scopeOf[e.linked()]; ok {
			keys = prev
		}
		scopeOf[e.ID] = keys
		if e.RunKind() == KindStage { // uploads change nothing that runs
			continue
		}
		ev := farmEvent{run: e}
		for _, s := range e.Servers {
			key := serverKey(s.URL, s.Name)
			switch {
			case s.Verified || s.UpToDate:
				state[key], ev.reached = e.Exe.SHA256, true
			case s.Swapped || s.State == rollout.ServerUnknown:
				// It may run the build: what it runs is not known.
				state[key], ev.reached = "", true
			}
		}
		ev.full = len(keys) > 0
		for _, key := range keys {
			ev.full = ev.full && state[key] == e.Exe.SHA256
		}
		out = append(out, ev)
	}
	return out
}

// linked is the run whose servers this run's rollout covers: the run a
// resume finishes, the stage run a swap swapped ("" for neither).
func (e *Entry) linked() string {
	switch e.RunKind() {
	case KindResume:
		return e.Resumes
	case KindSwap:
		return e.StageRun
	}
	return ""
}

// RollbackTarget finds where a rollback of the scope goes. With to (a run
// id or version) it is that run's build. Otherwise it is the newest build
// that was fully deployed (every server of its rollout verified or already
// running it) before the newest build that reached any server, skipping
// builds that a rollback moved away from before: a rollback right after a
// rollback goes one good build further back; it never undoes the first
// (to return to a build that was rolled back from, deploy it, or use --to).
// The target's EXE must be in the archive: a build that wcdeploy found
// running but never uploaded, or one that was pruned, is named in the error
// with the next step, never silently passed over.
func (j *Journal) RollbackTarget(s Scope, to string) (Rollback, error) {
	runs, err := j.History(s)
	if err != nil {
		return Rollback{}, err
	}
	events := replay(runs)
	n := len(events) - 1
	for n >= 0 && !events[n].reached {
		n--
	}
	var r Rollback
	if n >= 0 {
		r.From = *events[n].run
	}
	if to != "" {
		t, err := j.FindIn(s, to)
		if err != nil {
			return Rollback{}, err
		}
		r.Target = t
		r.Archived, err = j.Archived(t.Exe.SHA256)
		return r, err
	}
	if n < 0 {
		return Rollback{}, fmt.Errorf("no run of %s deployed a build yet: %w %s; there is nothing to roll back", s, ErrNotFound, j.Path())
	}
	cands := candidates(events, n)
	if len(cands) == 0 {
		return Rollback{}, j.noEarlierBuild(s, runs, &r.From, events, n)
	}
	r.Target = *cands[0].run
	r.Archived, err = j.Archived(r.Target.Exe.SHA256)
	if err != nil {
		return Rollback{}, j.notArchived(runs, cands, err)
	}
	return r, nil
}

// candidates are the fully deployed builds before event n, newest first,
// one event per build, without n's build and without builds that a later
// rollback moved away from.
func candidates(events []farmEvent, n int) []farmEvent {
	cur := events[n].run.Exe.SHA256
	excluded := map[string]bool{cur: true}
	var out []farmEvent
	for k := len(events) - 1; k >= 0; k-- {
		e := events[k].run
		if k < n && events[k].full && !excluded[e.Exe.SHA256] {
			out = append(out, events[k])
			excluded[e.Exe.SHA256] = true // one event per build: the newest
		}
		if e.RunKind() == KindRollback && e.RollbackFrom != nil && k <= n {
			excluded[strings.ToLower(e.RollbackFrom.SHA256)] = true
		}
	}
	return out
}

// notArchived explains a target whose EXE is not in the archive, and
// names the next candidate that is.
func (j *Journal) notArchived(runs []Entry, cands []farmEvent, cause error) error {
	t := cands[0].run
	uploaded := slices.ContainsFunc(runs, func(e Entry) bool {
		return e.Exe.SHA256 == t.Exe.SHA256 && slices.ContainsFunc(e.Servers, func(s Server) bool { return s.Staged })
	})
	why := "wcdeploy found it already running and never uploaded it, so it has no copy of that EXE"
	if uploaded {
		why = "its copy was pruned from the archive (archive.keep)"
	}
	next := ""
	for _, c := range cands[1:] {
		if _, err := j.Archived(c.run.Exe.SHA256); err == nil {
			next = fmt.Sprintf(", or go to %s, the build before it, with 'wcdeploy rollback --to %s'", c.run.Exe.Version, c.run.ID)
			break
		}
	}
	return fmt.Errorf("the servers ran %s before (run %s), but %s: %w; deploy that EXE by path with 'wcdeploy deploy --exe PATH'%s",
		t.Exe.Version, t.ID, why, cause, next)
}

// noEarlierBuild explains a rollback with no target: after a first-ever
// deploy it names what the servers ran before, which wcdeploy never had.
func (j *Journal) noEarlierBuild(s Scope, runs []Entry, from *Entry, events []farmEvent, n int) error {
	before := map[string]string{} // server → version before the first run of from's build
	first := ""
	for _, e := range slices.Backward(runs) {
		if e.Exe.SHA256 != from.Exe.SHA256 || e.DryRun {
			continue
		}
		if first == "" {
			first = e.ID
		}
		for _, sv := range e.Servers {
			if _, seen := before[sv.Name]; !seen && sv.VersionBefore != "" && sv.VersionBefore != from.Exe.Version {
				before[sv.Name] = sv.VersionBefore
			}
		}
	}
	rolledFrom := 0
	for k := range n {
		if events[k].full && events[k].run.Exe.SHA256 != from.Exe.SHA256 {
			rolledFrom++
		}
	}
	if rolledFrom > 0 {
		return fmt.Errorf("every build of %s before %s (run %s) was rolled back from: %w; 'wcdeploy rollback --to RUN' deploys one of them anyway ('wcdeploy history' lists the runs)",
			s, from.Exe.Version, from.ID, ErrNotFound)
	}
	ran := "a build"
	if len(before) > 0 {
		ran = versionsByServer(before)
	}
	return fmt.Errorf("there is no earlier build wcdeploy has for %s: before run %s (%s) the servers ran %s, and wcdeploy never had that EXE (it was deployed before wcdeploy or from elsewhere): %w; deploy it by path with 'wcdeploy deploy --exe PATH'",
		s, first, from.Exe.Version, ran, ErrNotFound)
}

// versionsByServer says "2.0.0.2 (web1, web2), 2.0.0.1 (web3)".
func versionsByServer(v map[string]string) string {
	by := map[string][]string{}
	for name, ver := range v {
		by[ver] = append(by[ver], name)
	}
	var parts []string
	for ver, names := range by {
		slices.Sort(names)
		parts = append(parts, fmt.Sprintf("%s (%s)", ver, strings.Join(names, ", ")))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
