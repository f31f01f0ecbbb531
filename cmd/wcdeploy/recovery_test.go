package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/lock"
	"github.com/wcdeploy/wcdeploy/internal/peversion"
	"github.com/wcdeploy/wcdeploy/internal/ui"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
)

// The scenarios of recovery: resume, rollback, stage and swap, projects
// and the run lock, each checked against what the emulators run (their
// files), not only against what wcdeploy says.

func sha(t *testing.T, path string) string {
	t.Helper()
	sum, _, err := peversion.HashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// wantBuild checks that every server runs exactly the bytes of the build
// with this SHA-256, not only its version.
func (f *fleet) wantBuild(t *testing.T, version, sum, when string) {
	t.Helper()
	f.wantAll(t, version, when)
	for i, s := range f.servers {
		if got := sha(t, s.ExePath()); got != sum {
			t.Errorf("%s: %s runs the bytes %s, want %s", when, f.names[i], got[:12], sum[:12])
		}
	}
}

func (f *fleet) requests() int {
	n := 0
	for _, s := range f.servers {
		n += len(s.Requests())
	}
	return n
}

func (f *fleet) lockPath(t *testing.T, e env, profile string) string {
	t.Helper()
	s, err := journal.NewScope(f.config, profile, nil)
	if err != nil {
		t.Fatal(err)
	}
	return lock.Path(e["WCDEPLOY_STATE_DIR"], s.Key())
}

func mustRun(t *testing.T, f *fleet, e env, want int, args ...string) result {
	t.Helper()
	r := f.run(t, e, args...)
	if r.code != want {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.out, r.errOut)
	}
	return r
}

// waitUntil polls cond (a state, never a duration) for a bounded time.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 3000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("gave up waiting until %s", what)
}

func lockHeld(path string) func() bool {
	return func() bool {
		b, err := os.ReadFile(path)
		return err == nil && len(b) > 0
	}
}

// Item 7: a run interrupted in preflight archived its build at its start,
// so --resume finishes it, with the bytes of that run though the EXE was
// rebuilt since.
func TestInterruptInPreflightThenResume(t *testing.T) {
	f := startFleet(t, 2, "parallel: 2, canary: 1", nil)
	for _, s := range f.servers {
		s.Inject(emulator.Fault{Kind: emulator.FaultDelay, Action: "status", Delay: time.Minute, Times: 1})
	}
	e := newEnv(t)
	built := sha(t, f.exe)
	s, _, errOut := ui.Test("")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- execute(ctx, []string{"--config", f.config, "deploy"}, systemDeps(s, e.get)) }()
	waitUntil(t, "the deploy holds the lock", lockHeld(f.lockPath(t, e, "farm")))
	time.Sleep(200 * time.Millisecond) // usually inside the delayed status request
	cancel()
	var code int
	select {
	case code = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the interrupted deploy did not end")
	}
	if code != int(exitcode.Interrupted) {
		t.Fatalf("exit %d after Ctrl-C in preflight, want 130\n%s", code, errOut)
	}
	run := lastJournal(t, e)
	if !strings.Contains(errOut.String(), "--resume "+run.ID) || run.Exe.SHA256 != built {
		t.Fatalf("the advice does not name run %s, or the journal lacks the build (%q):\n%s", run.ID, run.Exe.SHA256, errOut)
	}
	f.wantAll(t, oldVersion, "after the interrupt")

	for _, s := range f.servers {
		s.ClearFaults()
	}
	writeExe(t, filepath.Dir(f.exe), "3.0.0.0", 8) // rebuilt in place meanwhile
	r := mustRun(t, f, e, 0, "deploy", "--resume", run.ID)
	f.wantBuild(t, newVersion, built, "after the resume")
	if got := lastJournal(t, e); got.RunKind() != journal.KindResume || got.Resumes != run.ID {
		t.Errorf("the resume is journaled as %s of %q, want a resume of %s\n%s", got.RunKind(), got.Resumes, run.ID, r.errOut)
	}
}

