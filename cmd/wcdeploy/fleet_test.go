package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
)

const (
	oldVersion = "1.0.0.0"
	newVersion = "2.0.0.0"
)

// fleet is a farm of emulated servers described by one wcdeploy.yaml.
type fleet struct {
	servers []*emulator.Server
	names   []string
	config  string // path of wcdeploy.yaml
	exe     string
}

func serverName(i int) string { return fmt.Sprintf("web%02d", i+1) }

// groupOf puts even servers (web01, web03, ...) in "blue", the others in "green".
func groupOf(i int) string {
	if i%2 == 0 {
		return "blue"
	}
	return "green"
}

// startFleet starts n module 7.15 emulators on distinct loopback ports and
// writes a wcdeploy.yaml for them with the rollout block given (YAML flow
// mapping body, e.g. "parallel: 5, canary: 1").
func startFleet(t *testing.T, n int, rolloutYAML string, cfg func(i int, c *emulator.Config)) *fleet {
	t.Helper()
	f := &fleet{}
	dir := t.TempDir()
	f.exe = writeExe(t, dir, newVersion, 7)
	var b strings.Builder
	fmt.Fprintf(&b, "default_profile: farm\nprofiles:\n  farm:\n    exe: %q\n    username: deploy\n    auth: basic\n    flavor: module\n", f.exe)
	b.WriteString("    retries: 1\n    timeouts: {swap: 30s, status: 10s}\n")
	fmt.Fprintf(&b, "    rollout: {%s}\n    servers:\n", rolloutYAML)
	seen := map[string]bool{}
	for i := range n {
		c := emulator.Config{Flavor: emulator.Module715, Auth: "basic", Users: map[string]string{"deploy": testPassword}, InitialVersion: oldVersion}
		if cfg != nil {
			cfg(i, &c)
		}
		srv := emulatortest.Start(t, c)
		if seen[srv.URL()] {
			t.Fatalf("two emulators share %s", srv.URL())
		}
		seen[srv.URL()] = true
		f.servers = append(f.servers, srv)
		f.names = append(f.names, serverName(i))
		fmt.Fprintf(&b, "      - {name: %s, url: %q, group: %s}\n", serverName(i), srv.URL(), groupOf(i))
	}
	f.config = filepath.Join(dir, "wcdeploy.yaml")
	if err := os.WriteFile(f.config, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// run runs wcdeploy with the fleet's config and fails the test if it hangs.
func (f *fleet) run(t *testing.T, e env, args ...string) result {
	t.Helper()
	args = append([]string{"--config", f.config}, args...)
	done := make(chan result, 1)
	go func() { done <- runCLI(t, e, args...) }()
	select {
	case r := <-done:
		return r
	case <-time.After(90 * time.Second):
		t.Fatalf("wcdeploy %s hung", strings.Join(args, " "))
		return result{}
	}
}

// versions is what every emulator runs now.
func (f *fleet) versions() []string {
	out := make([]string, len(f.servers))
	for i, s := range f.servers {
		out[i] = s.ExeVersion()
	}
	return out
}

func (f *fleet) assertNoHold(t *testing.T) {
	t.Helper()
	for i, s := range f.servers {
		if s.OnHold() {
			t.Errorf("%s was left on hold", f.names[i])
		}
	}
}

// parseReport decodes the --json document on stdout.
func parseReport(t *testing.T, r result) rollout.Report {
	t.Helper()
	var rep rollout.Report
	dec := json.NewDecoder(strings.NewReader(r.out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not the report document: %v\nstdout:\n%s\nstderr:\n%s", err, r.out, r.errOut)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one document:\n%s", r.out)
	}
	return rep
}

// journalLines reads every line of the journal of e.
func journalLines(t *testing.T, e env) []journal.Entry {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e["WCDEPLOY_STATE_DIR"], journal.FileName))
	if err != nil {
		t.Fatalf("reading the journal: %v", err)
	}
	var out []journal.Entry
	for line := range bytes.Lines(data) {
		je, err := journal.ParseLine(line)
		if err != nil {
			t.Fatalf("journal line %q: %v", line, err)
		}
		out = append(out, je)
	}
	return out
}

func lastJournal(t *testing.T, e env) journal.Entry {
	t.Helper()
	lines := journalLines(t, e)
	if len(lines) == 0 {
		t.Fatal("the journal is empty")
	}
	return lines[len(lines)-1]
}

