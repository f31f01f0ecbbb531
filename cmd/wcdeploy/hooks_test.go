package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/ui"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

// handleVar is a variable whose name does not look like a secret but whose
// value is the deploy password: no hook may see it.
const handleVar = "APP_DB_HANDLE"

// hookFarm is a fleet of three whose rollout runs hook.sh at every hook
// point; each call appends its start time and environment to
// calls/<phase>.<server or run> and one line to order.log.
type hookFarm struct {
	*fleet
	dir string
}

// startHookFarm starts three servers (parallel 2, canary 1: batches [web01]
// [web02 web03]) with vars, two health checks (one anonymous, one with the
// deploy credentials) and hook.sh at every point. fail is shell code the
// hook runs last (e.g. a failure for one phase and server).
func startHookFarm(t *testing.T, fail string) *hookFarm {
	t.Helper()
	return startHookFarmWith(t, fail, nil)
}

// startHookFarmWith is startHookFarm with each emulator's config adjusted.
func startHookFarmWith(t *testing.T, fail string, cfg func(i int, c *emulator.Config)) *hookFarm {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the hooks of this test are sh scripts")
	}
	rollout := `parallel: 2, canary: 1, max_failures: 0,` +
		` health: [{url: "default.wc?anon=1", retries: 0, timeout: 5s}, {url: "default.wc?creds=1", retries: 0, timeout: 5s, auth: true}],` +
		` hooks: {before_rollout: ./hook.sh, before_swap: [./hook.sh], after_swap: "sh ./hook.sh", after_rollout: [./hook.sh, run-level]}`
	f := startFleet(t, 3, rollout, cfg)
	h := &hookFarm{fleet: f, dir: filepath.Dir(f.config)}
	data, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for i, name := range f.names {
		text = strings.Replace(text, "{name: "+name+",", fmt.Sprintf("{name: %s, vars: {lb_server: be/%s, Rack: r%d},", name, name, i+1), 1)
	}
	if err := os.WriteFile(f.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	script := `#!/bin/sh
set -e
who=${WCDEPLOY_SERVER:-run}
mkdir -p calls
{ echo "--- call"; echo "at=$(date +%s%N)"; echo "pwd=$(pwd)"; echo "args=$*"; env; } >> "calls/$WCDEPLOY_PHASE.$who"
echo "$WCDEPLOY_PHASE $who" >> order.log
echo "hook says $who $WCDEPLOY_PHASE handle=${` + handleVar + `}"
` + fail + "\n"
	if err := os.WriteFile(filepath.Join(h.dir, "hook.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// The password reaches wcdeploy on stdin; the process also has it in
	// WCDEPLOY_PASSWORD and in a variable with an innocent name.
	t.Setenv("WCDEPLOY_PASSWORD", testPassword)
	t.Setenv(handleVar, testPassword)
	return h
}

// deploy runs wcdeploy deploy with the password on stdin.
func (h *hookFarm) deploy(t *testing.T, e env, args ...string) result {
	t.Helper()
	return h.deployCtx(t, t.Context(), e, args...)
}

// deployCtx is deploy until ctx is cancelled, as Ctrl-C cancels it.
func (h *hookFarm) deployCtx(t *testing.T, ctx context.Context, e env, args ...string) result {
	t.Helper()
	args = append([]string{"--config", h.config, "deploy", "--password-stdin"}, args...)
	done := make(chan result, 1)
	go func() {
		s, out, errOut := ui.Test(testPassword + "\n")
		d := systemDeps(s, e.get)
		d.keyring = &memKeyring{entries: map[string]string{}}
		code := execute(ctx, args, d)
		done <- result{code, out.String(), errOut.String()}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(90 * time.Second):
		t.Fatalf("wcdeploy %s hung", strings.Join(args, " "))
	}
	for _, text := range []string{r.out, r.errOut} {
		if strings.Contains(text, testPassword) {
			t.Fatalf("the password appeared in the output:\n%s", text)
		}
	}
	noSecretInFiles(t, h.dir, e["WCDEPLOY_STATE_DIR"])
	return r
}

// hookCall is one run of hook.sh: when it started and what it was given.
type hookCall struct {
	at   time.Time
	pwd  string
	args string
	env  map[string]string
}

// calls reads every call of one phase for one server ("run" for the
// run-level hooks).
func (h *hookFarm) calls(t *testing.T, phase, who string) []hookCall {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.dir, "calls", phase+"."+who))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []hookCall
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := sc.Text()
		if line == "--- call" {
			out = append(out, hookCall{env: map[string]string{}})
			continue
		}
		if len(out) == 0 {
			t.Fatalf("%s.%s: %q before the first call", phase, who, line)
		}
		c := &out[len(out)-1]
		k, v, _ := strings.Cut(line, "=")
		switch {
		case k == "at" && c.at.IsZero():
			ns, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("%s.%s: at=%q", phase, who, v)
			}
			c.at = time.Unix(0, ns)
		case k == "pwd" && c.pwd == "":
			c.pwd = v
		case k == "args" && c.args == "":
			c.args = v
		default:
			c.env[k] = v
		}
	}
	return out
}