// Items 8 and 9: rollback after a partial rollout goes to the build the
// farm ran before, not one further; after a first-ever deploy it names
// what the servers ran; a resume of the partial run after the rollback
// deploys to every server of that run again.
func TestRollbackReturnsToWhatTheFarmRan(t *testing.T) {
	f := startFleet(t, 2, "parallel: 2, canary: 1, max_failures: 0", nil)
	e := newEnv(t)
	v1, v2, v3 := exeIn(t, "2.0.0.1", 1), exeIn(t, "2.0.0.2", 2), exeIn(t, "2.0.0.3", 3)

	f.servers[1].Inject(emulator.Fault{Kind: emulator.FaultSwapCopy, Times: 1})
	mustRun(t, f, e, 7, "deploy", "--exe", v3)
	r := mustRun(t, f, e, 2, "rollback")
	for _, w := range []string{"ran " + oldVersion, "never had that EXE", "--exe PATH"} {
		if !strings.Contains(r.errOut, w) {
			t.Errorf("rollback after a first-ever deploy does not say %q:\n%s", w, r.errOut)
		}
	}

	mustRun(t, f, e, 0, "deploy", "--exe", v1)
	mustRun(t, f, e, 0, "deploy", "--exe", v2)
	f.servers[1].Inject(emulator.Fault{Kind: emulator.FaultSwapCopy, Times: 1})
	mustRun(t, f, e, 7, "deploy", "--exe", v3)
	partial := lastJournal(t, e)
	if got := f.versions(); got[0] != "2.0.0.3" || got[1] != "2.0.0.2" {
		t.Fatalf("after the partial rollout the farm runs %v", got)
	}

	r = mustRun(t, f, e, 0, "rollback")
	f.wantBuild(t, "2.0.0.2", sha(t, v2), "after the rollback")
	if !strings.Contains(r.errOut, "to 2.0.0.2") || !strings.Contains(r.errOut, "from 2.0.0.3 (run "+partial.ID+")") {
		t.Errorf("rollback does not say where it goes and from where:\n%s", r.errOut)
	}
	rb := lastJournal(t, e)
	if rb.RunKind() != journal.KindRollback || rb.RollbackFrom == nil || rb.RollbackFrom.Run != partial.ID {
		t.Errorf("the rollback is journaled as %s from %+v", rb.RunKind(), rb.RollbackFrom)
	}

	// The partial run's servers all run 2.0.0.2 now: the resume deploys
	// 2.0.0.3 to both, not only to the one the run did not verify.
	uploads := countAction(f.servers[0], "uploadexe")
	mustRun(t, f, e, 0, "deploy", "--resume", partial.ID)
	f.wantBuild(t, "2.0.0.3", sha(t, v3), "after resuming the partial run")
	if countAction(f.servers[0], "uploadexe") != uploads+1 {
		t.Error("the resume left web01, rolled back since, on the older build")
	}
}

// appendProfile adds a profile with one server to the fleet's config.
func (f *fleet) appendProfile(t *testing.T, name, server, url string) {
	t.Helper()
	yaml := fmt.Sprintf("  %s:\n    exe: %q\n    username: deploy\n    auth: basic\n    flavor: module\n    servers:\n      - {name: %s, url: %q}\n", name, f.exe, server, url)
	fh, err := os.OpenFile(f.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(yaml); err != nil {
		t.Fatal(err)
	}
}

// Item 10: a run of profile farm is not resumed under profile staging,
// though staging has a server of the same name; staging is not contacted.
func TestResumeRefusesAnotherProfile(t *testing.T) {
	f := startFleet(t, 2, "parallel: 2, canary: 1", nil)
	staging := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: "basic", Users: map[string]string{"deploy": testPassword}, InitialVersion: oldVersion})
	f.appendProfile(t, "staging", "web02", staging.URL())
	e := newEnv(t)
	f.servers[1].Inject(emulator.Fault{Kind: emulator.FaultSwapCopy, Times: 1})
	mustRun(t, f, e, 7, "deploy")
	partial := lastJournal(t, e)

	r := mustRun(t, f, e, 2, "--profile", "staging", "deploy", "--resume", partial.ID)
	if !strings.Contains(r.errOut, `profile "farm"`) || !strings.Contains(r.errOut, "--profile farm") {
		t.Errorf("the refusal does not say where the run belongs:\n%s", r.errOut)
	}
	if n := len(staging.Requests()); n != 0 || staging.ExeVersion() != oldVersion {
		t.Errorf("staging got %d requests and runs %s", n, staging.ExeVersion())
	}
	mustRun(t, f, e, 0, "deploy", "--resume", partial.ID)
	f.wantAll(t, newVersion, "after resuming under its own profile")
}

