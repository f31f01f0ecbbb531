package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

func TestStatusCurrentBehindUnreachable(t *testing.T) {
	f := startFleet(t, 3, "parallel: 2, canary: 1, max_failures: 0", nil)
	e := newEnv(t)
	if r := f.run(t, e, "deploy", "--server", "web01"); r.code != 0 {
		t.Fatalf("deploy web01: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	if err := f.servers[2].Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("json", func(t *testing.T) {
		r := f.run(t, e, "status", "--json")
		if r.code != 4 {
			t.Fatalf("exit %d, want 4 (a server could not be reached)\n%s%s", r.code, r.out, r.errOut)
		}
		var doc struct {
			Local struct {
				FileVersion string `json:"file_version"`
			} `json:"local"`
			Servers []struct {
				Name, URL, Running, State, Error string
			} `json:"servers"`
		}
		if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
			t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.out)
		}
		if doc.Local.FileVersion != newVersion {
			t.Errorf("local version %q", doc.Local.FileVersion)
		}
		want := []struct{ name, running, state string }{
			{"web01", newVersion, "current"},
			{"web02", oldVersion, "behind"},
			{"web03", "", "unreachable"},
		}
		if len(doc.Servers) != len(want) {
			t.Fatalf("servers: %+v", doc.Servers)
		}
		for i, w := range want {
			s := doc.Servers[i]
			if s.Name != w.name || s.Running != w.running || s.State != w.state || (s.Error != "") != (w.state == "unreachable") {
				t.Errorf("server %d: %+v, want %+v", i, s, w)
			}
		}
		if !strings.Contains(r.errOut, "web03") {
			t.Errorf("stderr does not name the unreachable server:\n%s", r.errOut)
		}
	})

	t.Run("table", func(t *testing.T) {
		r := f.run(t, e, "status")
		if r.code != 4 {
			t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
		}
		for _, re := range []string{
			`(?m)^local EXE .*WcDemo\.exe: 2\.0\.0\.0 \(\d+ bytes\)$`,
			`(?m)^SERVER\s+RUNNING\s+SINCE\s+STATE\s+ERROR$`,
			`(?m)^web01\s+2\.0\.0\.0\s+.+\s+current\s*$`,
			`(?m)^web02\s+1\.0\.0\.0\s+.+\s+behind\s*$`,
			`(?m)^web03\s+-\s+-\s+unreachable\s+\S.*$`,
		} {
			if !regexp.MustCompile(re).MatchString(r.out) {
				t.Errorf("table does not match %s:\n%s", re, r.out)
			}
		}
	})

	t.Run("refused login", func(t *testing.T) {
		bad := newEnv(t)
		bad["WCDEPLOY_PASSWORD"] = "not-the-password"
		r := f.run(t, bad, "status", "--server", "web01", "--json")
		if r.code != 3 || !strings.Contains(r.out, `"state": "login-failed"`) || strings.Contains(r.out, "not-the-password") {
			t.Errorf("exit %d, want 3 and state login-failed\n%s%s", r.code, r.out, r.errOut)
		}
		// The last line names the server once, then its address in the cause.
		if strings.Count(r.errOut, "web01") != 1 || !strings.Contains(r.errOut, "wcdeploy: web01: 127.0.0.1:") {
			t.Errorf("stderr:\n%s", r.errOut)
		}
	})

	t.Run("missing local exe", func(t *testing.T) {
		r := f.run(t, e, "status", "--server", "web01", "--exe", "nosuch.exe")
		if r.code != 0 || !strings.Contains(r.errOut, "nosuch.exe does not exist, so STATE compares with nothing") || !regexp.MustCompile(`(?m)^web01\s+2\.0\.0\.0\s+.+\s+unknown\s*$`).MatchString(r.out) {
			t.Errorf("exit %d\n%s%s", r.code, r.out, r.errOut)
		}
	})

	t.Run("all current", func(t *testing.T) {
		r := f.run(t, e, "status", "--server", "web01,web02", "--json")
		// web02 is behind but reachable: that is no error.
		if r.code != 0 || strings.Count(r.out, `"state": "behind"`) != 1 || strings.Count(r.out, `"state": "current"`) != 1 {
			t.Errorf("exit %d\n%s%s", r.code, r.out, r.errOut)
		}
	})
}

// TestPreflightRefusalKeepsVersion: a server that the size check stops in
// preflight had its status page read; the report shows what it runs (and,
// since nothing changed, runs after), not "-" and "?".
func TestPreflightRefusalKeepsVersion(t *testing.T) {
	f := startFleet(t, 1, "parallel: 1", func(_ int, c *emulator.Config) { c.MaxRequestBytes = 1 << 20 })
	r := f.run(t, newEnv(t), "deploy", "--json")
	if r.code != 4 {
		t.Fatalf("exit %d, want 4\n%s%s", r.code, r.out, r.errOut)
	}
	var doc struct {
		Servers []struct {
			VersionBefore string `json:"version_before"`
			VersionAfter  string `json:"version_after"`
			Staged        bool   `json:"staged"`
		} `json:"servers"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil || len(doc.Servers) != 1 {
		t.Fatalf("report: %v\n%s", err, r.out)
	}
	if s := doc.Servers[0]; s.VersionBefore != oldVersion || s.VersionAfter != oldVersion || s.Staged {
		t.Errorf("server %+v, want %s before and after, not staged", s, oldVersion)
	}
}
