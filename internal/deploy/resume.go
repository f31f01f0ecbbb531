package deploy

import (
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// What a resume, a swap and a rollback take from the journal before the
// rollout: each narrows or points the profile at an earlier run's build.

// Resume narrows p to every server of run id, which it finishes (each is
// read at preflight and gets the build only where it does not run it now),
// and points p and c at that run's archived EXE. It returns the id.
func (rs *Run) Resume(p *config.Profile, c *Choices, id string, logf, warnf func(string, ...any)) (string, error) {
	r, err := rs.Journal.Resume(rs.Scope, id)
	if err != nil {
		return "", exitcode.New(exitcode.Usage, err)
	}
	if missing := Narrow(p, r.Servers); len(missing) > 0 {
		warnf("run %s deployed to %s, which profile %q does not list now: left out", r.Run.ID, strings.Join(missing, ", "), p.Name)
	}
	if len(p.Servers) == 0 {
		return "", exitcode.Errorf(exitcode.Usage, "run %s deployed to %s, but profile %q selects none of them now; check --server and --group, or the servers in the config file",
			r.Run.ID, serverNames(r.Servers), p.Name)
	}
	unverified := "none"
	if len(r.Unverified) > 0 {
		unverified = strings.Join(r.Unverified, ", ")
	}
	logf("resuming run %s: %s on %d server(s): %s; not verified by the run: %s (preflight reads each server; one that runs the build now is left alone)",
		r.Run.ID, r.Run.Exe.Version, len(p.Servers), profileNames(p), unverified)
	UseArchived(p, c, r.Run.Exe, r.Archived)
	return r.Run.ID, nil
}

// SwapStaged narrows p to the servers that still hold what stage-only run
// id (empty: the newest) uploaded and points p and c at that build. It
// returns the stage run's id.
func (rs *Run) SwapStaged(p *config.Profile, c *Choices, id string, logf, warnf func(string, ...any)) (string, error) {
	st, err := rs.Journal.Stage(rs.Scope, id)
	if err != nil {
		return "", exitcode.New(exitcode.Usage, err)
	}
	for _, n := range st.Notes {
		logf("left out: %s", n)
	}
	if missing := Narrow(p, st.Servers); len(missing) > 0 {
		warnf("run %s staged %s, which profile %q does not list now: left out", st.Run.ID, strings.Join(missing, ", "), p.Name)
	}
	if len(p.Servers) == 0 {
		return "", exitcode.Errorf(exitcode.Usage, "run %s staged %s, but profile %q selects none of them now; check --server and --group, or the servers in the config file",
			st.Run.ID, serverNames(st.Servers), p.Name)
	}
	logf("swapping in %s, staged by run %s, on %d server(s): %s", st.Run.Exe.Version, st.Run.ID, len(p.Servers), profileNames(p))
	UseArchived(p, c, st.Run.Exe, st.Archived)
	return st.Run.ID, nil
}

// Rollback points p and c at the archived build of the run to roll back to
// (to, or the one before the current build). It returns the build it moves
// away from.
func (rs *Run) Rollback(p *config.Profile, c *Choices, to string, logf func(string, ...any)) (*journal.Link, error) {
	rb, err := rs.Journal.RollbackTarget(rs.Scope, to)
	if err != nil {
		return nil, exitcode.New(exitcode.Usage, err)
	}
	from := "nothing wcdeploy deployed"
	if rb.From.ID != "" {
		from = rb.From.Exe.Version + " (run " + rb.From.ID + ")"
	}
	logf("rolling back profile %q to %s (run %s, archived %s), from %s", p.Name, rb.Target.Exe.Version, rb.Target.ID, rb.Archived, from)
	UseArchived(p, c, rb.Target.Exe, rb.Archived)
	return rb.FromLink(), nil
}

func serverNames(servers []journal.Server) string {
	names := make([]string, len(servers))
	for i, s := range servers {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

func profileNames(p *config.Profile) string {
	names := make([]string, len(p.Servers))
	for i, s := range p.Servers {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}