// once returns the one call of a phase for a server, failing otherwise.
func (h *hookFarm) once(t *testing.T, phase, who string) hookCall {
	t.Helper()
	cs := h.calls(t, phase, who)
	if len(cs) != 1 {
		t.Fatalf("%s ran %d times for %s, want once", phase, len(cs), who)
	}
	return cs[0]
}

// order is order.log: "phase who" per call, in the order they started.
func (h *hookFarm) order(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.dir, "order.log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func wantEnv(t *testing.T, what string, c hookCall, want map[string]string) {
	t.Helper()
	for k, v := range want {
		got, ok := c.env[k]
		if v == "<unset>" {
			if ok {
				t.Errorf("%s: %s=%q, want it unset", what, k, got)
			}
			continue
		}
		if !ok || got != v {
			t.Errorf("%s: %s=%q (set %v), want %q", what, k, got, ok, v)
		}
	}
}

// noSecretInHookEnv: neither the password nor the variables that held it.
func noSecretInHookEnv(t *testing.T, what string, c hookCall) {
	t.Helper()
	for k, v := range c.env {
		if strings.Contains(v, testPassword) {
			t.Errorf("%s: %s holds the password", what, k)
		}
		if k == "WCDEPLOY_PASSWORD" || k == handleVar {
			t.Errorf("%s: %s reached the hook", what, k)
		}
	}
}

// swapSpan is when a server's one swap request began and ended.
func swapSpan(t *testing.T, s *emulator.Server) (time.Time, time.Time) {
	t.Helper()
	r := swapRequest(t, s)
	return r.Time, r.Time.Add(r.Duration)
}

// lastUpload is when the last successful upload to any server ended.
func (h *hookFarm) lastUpload(t *testing.T) time.Time {
	t.Helper()
	var last time.Time
	for i, s := range h.servers {
		n := 0
		for _, r := range s.Requests() {
			if r.Action == "uploadexe" && r.Status == 200 {
				n++
				if end := r.Time.Add(r.Duration); end.After(last) {
					last = end
				}
			}
		}
		if n != 1 {
			t.Errorf("%s received %d uploads, want 1", h.names[i], n)
		}
	}
	return last
}

// hookEnv is the environment wcdeploy reads its settings from: without
// WCDEPLOY_PASSWORD, so only the password read from stdin (which the
// process's own WCDEPLOY_PASSWORD and handleVar also hold) can keep the
// hooks from seeing it.
func hookEnv(t *testing.T) env {
	e := newEnv(t)
	delete(e, "WCDEPLOY_PASSWORD")
	return e
}

