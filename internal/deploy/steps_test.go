package deploy_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

// TestNewTakesTheProfileValues: deploy.New uses what the profile says and
// refuses a zero that would make a step time out at once or a check expect
// no status, instead of choosing a number of its own.
func TestNewTakesTheProfileValues(t *testing.T) {
	d := config.Defaults()
	client := func(rollout.Target) (*http.Client, error) { return http.DefaultClient, nil }
	check := config.Health{URL: "ping.wc", Status: config.DefaultHealthStatus, Timeout: config.DefaultHealthTimeout}
	valid := func() deploy.Options {
		return deploy.Options{Client: client, SwapTimeout: d.Timeouts.Swap, StatusTimeout: d.Timeouts.Status, Health: []config.Health{check}}
	}
	cases := []struct {
		name  string
		edit  func(o *deploy.Options)
		error string // "" when New accepts it
	}{
		{"profile values", func(o *deploy.Options) {}, ""},
		{"no wait between health retries", func(o *deploy.Options) { o.Health[0].Interval, o.Health[0].Retries = 0, 3 }, ""},
		{"zero swap timeout", func(o *deploy.Options) { o.SwapTimeout = 0 }, "timeouts.swap is 0s"},
		{"zero status timeout", func(o *deploy.Options) { o.StatusTimeout = 0 }, "timeouts.status is 0s"},
		{"health check without status", func(o *deploy.Options) { o.Health[0].Status = 0 }, "rollout.health[0].status is 0"},
		{"health check without timeout", func(o *deploy.Options) { o.Health[0].Timeout = 0 }, "rollout.health[0].timeout is 0s"},
		{"no client", func(o *deploy.Options) { o.Client = nil }, "no HTTP client"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := valid()
			c.edit(&o)
			s, err := deploy.New(o)
			if c.error == "" {
				if err != nil || s == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.error) || exitcode.Of(err) != exitcode.Usage {
				t.Errorf("New: %v (code %d), want %q with exit code 2", err, exitcode.Of(err), c.error)
			}
		})
	}
}

// TestSwapLostReplyStateUnknown: when the swap's connection breaks before
// its reply, the status page is read: the old build still running is not
// proof that the swap will not happen (a server may carry out a request it
// queued), so it is unknown, exit 5, naming what runs; a status page that
// cannot be read leaves it unknown too. The after-hooks are told.
func TestSwapLostReplyStateUnknown(t *testing.T) {
	f := newFarm(t, 1, 2<<20, nil)
	f.retime(t, time.Second) // the status page is read for at most this long
	tg := f.plan.Targets[0]
	ctx := context.Background()
	if _, err := f.steps.Preflight(ctx, tg); err != nil {
		t.Fatal(err)
	}
	if err := f.steps.Stage(ctx, tg, nil); err != nil {
		t.Fatal(err)
	}
	f.servers[0].Inject(emulator.Fault{Kind: emulator.FaultResetAfter, Action: "swap", Times: 1})
	_, err := f.steps.Swap(ctx, tg)
	if err == nil || !rollout.IsStateUnknown(err) || exitcode.Of(err) != exitcode.Swap || !strings.HasPrefix(err.Error(), "web01: the swap reply was lost (") || !strings.Contains(err.Error(), "still shows the EXE it ran before ("+oldVersion) {
		t.Fatalf("Swap: %v (code %d, unknown %v)", err, exitcode.Of(err), rollout.IsStateUnknown(err))
	}

	f.servers[0].Inject(emulator.Fault{Kind: emulator.FaultResetAfter, Action: "swap", Times: 1})
	f.servers[0].Inject(emulator.Fault{Kind: emulator.FaultRespond, Action: "status", Status: 500})
	_, err = f.steps.Swap(ctx, tg)
	if err == nil || !rollout.IsStateUnknown(err) || exitcode.Of(err) != exitcode.Swap || !strings.HasPrefix(err.Error(), "web01: the swap reply was lost (") || !strings.Contains(err.Error(), " and the status page could not be read") {
		t.Fatalf("Swap: %v (code %d, unknown %v)", err, exitcode.Of(err), rollout.IsStateUnknown(err))
	}
	if !strings.Contains(err.Error(), "open its status page (") {
		t.Errorf("no status link: %v", err)
	}

	// A swap the server refused is a known failure, and says what runs.
	f.servers[0].ClearFaults()
	f.servers[0].Inject(emulator.Fault{Kind: emulator.FaultSwapCopy, Action: "swap"})
	_, err = f.steps.Swap(ctx, tg)
	if err == nil || rollout.IsStateUnknown(err) || exitcode.Of(err) != exitcode.Swap {
		t.Fatalf("refused swap: %v (unknown %v)", err, rollout.IsStateUnknown(err))
	}
	if !strings.Contains(err.Error(), "the EXE is locked") || !strings.Contains(err.Error(), "it still runs "+oldVersion+" (file date ") {
		t.Errorf("refused swap: %v", err)
	}
}
