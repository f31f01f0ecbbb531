// Package demo runs 'wcdeploy demo': three emulated Web Connection servers on
// loopback and three deploys of sample EXEs through the real deploy code.
package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// The demo's throwaway account on its emulated servers.
const (
	User     = "deploy"
	Password = "demo-only-password"
)

// Defaults of the demo command's flags.
const (
	DefaultSwapDelay = time.Second
	DefaultSize      = 12 << 20
)

type server struct {
	name    string
	flavor  emulator.Flavor
	culture string
	auth    string
}

// farm is the demo's servers: both module versions (one German, with NTLM)
// and the Web Connection Web Server.
func farm() []server {
	return []server{
		{"web1", emulator.Module715, "en-US", "basic"},
		{"web2", emulator.Module714, "de-DE", "ntlm"},
		{"web3", emulator.WebServer726, "en-US", "ntlm"},
	}
}

// Options configure one demo.
type Options struct {
	SwapDelay time.Duration // how long each emulated swap holds requests
	Size      int64         // size of the sample EXEs
	Keep      bool          // keep the demo folder and say where it is
	// Getenv is the caller's environment; the demo's deploys see their own.
	Getenv func(string) string
	// Logf writes a progress line.
	Logf func(format string, args ...any)
	// Deploy runs 'wcdeploy deploy' with the config file and environment given.
	Deploy func(ctx context.Context, configFile string, getenv func(string) string) error
}

// Run starts the farm, deploys 1.2.3.4, then 1.2.3.5, then 1.2.3.5 again
// (which changes nothing), and stops the farm.
func Run(ctx context.Context, o Options) error {
	dir, err := os.MkdirTemp("", "wcdeploy-demo-")
	if err != nil {
		return fmt.Errorf("creating the demo folder: %w", err)
	}
	if o.Keep {
		o.Logf("demo folder: %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	servers, stop, err := startFarm(dir, o)
	defer stop()
	if err != nil {
		return err
	}
	cfgPath, err := writeConfig(dir, servers)
	if err != nil {
		return err
	}
	getenv := environment(dir, o.Getenv)
	exe := filepath.Join(dir, "build", "WcDemo.exe")
	runs := []struct{ version, say string }{
		{"1.2.3.4", "build 1.2.3.4: deploying %s (%d bytes) to %d servers"},
		{"1.2.3.5", "build 1.2.3.5: deploying %s (%d bytes) to %d servers"},
		{"", "deploying 1.2.3.5 again to %[3]d servers: every one already runs it, so nothing is changed"},
	}
	for i, r := range runs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if r.version != "" {
			so := sampleexe.Options{FileVersion: r.version, Size: o.Size, Seed: byte(i + 1), Description: "Web Connection demo server"}
			if err := sampleexe.WriteFile(exe, so); err != nil {
				return fmt.Errorf("writing the sample EXE: %w", err)
			}
		}
		o.Logf("\n== "+r.say, exe, o.Size, len(servers))
		if err := o.Deploy(ctx, cfgPath, getenv); err != nil {
			return err
		}
	}
	o.Logf("\nThe demo used the same code as 'wcdeploy deploy'. Try it against one emulated server:\n  wcdeploy emulate --user deploy:secret   (then, in another terminal)\n  wcdeploy sample-exe --file-version 1.2.0.0 App.exe\n  WCDEPLOY_PASSWORD=secret wcdeploy deploy --exe App.exe --url http://127.0.0.1:8080/ --flavor module --user deploy")
	return nil
}

// startFarm starts the emulated servers and returns their config lines;
// stop closes every server started, also after an error.
func startFarm(dir string, o Options) (lines []string, stop func(), err error) {
	var started []*emulator.Server
	stop = func() {
		for _, s := range started {
			s.Close()
		}
	}
	for _, d := range farm() {
		srv, err := emulator.New(emulator.Config{
			Flavor:         d.flavor,
			Users:          map[string]string{User: Password},
			Auth:           d.auth,
			Dir:            filepath.Join(dir, d.name),
			ExeName:        "WcDemo.exe",
			InitialVersion: "1.0.0.0",
			SwapDelay:      o.SwapDelay,
			Culture:        d.culture,
		})
		if err != nil {
			return nil, stop, fmt.Errorf("starting emulated server %s: %w", d.name, err)
		}
		started = append(started, srv)
		if err := srv.Start("127.0.0.1:0"); err != nil {
			return nil, stop, fmt.Errorf("starting emulated server %s: %w", d.name, err)
		}
		o.Logf("emulated %-5s %-15s %-6s auth=%-5s %s", d.name, d.flavor, d.culture, d.auth, srv.URL())
		lines = append(lines, fmt.Sprintf("      - {name: %s, url: %q, flavor: %s}", d.name, srv.URL(), d.flavor.Kind()))
	}
	return lines, stop, nil
}

func writeConfig(dir string, servers []string) (string, error) {
	cfgPath := filepath.Join(dir, "wcdeploy.yaml")
	cfg := fmt.Sprintf(`# written by 'wcdeploy demo'
default_profile: demo
profiles:
  demo:
    exe: build/WcDemo.exe
    username: %s
    timeouts: {swap: 30s}
    rollout: {parallel: 2, canary: 1, health: [{url: "default.wc", status: 200, contains: "WcDemo"}]}
    servers:
%s
`, User, strings.Join(servers, "\n"))
	if err := os.MkdirAll(filepath.Join(dir, "build"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return "", err
	}
	return cfgPath, nil
}

// environment keeps the demo's password and journal inside the demo, and
// hides the caller's own WCDEPLOY_* settings from it.
func environment(dir string, parent func(string) string) func(string) string {
	return func(k string) string {
		switch k {
		case "WCDEPLOY_PASSWORD":
			return Password
		case "WCDEPLOY_STATE_DIR":
			return filepath.Join(dir, "state")
		}
		if strings.HasPrefix(k, "WCDEPLOY_") {
			return ""
		}
		return parent(k)
	}
}
