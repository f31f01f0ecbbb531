package deploy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/peversion"
	"github.com/wcdeploy/wcdeploy/internal/pool"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/swapper"
)

// States of a server beside the local EXE.
const (
	StateCurrent     = "current"      // runs the local EXE's version
	StateBehind      = "behind"       // runs an older version
	StateAhead       = "ahead"        // runs a newer version than the local EXE
	StateDiffers     = "differs"      // runs another version that does not compare as numbers
	StateUnreachable = "unreachable"  // its status page could not be read
	StateLoginFailed = "login-failed" // its status page needs a login that was refused or could not be made
	StateUnknown     = "unknown"      // there is no local EXE to compare with
)

// StatusReport is what 'wcdeploy status' shows (and prints with --json).
type StatusReport struct {
	Local   *peversion.Info `json:"local,omitempty"`
	Servers []ServerStatus  `json:"servers"`
}

// ServerStatus is what one server runs.
type ServerStatus struct {
	Name    string `json:"name"`
	URL     string `json:"url"`
	Running string `json:"running,omitempty"`
	Date    string `json:"date,omitempty"`
	ExeFile string `json:"exe_file,omitempty"`
	State   string `json:"state"`
	Error   string `json:"error,omitempty"`
	code    exitcode.Code
}

// statusParallel is the least number of status pages read at once.
const statusParallel = 4

// Status reads every server's status page, a few at once, and compares the
// version with the local EXE (nil: none). It contacts nothing else.
func Status(ctx context.Context, p config.Profile, local *peversion.Info, clients ClientFunc) (*StatusReport, error) {
	rep := &StatusReport{Local: local, Servers: make([]ServerStatus, len(p.Servers))}
	idx := make([]int, len(p.Servers))
	for i := range idx {
		idx[i] = i
	}
	pool.All(ctx, idx, max(p.Rollout.Parallel, statusParallel), func(i int) {
		rep.Servers[i] = serverStatus(ctx, p, p.Servers[i], clients, local)
	})
	if err := ctx.Err(); err != nil {
		return nil, exitcode.New(exitcode.Interrupted, fmt.Errorf("status interrupted: %w", err))
	}
	return rep, nil
}

// Err is the first server's error, with its exit code.
func (r *StatusReport) Err() error {
	for _, s := range r.Servers {
		if s.Error != "" {
			return exitcode.New(s.code, named(rollout.Target{Name: s.Name}, errors.New(s.Error)))
		}
	}
	return nil
}

func serverStatus(ctx context.Context, p config.Profile, s config.Server, clients ClientFunc, local *peversion.Info) ServerStatus {
	out := ServerStatus{Name: s.Name, URL: rollout.RedactURL(s.URL), State: StateUnknown}
	t := rollout.Target{Name: s.Name, URL: s.URL, Flavor: s.Flavor, StatusURL: s.StatusURL}
	c, err := clients(t)
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, p.Timeouts.Status)
		defer cancel()
		var st *swapper.Status
		st, err = swapper.FetchStatusFor(cctx, c, s.StatusURL, s.Flavor)
		if err == nil {
			out.Running, out.Date, out.ExeFile = st.Version, st.Date, st.ExeFile
		}
	}
	switch {
	case err != nil:
		out.State, out.Error, out.code = StateUnreachable, err.Error(), exitcode.Of(err)
		if out.code == exitcode.Auth {
			out.State = StateLoginFailed
		}
		if out.code == exitcode.Unexpected {
			out.code = exitcode.Upload
		}
	case local == nil:
		out.State = StateUnknown
	case swapper.SameVersion(out.Running, local.FileVersion):
		out.State = StateCurrent
	default:
		out.State = versionState(out.Running, local.FileVersion)
	}
	return out
}

// versionState says how a server's version stands to the local one:
// behind or ahead when both read as dotted numbers (1.2.10 > 1.2.9),
// differs when either does not.
func versionState(running, local string) string {
	r, okR := dotted(running)
	l, okL := dotted(local)
	if !okR || !okL {
		return StateDiffers
	}
	for i := range max(len(r), len(l)) {
		a, b := at(r, i), at(l, i)
		switch {
		case a < b:
			return StateBehind
		case a > b:
			return StateAhead
		}
	}
	return StateDiffers // equal numbers, different text (e.g. "1.2" and "1.2.0")
}

func dotted(v string) ([]int, bool) {
	parts := strings.Split(strings.TrimSpace(v), ".")
	out := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

func at(v []int, i int) int {
	if i < len(v) {
		return v[i]
	}
	return 0
}
