package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/journal"
	"github.com/wcdeploy/wcdeploy/pkg/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// recordRun writes a real EXE, "deploys" it to web1 (verified) and web2
// (verified, or failed when partial), and records the run the way a deploy
// does.
func recordRun(t *testing.T, j *journal.Journal, p config.Profile, version string, started time.Time, partial bool) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "App.exe")
	if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: version}); err != nil {
		t.Fatal(err)
	}
	p.Exe = exe
	plan, err := NewPlan(p, Choices{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := HashBuild(plan.Build)()
	if err != nil {
		t.Fatal(err)
	}
	rep := &rollout.Report{Build: plan.Build, Started: started, OK: true, Servers: []rollout.ServerReport{
		{Name: "web1", Staged: true, Swapped: true, Verified: true, VersionAfter: version},
		{Name: "web2", Staged: true, Swapped: true, Verified: true, VersionAfter: version},
	}}
	if partial {
		rep.OK, rep.ExitCode = false, 7
		rep.Servers[1] = rollout.ServerReport{Name: "web2", Staged: true, Error: "swap failed", ExitCode: 5}
	}
	rep.Build.SHA256 = sum
	id := journal.NewID(started)
	if w := Record(j, id, p, "tester", rep, ""); len(w) != 0 {
		t.Fatalf("warnings: %v", w)
	}
	return id
}

func TestRecordThenResumeAndRollback(t *testing.T) {
	j := journal.Open(t.TempDir())
	p := config.Defaults()
	p.Name = "prod"
	p.ArchiveKeep = 5
	for _, n := range []string{"web1", "web2", "web3"} {
		p.Servers = append(p.Servers, config.Server{Name: n, URL: "https://" + n + ".example.com/App/"})
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	first := recordRun(t, j, p, "1.0.0.1", t0, false)
	recordRun(t, j, p, "1.0.0.2", t0.Add(time.Minute), false)
	partial := recordRun(t, j, p, "1.0.0.3", t0.Add(2*time.Minute), true)

	// --resume: only the server the run did not verify, from the archive.
	rp := p
	e, err := Resume(j, &rp, partial)
	if err != nil {
		t.Fatal(err)
	}
	if len(rp.Servers) != 1 || rp.Servers[0].Name != "web2" || strings.Join(e.Servers, ",") != "web2" {
		t.Errorf("resume narrowed to %+v (unverified %v), want web2", rp.Servers, e.Servers)
	}
	var c Choices
	e.Use(&rp, &c)
	plan, err := NewPlan(rp, c)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Build.Version != "1.0.0.3" || plan.Build.Source == "" || plan.Build.Path != e.Run.Exe.Path || len(plan.Targets) != 1 {
		t.Errorf("resumed plan: build %+v, %d targets", plan.Build, len(plan.Targets))
	}

	// rollback: the build before the last successful run (1.0.0.2).
	back, err := RollbackTarget(j, "prod", "")
	if err != nil {
		t.Fatal(err)
	}
	if back.Run.ID != first || back.Run.Exe.Version != "1.0.0.1" {
		t.Errorf("rollback goes to %s %s, want %s 1.0.0.1", back.Run.ID, back.Run.Exe.Version, first)
	}
	if _, err := RollbackTarget(j, "prod", "9.9.9.9"); err == nil {
		t.Error("rollback to a version never deployed did not fail")
	}
	whole := p
	if _, err := Resume(j, &whole, first); err == nil || !strings.Contains(err.Error(), "nothing to finish") {
		t.Errorf("resuming a run that verified every server: %v", err)
	}

}

func TestRecordWarnsInsteadOfFailing(t *testing.T) {
	// The journal folder is a file: nothing can be written, and Record
	// says so as warnings.
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(dir, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep := &rollout.Report{Started: time.Now(), Servers: []rollout.ServerReport{{Name: "web1"}}}
	w := Record(journal.Open(dir), journal.NewID(rep.Started), config.Profile{Name: "prod"}, "tester", rep, "")
	if len(w) == 0 || !strings.Contains(w[0].Error(), "not journaled") {
		t.Errorf("warnings %v, want one saying the run was not journaled", w)
	}
}
