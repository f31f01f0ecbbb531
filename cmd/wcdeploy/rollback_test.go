package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

// exeIn writes a build of version into its own folder.
func exeIn(t *testing.T, version string, seed byte) string {
	t.Helper()
	return writeExe(t, t.TempDir(), version, seed)
}

func (f *fleet) wantAll(t *testing.T, version, when string) {
	t.Helper()
	for i, v := range f.versions() {
		if v != version {
			t.Errorf("%s: %s runs %s, want %s", when, f.names[i], v, version)
		}
	}
	f.assertNoHold(t)
}

func history(t *testing.T, f *fleet, e env) []journal.Entry {
	t.Helper()
	r := f.run(t, e, "history", "--json")
	if r.code != 0 {
		t.Fatalf("history: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	var runs []journal.Entry
	if err := json.Unmarshal([]byte(r.out), &runs); err != nil {
		t.Fatalf("history --json: %v\n%s", err, r.out)
	}
	return runs
}

func TestRollbackEndToEnd(t *testing.T) {
	f := startFleet(t, 3, "parallel: 2, canary: 1, max_failures: 0", nil)
	e := newEnv(t)
	exeA, exeB := exeIn(t, "1.1.0.0", 1), exeIn(t, "1.2.0.0", 2)

	if r := f.run(t, e, "deploy", "--exe", exeA); r.code != 0 {
		t.Fatalf("deploy A: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	f.wantAll(t, "1.1.0.0", "after deploying A")
	if r := f.run(t, e, "deploy", "--exe", exeB); r.code != 0 {
		t.Fatalf("deploy B: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	f.wantAll(t, "1.2.0.0", "after deploying B")

	// Builds are rewritten in place: rollback must use the archived copy.
	if err := os.Remove(exeA); err != nil {
		t.Fatal(err)
	}
	r := f.run(t, e, "rollback")
	if r.code != 0 {
		t.Fatalf("rollback: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	f.wantAll(t, "1.1.0.0", "after rollback")
	if !strings.Contains(r.errOut, `rolling back profile "farm" to 1.1.0.0`) {
		t.Errorf("rollback does not say what it rolls back to:\n%s", r.errOut)
	}
	for _, w := range []string{"web01", "web03", "1.2.0.0", "1.1.0.0", filepath.Base(exeA) + " 1.1.0.0"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("rollback report lacks %q:\n%s", w, r.out)
		}
	}
	// The build keeps its own name in the journal, though its bytes came
	// from the archive.
	if got := lastJournal(t, e).Exe; got.Path != exeA || got.Version != "1.1.0.0" || len(got.SHA256) != 64 {
		t.Errorf("journal after rollback names the build %+v, want path %s", got, exeA)
	}

	// --to a version, then --to a run id.
	if r := f.run(t, e, "rollback", "--to", "1.2.0.0"); r.code != 0 {
		t.Fatalf("rollback --to 1.2.0.0: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	f.wantAll(t, "1.2.0.0", "after rollback --to 1.2.0.0")
	runs := history(t, f, e)
	if len(runs) != 4 {
		t.Fatalf("history lists %d runs, want 4", len(runs))
	}
	firstA := runs[3]
	if firstA.Exe.Version != "1.1.0.0" || !firstA.OK {
		t.Fatalf("oldest run: %+v", firstA)
	}
	if r := f.run(t, e, "rollback", "--to", firstA.ID); r.code != 0 {
		t.Fatalf("rollback --to %s: exit %d\n%s%s", firstA.ID, r.code, r.out, r.errOut)
	}
	f.wantAll(t, "1.1.0.0", "after rollback --to "+firstA.ID)

	// Newest first: the rollback runs are ordinary journaled rollouts.
	runs = history(t, f, e)
	var versions []string
	for _, h := range runs {
		versions = append(versions, h.Exe.Version)
		if !h.OK || h.Profile != "farm" || len(h.Servers) != 3 {
			t.Errorf("run %s: ok %v profile %q servers %d", h.ID, h.OK, h.Profile, len(h.Servers))
		}
	}
	if got := strings.Join(versions, " "); got != "1.1.0.0 1.2.0.0 1.1.0.0 1.2.0.0 1.1.0.0" {
		t.Errorf("history versions %s", got)
	}

	// A version never deployed from here: a usage error naming what to do.
	r = f.run(t, e, "rollback", "--to", "7.7.7.7")
	if r.code != 2 || !strings.Contains(r.errOut, "wcdeploy history") {
		t.Errorf("rollback --to unknown: exit %d\n%s", r.code, r.errOut)
	}
}

func TestResumeAfterPartialRollout(t *testing.T) {
	// parallel 2, canary 1: web01 alone, then web02+web03 together.
	f := startFleet(t, 3, "parallel: 2, canary: 1, max_failures: 0", nil)
	f.servers[2].Inject(emulator.Fault{Kind: emulator.FaultSwapCopy})
	e := newEnv(t)

	r := f.run(t, e, "deploy")
	if r.code != 7 {
		t.Fatalf("deploy: exit %d, want 7 (partial)\n%s%s", r.code, r.out, r.errOut)
	}
	got := f.versions()
	if got[0] != newVersion || got[1] != newVersion || got[2] != oldVersion {
		t.Fatalf("after the partial run: %v", got)
	}
	for _, w := range []string{"partial rollout: 2 of 3 servers", "failed: web03", "--resume"} {
		if !strings.Contains(r.errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.errOut)
		}
	}
	partial := lastJournal(t, e)
	if partial.ExitCode != 7 || partial.Servers[2].Verified || !partial.Servers[1].Verified {
		t.Fatalf("journal of the partial run: %+v", partial)
	}
	if !strings.Contains(r.errOut, "run "+partial.ID+" recorded") {
		t.Errorf("stderr does not name the run id %s:\n%s", partial.ID, r.errOut)
	}

	// The cause is fixed, and the build was rewritten in place meanwhile:
	// resume deploys the run's archived build where it is missing: web03.
	f.servers[2].ClearFaults()
	writeExe(t, filepath.Dir(f.exe), "3.0.0.0", 8)
	before := []int{countAction(f.servers[0], "uploadexe"), countAction(f.servers[1], "uploadexe")}
	r = f.run(t, e, "deploy", "--resume", partial.ID, "--json")
	if r.code != 0 {
		t.Fatalf("deploy --resume: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	f.wantAll(t, newVersion, "after resume")
	if got := lastJournal(t, e); got.Resumes != partial.ID || got.Exe.Path != partial.Exe.Path || got.Exe.SHA256 != partial.Exe.SHA256 {
		t.Errorf("journal of the resumed run: resumes %q, exe %+v; want resumes %s, exe %+v", got.Resumes, got.Exe, partial.ID, partial.Exe)
	}
	// Every server of the run is read at preflight; those that run the
	// build now are left alone, web03 gets it.
	rep := parseReport(t, r)
	if len(rep.Servers) != 3 || !rep.Servers[0].UpToDate || !rep.Servers[1].UpToDate ||
		rep.Servers[2].Name != "web03" || !rep.Servers[2].Verified || rep.Build.Version != newVersion {
		t.Errorf("resume report: %+v", rep)
	}
	if countAction(f.servers[0], "uploadexe") != before[0] || countAction(f.servers[1], "uploadexe") != before[1] {
		t.Error("resume uploaded to servers the run had already verified")
	}

	// Resuming again finds web03 already on the build and leaves it alone.
	uploads := countAction(f.servers[2], "uploadexe")
	r = f.run(t, e, "deploy", "--resume", partial.ID)
	if r.code != 0 || countAction(f.servers[2], "uploadexe") != uploads || !strings.Contains(r.out, "already runs "+newVersion) {
		t.Errorf("second resume: exit %d, uploads %d -> %d\n%s%s", r.code, uploads, countAction(f.servers[2], "uploadexe"), r.out, r.errOut)
	}

	runs := history(t, f, e)
	if len(runs) < 2 || runs[len(runs)-1].ID != partial.ID || runs[len(runs)-2].ExitCode != 0 {
		t.Fatalf("history: %+v", runs)
	}
	r = f.run(t, e, "history")
	if r.code != 0 || !strings.Contains(r.out, partial.ID) || !strings.Contains(r.out, "2/3 current") || !strings.Contains(r.out, "partial (7)") {
		t.Errorf("history table: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
}
