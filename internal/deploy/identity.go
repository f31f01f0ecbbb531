package deploy

import (
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
)

// Identify is the plan's Identify over the journal's record of the builds
// this machine deployed (journal.Identities of the run's scope): the server
// is looked up by its URL, as the journal keeps it, and what its status
// page shows (version and file date).
func Identify(ids *journal.Identities) func(rollout.Target, rollout.Running) (string, bool) {
	return func(t rollout.Target, now rollout.Running) (string, bool) {
		id, ok := ids.Lookup(rollout.RedactURL(t.URL), now)
		return id.SHA256, ok
	}
}

// RecordSwaps keeps in the run's journal line, per verified server, what
// tells its build later: the version and file date of the status page read
// after the swap (what later status pages show; the wc.dll's reply has no
// date) and the size the swap echoed.
func RecordSwaps(e *journal.Entry, rep *rollout.Report) {
	for _, s := range rep.Servers {
		if !s.Verified || s.Running == nil {
			continue
		}
		echo := rollout.Swapped{Version: s.Running.Version, Date: s.Running.Date}
		if s.SwapReply != nil {
			echo.SizeKB = s.SwapReply.SizeKB
		}
		e.SetSwap(s.Name, echo)
	}
}
