package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

func init() { extraCommands = append(extraCommands, newDemoCmd) }

// The demo's throwaway account on its emulated servers.
const (
	demoUser     = "deploy"
	demoPassword = "demo-only-password"
)

type demoServer struct {
	name    string
	flavor  emulator.Flavor
	culture string
	auth    string
}

var demoFarm = []demoServer{
	{"web1", emulator.Module715, "en-US", "basic"},
	{"web2", emulator.Module714, "de-DE", "ntlm"},
	{"web3", emulator.WebServer726, "en-US", "ntlm"},
}

func newDemoCmd(a *app) *cobra.Command {
	var swapDelay time.Duration
	var size int64
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Deploy sample EXEs to emulated Web Connection servers on loopback",
		Long: `demo starts three emulated Web Connection servers on loopback (IIS module 7.15,
IIS module 7.14 with a German server culture and NTLM, Web Connection Web Server 7.26),
then deploys a sample EXE (version 1.2.3.4) and a newer one (1.2.3.5) with the same
code path as 'wcdeploy deploy', and shows what each server runs. It needs no network,
no config file and no Windows.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return a.runDemo(ctx, swapDelay, size, keep)
		},
	}
	cmd.Flags().DurationVar(&swapDelay, "swap-delay", time.Second, "how long each emulated swap holds requests (real servers: 3s)")
	cmd.Flags().Int64Var(&size, "size", 12<<20, "size of the sample EXEs in bytes")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo folder (config, EXEs, journal) and print its path")
	return cmd
}

func (a *app) runDemo(ctx context.Context, swapDelay time.Duration, size int64, keep bool) error {
	dir, err := os.MkdirTemp("", "wcdeploy-demo-")
	if err != nil {
		return fmt.Errorf("creating the demo folder: %w", err)
	}
	if keep {
		a.logf("demo folder: %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	var servers []string
	for _, d := range demoFarm {
		srv, err := emulator.New(emulator.Config{
			Flavor:         d.flavor,
			Users:          map[string]string{demoUser: demoPassword},
			Auth:           d.auth,
			Dir:            filepath.Join(dir, d.name),
			ExeName:        "WcDemo.exe",
			InitialVersion: "1.0.0.0",
			SwapDelay:      swapDelay,
			Culture:        d.culture,
		})
		if err != nil {
			return fmt.Errorf("starting emulated server %s: %w", d.name, err)
		}
		if err := srv.Start("127.0.0.1:0"); err != nil {
			return fmt.Errorf("starting emulated server %s: %w", d.name, err)
		}
		defer srv.Close()
		a.logf("emulated %-5s %-15s %-6s auth=%-5s %s", d.name, d.flavor, d.culture, d.auth, srv.URL())
		servers = append(servers, fmt.Sprintf("      - {name: %s, url: %q, flavor: %s}", d.name, srv.URL(), d.flavor.Kind()))
	}

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
`, demoUser, strings.Join(servers, "\n"))
	if err := os.MkdirAll(filepath.Join(dir, "build"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}

	// The demo's password and journal stay inside the demo.
	parentEnv := a.getenv
	a.getenv = func(k string) string {
		switch k {
		case "WCDEPLOY_PASSWORD":
			return demoPassword
		case "WCDEPLOY_STATE_DIR":
			return filepath.Join(dir, "state")
		}
		if strings.HasPrefix(k, "WCDEPLOY_") {
			return ""
		}
		return parentEnv(k)
	}
	defer func() { a.getenv = parentEnv }()

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
			o := sampleexe.Options{FileVersion: r.version, Size: size, Seed: byte(i + 1), Description: "Web Connection demo server"}
			if err := sampleexe.WriteFile(exe, o); err != nil {
				return fmt.Errorf("writing the sample EXE: %w", err)
			}
		}
		a.logf("\n== "+r.say, exe, size, len(demoFarm))
		loaded, err := config.Load(config.Options{ConfigPath: cfgPath, Getenv: a.getenv, NeedExe: true})
		if err != nil {
			return err
		}
		if err := a.runDeploy(ctx, loaded, &deployOpts{}); err != nil {
			return err
		}
	}
	a.logf("\nThe demo used the same code as 'wcdeploy deploy'. Try it against one emulated server:\n  wcdeploy emulate --user deploy:secret   (then, in another terminal)\n  wcdeploy sample-exe --file-version 1.2.0.0 App.exe\n  WCDEPLOY_PASSWORD=secret wcdeploy deploy --exe App.exe --url http://127.0.0.1:8080/ --flavor module --user deploy")
	return nil
}