func TestFleetRollouts(t *testing.T) {
	const n = 20
	// parallel 5, canary 1 over 20 servers: groups [web01] [web02..06]
	// [web07..11] [web12..16] [web17..20].
	const base = "parallel: 5, canary: 1"
	health := `, health: [{url: "default.wc", retries: 0, timeout: 5s}]`
	all := func(v string) func(int) string { return func(int) string { return v } }
	upTo := func(last int, except int, exceptV string) func(int) string {
		return func(i int) string {
			switch {
			case i == except:
				return exceptV
			case i <= last:
				return newVersion
			}
			return oldVersion
		}
	}
	cases := []struct {
		name    string
		rollout string
		cfg     func(i int, c *emulator.Config)
		faults  map[int]emulator.Fault
		code    int
		want    func(i int) string // what each server runs after
		failed  map[int]int        // server index -> its exit code in the report
		// othersMay is an exit code other servers may also report: a
		// refused login is not tried on the servers asked after it.
		othersMay int
		halted    bool
		reason    string // substring of halt_reason
		check     func(t *testing.T, f *fleet, rep rollout.Report)
	}{
		{
			name: "all succeed", rollout: base + ", max_failures: 0" + health,
			code: 0, want: all(newVersion),
			check: func(t *testing.T, f *fleet, rep rollout.Report) {
				if len(rep.Batches) != 5 || len(rep.Batches[0]) != 1 || rep.Batches[0][0] != "web01" || len(rep.Batches[4]) != 4 {
					t.Errorf("batches %v, want the canary alone then batches of 5", rep.Batches)
				}
				for _, s := range rep.Servers {
					if s.Health != "ok" {
						t.Errorf("%s: health %q", s.Name, s.Health)
					}
				}
			},
		},
		{
			name: "preflight 401 stops before any change", rollout: base + ", max_failures: 3",
			cfg: func(i int, c *emulator.Config) {
				if i == 7 {
					c.Users = map[string]string{"deploy": "another-password"}
				}
			},
			code: 3, want: all(oldVersion), failed: map[int]int{7: 3}, othersMay: 3, reason: "web08",
			check: func(t *testing.T, f *fleet, rep rollout.Report) {
				for i, s := range f.servers {
					if countAction(s, "uploadexe") != 0 {
						t.Errorf("%s received an upload although preflight failed elsewhere", f.names[i])
					}
				}
			},
		},
		{
			name: "upload reset on every attempt", rollout: base + ", max_failures: 0",
			faults: map[int]emulator.Fault{5: {Kind: emulator.FaultResetAfter, Action: "upload", Bytes: 100_000}},
			code:   4, want: all(oldVersion), failed: map[int]int{5: 4}, halted: true, reason: "during upload",
			check: func(t *testing.T, f *fleet, rep rollout.Report) {
				for _, s := range rep.Servers {
					if s.Swapped || s.Batch != -1 && s.Name == "web06" {
						t.Errorf("%s: swapped %v batch %d", s.Name, s.Swapped, s.Batch)
					}
				}
				if n := countAction(f.servers[5], "uploadexe"); n != 2 {
					t.Errorf("web06 got %d upload attempts, want 2 (retries: 1)", n)
				}
			},
		},
		{
			name: "404.13 on one server tolerated by max_failures 1", rollout: base + ", max_failures: 1",
			cfg: func(i int, c *emulator.Config) {
				if i == 3 {
					c.MaxRequestBytes = 1 << 20
				}
			},
			code: 7, want: upTo(n, 3, oldVersion), failed: map[int]int{3: 4},
			check: func(t *testing.T, f *fleet, rep rollout.Report) {
				if !strings.Contains(rep.Servers[3].Error, "maxAllowedContentLength") {
					t.Errorf("web04's error does not say which limit to raise: %s", rep.Servers[3].Error)
				}
			},
		},
		{
			name: "canary swap copy failure stops the rest", rollout: base + ", max_failures: 5",
			faults: map[int]emulator.Fault{0: {Kind: emulator.FaultSwapCopy}},
			code:   5, want: all(oldVersion), failed: map[int]int{0: 5}, halted: true, reason: "canary web01 failed",
			check: func(t *testing.T, f *fleet, rep rollout.Report) {
				for _, s := range rep.Servers[1:] {
					if !s.Staged || s.Swapped || s.Skipped != "staged, not swapped: canary failed" {
						t.Errorf("%s: staged %v swapped %v skipped %q", s.Name, s.Staged, s.Swapped, s.Skipped)
					}
				}
			},
		},
		{
			name: "swap copy failure in a batch halts the next batches", rollout: base + ", max_failures: 0",
			faults: map[int]emulator.Fault{8: {Kind: emulator.FaultSwapCopy}},
			code:   7, want: upTo(10, 8, oldVersion), failed: map[int]int{8: 5}, halted: true, reason: "1 failure, more than max_failures 0",
		},
		{
			name: "verification mismatch", rollout: base + ", max_failures: 0",
			faults: map[int]emulator.Fault{12: {Kind: emulator.FaultVersionMismatch, Version: "9.9.9.9"}},
			code:   7, want: upTo(15, 12, "9.9.9.9"), failed: map[int]int{12: 6}, halted: true, reason: "more than max_failures 0",
			check: func(t *testing.T, f *fleet, rep rollout.Report) {
				s := rep.Servers[12]
				if !s.Swapped || s.Verified || s.VersionAfter != "9.9.9.9" {
					t.Errorf("web13: swapped %v verified %v after %q", s.Swapped, s.Verified, s.VersionAfter)
				}
			},
		},
		{
			name: "failing health check in the last batch", rollout: base + ", max_failures: 0" + health,
			faults: map[int]emulator.Fault{17: {Kind: emulator.FaultHealthFail, Action: "page"}},
			code:   6, want: all(newVersion), failed: map[int]int{17: 6},
			check: func(t *testing.T, f *fleet, rep rollout.Report) {
				s := rep.Servers[17]
				if !s.Verified || s.Health != "failed" {
					t.Errorf("web18: verified %v health %q", s.Verified, s.Health)
				}
			},
		},
		{
			name: "failing health check on the canary", rollout: base + ", max_failures: 3" + health,
			faults: map[int]emulator.Fault{0: {Kind: emulator.FaultHealthFail, Action: "page"}},
			// web01 runs the build (verified), so the run is partial.
			code: 7, want: upTo(0, -1, ""), failed: map[int]int{0: 6}, halted: true, reason: "canary web01 failed",
		},
		{
			name: "slow swap holds back the next batch", rollout: base + ", max_failures: 0",
			cfg: func(i int, c *emulator.Config) {
				if i == 3 {
					c.SwapDelay = 800 * time.Millisecond
				}
			},
			code: 0, want: all(newVersion),
			check: func(t *testing.T, f *fleet, rep rollout.Report) {
				slow := swapRequest(t, f.servers[3])
				end := slow.Time.Add(slow.Duration)
				if slow.Duration < 800*time.Millisecond {
					t.Errorf("web04's swap took %s, want at least its 800ms delay", slow.Duration)
				}
				for i := 6; i < n; i++ {
					if s := swapRequest(t, f.servers[i]); s.Time.Before(end) {
						t.Errorf("%s was swapped at %s, before web04's batch ended at %s", f.names[i], s.Time.Format(time.StampMicro), end.Format(time.StampMicro))
					}
				}
				if rep.Servers[3].DurationMS < 800 {
					t.Errorf("web04's time %d ms does not include its slow swap", rep.Servers[3].DurationMS)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := startFleet(t, n, c.rollout, c.cfg)
			for i, flt := range c.faults {
				f.servers[i].Inject(flt)
			}
			e := newEnv(t)
			r := f.run(t, e, "deploy", "--json")
			if r.code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, c.code, r.out, r.errOut)
			}
			f.assertNoHold(t)
			got := f.versions()
			for i := range n {
				if got[i] != c.want(i) {
					t.Errorf("%s runs %s, want %s", f.names[i], got[i], c.want(i))
				}
			}

			rep := parseReport(t, r)
			if rep.ExitCode != c.code || rep.OK != (c.code == 0) || rep.Halted != c.halted {
				t.Errorf("report: exit %d ok %v halted %v, want exit %d halted %v", rep.ExitCode, rep.OK, rep.Halted, c.code, c.halted)
			}
			if c.reason != "" && !strings.Contains(rep.HaltReason, c.reason) {
				t.Errorf("halt reason %q lacks %q", rep.HaltReason, c.reason)
			}
			if len(rep.Servers) != n {
				t.Fatalf("the report has %d servers, want %d", len(rep.Servers), n)
			}
			for i, s := range rep.Servers {
				if s.Name != f.names[i] {
					t.Errorf("report server %d is %s, want %s (plan order)", i, s.Name, f.names[i])
				}
				runsNew := got[i] == newVersion
				if s.Verified != runsNew {
					t.Errorf("%s: verified %v but the server runs %s", s.Name, s.Verified, got[i])
				}
				if s.Swapped != (got[i] != oldVersion) {
					t.Errorf("%s: swapped %v but the server runs %s", s.Name, s.Swapped, got[i])
				}
				wantCode, failed := c.failed[i]
				if !failed && c.othersMay != 0 && s.ExitCode == c.othersMay && s.NotSwapped == "" {
					wantCode, failed = s.ExitCode, true
				}
				if s.VersionBefore != oldVersion && !(failed && wantCode == 3) {
					t.Errorf("%s: version_before %q", s.Name, s.VersionBefore)
				}
				if !failed && s.NotSwapped != "" {
					// Left out by the halt: no error of its own, the halt's exit code.
					if s.Error != "" || s.ExitCode == 0 {
						t.Errorf("%s: not swapped (%s) with exit %d error %q", s.Name, s.NotSwapped, s.ExitCode, s.Error)
					}
				} else if failed != (s.Error != "") || s.ExitCode != wantCode {
					t.Errorf("%s: exit %d error %q; want failed %v exit %d", s.Name, s.ExitCode, s.Error, failed, wantCode)
				}
				if failed && !strings.Contains(s.Error, s.Name) {
					t.Errorf("%s: the error does not name the server: %s", s.Name, s.Error)
				}
				if !s.Verified && !failed && s.Skipped == "" {
					t.Errorf("%s: neither updated, failed nor skipped: %+v", s.Name, s)
				}
			}
			if c.check != nil {
				c.check(t, f, rep)
			}

			je := lastJournal(t, e)
			if je.Profile != "farm" || je.ExitCode != c.code || je.OK != rep.OK || je.Halted != c.halted || je.Exe.Version != newVersion || len(je.Exe.SHA256) != 64 {
				t.Errorf("journal line: profile %q exit %d ok %v halted %v exe %+v", je.Profile, je.ExitCode, je.OK, je.Halted, je.Exe)
			}
			if len(je.Servers) != n {
				t.Fatalf("journal has %d servers", len(je.Servers))
			}
			for i, s := range je.Servers {
				rs := rep.Servers[i]
				if s.Name != rs.Name || s.Verified != rs.Verified || s.Swapped != rs.Swapped || s.Staged != rs.Staged || s.ExitCode != rs.ExitCode || s.Error != rs.Error {
					t.Errorf("journal and report differ for %s:\n%+v\n%+v", rs.Name, s, rs)
				}
			}
		})
	}
}

