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
	failed, updated := rep.failedAndUpdated()
	code := exitcode.Code(rep.ExitCode)
	switch code {
	case exitcode.Interrupted:
		if len(updated) == len(rep.Servers) {
			return exitcode.Errorf(code, "interrupted after every server was updated: %s; nothing is left to resume (see the report for what the interrupt cut short)", runsNewBuild(updated, len(rep.Servers)))
		}
		return exitcode.Errorf(code, "interrupted: %s; see the report, then run %s to finish", runsNewBuild(updated, len(rep.Servers)), resume)
	case exitcode.Partial:
		return exitcode.Errorf(code, "partial rollout: %d of %d servers %s the new build%s; failed: %s; fix them and run %s, or 'wcdeploy rollback'", len(updated), len(rep.Servers), verb(len(updated), "runs", "run"), rep.unhealthy(), listOrNone(failed), resume)
	}
	if err := rep.serverErr(); err != nil {
		if len(failed) > 1 {
			err = fmt.Errorf("%w (and %s, see the report)", err, plural(len(failed)-1, "more server")+" failed")
		}
		if waiting := rep.stagedWaiting(); len(waiting) > 0 && !rep.StageOnly {
			err = fmt.Errorf("%w; %s %s the staged build, not swapped in: fix the cause, then run %s", err, strings.Join(waiting, ", "), verb(len(waiting), "holds", "hold"), resume)
		}
		return exitcode.New(code, err)
	}
	if rep.err != nil && int(exitcode.Of(rep.err)) == rep.ExitCode {
		return rep.err
	}
	return exitcode.Errorf(code, "the rollout failed on %s; see the report", listOrNone(failed))
}

// ErrServer names the server whose error Err's message carries in full
// (a report lists the others' below its table), or "" for none.
func (rep *Report) ErrServer() string {
	switch exitcode.Code(rep.ExitCode) {
	case exitcode.OK, exitcode.Interrupted, exitcode.Partial:
		return ""
	}
	for i := range rep.Servers {
		if err := rep.Servers[i].err; err != nil && int(exitcode.Of(err)) == rep.ExitCode {
			return rep.Servers[i].Name
		}
	}
	return ""
}

// stagedWaiting names the servers that hold the staged build without a
// failure of their own: the rollout halted before their swap.
func (rep *Report) stagedWaiting() []string {
	var names []string
	for i := range rep.Servers {
		if s := &rep.Servers[i]; s.Staged && !s.Swapped && s.Error == "" && !s.Verified {
			names = append(names, s.Name)
		}
	}
	return names
}

// serverErr is the first server error that carries the run's exit code.
func (rep *Report) serverErr() error {
	for i := range rep.Servers {
		if err := rep.Servers[i].err; err != nil && int(exitcode.Of(err)) == rep.ExitCode {
			return err
		}
	}
	return nil
}

func (rep *Report) failedAndUpdated() (failed, updated []string) {
	for i := range rep.Servers {
		s := &rep.Servers[i]
		if s.Error != "" && s.ExitCode != int(exitcode.Interrupted) {
			failed = append(failed, s.Name)
		}
		if s.Verified {
			updated = append(updated, s.Name)
		}
	}
	return failed, updated
}

// unhealthy names the servers that run the build but failed their health
// check, as a clause of the partial rollout's line.
func (rep *Report) unhealthy() string {
	var out []string
	for i := range rep.Servers {
		if s := &rep.Servers[i]; s.Verified && s.Health == HealthFailed {
			out = append(out, s.Name)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s failed the health check)", strings.Join(out, ", "))
}

// runsNewBuild says how many of total servers run the new build, and which.
func runsNewBuild(updated []string, total int) string {
	switch {
	case len(updated) == 0 && total == 1:
		return "the server does not run the new build"
	case len(updated) == 0:
		return fmt.Sprintf("none of the %d servers runs the new build", total)
	case len(updated) == 1:
		return fmt.Sprintf("1 of %d servers runs the new build (%s)", total, updated[0])
	}
	return fmt.Sprintf("%d of %d servers run the new build (%s)", len(updated), total, strings.Join(updated, ", "))
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// Summary says in one line how the run ended.
func (rep *Report) Summary() string {
	var updated, staged, current, failed, unhealthy, other int
	for i := range rep.Servers {
		s := &rep.Servers[i]
		switch {
		case s.Verified && s.Health == HealthFailed:
			unhealthy++
		case s.Error != "":
			failed++
		case s.Verified:
			updated++
		case s.UpToDate:
			current++
		case rep.StageOnly && s.Staged:
			staged++
		default:
			other++
		}
	}
	var parts []string
	parts = append(parts, fmt.Sprintf("%d of %d servers updated", updated, len(rep.Servers)))
	if staged > 0 {
		parts = append(parts, fmt.Sprintf("%d staged (swap %s in with 'wcdeploy swap')", staged, verb(staged, "it", "them")))
	}
	if unhealthy > 0 {
		parts = append(parts, fmt.Sprintf("%d %s the build but failed its health check", unhealthy, verb(unhealthy, "runs", "run")))
	}
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
	return fmt.Sprintf("%s: %s; exit %d (%s)", head, strings.Join(parts, ", "), rep.ExitCode, rep.exitName())
}

// Advice is what people should know about the run beside its summary: a
// swap without a health check proves the file, not that the COM server
// loads.
func (rep *Report) Advice() []string {
	for i := range rep.Servers {
		if s := &rep.Servers[i]; s.Verified && s.Health == HealthNone {
			return []string{NoHealthAdvice}
		}
	}
	return nil
}

// NoHealthAdvice is said when servers were swapped without a health check.
const NoHealthAdvice = "no health check is configured, so nothing checked that the new build's COM server loads: add rollout.health (see docs/configuration.md)"

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// exitName names the exit code for people: exit 4 covers both a preflight
// that stopped before any byte was sent and an upload that failed.
func (rep *Report) exitName() string {
	code := exitcode.Code(rep.ExitCode)
	if code != exitcode.Upload {
		return code.String()
	}
	var preflight, upload bool
	for i := range rep.Servers {
		s := &rep.Servers[i]
		switch {
		case s.Error == "":
		case s.failedIn == PhasePreflight:
			preflight = true
		case s.failedIn == PhaseStage && !strings.Contains(s.Error, "preflight failed"):
			upload = true
		case s.failedIn == PhaseStage:
			preflight = true // the login before the upload
		}
	}
	switch {
	case preflight && !upload:
		return "preflight: nothing was uploaded"
	case preflight:
		return "preflight/upload"
	}
	return code.String()
}

// Cause is the short form of a server's error for a table cell or a
// progress line: without the server's name and the preflight's wrapping,
// up to the advice (the report shows the whole message once).
func Cause(name, msg string) string {
	msg = strings.TrimPrefix(msg, name+": ")
	msg = strings.TrimPrefix(msg, "preflight failed, nothing was changed: ")
	msg = strings.TrimPrefix(msg, name+": ")
	cut := len(msg)
	if k := strings.Index(msg, "; "); k >= 0 {
		cut = k
	}
	for _, v := range adviceVerbs {
		if k := strings.Index(msg, ": "+v+" "); k >= 0 && k < cut {
			cut = k
		}
	}
	return strings.TrimSpace(msg[:cut])
}

// adviceVerbs start the advice that follows a cause ("…: check the user").
var adviceVerbs = []string{"check", "run", "set", "open", "fix", "use", "build", "add", "ask", "make", "try", "raise", "deploy"}

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
