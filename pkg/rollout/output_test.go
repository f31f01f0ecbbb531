package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/pkg/exitcode"
	"github.com/wcdeploy/wcdeploy/pkg/ui"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func sampleBuild() Build {
	return Build{Path: `C:\builds\Shop.exe`, Version: "1.2.3.5", Size: 2_340_000, SHA256: strings.Repeat("0f", 32)}
}

// sampleReports are fixed reports, as Run would make them, for the renderers.
func sampleReports() map[string]*Report {
	b := sampleBuild()
	started := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ok := func(name string, ms int64, batch int) ServerReport {
		return ServerReport{Name: name, URL: "https://" + name + ".shop.example/", VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.5",
			Staged: true, Swapped: true, Verified: true, Health: "ok", DurationMS: ms, Batch: batch}
	}
	withErr := func(s ServerReport, code exitcode.Code, msg string) ServerReport {
		s.err = exitcode.New(code, errors.New(msg))
		s.Error, s.ExitCode = msg, int(code)
		return s
	}
	partial := &Report{Build: b, Started: started, Duration: 14200, ExitCode: 7, Halted: true,
		HaltReason: "1 failure, more than max_failures 0",
		Batches:    [][]string{{"web1"}, {"web2", "web3"}, {"web4"}},
		Servers: []ServerReport{
			ok("web1", 5100, 0),
			ok("web2", 4800, 1),
			withErr(ServerReport{Name: "web3", URL: "https://web3.shop.example/", VersionBefore: "1.2.3.4", Staged: true, Health: "", DurationMS: 9000, Batch: 1},
				exitcode.Swap, "web3: the swap answered 500 \"Unable to copy\nShop.exe\": the server may still hold requests; open https://web3.shop.example/admin.aspx"),
			{Name: "web4", URL: "https://web4.shop.example/", VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.4", Staged: true, DurationMS: 2100, Batch: 2,
				Skipped: "staged, not swapped: rollout halted"},
		}}
	allOK := &Report{Build: b, Started: started, Duration: 9000, OK: true,
		Batches: [][]string{{"web1"}, {"web2"}},
		Servers: []ServerReport{ok("web1", 4000, 0), ok("web2", 4100, 1),
			{Name: "web3", VersionBefore: "1.2.3.5", VersionAfter: "1.2.3.5", UpToDate: true, Skipped: "already runs 1.2.3.5", DurationMS: 80, Batch: -1}}}
	preflight := &Report{Build: b, Started: started, ExitCode: 3, HaltReason: "preflight failed on web2; nothing was changed",
		Servers: []ServerReport{
			{Name: "web1", VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.4", Skipped: "not deployed: preflight failed on web2", DurationMS: 120, Batch: -1},
			withErr(ServerReport{Name: "web2", DurationMS: 90, Batch: -1}, exitcode.Auth, "web2: 401 Unauthorized: check the user name, or set WCDEPLOY_PASSWORD"),
		}}
	dry := &Report{Build: b, Started: started, OK: true, DryRun: true,
		Batches: [][]string{{"web1"}, {"web2", "web3"}},
		Servers: []ServerReport{
			{Name: "web1", VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.4", Skipped: "dry run: would stage, then swap in canary 1 of 1", Batch: 0},
			{Name: "web2", VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.4", Skipped: "dry run: would stage, then swap in batch 1 of 1", Batch: 1},
			{Name: "web3", VersionBefore: "1.2.3.4", VersionAfter: "1.2.3.4", Skipped: "dry run: would stage, then swap in batch 1 of 1", Batch: 1},
		}}
	return map[string]*Report{"partial": partial, "ok": allOK, "preflight": preflight, "dryrun": dry}
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
			golden(t, "table_"+name+".golden", b.Bytes())
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
	if !strings.Contains(col.String(), ansiRed) || !strings.Contains(col.String(), ansiGreen) {
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
		if err := Render(s, rep, RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "\x1b[") {
			t.Error("no colour on a terminal")
		}
		s, out, _ = ui.Test("")
		s.OutTTY, s.NoColor = true, true
		_ = Render(s, rep, RenderOptions{})
		if strings.Contains(out.String(), "\x1b[") {
			t.Error("colour with NO_COLOR")
		}
	})
	t.Run("json", func(t *testing.T) {
		s, out, errOut := ui.Test("")
		if err := Render(s, rep, RenderOptions{JSON: true, Getenv: env(nil)}); err != nil {
			t.Fatal(err)
		}
		var back Report
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
		_ = Render(s, rep, RenderOptions{Quiet: true})
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
		if err := Render(s, rep, RenderOptions{Getenv: e}); err != nil {
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
		golden(t, "summary_partial.golden", md[len("earlier step\n"):])

		// With --json the annotations move to stderr; stdout stays JSON.
		s, out, errOut := ui.Test("")
		if err := Render(s, rep, RenderOptions{JSON: true, Getenv: e}); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(out.Bytes()) || !strings.Contains(errOut.String(), "::error title=wcdeploy::web3") {
			t.Errorf("json+actions: stdout %q stderr %q", out, errOut)
		}
	})
	t.Run("summary file that cannot be written", func(t *testing.T) {
		s, _, _ := ui.Test("")
		e := env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "no", "such", "dir")})
		err := Render(s, rep, RenderOptions{Getenv: e})
		if err == nil || !strings.Contains(err.Error(), "job summary") {
			t.Errorf("err = %v", err)
		}
	})
}

