package main

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/ui"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
)

// requestLine is one -v line: server, method, link, status, bytes, time, auth.
var requestLine = regexp.MustCompile(`^request (\S+): (GET|POST|HEAD) (/\S*) -> (\d{3}), (\d+) B sent, (\d+) B received, (\d[^,]*s), (none|Basic|NTLM [13]/3|Negotiate NTLM [13]/3)( \(answer: [^)]+\))?$`)

// TestVerboseShowsEveryRequest: deploy, status and doctor with -v print one
// line per request the server saw, with its fields, in both auth flavors,
// and neither the password nor an Authorization value.
func TestVerboseShowsEveryRequest(t *testing.T) {
	for _, f := range []emulator.Flavor{emulator.Module715, emulator.WebServer726} {
		t.Run(authFor(f), func(t *testing.T) {
			srv := emulatortest.Start(t, emulator.Config{Flavor: f, Auth: authFor(f),
				Users: map[string]string{"deploy": testPassword}, InitialVersion: "1.0.0.0"})
			e := newEnv(t)
			exe := writeExe(t, t.TempDir(), "1.2.3.6", 3)
			target := []string{"--url", srv.URL(), "--flavor", f.Kind(), "--user", "deploy"}
			for _, args := range [][]string{
				append([]string{"deploy", "-v", "--exe", exe}, target...),
				append([]string{"status", "-v"}, target...),
				append([]string{"doctor", "-v", "--exe", exe}, target...),
			} {
				before := len(srv.Requests())
				r := runCLI(t, e, args...)
				if r.code != 0 {
					t.Fatalf("%v: exit %d\n%s%s", args, r.code, r.out, r.errOut)
				}
				checkRequestLines(t, args[0], r.errOut, serverSaw(t, srv, before, len(requestLines(r.errOut))))
			}
			if got := srv.ExeVersion(); got != "1.2.3.6" {
				t.Errorf("the server runs %s", got)
			}
		})
	}
}

// serverSaw is "METHOD path status" of each request the emulator logged
// after the first before ones (it logs each just after answering).
func serverSaw(t *testing.T, srv *emulator.Server, before, want int) []string {
	t.Helper()
	reqs := srv.Requests()[before:]
	for end := time.Now().Add(5 * time.Second); len(reqs) < want && time.Now().Before(end); reqs = srv.Requests()[before:] {
		time.Sleep(5 * time.Millisecond)
	}
	var saw []string
	for _, q := range reqs {
		saw = append(saw, fmt.Sprintf("%s %s %d", q.Method, q.Path, q.Status))
	}
	return saw
}

func checkRequestLines(t *testing.T, cmd, errOut string, saw []string) {
	t.Helper()
	basic := base64.StdEncoding.EncodeToString([]byte("deploy:" + testPassword))
	if strings.Contains(errOut, basic) || strings.Contains(errOut, "TlRMTVNT") || strings.Contains(errOut, "Authorization") {
		t.Errorf("%s -v: an Authorization value on stderr:\n%s", cmd, errOut)
	}
	var got []string
	auth := map[string]bool{}
	for _, line := range requestLines(errOut) {
		m := requestLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("%s -v: line %q lacks a field", cmd, line)
			continue
		}
		path, _, _ := strings.Cut(m[3], "?")
		got = append(got, fmt.Sprintf("%s %s %s", m[2], path, m[4]))
		auth[m[8]] = true
	}
	sort.Strings(got)
	sort.Strings(saw)
	if strings.Join(got, "\n") != strings.Join(saw, "\n") || len(got) == 0 {
		t.Errorf("%s -v printed these requests:\n%s\nthe server saw:\n%s\nstderr:\n%s", cmd, strings.Join(got, "\n"), strings.Join(saw, "\n"), errOut)
	}
	if !auth["Basic"] && !auth["NTLM 3/3"] && !auth["Negotiate NTLM 3/3"] {
		t.Errorf("%s -v: no line shows the login leg (%v):\n%s", cmd, auth, errOut)
	}
}

func requestLines(errOut string) []string {
	var lines []string
	for _, line := range strings.Split(errOut, "\n") {
		if strings.HasPrefix(line, "request ") {
			lines = append(lines, line)
		}
	}
	return lines
}

// TestVerboseFleetOnTerminal: with -v on a terminal, servers deployed in
// parallel print whole request lines named after each server, and progress
// is not redrawn in place (it would tear the request lines apart).
func TestVerboseFleetOnTerminal(t *testing.T) {
	f := startFleet(t, 3, "parallel: 3, canary: 0", nil)
	e := newEnv(t)
	s, out, errOut := ui.Test("")
	s.ErrTTY = true
	if code := run([]string{"--config", f.config, "deploy", "-v"}, s, e.get); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut.String(), "] web01: preflight:") || strings.Contains(errOut.String(), "\x1b[") {
		t.Errorf("-v on a terminal: progress must come in plain lines:\n%q", errOut)
	}
	if strings.Contains(errOut.String(), testPassword) {
		t.Errorf("the password on stderr:\n%s", errOut)
	}
	for i, srv := range f.servers {
		var mine []string
		for _, line := range requestLines(errOut.String()) {
			if strings.HasPrefix(line, "request "+f.names[i]+": ") {
				mine = append(mine, line)
			}
		}
		checkRequestLines(t, f.names[i], strings.Join(mine, "\n"), serverSaw(t, srv, 0, len(mine)))
	}
}