func TestHooksThroughTheCLI(t *testing.T) {
	h := startHookFarm(t, "")
	e := hookEnv(t)
	r := h.deploy(t, e, "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	rep := parseReport(t, r)
	for i, v := range h.versions() {
		if v != newVersion {
			t.Errorf("%s runs %s", h.names[i], v)
		}
	}
	h.assertNoHold(t)

	// One journal run, and it is the run the hooks were told about.
	runs := journalLines(t, e)
	if len(runs) != 1 {
		t.Fatalf("the journal holds %d runs, want 1", len(runs))
	}
	runID := runs[0].ID
	if rep.RunID != runID {
		t.Errorf("report run_id %q, journal %q", rep.RunID, runID)
	}
	// The journal keeps each hook's result with its last lines.
	if runs[0].BeforeRollout == nil || !runs[0].BeforeRollout.OK || runs[0].AfterRollout == nil {
		t.Errorf("journal run-level hooks: %+v / %+v", runs[0].BeforeRollout, runs[0].AfterRollout)
	}
	for _, s := range runs[0].Servers {
		if s.BeforeSwap == nil || s.AfterSwap == nil || !s.AfterSwap.OK || len(s.AfterSwap.Output) == 0 {
			t.Errorf("journal %s: hooks %+v / %+v", s.Name, s.BeforeSwap, s.AfterSwap)
		}
	}

	checkHookOrder(t, h)
	checkHookEnvs(t, h, runID)
	checkHookReport(t, h, rep)
	checkHookProgress(t, h, r.errOut)
	checkHealthCredentials(t, h)
}

// checkHookOrder: before_rollout first and after_rollout last, once each;
// each server's before_swap and after_swap once, around its swap, the
// canary's before the batch's; every upload before the first hook and swap.
func checkHookOrder(t *testing.T, h *hookFarm) {
	t.Helper()
	order := h.order(t)
	if len(order) != 2+2*len(h.names) || order[0] != "before_rollout run" || order[len(order)-1] != "after_rollout run" {
		t.Fatalf("hook order %q: want before_rollout, two per server, after_rollout", order)
	}
	if !slices.Equal(order[1:3], []string{"before_swap web01", "after_swap web01"}) {
		t.Errorf("hook order %q: the canary web01's hooks must come first", order)
	}
	for _, name := range h.names[1:] {
		b, a := slices.Index(order, "before_swap "+name), slices.Index(order, "after_swap "+name)
		if b < 3 || a < b {
			t.Errorf("hook order %q: %s's before_swap must come after the canary's and before its after_swap", order, name)
		}
	}
	lastUpload := h.lastUpload(t)
	before := h.once(t, "before_rollout", "run")
	if !lastUpload.Before(before.at) {
		t.Errorf("before_rollout started at %v, before the last upload ended at %v", before.at, lastUpload)
	}
	_, canaryEnd := swapSpan(t, h.servers[0])
	for i, name := range h.names {
		bs, as := h.once(t, "before_swap", name), h.once(t, "after_swap", name)
		start, end := swapSpan(t, h.servers[i])
		if !lastUpload.Before(start) {
			t.Errorf("%s's swap began at %v, before the last upload ended at %v", name, start, lastUpload)
		}
		if !bs.at.Before(start) || !end.Before(as.at) {
			t.Errorf("%s: before_swap at %v, swap %v..%v, after_swap at %v: the hooks must surround the swap", name, bs.at, start, end, as.at)
		}
		if i > 0 && !canaryEnd.Before(bs.at) {
			t.Errorf("%s's before_swap at %v ran before the canary's swap ended at %v", name, bs.at, canaryEnd)
		}
	}
	if after := h.once(t, "after_rollout", "run"); !after.at.After(h.once(t, "after_swap", h.names[2]).at) {
		t.Errorf("after_rollout did not run last")
	}
}

// checkHookEnvs: every WCDEPLOY_* variable of docs/rollouts.md, the
// server's vars, the config folder as working folder, no secret.
func checkHookEnvs(t *testing.T, h *hookFarm, runID string) {
	t.Helper()
	common := map[string]string{"WCDEPLOY_PROFILE": "farm", "WCDEPLOY_RUN_ID": runID, "WCDEPLOY_VERSION": newVersion}
	for i, name := range h.names {
		batch := "0"
		if i > 0 {
			batch = "1"
		}
		for _, phase := range []string{"before_swap", "after_swap"} {
			c := h.once(t, phase, name)
			want := map[string]string{"WCDEPLOY_PHASE": phase, "WCDEPLOY_SERVER": name, "WCDEPLOY_SERVER_URL": h.servers[i].URL(),
				"WCDEPLOY_SERVER_HOST": "127.0.0.1", "WCDEPLOY_GROUP": groupOf(i), "WCDEPLOY_BATCH": batch,
				"WCDEPLOY_VERSION_BEFORE": oldVersion, "WCDEPLOY_VAR_LB_SERVER": "be/" + name, "WCDEPLOY_VAR_RACK": fmt.Sprintf("r%d", i+1),
				"WCDEPLOY_OUTCOME": "<unset>", "WCDEPLOY_VERSION_AFTER": "<unset>", "WCDEPLOY_EXIT_CODE": "<unset>"}
			if phase == "after_swap" {
				want["WCDEPLOY_OUTCOME"], want["WCDEPLOY_VERSION_AFTER"], want["WCDEPLOY_EXIT_CODE"] = "ok", newVersion, "0"
			}
			addAll(want, common)
			wantEnv(t, name+" "+phase, c, want)
			noSecretInHookEnv(t, name+" "+phase, c)
			if c.pwd != h.dir {
				t.Errorf("%s %s ran in %s, want the config file's folder %s", name, phase, c.pwd, h.dir)
			}
		}
	}
	for _, phase := range []string{"before_rollout", "after_rollout"} {
		c := h.once(t, phase, "run")
		want := map[string]string{"WCDEPLOY_PHASE": phase, "WCDEPLOY_SERVER": "<unset>", "WCDEPLOY_VAR_LB_SERVER": "<unset>"}
		if phase == "after_rollout" {
			want["WCDEPLOY_OUTCOME"], want["WCDEPLOY_EXIT_CODE"] = "ok", "0"
			if c.args != "run-level" {
				t.Errorf("after_rollout's arguments %q, want the list's run-level", c.args)
			}
		}
		addAll(want, common)
		wantEnv(t, phase, c, want)
		noSecretInHookEnv(t, phase, c)
	}
}

func addAll(dst, src map[string]string) {
	for k, v := range src {
		dst[k] = v
	}
}

// checkHookReport: each hook's result in the JSON report, with its output.
func checkHookReport(t *testing.T, h *hookFarm, rep rollout.Report) {
	t.Helper()
	check := func(what string, res *rollout.HookResult, line string) {
		t.Helper()
		if res == nil || !res.OK || res.ExitCode != 0 || res.Command == "" {
			t.Errorf("%s: %+v, want an ok result", what, res)
			return
		}
		if !slices.Contains(res.Output, line) {
			t.Errorf("%s: output %q, want %q", what, res.Output, line)
		}
	}
	check("before_rollout", rep.BeforeRollout, "hook says run before_rollout handle=")
	check("after_rollout", rep.AfterRollout, "hook says run after_rollout handle=")
	for _, s := range rep.Servers {
		check(s.Name+" before_swap", s.BeforeSwap, "hook says "+s.Name+" before_swap handle=")
		check(s.Name+" after_swap", s.AfterSwap, "hook says "+s.Name+" after_swap handle=")
	}
}

// checkHookProgress: each line a hook printed is in the plain progress on
// stderr, on a line that names its server.
func checkHookProgress(t *testing.T, h *hookFarm, errOut string) {
	t.Helper()
	lines := strings.Split(errOut, "\n")
	for _, name := range h.names {
		for _, phase := range []string{"before_swap", "after_swap"} {
			said := "hook says " + name + " " + phase
			i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, said) })
			if i < 0 {
				t.Errorf("stderr has no line with %q:\n%s", said, errOut)
				continue
			}
			if l := lines[i]; !strings.Contains(l[:strings.Index(l, said)], name+":") {
				t.Errorf("the hook's line is not prefixed with its server %s: %q", name, l)
			}
		}
	}
}

