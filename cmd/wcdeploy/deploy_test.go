package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/golden"
	"github.com/wcdeploy/wcdeploy/internal/ui"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

const testPassword = "s3cret-Pa55word!"

// env is a fake environment for one test: a private state folder and the
// password in WCDEPLOY_PASSWORD.
type env map[string]string

func newEnv(t *testing.T) env {
	return env{
		"WCDEPLOY_PASSWORD":  testPassword,
		"WCDEPLOY_STATE_DIR": filepath.Join(t.TempDir(), "state"),
		"HOME":               t.TempDir(),
	}
}

func (e env) get(k string) string { return e[k] }

type result struct {
	code        int
	out, errOut string
}

// runCLI runs the command line as a user would, with non-terminal streams.
func runCLI(t *testing.T, e env, args ...string) result {
	t.Helper()
	s, out, errOut := ui.Test("")
	code := run(args, s, e.get)
	r := result{code, out.String(), errOut.String()}
	for _, text := range []string{r.out, r.errOut} {
		if strings.Contains(text, testPassword) {
			t.Fatalf("the password appeared in the output:\n%s", text)
		}
	}
	return r
}

// writeExe writes a real PE with the version and returns its path.
func writeExe(t *testing.T, dir, version string, seed byte) string {
	t.Helper()
	p := filepath.Join(dir, "WcDemo.exe")
	if err := sampleexe.WriteFile(p, sampleexe.Options{FileVersion: version, Size: 2 << 20, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return p
}

func authFor(f emulator.Flavor) string {
	if f == emulator.WebServer726 {
		return "ntlm" // self-hosted Kestrel validates only Negotiate/NTLM
	}
	return "basic"
}

func deployArgs(exe string, srv *emulator.Server, f emulator.Flavor, extra ...string) []string {
	return append([]string{"deploy", "--exe", exe, "--url", srv.URL(), "--flavor", f.Kind(), "--user", "deploy"}, extra...)
}

func TestDeployEveryFlavorAndCulture(t *testing.T) {
	for _, f := range []emulator.Flavor{emulator.Module714, emulator.Module715, emulator.WebServer726, emulator.ISAPI} {
		for _, culture := range []string{"en-US", "de-DE"} {
			t.Run(string(f)+"/"+culture, func(t *testing.T) {
				t.Parallel()
				srv := emulatortest.Start(t, emulator.Config{
					Flavor: f, Culture: culture, Auth: authFor(f),
					Users: map[string]string{"deploy": testPassword}, InitialVersion: "1.0.0.0",
				})
				e := newEnv(t)
				exe := writeExe(t, t.TempDir(), "1.2.3.5", 1)

				r := runCLI(t, e, deployArgs(exe, srv, f)...)
				if r.code != 0 {
					t.Fatalf("deploy: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut)
				}
				if got := srv.ExeVersion(); got != "1.2.3.5" {
					t.Fatalf("the server runs %q after the deploy", got)
				}
				if !strings.Contains(r.out, "1.2.3.5") || !strings.Contains(r.out, "1.0.0.0") {
					t.Errorf("the report does not show before and after versions:\n%s", r.out)
				}
				if srv.OnHold() {
					t.Error("the server was left on hold")
				}

				// Same version and size: nothing to do.
				uploads := countAction(srv, "uploadexe")
				r = runCLI(t, e, deployArgs(exe, srv, f)...)
				if r.code != 0 || countAction(srv, "uploadexe") != uploads {
					t.Fatalf("no-op deploy: exit %d, uploads %d -> %d\n%s%s", r.code, uploads, countAction(srv, "uploadexe"), r.out, r.errOut)
				}

				// --force redeploys.
				r = runCLI(t, e, deployArgs(exe, srv, f, "--force")...)
				if r.code != 0 || countAction(srv, "uploadexe") != uploads+1 {
					t.Fatalf("forced deploy: exit %d\n%s%s", r.code, r.out, r.errOut)
				}
			})
		}
	}
}

func countAction(srv *emulator.Server, action string) int {
	n := 0
	for _, r := range srv.Requests() {
		if strings.EqualFold(r.Action, action) || (action == "uploadexe" && strings.EqualFold(r.Action, "fileupload")) {
			n++
		}
	}
	return n
}

func TestDeployFailures(t *testing.T) {
	cases := []struct {
		name    string
		flavor  emulator.Flavor
		cfg     func(*emulator.Config)
		fault   *emulator.Fault
		args    []string
		code    int
		want    []string // substrings of stderr
		swapped bool     // the EXE must (not) have changed
		earlier string   // deploy this version first, so UpdateFile exists
	}{
		{name: "missing exe file", flavor: emulator.Module715, args: []string{"--exe", "nope/App.exe"}, code: 2, want: []string{"nope", "App.exe"}},
		{name: "wrong password", flavor: emulator.Module715, cfg: func(c *emulator.Config) { c.Users = map[string]string{"deploy": "other"} }, code: 3, want: []string{"refused the login", "AdminAccount"}},
		{name: "size limit 404.13", flavor: emulator.Module715, cfg: func(c *emulator.Config) { c.MaxRequestBytes = 1 << 20 }, code: 4, want: []string{"maxAllowedContentLength", "maxRequestLength"}},
		// Basic: under NTLM the server closes the connection on the unread body of a handshake leg,
		// so the client may see a reset instead of the page (docs/troubleshooting.md).
		{name: "size limit kestrel 500", flavor: emulator.WebServer726, cfg: func(c *emulator.Config) { c.MaxRequestBytes = 1 << 20; c.Auth = "basic" }, args: []string{"--auth", "basic"}, code: 4, want: []string{"MaxRequestBodySize"}},
		{name: "unable to save quirk", flavor: emulator.Module714, fault: &emulator.Fault{Kind: emulator.FaultUploadDeleteFails}, earlier: "1.2.3.4", code: 4, want: []string{"could not save"}},
		{name: "copy fails", flavor: emulator.Module715, fault: &emulator.Fault{Kind: emulator.FaultSwapCopy}, code: 5, want: []string{"being used by another process"}},
		{name: "login page with 200", flavor: emulator.Module715, fault: &emulator.Fault{Kind: emulator.FaultLoginPage, Action: "upload"}, code: 4, want: []string{"login"}},
		{name: "garbage upload reply", flavor: emulator.Module715, fault: &emulator.Fault{Kind: emulator.FaultRespond, Action: "upload", Status: 200, Body: []byte("\x00\xffgarbage")}, code: 4},
		{name: "reset mid-upload every time", flavor: emulator.Module715, fault: &emulator.Fault{Kind: emulator.FaultResetAfter, Action: "upload", Bytes: 100_000}, code: 4, want: []string{"upload"}},
		{name: "reset once then retried", flavor: emulator.Module715, fault: &emulator.Fault{Kind: emulator.FaultResetAfter, Action: "upload", Bytes: 100_000, Times: 1}, code: 0, swapped: true},
		{name: "swap stalls", flavor: emulator.Module715, fault: &emulator.Fault{Kind: emulator.FaultStall, Action: "swap"}, args: []string{"--swap-timeout", "1s"}, code: 5, want: []string{"1.0.0.0"}},
		{name: "verification mismatch", flavor: emulator.Module715, fault: &emulator.Fault{Kind: emulator.FaultVersionMismatch, Version: "9.9.9.9"}, code: 6, want: []string{"9.9.9.9", "1.2.3.5"}, swapped: false},
		{name: "preflight 404", flavor: emulator.Module715, fault: &emulator.Fault{Kind: emulator.FaultRespond, Action: "status", Status: 404, Body: []byte("not found")}, code: 4, want: []string{"404", "ModuleAdministration.wc", "the application's folder"}},
		// A flavor that does not fit the server: the page it sent tells which one does.
		{name: "isapi configured, module served", flavor: emulator.Module715, args: []string{"--flavor", "isapi"}, code: 4, want: []string{"this is the Web Connection .NET module", "use --flavor module"}},
		{name: "module configured, isapi served", flavor: emulator.ISAPI, args: []string{"--flavor", "module"}, code: 4, want: []string{"this is the ISAPI wc.dll", "use --flavor isapi"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := emulator.Config{Flavor: c.flavor, Auth: authFor(c.flavor), Users: map[string]string{"deploy": testPassword}, InitialVersion: "1.0.0.0"}
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			srv := emulatortest.Start(t, cfg)
			if c.earlier != "" {
				old := writeExe(t, t.TempDir(), c.earlier, 9)
				if r := runCLI(t, newEnv(t), deployArgs(old, srv, c.flavor)...); r.code != 0 {
					t.Fatalf("earlier deploy: exit %d\n%s%s", r.code, r.out, r.errOut)
				}
			}
			if c.fault != nil {
				srv.Inject(*c.fault)
			}
			e := newEnv(t)
			exe := writeExe(t, t.TempDir(), "1.2.3.5", 2)
			args := deployArgs(exe, srv, c.flavor, append([]string{"--retries", "2"}, c.args...)...)
			done := make(chan result, 1)
			go func() { done <- runCLI(t, e, args...) }()
			var r result
			select {
			case r = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("the deploy hung")
			}
			if r.code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, c.code, r.out, r.errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(r.errOut+r.out, w) {
					t.Errorf("output lacks %q:\n%s%s", w, r.out, r.errOut)
				}
			}
			if c.code != 0 && c.code != 2 && !strings.Contains(r.errOut, "web") && !strings.Contains(r.errOut, "127.0.0.1") {
				t.Errorf("the error does not name the server:\n%s", r.errOut)
			}
			if srv.OnHold() {
				t.Error("the server was left on hold")
			}
			if c.fault != nil && c.fault.Kind == emulator.FaultVersionMismatch {
				return
			}
			if got := srv.ExeVersion(); (got == "1.2.3.5") != c.swapped || (c.earlier != "" && got != c.earlier) {
				t.Errorf("server runs %s; swapped want %v", got, c.swapped)
			}
		})
	}
}

func TestDeployJSON(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: "basic", Users: map[string]string{"deploy": testPassword}, InitialVersion: "1.0.0.0"})
	e := newEnv(t)
	exe := writeExe(t, t.TempDir(), "2.0.0.1", 3)
	r := runCLI(t, e, deployArgs(exe, srv, emulator.Module715, "--json")...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	var doc struct {
		OK       bool `json:"ok"`
		ExitCode int  `json:"exit_code"`
		Exe      struct {
			Path, Version, SHA256 string
			Size                  int64
		} `json:"exe"`
		Servers []struct {
			Name, URL                 string
			VersionBefore             string `json:"version_before"`
			VersionAfter              string `json:"version_after"`
			Staged, Swapped, Verified bool
			DurationMS                int64 `json:"duration_ms"`
			Error                     string
		} `json:"servers"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.out)
	}
	if !doc.OK || doc.ExitCode != 0 || doc.Exe.Version != "2.0.0.1" || doc.Exe.Size != 2<<20 || len(doc.Exe.SHA256) != 64 {
		t.Errorf("document: %+v", doc)
	}
	if len(doc.Servers) != 1 || !doc.Servers[0].Verified || doc.Servers[0].VersionBefore != "1.0.0.0" || doc.Servers[0].VersionAfter != "2.0.0.1" {
		t.Errorf("servers: %+v", doc.Servers)
	}
}

// normalise removes what changes from run to run: ports, times, ids.
var normalisers = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	{regexp.MustCompile(`\d+(\.\d+)?(ms|s)\b`), "DUR"},
	{regexp.MustCompile(`\d{8}T\d{6}Z-[0-9a-f]+`), "RUNID"},
	{regexp.MustCompile(`/tmp/[^\s]+`), "TMP"},
}

func normalise(s string) string {
	for _, n := range normalisers {
		s = n.re.ReplaceAllString(s, n.repl)
	}
	return s
}

func TestDeployHumanOutputGolden(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: "basic", Users: map[string]string{"deploy": testPassword}, InitialVersion: "1.0.0.0"})
	e := newEnv(t)
	exe := writeExe(t, t.TempDir(), "1.2.3.5", 4)
	r := runCLI(t, e, deployArgs(exe, srv, emulator.Module715)...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	got := "== stdout\n" + normalise(r.out) + "== stderr\n" + normalise(r.errOut)
	golden.Assert(t, "deploy-one-server", []byte(got))
}

func TestDeployNeedsCredentialInCI(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: "basic", Users: map[string]string{"deploy": testPassword}})
	e := newEnv(t)
	delete(e, "WCDEPLOY_PASSWORD")
	exe := writeExe(t, t.TempDir(), "1.2.3.5", 5)
	done := make(chan result, 1)
	go func() { done <- runCLI(t, e, deployArgs(exe, srv, emulator.Module715)...) }()
	select {
	case r := <-done:
		if r.code != 3 || !strings.Contains(r.errOut, "WCDEPLOY_PASSWORD") || !strings.Contains(r.errOut, "--password-stdin") {
			t.Fatalf("exit %d\n%s", r.code, r.errOut)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hung waiting for a credential without a terminal")
	}
}

// On a terminal the progress is redrawn in place on stderr (a bar), and
// stdout still carries only the result; off a terminal there is no \r.
func TestDeployTerminalAndPlainStreams(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: "basic", Users: map[string]string{"deploy": testPassword}, InitialVersion: "1.0.0.0"})
	e := newEnv(t)
	dir := t.TempDir()
	for i, tty := range []bool{true, false} {
		exe := writeExe(t, dir, fmt.Sprintf("4.0.0.%d", i+1), byte(10+i))
		s, out, errOut := ui.Test("")
		s.ErrTTY = tty
		code := run(deployArgs(exe, srv, emulator.Module715), s, e.get)
		if code != 0 {
			t.Fatalf("tty=%v: exit %d\n%s%s", tty, code, out, errOut)
		}
		if strings.Contains(out.String(), "\r") || !strings.Contains(out.String(), fmt.Sprintf("4.0.0.%d", i+1)) {
			t.Errorf("tty=%v: stdout must hold the result only:\n%q", tty, out.String())
		}
		bar := strings.Contains(errOut.String(), "█")
		plain := strings.Contains(errOut.String(), "[1/1] ")
		redraw := strings.ContainsAny(errOut.String(), "\r\x1b")
		if bar != tty || plain == tty || (!tty && redraw) {
			t.Errorf("tty=%v: bar %v, plain lines %v, redraws %v on stderr:\n%q", tty, bar, plain, redraw, errOut.String())
		}
		if strings.Contains(out.String()+errOut.String(), testPassword) {
			t.Fatal("password in the output")
		}
	}
}

// An EXE above the default request limits is checked in preflight with a
// body-less "Expect: 100-continue" probe: a server that would refuse it
// stops the deploy before anything is uploaded; one that raised its limit
// takes the deploy.
func TestPreflightProbesTheSizeLimit(t *testing.T) {
	const size = 31_000_000
	exe := filepath.Join(t.TempDir(), "WcDemo.exe")
	if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: "5.0.0.1", Size: size}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		flavor emulator.Flavor
		auth   string
		limit  int64
		code   int
	}{
		{emulator.Module715, "basic", 0, 4},
		{emulator.Module714, "ntlm", 0, 4},
		{emulator.WebServer726, "ntlm", 0, 4},
		{emulator.Module715, "ntlm", 64 << 20, 0},
		{emulator.WebServer726, "basic", 64 << 20, 0},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/limit%d", c.flavor, c.auth, c.limit), func(t *testing.T) {
			t.Parallel()
			srv := emulatortest.Start(t, emulator.Config{Flavor: c.flavor, Auth: c.auth, MaxRequestBytes: c.limit,
				Users: map[string]string{"deploy": testPassword}, InitialVersion: "1.0.0.0"})
			r := runCLI(t, newEnv(t), deployArgs(exe, srv, c.flavor, "--auth", c.auth)...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, c.code, r.out, r.errOut)
			}
			if c.code == 0 {
				if srv.ExeVersion() != "5.0.0.1" {
					t.Errorf("runs %s", srv.ExeVersion())
				}
				return
			}
			for _, w := range []string{"preflight", "maxAllowedContentLength", "nothing was changed"} {
				if !strings.Contains(r.errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.errOut)
				}
			}
			if got := srv.BodyBytes(); got > 1<<20 {
				t.Errorf("the server received %d body bytes: the EXE was sent into a refused request", got)
			}
			if srv.ExeVersion() != "1.0.0.0" || countAction(srv, "updateexe") != 0 {
				t.Errorf("the server changed: runs %s", srv.ExeVersion())
			}
		})
	}
}