// swapRequest returns the one swap request a server handled.
func swapRequest(t *testing.T, s *emulator.Server) emulator.RequestLog {
	t.Helper()
	var out []emulator.RequestLog
	for _, r := range s.Requests() {
		if r.Action == "updateexe" {
			out = append(out, r)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%s handled %d swap requests, want 1", s.URL(), len(out))
	}
	return out[0]
}

func TestFleetSelection(t *testing.T) {
	const n = 20
	cases := []struct {
		name string
		args []string
		want func(i int) bool // selected
	}{
		{"group", []string{"--group", "blue"}, func(i int) bool { return groupOf(i) == "blue" }},
		{"servers", []string{"--server", "web03,WEB05", "--server", "web20"}, func(i int) bool { return i == 2 || i == 4 || i == 19 }},
		{"server within group", []string{"--group", "green", "--server", "web02,web03,web04"}, func(i int) bool { return i == 1 || i == 3 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := startFleet(t, n, "parallel: 4, canary: 1, max_failures: 0", nil)
			e := newEnv(t)
			r := f.run(t, e, append([]string{"deploy", "--json"}, c.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
			}
			rep := parseReport(t, r)
			var names []string
			for _, s := range rep.Servers {
				names = append(names, s.Name)
				if !s.Verified {
					t.Errorf("%s not verified", s.Name)
				}
			}
			var want []string
			for i, v := range f.versions() {
				sel := c.want(i)
				if sel {
					want = append(want, f.names[i])
				}
				if (v == newVersion) != sel {
					t.Errorf("%s runs %s; selected %v", f.names[i], v, sel)
				}
				if !sel && countAction(f.servers[i], "moduleadministration") != 0 {
					t.Errorf("%s was contacted although not selected", f.names[i])
				}
			}
			if strings.Join(names, ",") != strings.Join(want, ",") {
				t.Errorf("report servers %v, want %v", names, want)
			}
			if je := lastJournal(t, e); len(je.Servers) != len(want) || !je.OK {
				t.Errorf("journal: %d servers ok %v", len(je.Servers), je.OK)
			}
		})
	}
}