// checkHealthCredentials: the health check without auth sent no
// credentials; the one with auth: true sent the deploy user's.
func checkHealthCredentials(t *testing.T, h *hookFarm) {
	t.Helper()
	for i, s := range h.servers {
		var anon, creds int
		for _, r := range s.Requests() {
			switch {
			case r.Action != "page":
			case strings.Contains(r.Query, "anon=1"):
				anon++
				if r.User != "" {
					t.Errorf("%s: the anonymous health check carried the credentials of %q", h.names[i], r.User)
				}
			case strings.Contains(r.Query, "creds=1"):
				creds++
				if r.User != "deploy" {
					t.Errorf("%s: the health check with auth: true was sent as %q, want deploy", h.names[i], r.User)
				}
			}
		}
		if anon == 0 || creds == 0 {
			t.Errorf("%s: %d anonymous and %d authenticated health checks, want both", h.names[i], anon, creds)
		}
	}
}

// failOn is hook.sh's last line for a failure of one phase on one server.
func failOn(phase, who string) string {
	return fmt.Sprintf(`if [ "$WCDEPLOY_PHASE.$who" = "%s.%s" ]; then echo "balancer refused $who" >&2; exit 3; fi`, phase, who)
}

func TestHookBeforeSwapFailsOnTheCanary(t *testing.T) {
	h := startHookFarm(t, failOn("before_swap", "web01"))
	e := hookEnv(t)
	r := h.deploy(t, e, "--json")
	if r.code != 4 {
		t.Fatalf("exit %d, want 4 (nothing was swapped)\n%s\n%s", r.code, r.out, r.errOut)
	}
	rep := parseReport(t, r)
	for i, s := range h.servers {
		if v := s.ExeVersion(); v != oldVersion {
			t.Errorf("%s runs %s, want the old build", h.names[i], v)
		}
		if n := countAction(s, "updateexe"); n != 0 {
			t.Errorf("%s received %d swaps", h.names[i], n)
		}
		if c := h.calls(t, "after_swap", h.names[i]); len(c) != 0 {
			t.Errorf("after_swap ran %d times for %s, whose before_swap failed or never ran", len(c), h.names[i])
		}
	}
	for _, name := range h.names[1:] {
		if c := h.calls(t, "before_swap", name); len(c) != 0 {
			t.Errorf("before_swap ran for %s after the canary's failed", name)
		}
	}
	h.once(t, "before_swap", "web01")
	wantEnv(t, "after_rollout", h.once(t, "after_rollout", "run"), map[string]string{"WCDEPLOY_OUTCOME": "failed", "WCDEPLOY_EXIT_CODE": "4"})
	s := rep.Servers[0]
	if s.BeforeSwap == nil || s.BeforeSwap.OK || s.BeforeSwap.ExitCode != 3 || !slices.Contains(s.BeforeSwap.Output, "balancer refused web01") {
		t.Errorf("web01 before_swap %+v, want the failure with its output", s.BeforeSwap)
	}
	if s.ExitCode != 4 || s.AfterSwap != nil || !strings.Contains(s.Error, "before_swap") || !strings.Contains(s.Error, "not swapped") {
		t.Errorf("web01: exit %d after_swap %+v error %q", s.ExitCode, s.AfterSwap, s.Error)
	}
	if !rep.Halted {
		t.Errorf("a failed canary hook did not halt the rollout")
	}
	for _, s := range rep.Servers[1:] {
		if s.Swapped || s.BeforeSwap != nil || s.AfterSwap != nil || s.Skipped == "" {
			t.Errorf("%s: swapped %v before %+v after %+v skipped %q", s.Name, s.Swapped, s.BeforeSwap, s.AfterSwap, s.Skipped)
		}
	}
}