// Item 12: two projects with a profile of the same name keep their runs
// apart: rollback in A deploys A's build, history in A lists A's runs.
func TestProjectsKeepTheirRuns(t *testing.T) {
	a := startFleet(t, 1, "parallel: 1", nil)
	b := startFleet(t, 1, "parallel: 1", nil)
	e := newEnv(t)
	a1, a2, b1 := exeIn(t, "1.1.0.0", 1), exeIn(t, "1.2.0.0", 2), exeIn(t, "5.0.0.0", 5)
	mustRun(t, a, e, 0, "deploy", "--exe", a1)
	mustRun(t, a, e, 0, "deploy", "--exe", a2)
	mustRun(t, b, e, 0, "deploy", "--exe", b1)
	bRun := lastJournal(t, e)

	mustRun(t, a, e, 0, "rollback")
	a.wantBuild(t, "1.1.0.0", sha(t, a1), "project A after its rollback")
	b.wantBuild(t, "5.0.0.0", sha(t, b1), "project B after A's rollback")

	runs := history(t, a, e)
	if len(runs) != 3 {
		t.Fatalf("history of A lists %d runs, want its 3", len(runs))
	}
	for _, h := range runs {
		if h.Project != runs[0].Project || h.ID == bRun.ID {
			t.Errorf("history of A lists run %s of %s", h.ID, h.Project)
		}
	}
	all := mustRun(t, a, e, 0, "history", "--all")
	if !strings.Contains(all.out, "PROJECT") || !strings.Contains(all.out, a.config) || !strings.Contains(all.out, b.config) || !strings.Contains(all.out, "rollback from 1.2.0.0") {
		t.Errorf("history --all:\n%s", all.out)
	}
	r := mustRun(t, a, e, 2, "deploy", "--resume", bRun.ID)
	if !strings.Contains(r.errOut, b.config) {
		t.Errorf("resuming B's run in A does not name B:\n%s", r.errOut)
	}

	c := startFleet(t, 1, "parallel: 1", nil)
	if r := mustRun(t, c, e, 0, "history"); !strings.Contains(r.out, "no runs of this project and profile in") || !strings.Contains(r.out, "'wcdeploy history --all' lists every project's") {
		t.Errorf("history of a project without runs:\n%s", r.out)
	}
}

// Item 13: --stage-only archives the build and journals which servers hold
// it; swap swaps it in, uploading nothing, verified like a deploy.
func TestStageOnlyThenSwap(t *testing.T) {
	f := startFleet(t, 3, "parallel: 2, canary: 1", nil)
	e := newEnv(t)
	built := sha(t, f.exe)
	mustRun(t, f, e, 0, "deploy", "--stage-only")
	stage := lastJournal(t, e)
	f.wantAll(t, oldVersion, "after --stage-only")
	for i, s := range f.servers {
		if got := sha(t, s.UpdatePath()); got != built || !stage.Servers[i].Staged {
			t.Errorf("%s: staged %v, holds %s, want %s", f.names[i], stage.Servers[i].Staged, got[:12], built[:12])
		}
	}
	if stage.RunKind() != journal.KindStage || stage.Exe.SHA256 != built {
		t.Fatalf("the stage run is journaled as %s with build %q", stage.RunKind(), stage.Exe.SHA256)
	}

	writeExe(t, filepath.Dir(f.exe), "3.0.0.0", 8) // the next build, not the staged one
	uploads := make([]int, len(f.servers))
	for i, s := range f.servers {
		uploads[i] = countAction(s, "uploadexe")
	}
	r := mustRun(t, f, e, 0, "swap")
	f.wantBuild(t, newVersion, built, "after the swap")
	for i, s := range f.servers {
		if countAction(s, "uploadexe") != uploads[i] {
			t.Errorf("%s: swap uploaded", f.names[i])
		}
	}
	if !strings.Contains(r.errOut, "staged by run "+stage.ID+": nothing to upload") || strings.Contains(r.errOut, "uploading") {
		t.Errorf("swap progress:\n%s", r.errOut)
	}
	sw := lastJournal(t, e)
	if sw.RunKind() != journal.KindSwap || sw.StageRun != stage.ID || sw.Exe.SHA256 != built || !sw.OK {
		t.Errorf("the swap is journaled as %s of %q, build %q, ok %v", sw.RunKind(), sw.StageRun, sw.Exe.SHA256, sw.OK)
	}
	for _, s := range sw.Servers {
		if !s.Verified || s.Swap == nil || s.Swap.Version != newVersion {
			t.Errorf("%s: verified %v, swap echo %+v", s.Name, s.Verified, s.Swap)
		}
	}
	if h := mustRun(t, f, e, 0, "history"); !strings.Contains(h.out, "swap of "+stage.ID) || !strings.Contains(h.out, "stage") {
		t.Errorf("history does not show the stage and swap runs:\n%s", h.out)
	}
	r = mustRun(t, f, e, 2, "swap", "--run", stage.ID)
	if !strings.Contains(r.errOut, "left nothing to swap") || !strings.Contains(r.errOut, "already runs "+newVersion) {
		t.Errorf("a second swap:\n%s", r.errOut)
	}
}

