package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/internal/ui"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
)

// A panic in a rollout worker (here: building a server's client during
// preflight) is a bug too: exit 1 and the report line, not a crash with
// Go's exit 2; with -v the worker's own stack is shown.
func TestWorkerPanicExitsOne(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: "basic",
		Users: map[string]string{"deploy": testPassword}, InitialVersion: "1.0.0.0"})
	exe := writeExe(t, t.TempDir(), "1.2.3.5", 1)
	s, out, errOut := ui.Test("")
	e := newEnv(t)
	e["WCDEPLOY_PASSWORD"] = testPassword
	d := systemDeps(s, e.get)
	d.newClient = func(string, transport.Options) (*http.Client, error) { panic("a client could not be built") }
	code := execute(t.Context(), deployArgs(exe, srv, emulator.Module715, "-v"), d)
	text := errOut.String()
	if code != int(exitcode.Unexpected) || !strings.Contains(text, "a client could not be built") ||
		!strings.Contains(text, "This is a bug in wcdeploy") || !strings.Contains(text, "lifecycle_test.go") {
		t.Errorf("exit %d, stderr:\n%s\nstdout:\n%s", code, text, out)
	}
	if strings.Contains(text, testPassword) {
		t.Error("the password is in the output")
	}
}

// A panic is a bug in wcdeploy: exit 1 (not Go's 2, which means a
// configuration error), one short line, and the stack only with -v.
func TestPanicExitsOneAndAsksForAReport(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		s, out, errOut := ui.Test("")
		// history reads the environment for the journal folder first.
		d := systemDeps(s, func(string) string { panic("the environment broke") })
		args := []string{"history"}
		if verbose {
			args = append(args, "-v")
		}
		code := execute(t.Context(), args, d)
		if code != int(exitcode.Unexpected) {
			t.Errorf("verbose=%v: exit %d after a panic, want 1", verbose, code)
		}
		text := errOut.String()
		if !strings.Contains(text, "the environment broke") || !strings.Contains(text, "This is a bug in wcdeploy, please report it") {
			t.Errorf("verbose=%v: stderr does not say it is a bug:\n%s", verbose, text)
		}
		if stack := strings.Contains(text, "goroutine ") && strings.Contains(text, "lifecycle_test.go"); stack != verbose {
			t.Errorf("verbose=%v: stack trace printed = %v:\n%s", verbose, stack, text)
		}
		if out.Len() != 0 {
			t.Errorf("verbose=%v: stdout %q", verbose, out)
		}
	}
}

// Every command that talks to a server ends with 130 when the context
// run makes is cancelled (as Ctrl-C cancels it), even while the server
// has not answered yet.
func TestCommandsHonourInterrupt(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: "basic", Users: map[string]string{"deploy": testPassword}, InitialVersion: "1.0.0.0"})
	srv.Inject(emulator.Fault{Kind: emulator.FaultDelay, Action: "status", Delay: time.Minute})
	exe := writeExe(t, t.TempDir(), "1.2.3.5", 6)
	server := []string{"--url", srv.URL(), "--flavor", "module", "--user", "deploy"}
	for _, args := range [][]string{
		append([]string{"status"}, server...),
		append([]string{"login", "--password-stdin"}, server...),
		append([]string{"doctor"}, server...),
		append([]string{"deploy", "--exe", exe}, server...),
	} {
		t.Run(args[0], func(t *testing.T) {
			e := newEnv(t)
			s, out, errOut := ui.Test(testPassword + "\n")
			d := systemDeps(s, e.get)
			d.keyring = &memKeyring{entries: map[string]string{}}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan int, 1)
			go func() { done <- execute(ctx, args, d) }()
			time.Sleep(200 * time.Millisecond) // usually inside the delayed request
			cancel()
			select {
			case code := <-done:
				if code != int(exitcode.Interrupted) {
					t.Errorf("exit %d after the interrupt, want 130\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("%s did not end after the interrupt:\n%s", args[0], errOut)
			}
			if strings.Contains(out.String()+errOut.String(), testPassword) {
				t.Error("the password appeared in the output")
			}
		})
	}
}

// The HTTP client factory is a dependency: status asks it for one client
// per server, with the profile's user and the password from the
// environment.
func TestStatusBuildsClientsThroughTheFactory(t *testing.T) {
	f := startFleet(t, 2, "parallel: 2", nil)
	e := newEnv(t)
	s, out, errOut := ui.Test("")
	d := systemDeps(s, e.get)
	var mu sync.Mutex
	asked := map[string]transport.Options{}
	d.newClient = func(u string, o transport.Options) (*http.Client, error) {
		mu.Lock()
		asked[u] = o
		mu.Unlock()
		return transport.New(u, o)
	}
	if code := execute(t.Context(), []string{"--config", f.config, "status", "--json"}, d); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if len(asked) != 2 {
		t.Fatalf("clients built for %v, want the 2 servers", asked)
	}
	for _, srv := range f.servers {
		o, ok := asked[srv.URL()]
		if !ok || o.User != "deploy" || o.Password != testPassword || o.Guard == nil {
			t.Errorf("client for %s: built %v, user %q, password from the environment %v, guard %v", srv.URL(), ok, o.User, o.Password == testPassword, o.Guard != nil)
		}
	}
}