func TestHookAfterSwapFails(t *testing.T) {
	cases := []struct {
		server  string
		code    int
		updated []string // servers that run the build after
	}{
		// Every server runs the build; one was not put back: 6, as a failed health check.
		{server: "web03", code: 6, updated: []string{"web01", "web02", "web03"}},
		// A canary not put back halts the rollout: the farm is partly updated.
		{server: "web01", code: 7, updated: []string{"web01"}},
	}
	for _, c := range cases {
		t.Run(c.server, func(t *testing.T) {
			h := startHookFarm(t, failOn("after_swap", c.server))
			e := hookEnv(t)
			r := h.deploy(t, e, "--json")
			if r.code != c.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", r.code, c.code, r.out, r.errOut)
			}
			rep := parseReport(t, r)
			for i, s := range h.servers {
				want := oldVersion
				if slices.Contains(c.updated, h.names[i]) {
					want = newVersion
				}
				if v := s.ExeVersion(); v != want {
					t.Errorf("%s runs %s, want %s", h.names[i], v, want)
				}
			}
			var s rollout.ServerReport
			for _, rs := range rep.Servers {
				if rs.Name == c.server {
					s = rs
				}
			}
			if s.AfterSwap == nil || s.AfterSwap.OK || s.AfterSwap.ExitCode != 3 || !slices.Contains(s.AfterSwap.Output, "balancer refused "+c.server) {
				t.Errorf("%s after_swap %+v, want the failure with its output", c.server, s.AfterSwap)
			}
			if s.BeforeSwap == nil || !s.BeforeSwap.OK || !s.Verified || s.ExitCode != 6 || !strings.Contains(s.Error, "after_swap") {
				t.Errorf("%s: before_swap %+v verified %v exit %d error %q", c.server, s.BeforeSwap, s.Verified, s.ExitCode, s.Error)
			}
			wantEnv(t, "after_rollout", h.once(t, "after_rollout", "run"),
				map[string]string{"WCDEPLOY_OUTCOME": "failed", "WCDEPLOY_EXIT_CODE": strconv.Itoa(c.code)})
			if je := lastJournal(t, e); je.ExitCode != c.code {
				t.Errorf("journal exit code %d, want %d", je.ExitCode, c.code)
			}
		})
	}
}

