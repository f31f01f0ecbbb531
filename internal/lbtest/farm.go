package lbtest

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/hooks"
	"github.com/wcdeploy/wcdeploy/internal/peversion"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// The farm's deploy user, and the versions it deploys.
const (
	User       = "deploy"
	Password   = "lab-Pa55word!"
	OldVersion = "1.0.0.0"
	NewVersion = "2.0.0.0"
	RunID      = "20261201T100000Z-1ab2c3"
)

// Farm is n emulated module servers behind one HAProxy. Each server's url
// reaches its node directly (as the admin links must); the users go
// through the balancer.
type Farm struct {
	Dir     string // the project folder: the hooks run here
	Lab     *Lab
	Servers []*emulator.Server
	Build   rollout.Build
	Profile config.Profile
}

// NewFarm starts n emulators holding requests for swapDelay during a swap,
// and the balancer in front of them.
func NewFarm(dir string, n int, swapDelay time.Duration) (*Farm, error) {
	f := &Farm{Dir: dir, Profile: config.Profile{Name: "lab"}}
	exe := filepath.Join(dir, "WcDemo.exe")
	if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: NewVersion, Size: 2 << 20, Seed: 13}); err != nil {
		return nil, err
	}
	info, err := peversion.ReadFile(exe)
	if err != nil {
		return nil, err
	}
	f.Build = rollout.Build{Path: exe, Version: info.FileVersion, Size: info.Size, SHA256: info.SHA256}
	var backends []Backend
	for i := range n {
		srv, err := emulator.New(emulator.Config{Flavor: emulator.Module715, Auth: emulator.AuthBasic,
			Users: map[string]string{User: Password}, InitialVersion: OldVersion, SwapDelay: swapDelay,
			Dir: filepath.Join(dir, fmt.Sprintf("node%d", i+1))})
		if err == nil {
			err = srv.Start("127.0.0.1:0")
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		f.Servers = append(f.Servers, srv)
		name := fmt.Sprintf("web%d", i+1)
		up, upd, st, err := config.DeriveURLs(config.FlavorModule, srv.URL())
		if err != nil {
			f.Close()
			return nil, err
		}
		f.Profile.Servers = append(f.Profile.Servers, config.Server{Name: name, URL: srv.URL(), Flavor: config.FlavorModule,
			UploadURL: up, UpdateURL: upd, StatusURL: st, Vars: map[string]string{"lb_server": "be/" + name}})
		u, _ := url.Parse(srv.URL())
		backends = append(backends, Backend{Name: name, Addr: u.Host})
	}
	if f.Lab, err = Start(filepath.Join(dir, "lb"), backends, "LBLAB_CHECK_PATH=/default.wc"); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Close stops the balancer and the emulators.
func (f *Farm) Close() {
	if f.Lab != nil {
		_ = f.Lab.Close()
	}
	for _, s := range f.Servers {
		_ = s.Close()
	}
}

// DrainHooks are the hooks of docs/rollouts.md's HAProxy recipe: drain the
// server before its swap, put it back after its verification. Each hook
// also keeps its environment in hook-env/<server>.<phase>, for the tests.
func DrainHooks(root string) config.Hooks {
	hook := filepath.Join(root, "scripts", "haproxy-hook.sh")
	return config.Hooks{
		BeforeSwap: config.Hook{Shell: `env > "hook-env/$WCDEPLOY_SERVER.$WCDEPLOY_PHASE" && "` + hook + `" drain`},
		AfterSwap:  config.Hook{Argv: []string{hook, "ready"}},
		Timeout:    60 * time.Second,
	}
}

// labHealth is the health check of the lab's rollouts: until the node
// answers its page again after the swap.
var labHealth = config.Health{URL: "default.wc", Status: http.StatusOK, Timeout: 5 * time.Second, Retries: 10, Interval: 200 * time.Millisecond}

// Result is one rollout under traffic.
type Result struct {
	Report  *rollout.Report
	Traffic TrafficResult
	Wall    time.Duration // the rollout's wall time
}

// Rollout deploys the build over the farm (parallel 1, canary 1, a health
// check) while rate requests a second go through the balancer. h are the
// hooks (zero: none); they see wcdeploy's environment, WCDEPLOY_PASSWORD
// included, as in CI, and must not get it.
func (f *Farm) Rollout(ctx context.Context, h config.Hooks, rate int, obs rollout.Observer) (*Result, error) {
	if err := os.MkdirAll(filepath.Join(f.Dir, "hook-env"), 0o755); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := f.Lab.WaitUp(wctx); err != nil {
		return nil, err
	}
	p := f.Profile
	p.Rollout.Hooks = h
	health := []config.Health{labHealth}
	steps, err := deploy.New(deploy.Options{
		Build: f.Build,
		Client: func(t rollout.Target) (*http.Client, error) {
			return transport.New(t.URL, transport.Options{Auth: transport.AuthBasic, User: User, Password: Password})
		},
		Retries: 1, Backoff: 50 * time.Millisecond, SwapTimeout: 60 * time.Second, StatusTimeout: 10 * time.Second, Health: health,
	})
	if err != nil {
		return nil, err
	}
	plan := rollout.Plan{Build: f.Build, Targets: deploy.Targets(p), Parallel: 1, Canary: 1,
		InterruptGrace: 30 * time.Second}
	plan.Hooks = hooks.New(p, hooks.RunInfo{
		Dir: f.Dir, RunID: RunID, Version: f.Build.Version,
		Environ: append(os.Environ(), "HAPROXY_SOCKET="+f.Lab.Socket, config.EnvPrefix+"PASSWORD="+Password),
		Secrets: []string{Password},
	})
	traffic := StartTraffic(f.Lab.URL+"default.wc", rate)
	// A moment of traffic before and after, as users do not stop.
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	rep := rollout.Run(ctx, plan, steps, obs)
	wall := time.Since(start)
	time.Sleep(500 * time.Millisecond)
	return &Result{Report: rep, Traffic: traffic.Stop(), Wall: wall}, nil
}

// WriteConfig writes the farm's wcdeploy.yaml into its folder, for a
// rollout through the wcdeploy command: the rollout of Rollout (parallel
// 1, canary 1, the same health check) with hooks h, each server's url
// reaching its node and its vars. It returns the file's path. The
// password is not in it: the command is given it on stdin.
func (f *Farm) WriteConfig(h config.Hooks) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "default_profile: %s\nprofiles:\n  %s:\n", f.Profile.Name, f.Profile.Name)
	fmt.Fprintf(&b, "    exe: %q\n    username: %s\n    auth: basic\n    flavor: module\n    retries: 1\n", f.Build.Path, User)
	b.WriteString("    timeouts: {swap: 60s, status: 10s}\n")
	b.WriteString("    rollout:\n      parallel: 1\n      canary: 1\n")
	hc := labHealth
	fmt.Fprintf(&b, "      health: [{url: %q, status: %d, timeout: %s, retries: %d, interval: %s}]\n", hc.URL, hc.Status, hc.Timeout, hc.Retries, hc.Interval)
	if hy := hooksYAML(h); hy != "" {
		b.WriteString("      hooks: " + hy + "\n")
	}
	b.WriteString("    servers:\n")
	for _, s := range f.Profile.Servers {
		fmt.Fprintf(&b, "      - {name: %s, url: %q, vars: {", s.Name, s.URL)
		for i, k := range slices.Sorted(maps.Keys(s.Vars)) {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s: %q", k, s.Vars[k])
		}
		b.WriteString("}}\n")
	}
	p := filepath.Join(f.Dir, config.FileName)
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	return p, os.MkdirAll(filepath.Join(f.Dir, "hook-env"), 0o755)
}

// hooksYAML is rollout.hooks as a YAML flow mapping ("" without hooks).
func hooksYAML(h config.Hooks) string {
	var parts []string
	for _, k := range config.HookKeys {
		p := h.Point(k)
		switch {
		case p.Shell != "":
			parts = append(parts, fmt.Sprintf("%s: %q", k, p.Shell))
		case len(p.Argv) > 0:
			quoted := make([]string, len(p.Argv))
			for i, a := range p.Argv {
				quoted[i] = strconv.Quote(a)
			}
			parts = append(parts, fmt.Sprintf("%s: [%s]", k, strings.Join(quoted, ", ")))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	if h.Timeout > 0 {
		parts = append(parts, "timeout: "+h.Timeout.String())
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
