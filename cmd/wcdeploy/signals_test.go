package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// buildBinary builds wcdeploy once per test binary: signals must reach a
// real process, with its own signal handling, not the test's.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "wcdeploy-signals-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "wcdeploy")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})

// child is a running deploy whose stderr lines are watched.
type child struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	stdout bytes.Buffer
	lines  chan string
	done   chan struct{}
}

func startDeploy(t *testing.T, args ...string) *child {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("SIGINT cannot be sent to a child process on Windows")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatalf("building wcdeploy: %v", err)
	}
	c := &child{lines: make(chan string, 1024), done: make(chan struct{})}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Env = append(os.Environ(), "WCDEPLOY_PASSWORD="+testPassword,
		"WCDEPLOY_STATE_DIR="+filepath.Join(t.TempDir(), "state"), "HOME="+t.TempDir())
	c.cmd.Stdout = &c.stdout
	pr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.cmd.Process.Kill() })
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			c.mu.Lock()
			c.stderr.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
			select {
			case c.lines <- sc.Text():
			default:
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return c
}

// waitFor returns once a stderr line contains s.
func (c *child) waitFor(t *testing.T, s string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case l := <-c.lines:
			if strings.Contains(l, s) {
				return
			}
		case <-c.done:
			t.Fatalf("wcdeploy ended before printing %q:\n%s", s, c.errText())
		case <-deadline:
			t.Fatalf("wcdeploy did not print %q within %v:\n%s", s, within, c.errText())
		}
	}
}

func (c *child) errText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// wait returns the exit code, failing the test if the process hangs.
func (c *child) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	exited := make(chan error, 1)
	go func() {
		<-c.done // all of stderr read before Wait closes the pipe
		exited <- c.cmd.Wait()
	}()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		_ = c.cmd.Process.Kill()
		t.Fatalf("wcdeploy did not exit within %v of the signal:\n%s", within, c.errText())
		return -1
	}
}

func signalServer(t *testing.T, cfg emulator.Config) *emulator.Server {
	cfg.Flavor, cfg.Auth, cfg.InitialVersion = emulator.Module715, "basic", "1.0.0.0"
	cfg.Users = map[string]string{"deploy": testPassword}
	cfg.MaxRequestBytes = 1 << 30
	return emulatortest.Start(t, cfg)
}

func TestSIGINTDuringUpload(t *testing.T) {
	srv := signalServer(t, emulator.Config{})
	// The server takes the request but reads none of the body for a long
	// time, so the upload is in flight, blocked on a full socket buffer.
	srv.Inject(emulator.Fault{Kind: emulator.FaultDelay, Action: "upload", Delay: time.Minute})
	exe := filepath.Join(t.TempDir(), "WcDemo.exe")
	if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: "1.2.3.5", Size: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	c := startDeploy(t, "deploy", "--exe", exe, "--url", srv.URL(), "--flavor", "module", "--user", "deploy")
	c.waitFor(t, "stage: uploading", 20*time.Second)
	time.Sleep(300 * time.Millisecond) // let the body fill the socket buffers
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code := c.wait(t, 10*time.Second)
	stderr := c.errText()
	t.Logf("exit %d; stderr:\n%s", code, stderr)
	if code != 130 {
		t.Errorf("exit %d after SIGINT during the upload, want 130", code)
	}
	if n := countAction(srv, "updateexe"); n != 0 {
		t.Errorf("%d swap requests after an interrupted upload", n)
	}
	if got := srv.ExeVersion(); got != "1.0.0.0" {
		t.Errorf("the server runs %s after an interrupted upload", got)
	}
	if srv.OnHold() {
		t.Error("the server was left on hold")
	}
	if strings.Contains(stderr+c.stdout.String(), testPassword) {
		t.Error("the password appeared in the output")
	}
}

func TestSIGINTDuringSwap(t *testing.T) {
	srv := signalServer(t, emulator.Config{SwapDelay: 1500 * time.Millisecond})
	exe := filepath.Join(t.TempDir(), "WcDemo.exe")
	if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: "1.2.3.5", Size: 2 << 20}); err != nil {
		t.Fatal(err)
	}
	c := startDeploy(t, "deploy", "--exe", exe, "--url", srv.URL(), "--flavor", "module", "--user", "deploy")
	c.waitFor(t, "swap", 20*time.Second)
	// The emulator logs a request when it ends, so a short wait puts the
	// signal inside the 1.5 s the swap holds requests.
	time.Sleep(400 * time.Millisecond)
	if !srv.OnHold() {
		t.Fatalf("the swap was not in flight when the signal was due:\n%s", c.errText())
	}
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code := c.wait(t, 15*time.Second)
	stderr := c.errText()
	out := c.stdout.String()
	t.Logf("exit %d; stdout:\n%s\nstderr:\n%s", code, out, stderr)
	if code != 130 {
		t.Errorf("exit %d after SIGINT during the swap, want 130", code)
	}
	if n := countAction(srv, "updateexe"); n != 1 {
		t.Errorf("%d swap requests, want exactly 1", n)
	}
	if srv.OnHold() {
		t.Error("the server was left on hold")
	}
	// The swap was awaited, not abandoned: the server runs the build and
	// the report says so.
	if got := srv.ExeVersion(); got != "1.2.3.5" {
		t.Errorf("the server runs %s; the awaited swap should have put 1.2.3.5 in", got)
	}
	if !strings.Contains(out+stderr, "1.2.3.5") {
		t.Errorf("the output does not report what the server runs now")
	}
	if strings.Contains(stderr+out, testPassword) {
		t.Error("the password appeared in the output")
	}
}
