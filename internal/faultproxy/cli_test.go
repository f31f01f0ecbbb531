package faultproxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/faultproxy"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// TestCLIUploadStall runs the real wcdeploy binary against an emulated
// server whose upload reply stalls after its headers: the process ends in
// bounded time with exit 4, the message names the server, the phase and the
// setting, stdout is one JSON document, and the server runs the old build.
func TestCLIUploadStall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wcdeploy binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build wcdeploy with")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "wcdeploy")
	build := exec.Command(goTool, "build", "-o", bin, "github.com/wcdeploy/wcdeploy/cmd/wcdeploy")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exe := filepath.Join(dir, "App.exe")
	if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: "2.0.0.0", Size: 2 << 20}); err != nil {
		t.Fatal(err)
	}
	em := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: emulator.AuthBasic, Users: map[string]string{"deploy": "Pa55-word"}, InitialVersion: "1.0.0.0"})
	px := faultproxy.Start(t, em.URL(), faultproxy.Rule{Path: "UploadExe", Mode: faultproxy.StallBody})

	const timeout = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang fails this test, not the suite
	defer cancel()
	// Until cmd passes timeouts.response to transport.Options.ProgressTimeout,
	// the progress allowance is the header wait, max(response, swap): both
	// are set alike here.
	cmd := exec.CommandContext(ctx, bin, "deploy", "--exe", exe, "--url", px.URL(), "--flavor", "module", "--user", "deploy", "--auth", "basic",
		"--response-timeout", timeout.String(), "--swap-timeout", timeout.String(), "--retries", "0", "--json")
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "WCDEPLOY_STATE_DIR=" + filepath.Join(dir, "state"), "WCDEPLOY_PASSWORD=Pa55-word", "PATH=" + os.Getenv("PATH")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 4 {
		t.Fatalf("wcdeploy: %v, want exit 4\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if bound := 20 * timeout; took > bound {
		t.Errorf("wcdeploy took %s, want under %s", took, bound)
	}
	var doc struct {
		ExitCode int `json:"exit_code"`
		Servers  []struct {
			Error   string `json:"error"`
			Swapped bool   `json:"swapped"`
		} `json:"servers"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || len(doc.Servers) != 1 {
		t.Fatalf("stdout is not the one JSON report (%v):\n%s", err, stdout.String())
	}
	msg := doc.Servers[0].Error
	for _, w := range []string{px.Addr(), "the upload request", "timeouts.response"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
	if doc.ExitCode != 4 || doc.Servers[0].Swapped || em.ExeVersion() != "1.0.0.0" || em.OnHold() {
		t.Errorf("exit %d swapped %v, server runs %s on hold %v: want 4, nothing swapped, 1.0.0.0", doc.ExitCode, doc.Servers[0].Swapped, em.ExeVersion(), em.OnHold())
	}
	if strings.Contains(stdout.String()+stderr.String(), "Pa55-word") {
		t.Error("the password is in the output")
	}
	t.Logf("exit 4 after %s: %s", took, msg)
}