// script drives an observer through a small rollout: two servers updated,
// one failed at the swap, with byte progress at several points.
func script(o Progress, p Plan) {
	ts := p.Targets
	for i := range ts {
		o.Step(i, ts[i], PhasePreflight, "checking the server")
	}
	o.StagePlanned([]int{0, 1, 2})
	for i := range ts {
		o.Step(i, ts[i], PhaseStage, "uploading")
	}
	size := p.Build.Size
	for _, n := range []int64{0, size / 20, size / 4, size / 2} {
		for i := range ts {
			o.Bytes(i, ts[i], n, size)
		}
	}
	o.Bytes(2, ts[2], 0, size) // a retry starts over
	for _, n := range []int64{size * 3 / 10, size} {
		for i := range ts {
			o.Bytes(i, ts[i], n, size)
		}
	}
	for i := range ts {
		o.Step(i, ts[i], PhaseStage, "staged")
	}
	o.Step(0, ts[0], PhaseSwap, "swapping (canary 1 of 1)")
	o.Step(0, ts[0], PhaseVerify, "verifying")
	o.Step(0, ts[0], PhaseHealth, "health check")
	o.Step(0, ts[0], PhaseDone, "runs 1.2.3.5")
	o.Step(1, ts[1], PhaseSwap, "swapping (batch 1 of 1)")
	o.Step(2, ts[2], PhaseSwap, "swapping (batch 1 of 1)")
	o.Step(1, ts[1], PhaseDone, "runs 1.2.3.5")
	o.Step(2, ts[2], PhaseFailed, "swap: web3: the swap answered 500\n\"Unable to copy\"")
	o.Close()
}

func smallPlan() Plan {
	return Plan{Build: sampleBuild(), Targets: []Target{{Name: "web1"}, {Name: "web2"}, {Name: "web3"}}}
}

func TestLineProgressGolden(t *testing.T) {
	var b bytes.Buffer
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	script(newLineProgress(&b, smallPlan(), func() time.Time { clock = clock.Add(time.Second); return clock }), smallPlan())
	if strings.ContainsAny(b.String(), "\r\x1b") {
		t.Error("plain output has \\r or escape codes")
	}
	golden(t, "progress_lines.golden", b.Bytes())
}

func TestLineProgressThrottlesBytes(t *testing.T) {
	var b bytes.Buffer
	clock := time.Unix(0, 0)
	p := smallPlan()
	lp := newLineProgress(&b, p, func() time.Time { return clock })
	total := int64(1000)
	for n := int64(1); n <= total; n++ {
		lp.Bytes(0, p.Targets[0], n, total)
	}
	if got := strings.Count(b.String(), "\n"); got != 11 {
		t.Errorf("%d lines for one fast upload, want 11 (first, then every 10%%):\n%s", got, b.String())
	}
	// A slow upload still says something every 5 s.
	b.Reset()
	for n := int64(1); n <= 50; n++ {
		clock = clock.Add(time.Second)
		lp.Bytes(1, p.Targets[1], n, total) // 0.1 % per second
	}
	if got := strings.Count(b.String(), "\n"); got < 9 || got > 11 {
		t.Errorf("%d lines in 50 s of a slow upload, want about 10:\n%s", got, b.String())
	}
}

