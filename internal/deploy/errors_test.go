package deploy_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// TestReadBuildUnusableEXE: an EXE that is text, empty or truncated is a
// configuration error (2) whose message names the next step.
func TestReadBuildUnusableEXE(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.exe")
	if err := sampleexe.WriteFile(good, sampleexe.Options{FileVersion: "1.2.3.5"}); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"lfs.exe":    []byte("version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146\nsize 2340000\n"),
		"empty.exe":  nil,
		"cut.exe":    whole[:len(whole)/3],
		"random.exe": bytes.Repeat([]byte{0x8f, 0x03, 0xe1, 0x00}, 4096),
	}
	want := map[string]string{
		"lfs.exe":    "is a text file, not a Windows executable (a Git LFS pointer that was never fetched",
		"empty.exe":  "is empty (0 bytes): the build or the copy that made it failed; rebuild it",
		"cut.exe":    "is truncated or damaged (an interrupted copy or download?): rebuild it or copy it again",
		"random.exe": "not a Windows executable (no PE header); check that 'exe' in the profile or --exe points to the built server EXE",
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := deploy.ReadBuild(config.Profile{Exe: path}, "")
		if err == nil || exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), want[name]) {
			t.Errorf("%s: %v (code %d), want %q", name, err, exitcode.Of(err), want[name])
		}
		if err != nil && strings.Count(err.Error(), path) != 1 {
			t.Errorf("%s: the message names the file %d times: %v", name, strings.Count(err.Error(), path), err)
		}
	}
}

// TestStatusPageErrors: a status page slower than timeouts.status names the
// setting to raise; one answering 500 gets advice.
func TestStatusPageErrors(t *testing.T) {
	f := newFarm(t, 1, 2<<20, nil)
	steps, err := deploy.New(deploy.Options{
		Build: f.plan.Build,
		Client: func(t rollout.Target) (*http.Client, error) {
			return transport.New(t.URL, transport.Options{Auth: "basic", User: "deploy", Password: password})
		},
		SwapTimeout:   time.Second,
		StatusTimeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	tg := f.plan.Targets[0]
	f.servers[0].Inject(emulator.Fault{Kind: emulator.FaultDelay, Action: "status", Delay: time.Second, Times: 1})
	_, err = steps.Preflight(context.Background(), tg)
	if err == nil || !strings.Contains(err.Error(), "did not answer within timeouts.status (200ms)") || !strings.Contains(err.Error(), "raise timeouts.status") {
		t.Errorf("slow status page: %v", err)
	}
	f.servers[0].Inject(emulator.Fault{Kind: emulator.FaultRespond, Action: "status", Status: 500, Times: 1})
	_, err = steps.Preflight(context.Background(), tg)
	if err == nil || !strings.Contains(err.Error(), "the status page answered 500") || !strings.Contains(err.Error(), "then run 'wcdeploy doctor'") {
		t.Errorf("status page 500: %v", err)
	}
}
