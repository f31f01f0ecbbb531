//go:build !windows

package hooks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

const password = "Hook-Pa55word!"

// lines collects what a hook streams.
type lines struct {
	mu  sync.Mutex
	got []string
}

func (l *lines) add(s string) { l.mu.Lock(); l.got = append(l.got, s); l.mu.Unlock() }
func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

func profile(h config.Hooks) config.Profile {
	return config.Profile{
		Name:    "prod",
		Rollout: config.Rollout{Hooks: h},
		Servers: []config.Server{
			{Name: "web1", URL: "https://web1.example.com:8443/App/", Group: "blue", Vars: map[string]string{"lb_server": "be/web1", "Weight": "10"}},
			{Name: "web2", URL: "https://web2.example.com/App/"},
		},
	}
}

var web1 = &rollout.Target{Name: "web1", URL: "https://web1.example.com:8443/App/", Group: "blue"}

func envMap(out []string) map[string]string {
	m := map[string]string{}
	for _, l := range out {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// TestEnvironment runs a real shell that prints its environment: the
// call's variables are there, secrets and stale hook variables are not.
func TestEnvironment(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	for k, v := range map[string]string{
		"WCDEPLOY_PASSWORD":      password,
		"WCDEPLOY_PASSWORD_FILE": pwFile,
		"GITHUB_TOKEN":           "ghp_abcdef",
		"DB_PWD":                 "x1",
		"AWS_SECRET_ACCESS_KEY":  "aws-secret", // let through by pass_env
		"AZURE_CLIENT_SECRET":    "az-secret",
		"DEPLOY_NOTE":            "login " + password + " here", // holds the password under a plain name
		"WCDEPLOY_SERVER":        "web1,web2",                   // wcdeploy's own --server selection
		"WCDEPLOY_VAR_STALE":     "x",
		"WCDEPLOY_USER":          "deploy",
		"KEEP_ME":                "kept",
	} {
		t.Setenv(k, v)
	}
	var streamed lines
	r := NewRunner(profile(config.Hooks{
		AfterSwap: config.Hook{Shell: "env; echo the password is " + password},
		PassEnv:   []string{"aws_secret_access_key"},
	}), RunInfo{Dir: t.TempDir(), RunID: "20261201T090000Z-abc123", Version: "2.0.0.0", Secrets: []string{password}})
	res, err := r.Run(context.Background(), rollout.HookCall{
		Point: rollout.HookAfterSwap, Target: web1, Batch: 1, VersionBefore: "1.0.0.0",
		Outcome: rollout.OutcomeOK, VersionAfter: "2.0.0.0", ExitCode: 0, Output: streamed.add,
	})
	if err != nil || !res.OK || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	got := streamed.all()
	env := envMap(got)
	want := map[string]string{
		"WCDEPLOY_PHASE": "after_swap", "WCDEPLOY_SERVER": "web1", "WCDEPLOY_SERVER_URL": "https://web1.example.com:8443/App/",
		"WCDEPLOY_SERVER_HOST": "web1.example.com", "WCDEPLOY_GROUP": "blue", "WCDEPLOY_PROFILE": "prod",
		"WCDEPLOY_RUN_ID": "20261201T090000Z-abc123", "WCDEPLOY_BATCH": "1", "WCDEPLOY_VERSION": "2.0.0.0",
		"WCDEPLOY_VERSION_BEFORE": "1.0.0.0", "WCDEPLOY_OUTCOME": "ok", "WCDEPLOY_VERSION_AFTER": "2.0.0.0",
		"WCDEPLOY_EXIT_CODE": "0", "WCDEPLOY_VAR_LB_SERVER": "be/web1", "WCDEPLOY_VAR_WEIGHT": "10",
		"WCDEPLOY_USER": "deploy", "KEEP_ME": "kept", "AWS_SECRET_ACCESS_KEY": "aws-secret",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"WCDEPLOY_PASSWORD", "WCDEPLOY_PASSWORD_FILE", "GITHUB_TOKEN", "DB_PWD", "AZURE_CLIENT_SECRET", "DEPLOY_NOTE", "WCDEPLOY_VAR_STALE"} {
		if v, ok := env[k]; ok {
			t.Errorf("%s reached the hook (%q)", k, v)
		}
	}
	if wd, _ := os.Getwd(); env["PWD"] == wd {
		t.Errorf("the hook ran in the test's folder, not RunInfo.Dir")
	}
	all := strings.Join(got, "\n") + strings.Join(res.Output, "\n") + res.Command
	if strings.Contains(all, password) || strings.Contains(all, pwFile) {
		t.Errorf("the password or its file reached the output or the report:\n%s", all)
	}
	if last := res.Output[len(res.Output)-1]; last != "the password is ***" {
		t.Errorf("last line %q", last)
	}
	if len(res.Output) != MaxOutputLines || !reflect.DeepEqual(res.Output, got[len(got)-MaxOutputLines:]) {
		t.Errorf("report kept %d lines, not the last %d streamed", len(res.Output), MaxOutputLines)
	}
}

// TestRunLevelEnvironment: no server variables for before_rollout, and no
// outcome before anything happened.
func TestRunLevelEnvironment(t *testing.T) {
	var streamed lines
	r := NewRunner(profile(config.Hooks{BeforeRollout: config.Hook{Shell: "env"}}), RunInfo{Dir: t.TempDir(), RunID: "r1", Version: "2.0.0.0"})
	if _, err := r.Run(context.Background(), rollout.HookCall{Point: rollout.HookBeforeRollout, Batch: -1, Output: streamed.add}); err != nil {
		t.Fatal(err)
	}
	env := envMap(streamed.all())
	if env["WCDEPLOY_PHASE"] != "before_rollout" || env["WCDEPLOY_RUN_ID"] != "r1" || env["WCDEPLOY_VERSION"] != "2.0.0.0" {
		t.Errorf("run-level variables: %v", env)
	}
	for _, k := range []string{"WCDEPLOY_SERVER", "WCDEPLOY_BATCH", "WCDEPLOY_OUTCOME", "WCDEPLOY_VAR_LB_SERVER"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s set for a run-level hook", k)
		}
	}
}

func TestExitCodeAndLastLines(t *testing.T) {
	r := NewRunner(profile(config.Hooks{BeforeSwap: config.Hook{Shell: "for i in $(seq 1 30); do echo line $i; done; printf 'no newline' >&2; exit 3"}}), RunInfo{Dir: t.TempDir()})
	res, err := r.Run(context.Background(), rollout.HookCall{Point: rollout.HookBeforeSwap, Target: web1})
	if err == nil || res == nil || res.OK {
		t.Fatalf("Run = %+v, %v; want a failure", res, err)
	}
	if res.ExitCode != 3 {
		t.Errorf("exit code %d", res.ExitCode)
	}
	if len(res.Output) != MaxOutputLines || res.Output[0] != "line 12" || res.Output[MaxOutputLines-1] != "no newline" {
		t.Errorf("last lines %q", res.Output)
	}
	for _, w := range []string{"web1: before_swap hook", "exited with code 3", `"no newline"`, "run it by hand"} {
		if !strings.Contains(err.Error(), w) || !strings.Contains(res.Error, w) {
			t.Errorf("error does not say %q: %v", w, err)
		}
	}
}

// alive reports a process that exists and is not a zombie.
func alive(pid int) bool {
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
		return len(f) > 0 && f[0] != "Z" && f[0] != "X"
	}
	return syscall.Kill(pid, 0) == nil
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d the hook started is still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestTimeoutStopsTheGroup: a hook that runs past its timeout is stopped
// with the child it started in the background, which ignores SIGTERM.
func TestTimeoutStopsTheGroup(t *testing.T) {
	dir := t.TempDir()
	h := config.Hooks{Timeout: 300 * time.Millisecond, BeforeSwap: config.Hook{
		Shell: `sh -c 'trap "" TERM; sleep 30' & echo $! > child.pid; echo started; sleep 30`}}
	r := NewRunner(profile(h), RunInfo{Dir: dir})
	res, err := r.Run(context.Background(), rollout.HookCall{Point: rollout.HookBeforeSwap, Target: web1})
	if err == nil || !strings.Contains(err.Error(), "did not finish within 300ms") || !strings.Contains(err.Error(), "rollout.hooks.timeout") {
		t.Fatalf("err = %v", err)
	}
	if res.OK || res.ExitCode != -1 || !reflect.DeepEqual(res.Output, []string{"started"}) {
		t.Errorf("result %+v", res)
	}
	waitDead(t, readPid(t, filepath.Join(dir, "child.pid")))
}

// TestInterruptStopsTheHook: ctx ending stops the hook like a timeout, and
// the error says the rollout was interrupted.
func TestInterruptStopsTheHook(t *testing.T) {
	dir := t.TempDir()
	r := NewRunner(profile(config.Hooks{AfterRollout: config.Hook{Shell: "sleep 30 & echo $! > child.pid; wait"}}), RunInfo{Dir: dir})
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	go func() {
		for {
			if _, err := os.Stat(filepath.Join(dir, "child.pid")); err == nil {
				once.Do(cancel)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	res, err := r.Run(ctx, rollout.HookCall{Point: rollout.HookAfterRollout})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") || res.OK {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	waitDead(t, readPid(t, filepath.Join(dir, "child.pid")))
	// An ended context runs nothing.
	res, err = r.Run(ctx, rollout.HookCall{Point: rollout.HookAfterRollout})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "was not run") || res.OK {
		t.Fatalf("Run after the interrupt = %+v, %v", res, err)
	}
}

// TestArgvRunsWithoutShell: a list runs the program with its arguments as
// they are, relative to the config folder.
func TestArgvRunsWithoutShell(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hook.sh"), []byte("#!/bin/sh\nfor a in \"$@\"; do echo \"[$a]\"; done\npwd\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var streamed lines
	r := NewRunner(profile(config.Hooks{BeforeSwap: config.Hook{Argv: []string{"./hook.sh", "be/web 1", "$HOME", ""}}}), RunInfo{Dir: dir})
	res, err := r.Run(context.Background(), rollout.HookCall{Point: rollout.HookBeforeSwap, Target: web1, Output: streamed.add})
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	want := []string{"[be/web 1]", "[$HOME]", "[]", real}
	if got := streamed.all(); !reflect.DeepEqual(got, want) {
		t.Errorf("output %q, want %q", got, want)
	}
	if res.Command != `./hook.sh "be/web 1" $HOME ""` {
		t.Errorf("command %s", res.Command)
	}
}

func TestMissingProgram(t *testing.T) {
	r := NewRunner(profile(config.Hooks{BeforeSwap: config.Hook{Argv: []string{"./no-such-hook"}}}), RunInfo{Dir: t.TempDir()})
	res, err := r.Run(context.Background(), rollout.HookCall{Point: rollout.HookBeforeSwap, Target: web1})
	if err == nil || !strings.Contains(err.Error(), "could not start") || !strings.Contains(err.Error(), "rollout.hooks.before_swap") || res.OK {
		t.Fatalf("Run = %+v, %v", res, err)
	}
}

// TestLeftoverProcessDoesNotHang: a hook that exits while a process it
// started keeps its output open still returns.
func TestLeftoverProcessDoesNotHang(t *testing.T) {
	dir := t.TempDir()
	r := NewRunner(profile(config.Hooks{AfterSwap: config.Hook{Shell: "sleep 30 & echo $! > left.pid; echo done"}}), RunInfo{Dir: dir})
	res, err := r.Run(context.Background(), rollout.HookCall{Point: rollout.HookAfterSwap, Target: web1})
	pid := readPid(t, filepath.Join(dir, "left.pid"))
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if err != nil || !res.OK || !reflect.DeepEqual(res.Output, []string{"done"}) {
		t.Fatalf("Run = %+v, %v", res, err)
	}
}

func TestConfiguredAndNew(t *testing.T) {
	if h := New(profile(config.Hooks{Timeout: time.Second}), RunInfo{}); h != nil {
		t.Errorf("New without commands = %v, want nil", h)
	}
	h := New(profile(config.Hooks{AfterRollout: config.Hook{Shell: "true"}, BeforeSwap: config.Hook{Argv: []string{"true"}}}), RunInfo{})
	if h == nil {
		t.Fatal("New = nil")
	}
	if got := h.Configured(); !reflect.DeepEqual(got, []string{rollout.HookBeforeSwap, rollout.HookAfterRollout}) {
		t.Errorf("Configured = %v", got)
	}
	res, err := h.Run(context.Background(), rollout.HookCall{Point: rollout.HookAfterSwap, Target: web1})
	if res != nil || err != nil {
		t.Errorf("unconfigured point: %v, %v", res, err)
	}
	if _, err := h.Run(context.Background(), rollout.HookCall{Point: "before_lunch"}); err == nil {
		t.Error("an unknown point ran")
	}
	if r := NewRunner(profile(config.Hooks{}), RunInfo{}); r.timeout != config.DefaultHookTimeout {
		t.Errorf("default timeout %v", r.timeout)
	}
}

func TestIsSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"WCDEPLOY_PASSWORD": true, "WCDEPLOY_PASSWORD_FILE": true, "PGPASSWORD": true, "GITHUB_TOKEN": true,
		"AWS_SECRET_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true, "AWS_SESSION_TOKEN": true, "NPM_CONFIG__AUTH": false,
		"ARM_CLIENT_SECRET": true, "DB_PWD": true, "SMTP_PASS": true, "GPG_KEY": true, "my_api_key": true,
		"PWD": false, "OLDPWD": false, "PATH": false, "HOME": false, "SSH_AUTH_SOCK": false, "WCDEPLOY_USER": false,
		"KEY": false, "PASSENGER_ENV": false,
	} {
		if got := IsSecretName(name); got != want {
			t.Errorf("IsSecretName(%s) = %v, want %v", name, got, want)
		}
	}
}
