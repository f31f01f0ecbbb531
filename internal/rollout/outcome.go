package rollout

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// interrupted ends the run after Ctrl-C: every server that has no outcome
// yet gets a reason, so none is left unaccounted for.
func (r *runner) interrupted() {
	r.halt("interrupted", exitcode.Interrupted)
	for i := range r.rep.Servers {
		s := &r.rep.Servers[i]
		switch {
		case s.err != nil || s.Verified || s.UpToDate || s.Skipped != "":
		case s.Staged:
			r.haltAll([]int{i}, "staged, not swapped: interrupted")
		default:
			r.haltAll([]int{i}, "not deployed: interrupted before the upload")
		}
	}
}

// decide sets the report's exit code: what state production is in.
func (r *runner) decide(ctx context.Context) {
	rep := r.rep
	var updated, notUpdated int
	var firstErr error
	for i := range rep.Servers {
		s := &rep.Servers[i]
		if s.Verified {
			updated++
		} else if !s.UpToDate {
			notUpdated++
		}
		if s.err != nil && firstErr == nil && exitcode.Of(s.err) != exitcode.Interrupted {
			firstErr = s.err
		}
	}
	if firstErr == nil {
		firstErr = rep.err // a run-level hook
	}
	var code exitcode.Code
	switch {
	case ctx.Err() != nil && rep.Halted:
		code = exitcode.Interrupted
	case ctx.Err() != nil && notUpdated > 0:
		// Cancelled so late that nothing was left to stop, yet not all ran.
		code = exitcode.Interrupted
		rep.Halted, rep.HaltReason = true, "interrupted"
	case rep.DryRun, rep.StageOnly:
		code = exitcode.Of(firstErr)
	case firstErr == nil && notUpdated == 0:
		code = exitcode.OK
	case updated == 0:
		code = exitcode.Of(firstErr)
		if firstErr == nil {
			code = exitcode.Unexpected
		}
	case notUpdated > 0:
		code = exitcode.Partial
	default:
		// Every server runs the build, yet one failed afterwards (health,
		// after_swap).
		code = exitcode.Of(firstErr)
	}
	rep.ExitCode = int(code)
	rep.OK = code == exitcode.OK
	r.setStates()
}

// setStates says per server what it runs as far as the evidence goes; an
// unknown one names the status page to open.
func (r *runner) setStates() {
	for i := range r.rep.Servers {
		s := &r.rep.Servers[i]
		switch {
		case s.Verified:
			s.State = ServerUpdated
		case s.UpToDate:
			s.State = ServerCurrent
		case s.stateUnknown:
			s.State = ServerUnknown
			s.StatusURL = RedactURL(r.target(i).StatusURL)
		default:
			s.State = ServerNotUpdated
		}
	}
}

// Err returns an error for the whole run carrying its exit code, or nil when
// the run succeeded. Its message sums up the run in one line for people.
func (rep *Report) Err() error { return rep.ErrFor("") }

// ErrFor is Err for a run recorded in the journal under runID, so the advice
// names the exact command that resumes it.
func (rep *Report) ErrFor(runID string) error {
	if rep.ExitCode == 0 {
		return nil
	}
	resume := "'wcdeploy deploy --resume RUN_ID' (ids in 'wcdeploy history')"
	if runID != "" {
		resume = "'wcdeploy deploy --resume " + runID + "'"
	}
	var failed, updated []string
	for i := range rep.Servers {
		s := &rep.Servers[i]
		if s.Error != "" && s.ExitCode != int(exitcode.Interrupted) {
			failed = append(failed, s.Name)
		}
		if s.Verified {
			updated = append(updated, s.Name)
		}
	}
	code := exitcode.Code(rep.ExitCode)
	switch code {
	case exitcode.Interrupted:
		return exitcode.Errorf(code, "interrupted: %d of %d servers run the new build (%s); see the report, then run %s to finish", len(updated), len(rep.Servers), listOrNone(updated), resume)
	case exitcode.Partial:
		return exitcode.Errorf(code, "partial rollout: %d of %d servers run the new build; failed: %s; fix them and run %s, or 'wcdeploy rollback'", len(updated), len(rep.Servers), listOrNone(failed), resume)
	}
	for i := range rep.Servers {
		if err := rep.Servers[i].err; err != nil && int(exitcode.Of(err)) == rep.ExitCode {
			if len(failed) > 1 {
				return exitcode.Errorf(code, "%w (and %d more failed servers, see the report)", err, len(failed)-1)
			}
			return exitcode.New(code, err)
		}
	}
	if rep.err != nil && int(exitcode.Of(rep.err)) == rep.ExitCode {
		return rep.err
	}
	return exitcode.Errorf(code, "the rollout failed on %s; see the report", listOrNone(failed))
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// Summary says in one line how the run ended.
func (rep *Report) Summary() string {
	var updated, current, failed, other int
	for i := range rep.Servers {
		s := &rep.Servers[i]
		switch {
		case s.Error != "":
			failed++
		case s.Verified:
			updated++
		case s.UpToDate:
			current++
		default:
			other++
		}
	}
	var parts []string
	parts = append(parts, fmt.Sprintf("%d of %d servers updated", updated, len(rep.Servers)))
	if current > 0 {
		parts = append(parts, fmt.Sprintf("%d already current", current))
	}
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", failed))
	}
	if other > 0 {
		word := "not updated"
		if rep.DryRun {
			word = "planned"
		}
		parts = append(parts, fmt.Sprintf("%d %s", other, word))
	}
	head := fmt.Sprintf("%s %s", rep.Build.FileName(), rep.Build.Version)
	if rep.DryRun {
		head = "dry run: " + head
	}
	return fmt.Sprintf("%s: %s; exit %d (%s)", head, strings.Join(parts, ", "), rep.ExitCode, exitcode.Code(rep.ExitCode))
}

// RedactURL removes a password from a URL so reports and journals never carry
// one, whatever the configuration held.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return "(unreadable URL)"
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