// Item 14: a run that found nothing to do archived its build, so a later
// rollback to it works.
func TestNoOpRunThenRollback(t *testing.T) {
	f := startFleet(t, 2, "parallel: 2, canary: 1", nil)
	e := newEnv(t)
	same := exeIn(t, oldVersion, 4) // the version the servers run already
	// Skipping by version: no deploy of this machine put this build there.
	mustRun(t, f, e, 0, "deploy", "--exe", same, "--skip-same-version")
	if countAction(f.servers[0], "uploadexe") != 0 {
		t.Fatal("the no-op run uploaded")
	}
	mustRun(t, f, e, 0, "deploy")
	mustRun(t, f, e, 0, "rollback")
	f.wantBuild(t, oldVersion, sha(t, same), "after rolling back to the no-op run's build")
}

// Item 15: while a run holds the lock, a second deploy, rollback, swap or
// resume of the project and profile exits 8 at once, contacting nothing;
// with --wait-lock it waits; a lock left behind is taken over with a note.
func TestRunLock(t *testing.T) {
	f := startFleet(t, 2, "parallel: 2, canary: 1", nil)
	e := newEnv(t)
	path := f.lockPath(t, e, "farm")
	holder := lock.Info{PID: os.Getpid(), Host: lock.ThisHost(), RunID: "20261201T090000Z-0a0b0c", Command: "deploy", Since: time.Now()}
	l, err := lock.Acquire(t.Context(), path, holder, lock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"deploy"}, {"rollback"}, {"swap"}, {"deploy", "--resume", "20261201T000000Z-000000"}, {"deploy", "--stage-only"}} {
		r := mustRun(t, f, e, int(exitcode.Locked), args...)
		if !strings.Contains(r.errOut, holder.RunID) || !strings.Contains(r.errOut, "--wait-lock") || !strings.Contains(r.errOut, "nothing was contacted") {
			t.Errorf("%v: the message does not name the holder and the way out:\n%s", args, r.errOut)
		}
		if n := f.requests(); n != 0 {
			t.Fatalf("%v: the servers got %d requests while the lock was held", args, n)
		}
	}
	if _, err := os.Stat(filepath.Join(e["WCDEPLOY_STATE_DIR"], journal.FileName)); err == nil {
		t.Error("a locked-out run was journaled")
	}
	mustRun(t, f, e, 0, "deploy", "--dry-run") // a dry run changes nothing and takes no lock
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}

	// Two real runs: the second waits for the first.
	for _, s := range f.servers {
		s.Inject(emulator.Fault{Kind: emulator.FaultDelay, Action: "status", Delay: time.Second, Times: 1})
	}
	first := make(chan result, 1)
	go func() { first <- f.run(t, e, "deploy") }()
	waitUntil(t, "the first deploy holds the lock", lockHeld(path))
	second := f.run(t, e, "deploy", "--wait-lock", "2m")
	r1 := <-first
	lines := journalLines(t, e)
	if r1.code != 0 || second.code != 0 || len(lines) != 2 {
		t.Fatalf("exit %d and %d, %d runs journaled\n%s\n%s", r1.code, second.code, len(lines), r1.errOut, second.errOut)
	}
	if !strings.Contains(second.errOut, "waiting up to 2m0s for the lock held by deploy "+lines[0].ID) {
		t.Errorf("the waiting run does not name the run it waits for (%s):\n%s", lines[0].ID, second.errOut)
	}
	if lines[1].Current() != 2 || lines[1].Servers[0].Staged {
		t.Errorf("the second run, after the first: %+v", lines[1].Servers)
	}

	// A lock file left by a run that ended without releasing it.
	stale, _ := json.Marshal(lock.Info{PID: 1 << 30, Host: lock.ThisHost(), RunID: "20261201T080000Z-dead00", Command: "deploy", Since: time.Now()})
	if err := os.WriteFile(path, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, f, e, 0, "deploy")
	if !strings.Contains(r.errOut, "took over the lock of deploy 20261201T080000Z-dead00") {
		t.Errorf("no takeover note:\n%s", r.errOut)
	}
}

