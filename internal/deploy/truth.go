package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/pkg/swapper"
)

// This file decides what a swap did when its reply cannot say it: the
// evidence must identify the build, never the version alone. The reply's
// version and size (kb) identify it; after a lost, late or unreadable reply
// the status page does, once the server is off hold, by the build's version
// with a file date other than the one the server showed at preflight (the
// swapped EXE keeps the date of our upload).

// remember keeps what the server ran at preflight, for the swap's evidence.
func (s *Steps) remember(t rollout.Target, run rollout.Running) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before[t.Name] = run
}

func (s *Steps) ranBefore(t rollout.Target) (rollout.Running, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	run, ok := s.before[t.Name]
	return run, ok
}

// replyEvidence says how a swap reply identifies the build.
func replyEvidence(sw *swapper.Swapped) string {
	if sw.ISAPI && sw.Version == "" {
		return "swap reply (wc.dll, no version); status page file date"
	}
	return fmt.Sprintf("swap reply: %s, %d kb", sw.Version, sw.SizeKB)
}

// settle decides a swap whose reply was lost, late or unreadable from the
// status page read once the server was off hold (lost.Status).
func (s *Steps) settle(t rollout.Target, lost *swapper.LostReplyError) (rollout.Swapped, error) {
	// why is the note of a settled swap; cause adds, for errors, what the
	// reply (or the connection) said.
	why, cause := "the swap reply was lost", fmt.Sprintf(" (%v)", transport.Quiet(lost.Cause))
	switch {
	case lost.Damaged:
		why = "the swap reply was unreadable"
	case errors.Is(lost.Cause, context.DeadlineExceeded):
		why, cause = fmt.Sprintf("the swap reply did not come within timeouts.swap (%s)", s.o.SwapTimeout), ""
	}
	st, want := lost.Status, s.o.Build.Version
	before, haveBefore := s.ranBefore(t)
	unknown := func(what string) (rollout.Swapped, error) {
		return rollout.Swapped{}, rollout.StateUnknown(named(t, exitcode.Errorf(exitcode.Swap,
			"%s%s and %s, so what the server runs is unknown: open its status page (%s); if it shows %s with a file date after this run's upload the swap happened, otherwise run the deploy again",
			why, cause, what, rollout.RedactURL(t.StatusURL), want)))
	}
	switch {
	case st == nil:
		return unknown(fmt.Sprintf("the status page could not be read (%v)", lost.StatusErr))
	case st.Hold:
		return unknown(fmt.Sprintf("the server still held its requests %s later", s.o.SwapTimeout))
	case st.Version == "":
		return unknown("the status page shows no version (n/a)")
	case haveBefore && st.Date != "" && sameDate(st.Date, before.Date) && swapper.SameVersion(before.Version, st.Version):
		// Not proof that nothing will happen: the request went out, and a
		// server may still carry out a swap it queued (the property test
		// saw one happen after this read).
		return unknown(fmt.Sprintf("the status page still shows the EXE it ran before (%s, file date %s), but the swap request went out and may still be carried out", st.Version, st.Date))
	case !swapper.SameVersion(st.Version, want):
		return rollout.Swapped{Version: st.Version}, named(t, exitcode.Errorf(exitcode.Swap,
			"%s%s; the server runs %s (file date %s, status page), not %s: the swap did not put this build in; run the deploy again",
			why, cause, st.Version, orNA(st.Date), want))
	case !haveBefore || before.Date == "" || st.Date == "":
		return unknown(fmt.Sprintf("the status page shows %s but no file date to tell this build from the one before", st.Version))
	case sameDate(st.Date, before.Date):
		return unknown(fmt.Sprintf("the status page shows %s with the file date of the EXE before (%s)", st.Version, st.Date))
	}
	return rollout.Swapped{
		Version:  st.Version,
		Date:     st.Date,
		Evidence: fmt.Sprintf("status page after the hold: %s with a new file date %s (was %s)", st.Version, st.Date, before.Date),
		Settled:  why + "; the status page showed this build once the hold ended",
	}, nil
}

// sameDate compares two renderings of the server's file date (the swap
// reply's, the status page's around &nbsp;) whatever their spacing.
func sameDate(a, b string) bool {
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

// status reads the status page within timeouts.status; a page that does
// not answer in time is told with the setting to raise.
func (s *Steps) status(ctx context.Context, c *http.Client, t rollout.Target) (*swapper.Status, error) {
	sctx, cancel := context.WithTimeout(ctx, s.o.StatusTimeout)
	defer cancel()
	st, err := swapper.FetchStatusFor(sctx, c, t.StatusURL, t.Flavor)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("the status page did not answer within timeouts.status (%s): the server may be busy or still starting; raise timeouts.status in wcdeploy.yaml (or --status-timeout) if it is just slow: %w", s.o.StatusTimeout, err)
	}
	return st, err
}

// runsNow says what the server runs after a swap it refused, for the
// message (read from the status page, or that it could not be read), and
// the version it shows ("" when unknown).
func (s *Steps) runsNow(ctx context.Context, c *http.Client, t rollout.Target) (msg, version string) {
	st, err := s.status(ctx, c, t)
	if err != nil {
		return fmt.Sprintf("what it runs now could not be read (%v): open its status page (%s)", err, rollout.RedactURL(t.StatusURL)), ""
	}
	return fmt.Sprintf("it still runs %s (file date %s, status page)", orNA(st.Version), orNA(st.Date)), st.Version
}