func TestHooksDryRunListsAndRunsNone(t *testing.T) {
	h := startHookFarm(t, "")
	e := hookEnv(t)
	for _, json := range []bool{false, true} {
		args := []string{"--dry-run"}
		if json {
			args = append(args, "--json")
		}
		r := h.deploy(t, e, args...)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
		}
		if json {
			rep := parseReport(t, r)
			if want := []string{"before_rollout", "before_swap", "after_swap", "after_rollout"}; !slices.Equal(rep.Hooks, want) {
				t.Errorf("--dry-run --json hooks %q, want %q", rep.Hooks, want)
			}
		} else if !strings.Contains(r.out+r.errOut, "hooks that would run: before_rollout, before_swap, after_swap, after_rollout") {
			t.Errorf("--dry-run does not list the hooks:\n%s\n%s", r.out, r.errOut)
		}
	}
	if order := h.order(t); len(order) != 0 {
		t.Errorf("--dry-run ran hooks: %q", order)
	}
	for i, s := range h.servers {
		if countAction(s, "uploadexe")+countAction(s, "updateexe") != 0 || s.ExeVersion() != oldVersion {
			t.Errorf("--dry-run changed %s", h.names[i])
		}
	}
}

// TestHookOutputInPlainProgress: without --json, on a non-terminal, each
// line a hook prints is a progress line on stderr naming its server.
func TestHookOutputInPlainProgress(t *testing.T) {
	h := startHookFarm(t, "")
	r := h.deploy(t, hookEnv(t))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	checkHookProgress(t, h, r.errOut)
	if strings.Contains(r.errOut, "\r") || strings.Contains(r.errOut, "\x1b[") {
		t.Errorf("plain progress holds terminal controls:\n%q", r.errOut)
	}
	for _, said := range []string{"hook says run before_rollout", "hook says run after_rollout"} {
		if !strings.Contains(r.errOut, said) {
			t.Errorf("stderr lacks the run-level hook's line %q:\n%s", said, r.errOut)
		}
	}
}