func TestLiveProgressGolden(t *testing.T) {
	var b bytes.Buffer
	p := smallPlan()
	lp := newLiveProgress(&b, p, true, 80)
	// Draw at a few points, as the ticker would.
	steps := []func(){
		func() {
			for i := range p.Targets {
				lp.Step(i, p.Targets[i], PhasePreflight, "checking the server")
			}
		},
		func() {
			lp.StagePlanned([]int{0, 1, 2})
			for i := range p.Targets {
				lp.Step(i, p.Targets[i], PhaseStage, "uploading")
				lp.Bytes(i, p.Targets[i], int64(i+1)*p.Build.Size/4, p.Build.Size)
			}
		},
	}
	for _, s := range steps {
		s()
		lp.mu.Lock()
		lp.draw()
		lp.mu.Unlock()
	}
	script(lp, p)
	out := b.String()
	if !strings.Contains(out, "\x1b[4A\r\x1b[J") {
		t.Error("the block is not redrawn in place")
	}
	golden(t, "progress_live.golden", b.Bytes())

	lp.Close() // twice is fine
}

func TestLiveProgressLargeFarm(t *testing.T) {
	var b bytes.Buffer
	p := Plan{Build: sampleBuild(), Targets: targets(40)}
	lp := newLiveProgress(&b, p, false, 60)
	for i := range p.Targets {
		lp.Step(i, p.Targets[i], PhaseDone, "runs 1.2.3.5 "+strings.Repeat("x", 100))
	}
	lp.Step(7, p.Targets[7], PhaseSwap, "swapping")
	lp.Close()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) > maxLiveLines {
		t.Errorf("%d lines drawn, want at most %d", len(lines), maxLiveLines)
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 60 {
			t.Errorf("line of %d runes wraps a 60-column terminal: %q", n, l)
		}
	}
	if !strings.Contains(b.String(), "web08") || !strings.Contains(b.String(), "39 done") {
		t.Errorf("output:\n%s", b.String())
	}
}

func TestNewProgressChoice(t *testing.T) {
	p := smallPlan()
	cases := []struct {
		name   string
		setup  func(s *ui.Streams)
		quiet  bool
		want   string
		silent bool
	}{
		{"quiet", func(s *ui.Streams) { s.ErrTTY = true }, true, "rollout.quietProgress", true},
		{"terminal", func(s *ui.Streams) { s.ErrTTY = true }, false, "*rollout.liveProgress", false},
		{"dumb terminal", func(s *ui.Streams) { s.ErrTTY, s.Dumb = true, true }, false, "*rollout.lineProgress", false},
		{"pipe", func(s *ui.Streams) {}, false, "*rollout.lineProgress", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, out, errOut := ui.Test("")
			c.setup(s)
			pr := NewProgress(s, c.quiet, p)
			if got := typeName(pr); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
			script(pr, p)
			if out.Len() != 0 {
				t.Errorf("progress on stdout: %q", out)
			}
			if (errOut.Len() == 0) != c.silent {
				t.Errorf("stderr %q", errOut)
			}
		})
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }

// TestRunWithLiveProgress runs a real rollout with the live view on (the
// ticker redrawing concurrently), for the race detector and the final state.
func TestRunWithLiveProgress(t *testing.T) {
	const n = 12
	f := newFake(testBuild, n, "1.2.3.4")
	f.delay[PhaseStage] = 20 * time.Millisecond
	f.delay[PhaseSwap] = 10 * time.Millisecond
	f.failOn("web09", PhaseSwap, exitcode.Errorf(exitcode.Swap, "web09: swap failed"))
	s, out, errOut := ui.Test("")
	s.ErrTTY, s.NoColor = true, false
	p := plan(n)
	p.MaxFailures = 5
	pr := NewProgress(s, false, p)
	rep := Run(context.Background(), p, f, pr)
	pr.Close()
	if rep.ExitCode != 7 {
		t.Errorf("exit %d", rep.ExitCode)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q", out)
	}
	last := errOut.String()
	if k := strings.LastIndex(last, "\x1b[J"); k >= 0 {
		last = last[k:]
	}
	if strings.Count(last, "✓") != n-1 || !strings.Contains(last, "web09: swap failed") || !strings.Contains(last, "100%") {
		t.Errorf("final view:\n%s", last)
	}
}