// Item 17: rollback runs are marked in history, and a rollback right after
// a rollback goes one good build further back.
func TestRollbackAfterRollback(t *testing.T) {
	f := startFleet(t, 2, "parallel: 2, canary: 1", nil)
	e := newEnv(t)
	v1, v2, v3 := exeIn(t, "1.1.0.0", 1), exeIn(t, "1.2.0.0", 2), exeIn(t, "1.3.0.0", 3)
	for _, v := range []string{v1, v2, v3} {
		mustRun(t, f, e, 0, "deploy", "--exe", v)
	}
	mustRun(t, f, e, 0, "rollback")
	f.wantBuild(t, "1.2.0.0", sha(t, v2), "after the first rollback")
	mustRun(t, f, e, 0, "rollback")
	f.wantBuild(t, "1.1.0.0", sha(t, v1), "after the second rollback")

	h := mustRun(t, f, e, 0, "history")
	if !strings.Contains(h.out, "KIND") || !strings.Contains(h.out, "rollback from 1.3.0.0") || !strings.Contains(h.out, "rollback from 1.2.0.0") {
		t.Errorf("history does not mark the rollbacks:\n%s", h.out)
	}
	// --to returns to a build rolled back from.
	mustRun(t, f, e, 0, "rollback", "--to", "1.3.0.0")
	f.wantBuild(t, "1.3.0.0", sha(t, v3), "after rollback --to 1.3.0.0")
}

// Item 15, separate state folders: two runs of one project and profile
// with their own WCDEPLOY_STATE_DIR still meet at the machine-wide lock;
// the second exits 8 at once (TestRunLock shows that nothing is contacted).
func TestRunLockAcrossStateFolders(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // this test's own machine-wide lock folder
	f := startFleet(t, 2, "parallel: 2, canary: 1", nil)
	first, second := newEnv(t), newEnv(t)
	if first["WCDEPLOY_STATE_DIR"] == second["WCDEPLOY_STATE_DIR"] {
		t.Fatal("the two runs share a state folder")
	}
	for _, s := range f.servers {
		s.Inject(emulator.Fault{Kind: emulator.FaultDelay, Action: "status", Delay: 2 * time.Second, Times: 1})
	}
	done := make(chan result, 1)
	go func() { done <- f.run(t, first, "deploy") }()
	waitUntil(t, "the first deploy holds its lock", lockHeld(f.lockPath(t, first, "farm")))
	r := mustRun(t, f, second, int(exitcode.Locked), "deploy")
	if !strings.Contains(r.errOut, "--wait-lock") || !strings.Contains(r.errOut, "nothing was contacted") {
		t.Errorf("the message does not give the way out:\n%s", r.errOut)
	}
	if r := <-done; r.code != 0 {
		t.Fatalf("the first deploy: exit %d\n%s", r.code, r.errOut)
	}
}
