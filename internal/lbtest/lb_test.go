package lbtest

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
)

// The real module holds requests for 3 s; the tests use less unless -lb.long.
var long = flag.Bool("lb.long", false, "hold each swap for the real 3 s (default 1 s)")

// rate is the users' requests per second through the balancer.
const rate = 50

func swapDelay() time.Duration {
	if *long {
		return 3 * time.Second
	}
	return time.Second
}

func newFarm(t *testing.T) *Farm {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("the load balancer lab needs HAProxy: %v", err)
	}
	f, err := NewFarm(t.TempDir(), 3, swapDelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// requireHooksRan fails when the rollout ran no hook at all: then no
// server was drained and the traffic figures say nothing about the hooks.
func requireHooksRan(t *testing.T, rep *rollout.Report) {
	t.Helper()
	for _, s := range rep.Servers {
		if s.BeforeSwap != nil || s.AfterSwap != nil {
			return
		}
	}
	t.Fatal("the rollout ran no before_swap or after_swap hook: Plan.Hooks was not called, so no server was drained")
}

// checkOrder asserts, from what the emulators received, that every upload
// ended before the first swap began, and that the canary (web1) was
// swapped alone before the others.
func checkOrder(t *testing.T, f *Farm) {
	t.Helper()
	var lastUpload, firstSwap time.Time
	swaps := map[int][2]time.Time{}
	for i, s := range f.Servers {
		for _, r := range s.Requests() {
			switch r.Action {
			case "uploadexe":
				if r.Status == http.StatusOK {
					if end := r.Time.Add(r.Duration); end.After(lastUpload) {
						lastUpload = end
					}
				}
			case "updateexe":
				swaps[i] = [2]time.Time{r.Time, r.Time.Add(r.Duration)}
				if firstSwap.IsZero() || r.Time.Before(firstSwap) {
					firstSwap = r.Time
				}
			}
		}
	}
	if len(swaps) != len(f.Servers) || lastUpload.IsZero() {
		t.Fatalf("swaps on %d of %d servers, last upload %v", len(swaps), len(f.Servers), lastUpload)
	}
	if !lastUpload.Before(firstSwap) {
		t.Errorf("an upload ended at %v, after the first swap began at %v", lastUpload, firstSwap)
	}
	for i := 1; i < len(f.Servers); i++ {
		if !swaps[0][1].Before(swaps[i][0]) {
			t.Errorf("web%d's swap began at %v, before the canary web1's ended at %v", i+1, swaps[i][0], swaps[0][1])
		}
	}
}

func checkAllUpdated(t *testing.T, f *Farm, rep *rollout.Report) {
	t.Helper()
	if !rep.OK || rep.ExitCode != 0 {
		t.Fatalf("rollout failed (exit %d): %v", rep.ExitCode, rep.Err())
	}
	for _, s := range f.Servers {
		if v := s.ExeVersion(); v != NewVersion {
			t.Errorf("%s runs %s", s.URL(), v)
		}
	}
}

// TestFailuresWithoutHooks: a 1 to 3 s hold is too short for HAProxy's
// health checks (every 2 s, down after 3), so users meet "Please wait...".
// Without this, the zero-downtime test could not fail.
func TestFailuresWithoutHooks(t *testing.T) {
	f := newFarm(t)
	res, err := f.Rollout(context.Background(), config.Hooks{}, rate, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAllUpdated(t, f, res.Report)
	checkOrder(t, f)
	tr := res.Traffic
	t.Logf("without hooks: %d of %d user requests failed (%v) in %s; first: %s", tr.Failed, tr.Total, tr.FailedBy, res.Wall.Round(time.Millisecond), tr.FirstFailure)
	if tr.Failed == 0 || !strings.Contains(tr.FirstFailure, "500") || !strings.Contains(tr.FirstFailure, "Please wait") {
		t.Fatalf("no user request failed without hooks (%d sent): the lab does not reproduce the hold, so the zero-downtime test proves nothing", tr.Total)
	}
	if len(tr.FailedBy) != len(f.Servers) {
		t.Errorf("failures on %v, want every node", tr.FailedBy)
	}
}

// TestZeroDowntimeWithDrainHooks: each server is drained in HAProxy
// before its swap and put back after its verification; no user request
// fails.
func TestZeroDowntimeWithDrainHooks(t *testing.T) {
	f := newFarm(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Rollout(context.Background(), DrainHooks(root), rate, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAllUpdated(t, f, res.Report)
	checkOrder(t, f)
	tr := res.Traffic
	t.Logf("with drain hooks: %d of %d user requests failed (%v) in %s", tr.Failed, tr.Total, tr.FailedBy, res.Wall.Round(time.Millisecond))
	if tr.Total < rate {
		t.Fatalf("only %d user requests were sent", tr.Total)
	}

	requireHooksRan(t, res.Report)
	for _, s := range res.Report.Servers {
		for point, h := range map[string]*rollout.HookResult{"before_swap": s.BeforeSwap, "after_swap": s.AfterSwap} {
			if h == nil || !h.OK {
				t.Errorf("%s: %s = %+v", s.Name, point, h)
			}
		}
		if s.BeforeSwap != nil && !strings.Contains(strings.Join(s.BeforeSwap.Output, "\n"), "be/"+s.Name+" drained") {
			t.Errorf("%s: before_swap output %q", s.Name, s.BeforeSwap.Output)
		}
	}
	if tr.Failed != 0 {
		t.Errorf("%d of %d user requests failed although every server was drained (%v); first: %s", tr.Failed, tr.Total, tr.FailedBy, tr.FirstFailure)
	}
	checkHookEnv(t, f)
}

// checkHookEnv reads what each before_swap hook was given.
func checkHookEnv(t *testing.T, f *Farm) {
	t.Helper()
	for i, srv := range f.Servers {
		name := f.Profile.Servers[i].Name
		data, err := os.ReadFile(filepath.Join(f.Dir, "hook-env", name+".before_swap"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		env := string(data)
		batch := "0"
		if i > 0 {
			batch = string(rune('0' + i))
		}
		for _, kv := range []string{"WCDEPLOY_SERVER=" + name, "WCDEPLOY_SERVER_URL=" + srv.URL(), "WCDEPLOY_SERVER_HOST=127.0.0.1",
			"WCDEPLOY_PHASE=before_swap", "WCDEPLOY_PROFILE=lab", "WCDEPLOY_RUN_ID=" + RunID, "WCDEPLOY_BATCH=" + batch,
			"WCDEPLOY_VERSION=" + NewVersion, "WCDEPLOY_VERSION_BEFORE=" + OldVersion, "WCDEPLOY_VAR_LB_SERVER=be/" + name,
			"HAPROXY_SOCKET=" + f.Lab.Socket} {
			if !strings.Contains("\n"+env, "\n"+kv+"\n") {
				t.Errorf("%s: the hook's environment has no %s", name, kv)
			}
		}
		if strings.Contains(env, Password) || strings.Contains(env, "WCDEPLOY_PASSWORD") {
			t.Errorf("%s: the deploy password reached the hook's environment", name)
		}
		if strings.Contains(env, "WCDEPLOY_OUTCOME=") {
			t.Errorf("%s: before_swap was told an outcome", name)
		}
	}
}

// TestStickyBalancerKeepsOneNode deploys to one "server" whose URL is a
// cookie-sticky balancer: with the client's cookie jar, preflight, upload,
// swap and verification stay on one node. Without it the upload and the
// swap land on different nodes and the swap fails, as the docs warn.
func TestStickyBalancerKeepsOneNode(t *testing.T) {
	f := newFarm(t)
	up, upd, st, err := config.DeriveURLs(config.FlavorModule, f.Lab.StickyURL)
	if err != nil {
		t.Fatal(err)
	}
	target := rollout.Target{Name: "farm", URL: f.Lab.StickyURL, Flavor: config.FlavorModule, UploadURL: up, UpdateURL: upd, StatusURL: st}
	run := func(jar bool) *rollout.Report {
		steps, err := deploy.New(deploy.Options{Build: f.Build, Retries: 0, SwapTimeout: 30 * time.Second, StatusTimeout: 10 * time.Second,
			Client: func(t rollout.Target) (*http.Client, error) {
				c, err := transport.New(t.URL, transport.Options{Auth: transport.AuthBasic, User: User, Password: Password})
				if err == nil && !jar {
					c.Jar = nil
				}
				return c, err
			}})
		if err != nil {
			t.Fatal(err)
		}
		return rollout.Run(context.Background(), rollout.Plan{Build: f.Build, Targets: []rollout.Target{target}, Parallel: 1, Force: true}, steps, nil)
	}
	if rep := run(false); rep.OK {
		t.Errorf("without cookies the deploy through a round-robin of sticky nodes succeeded; the lab proves nothing")
	}
	for _, s := range f.Servers {
		_ = os.Remove(s.UpdatePath())
	}
	// HAProxy's health checks of backend be reach every node (normal
	// pages); the deploy's admin requests must reach one.
	admin := func(s *emulator.Server) int {
		n := 0
		for _, r := range s.Requests() {
			if r.Action != "page" {
				n++
			}
		}
		return n
	}
	// The emulator logs a request as its handler returns, which can come
	// after the client of the failed run above moved on: wait until the
	// logs are quiet, so none of that run's requests counts for this one.
	counts := func() []int {
		c := make([]int, len(f.Servers))
		for i, s := range f.Servers {
			c[i] = admin(s)
		}
		return c
	}
	before := counts()
	for quiet, deadline := 0, time.Now().Add(10*time.Second); quiet < 3 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		if now := counts(); slices.Equal(now, before) {
			quiet++
		} else {
			before, quiet = now, 0
		}
	}
	rep := run(true)
	if !rep.OK {
		t.Fatalf("with the cookie jar: %v", rep.Err())
	}
	var nodes []string
	for i, s := range f.Servers {
		if admin(s) > before[i] {
			nodes = append(nodes, f.Profile.Servers[i].Name)
		}
	}
	if len(nodes) != 1 {
		t.Errorf("with the cookie jar, one deploy reached nodes %v; want one", nodes)
	}
}

// TestLabStopsOnlyItsOwnHAProxy: two labs at once; closing one stops its
// PID and leaves the other serving.
func TestLabStopsOnlyItsOwnHAProxy(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("the load balancer lab needs HAProxy: %v", err)
	}
	em := emulatortest.Start(t, emulator.Config{Auth: emulator.AuthNone})
	addr := strings.TrimSuffix(strings.TrimPrefix(em.URL(), "http://"), "/")
	var labs [2]*Lab
	var pids [2]int
	for i := range labs {
		l, err := Start(t.TempDir(), []Backend{{Name: "web1", Addr: addr}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		data, err := os.ReadFile(filepath.Join(l.Dir, "haproxy.pid"))
		if err != nil {
			t.Fatal(err)
		}
		if pids[i], err = strconv.Atoi(strings.TrimSpace(string(data))); err != nil {
			t.Fatal(err)
		}
		labs[i] = l
	}
	if err := labs[0].Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pids[0])); err == nil {
		t.Errorf("HAProxy %d still runs after Close", pids[0])
	}
	resp, err := http.Get(labs[1].URL + "default.wc")
	if err != nil {
		t.Fatalf("the other lab stopped too: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Lab-Server") != "web1" {
		t.Errorf("the other lab answered %s from %q", resp.Status, resp.Header.Get("X-Lab-Server"))
	}
}