func TestHookRunLevelFails(t *testing.T) {
	t.Run("before_rollout", func(t *testing.T) {
		h := startHookFarm(t, failOn("before_rollout", "run"))
		e := hookEnv(t)
		r := h.deploy(t, e, "--json")
		if r.code != 4 {
			t.Fatalf("exit %d, want 4 (nothing was swapped)\n%s\n%s", r.code, r.out, r.errOut)
		}
		rep := parseReport(t, r)
		if rep.BeforeRollout == nil || rep.BeforeRollout.OK || !rep.Halted {
			t.Errorf("before_rollout %+v halted %v", rep.BeforeRollout, rep.Halted)
		}
		for i, s := range rep.Servers {
			if !s.Staged || s.Swapped || s.ExitCode != 4 || countAction(h.servers[i], "updateexe") != 0 {
				t.Errorf("%s: staged %v swapped %v exit %d", s.Name, s.Staged, s.Swapped, s.ExitCode)
			}
		}
		if order := h.order(t); !slices.Equal(order, []string{"before_rollout run", "after_rollout run"}) {
			t.Errorf("hooks ran %q, want before_rollout then after_rollout only", order)
		}
		wantEnv(t, "after_rollout", h.once(t, "after_rollout", "run"), map[string]string{"WCDEPLOY_OUTCOME": "failed", "WCDEPLOY_EXIT_CODE": "4"})
	})
	t.Run("after_rollout", func(t *testing.T) {
		h := startHookFarm(t, failOn("after_rollout", "run"))
		r := h.deploy(t, hookEnv(t), "--json")
		if r.code != 6 {
			t.Fatalf("exit %d, want 6 (every server runs the build, the step after failed)\n%s\n%s", r.code, r.out, r.errOut)
		}
		rep := parseReport(t, r)
		if rep.AfterRollout == nil || rep.AfterRollout.OK || rep.OK {
			t.Errorf("after_rollout %+v ok %v", rep.AfterRollout, rep.OK)
		}
		for i, v := range h.versions() {
			if v != newVersion {
				t.Errorf("%s runs %s", h.names[i], v)
			}
		}
		wantEnv(t, "after_rollout", h.once(t, "after_rollout", "run"), map[string]string{"WCDEPLOY_OUTCOME": "ok", "WCDEPLOY_EXIT_CODE": "0"})
	})
}

// TestHookAfterSwapRunsAfterAnInterrupt: Ctrl-C during the canary's swap;
// the swap is awaited and its after_swap still runs (no server is left
// drained unreported), no other server's before_swap runs, and
// after_rollout is told the run was interrupted.
func TestHookAfterSwapRunsAfterAnInterrupt(t *testing.T) {
	h := startHookFarmWith(t, "", func(i int, c *emulator.Config) { c.SwapDelay = 1500 * time.Millisecond })
	e := hookEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		for range 3000 {
			if h.servers[0].OnHold() {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	r := h.deployCtx(t, ctx, e, "--json")
	if r.code != 130 {
		t.Fatalf("exit %d, want 130\n%s\n%s", r.code, r.out, r.errOut)
	}
	if countAction(h.servers[0], "updateexe") != 1 || h.servers[0].ExeVersion() != newVersion {
		t.Fatalf("the canary's swap was not the one interrupted: %d swaps, runs %s", countAction(h.servers[0], "updateexe"), h.servers[0].ExeVersion())
	}
	h.assertNoHold(t)
	as := h.once(t, "after_swap", "web01")
	// The awaited swap was verified (its health check skipped): the
	// server itself is fine, whatever became of the run.
	wantEnv(t, "web01 after_swap", as, map[string]string{"WCDEPLOY_OUTCOME": "ok", "WCDEPLOY_VERSION_AFTER": newVersion, "WCDEPLOY_EXIT_CODE": "0"})
	for _, name := range h.names[1:] {
		if n := len(h.calls(t, "before_swap", name)) + len(h.calls(t, "after_swap", name)); n != 0 {
			t.Errorf("%s's hooks ran %d times after the interrupt", name, n)
		}
	}
	wantEnv(t, "after_rollout", h.once(t, "after_rollout", "run"), map[string]string{"WCDEPLOY_OUTCOME": "failed", "WCDEPLOY_EXIT_CODE": "130"})
	rep := parseReport(t, r)
	if s := rep.Servers[0]; s.AfterSwap == nil || !s.AfterSwap.OK || !s.Verified {
		t.Errorf("web01: verified %v after_swap %+v", s.Verified, s.AfterSwap)
	}
}
