package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/golden"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/ui"
)

func sampleBuild() rollout.Build {
	return rollout.Build{Path: `C:\builds\Shop.exe`, Version: "1.2.3.5", Size: 2_340_000, SHA256: strings.Repeat("0f", 32)}
}

// sampleReports are fixed reports, as Run would make them, for the renderers.
func sampleReports() map[string]*rollout.Report {
	b := sampleBuild()
	started := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ok := func(name string, ms int64, batch int) rollout.ServerReport {
		return rollout.ServerReport{Name: name, URL: "https://" + name + ".shop.example/", VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.5",
			Staged: true, Swapped: true, Verified: true, Health: "ok", DurationMS: ms, Batch: batch}
	}
	withErr := func(s rollout.ServerReport, code exitcode.Code, msg string) rollout.ServerReport {
		s.Error, s.ExitCode = msg, int(code)
		return s
	}
	partial := &rollout.Report{Build: b, Started: started, Duration: 14200, ExitCode: 7, Halted: true,
		HaltReason: "1 failure, more than max_failures 0",
		Batches:    [][]string{{"web1"}, {"web2", "web3"}, {"web4"}},
		Servers: []rollout.ServerReport{
			ok("web1", 5100, 0),
			ok("web2", 4800, 1),
			withErr(rollout.ServerReport{Name: "web3", URL: "https://web3.shop.example/", VersionBefore: "1.2.3.4", Staged: true, Health: "", DurationMS: 9000, Batch: 1},
				exitcode.Swap, "web3: the swap answered 500 \"Unable to copy\nShop.exe\": the server may still hold requests; open https://web3.shop.example/admin.aspx"),
			{Name: "web4", URL: "https://web4.shop.example/", VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.4", Staged: true, DurationMS: 2100, Batch: 2,
				Skipped: "staged, not swapped: rollout halted"},
		}}
	allOK := &rollout.Report{Build: b, Started: started, Duration: 9000, OK: true,
		Batches: [][]string{{"web1"}, {"web2"}},
		Servers: []rollout.ServerReport{ok("web1", 4000, 0), ok("web2", 4100, 1),
			{Name: "web3", VersionBefore: "1.2.3.5", VersionAfter: "1.2.3.5", UpToDate: true, Skipped: "already runs 1.2.3.5", DurationMS: 80, Batch: -1}}}
	preflight := &rollout.Report{Build: b, Started: started, ExitCode: 3, HaltReason: "preflight failed on web2; nothing was changed",
		Servers: []rollout.ServerReport{
			{Name: "web1", VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.4", Skipped: "not deployed: preflight failed on web2", DurationMS: 120, Batch: -1},
			withErr(rollout.ServerReport{Name: "web2", DurationMS: 90, Batch: -1}, exitcode.Auth, "web2: 401 Unauthorized: check the user name, or set WCDEPLOY_PASSWORD"),
		}}
	dry := &rollout.Report{Build: b, Started: started, OK: true, DryRun: true,
		Batches: [][]string{{"web1"}, {"web2", "web3"}},
		Servers: []rollout.ServerReport{
			{Name: "web1", VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.4", Skipped: "dry run: would stage, then swap in canary 1 of 1", Batch: 0},
			{Name: "web2", VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.4", Skipped: "dry run: would stage, then swap in batch 1 of 1", Batch: 1},
			{Name: "web3", VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.4", Skipped: "dry run: would stage, then swap in batch 1 of 1", Batch: 1},
		}}
	settled := ok("web1", 61000, 0)
	settled.State, settled.Note = rollout.ServerUpdated, "the swap reply did not come within timeouts.swap (1m0s); the status page showed this build once the hold ended"
	settled.Evidence = "status page after the hold: 1.2.3.5 with a new file date 3/1/2026 12:01:02 PM (was 2/1/2026 9:00:00 AM)"
	other := ok("web4", 5000, 1)
	other.VersionBefore, other.State, other.Identity, other.Note = "1.2.3.5", rollout.ServerUpdated, rollout.IdentityOther, "same version 1.2.3.5, other build: deploying"
	truth := &rollout.Report{RunID: "20260301T120000Z-0a1b2c", Build: b, Started: started, Duration: 70000, ExitCode: 7, Halted: true,
		HaltReason: "2 failures, more than max_failures 1",
		Batches:    [][]string{{"web1"}, {"web2", "web4"}, {"web3"}},
		Servers: []rollout.ServerReport{
			settled,
			withErr(rollout.ServerReport{Name: "web2", URL: "https://web2.shop.example/", State: rollout.ServerUnknown, StatusURL: "https://web2.shop.example/admin/ModuleAdministration.wc",
				VersionBefore: "1.2.3.4", Staged: true, DurationMS: 120000, Batch: 1}, exitcode.Swap, "web2: the swap reply did not come within timeouts.swap (1m0s) and the server still held its requests 1m0s later"),
			{Name: "web3", URL: "https://web3.shop.example/", State: rollout.ServerNotUpdated, VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.4", Staged: true, DurationMS: 2100, Batch: 2,
				Skipped: "staged, not swapped: rollout halted", NotSwapped: "halted: 2 failures, more than max_failures 1", ExitCode: int(exitcode.Swap)},
			other,
		}}
	return map[string]*rollout.Report{"partial": partial, "ok": allOK, "preflight": preflight, "dryrun": dry, "truth": truth}
}

func TestWriteTableGolden(t *testing.T) {
	for name, rep := range sampleReports() {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteTable(&b, rep, false); err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(b.String(), "\x1b\r") {
				t.Error("escape codes without colour")
			}
			golden.Assert(t, "table_"+name, b.Bytes())
		})
	}
}

// stripANSI removes colour codes, to compare a coloured table's layout.
func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestWriteTableColourKeepsColumns(t *testing.T) {
	rep := sampleReports()["partial"]
	var plain, col bytes.Buffer
	if err := WriteTable(&plain, rep, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteTable(&col, rep, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(col.String(), ui.Red) || !strings.Contains(col.String(), ui.Green) {
		t.Fatal("no colour in the coloured table")
	}
	// Same columns once the codes are gone (trailing pad may differ).
	pl := strings.Split(plain.String(), "\n")
	cl := strings.Split(stripANSI(col.String()), "\n")
	for i := range pl {
		if strings.TrimRight(pl[i], " ") != strings.TrimRight(cl[i], " ") {
			t.Errorf("line %d\nplain  %q\ncolour %q", i, pl[i], cl[i])
		}
	}
}

func TestRenderChoosesOutput(t *testing.T) {
	rep := sampleReports()["partial"]
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	t.Run("terminal colour only without NO_COLOR", func(t *testing.T) {
		s, out, _ := ui.Test("")
		s.OutTTY, s.NoColor = true, false
		if err := Render(s, rep, Options{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "\x1b[") {
			t.Error("no colour on a terminal")
		}
		s, out, _ = ui.Test("")
		s.OutTTY, s.NoColor = true, true
		_ = Render(s, rep, Options{})
		if strings.Contains(out.String(), "\x1b[") {
			t.Error("colour with NO_COLOR")
		}
	})
	t.Run("json", func(t *testing.T) {
		s, out, errOut := ui.Test("")
		if err := Render(s, rep, Options{JSON: true, Getenv: env(nil)}); err != nil {
			t.Fatal(err)
		}
		var back rollout.Report
		if err := json.Unmarshal(out.Bytes(), &back); err != nil {
			t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
		}
		if back.ExitCode != 7 || len(back.Servers) != 4 || back.Servers[2].Error == "" || back.Servers[3].Skipped == "" {
			t.Errorf("round trip: %+v", back)
		}
		if errOut.Len() != 0 {
			t.Errorf("stderr: %q", errOut)
		}
	})
	t.Run("quiet prints no table", func(t *testing.T) {
		s, out, errOut := ui.Test("")
		_ = Render(s, rep, Options{Quiet: true})
		if out.Len()+errOut.Len() != 0 {
			t.Errorf("quiet wrote %q %q", out, errOut)
		}
	})
	t.Run("github actions", func(t *testing.T) {
		summary := filepath.Join(t.TempDir(), "summary.md")
		if err := os.WriteFile(summary, []byte("earlier step\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s, out, _ := ui.Test("")
		e := env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary})
		if err := Render(s, rep, Options{Getenv: e}); err != nil {
			t.Fatal(err)
		}
		want := "::error title=wcdeploy::web3: the swap answered 500 \"Unable to copy%0AShop.exe\": the server may still hold requests; open https://web3.shop.example/admin.aspx\n"
		if !strings.HasSuffix(out.String(), want) || strings.Count(out.String(), "::error") != 1 {
			t.Errorf("annotations:\n%s", out)
		}
		md, err := os.ReadFile(summary)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(md), "earlier step\n") {
			t.Error("the summary file was not appended to")
		}
		golden.Assert(t, "summary_partial", md[len("earlier step\n"):])

		// With --json the annotations move to stderr; stdout stays JSON.
		s, out, errOut := ui.Test("")
		if err := Render(s, rep, Options{JSON: true, Getenv: e}); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(out.Bytes()) || !strings.Contains(errOut.String(), "::error title=wcdeploy::web3") {
			t.Errorf("json+actions: stdout %q stderr %q", out, errOut)
		}
	})
	t.Run("summary file that cannot be written", func(t *testing.T) {
		s, _, _ := ui.Test("")
		e := env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "no", "such", "dir")})
		err := Render(s, rep, Options{Getenv: e})
		if err == nil || !strings.Contains(err.Error(), "job summary") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestWriteTableDryRunListsHooks(t *testing.T) {
	rep := *sampleReports()["dryrun"]
	rep.Hooks = []string{rollout.HookBeforeSwap, rollout.HookAfterSwap}
	var b bytes.Buffer
	if err := WriteTable(&b, &rep, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "  2. web2, web3\nhooks that would run: before_swap, after_swap\n") {
		t.Errorf("table:\n%s", b.String())
	}
}

// TestTableFitsAnEightyColumnTerminal: on a terminal no line of the report
// is wider than the screen, the cells carry the cause only and each error
// is shown once, whole, below the table.
func TestTableFitsAnEightyColumnTerminal(t *testing.T) {
	rep := sampleReports()["truth"]
	s, out, _ := ui.Test("")
	s.OutTTY, s.Columns = true, 80
	if err := Render(s, rep, Options{}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, line := range strings.Split(got, "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("line of %d columns on an 80-column terminal: %q", n, line)
		}
	}
	full := "web2: the swap reply did not come within timeouts.swap (1m0s) and the server still held its requests 1m0s later"
	if strings.Count(strings.Join(strings.Fields(got), " "), full) != 1 {
		t.Errorf("the whole error should appear once below the table:\n%s", got)
	}
	golden.Assert(t, "table_80cols", []byte(got))

	// A file or a pipe keeps whole lines.
	s, out, _ = ui.Test("")
	if err := Render(s, rep, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), full) {
		t.Errorf("a pipe should get the error on one line:\n%s", out)
	}
}

// TestHealthNoneAndUnhealthy: a server swapped without a health check
// shows "none" and the summary says none is configured; one that runs the
// build but failed its check is not counted as not updated.
func TestHealthNoneAndUnhealthy(t *testing.T) {
	b := sampleBuild()
	rep := &rollout.Report{Build: b, ExitCode: int(exitcode.Verify), Servers: []rollout.ServerReport{
		{Name: "web1", VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.5", Staged: true, Swapped: true, Verified: true, Health: rollout.HealthNone, DurationMS: 900},
		{Name: "web2", VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.5", Staged: true, Swapped: true, Verified: true, Health: rollout.HealthFailed, DurationMS: 3000,
			ExitCode: int(exitcode.Verify), Error: "web2: runs 1.2.3.5 but failed its health check: https://web2/health answered HTTP 500, not 200 (3 attempts); if the build is at fault, 'wcdeploy rollback' puts the previous one back"},
	}}
	var buf bytes.Buffer
	if err := WriteTableWidth(&buf, rep, false, 80); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	for _, want := range []string{"none", "1 runs the build but failed its health check", "wcdeploy rollback", "no health check is configured"} {
		if !strings.Contains(strings.Join(strings.Fields(got), " "), want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, " ok ") {
		t.Errorf("no check ran, yet a health says ok:\n%s", got)
	}
	golden.Assert(t, "table_health", []byte(got))
}
