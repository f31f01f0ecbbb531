package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/peversion"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// recordRun writes a real EXE, archives it as a run start does, "deploys"
// it to web1 (verified) and web2 (verified, or failed when partial), and
// records the run the way a deploy does.
func recordRun(t *testing.T, j *journal.Journal, scope journal.Scope, p config.Profile, version string, started time.Time, partial bool) string {
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
	sum, err := ArchiveBuild(j, plan.Build)()
	if err != nil {
		t.Fatal(err)
	}
	rep := &rollout.Report{Build: plan.Build, Started: started, OK: true, Servers: []rollout.ServerReport{
		{Name: "web1", URL: p.Servers[0].URL, Staged: true, Swapped: true, Verified: true, VersionAfter: version},
		{Name: "web2", URL: p.Servers[1].URL, Staged: true, Swapped: true, Verified: true, VersionAfter: version},
	}}
	if partial {
		rep.OK, rep.ExitCode = false, 7
		rep.Servers[1] = rollout.ServerReport{Name: "web2", URL: p.Servers[1].URL, Staged: true, Error: "swap failed", ExitCode: 5}
	}
	rep.Build.SHA256 = sum
	id := journal.NewID(started)
	// What each verified server showed after its swap.
	for i, date := range []string{"1/2/2026 3:04:05 AM", "1/2/2026 3:04:06 AM"} {
		if s := &rep.Servers[i]; s.Verified {
			s.Running = &rollout.Running{Version: version, Date: date}
			s.SwapReply = &rollout.Swapped{Version: version, SizeKB: plan.Build.Size / 1000, Date: date}
		}
	}
	m := journal.Meta{ID: id, Project: scope.Project, Profile: p.Name, User: "tester"}
	if w := Record(j, m, p.ArchiveKeep, rep); len(w) != 0 {
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
	cfg := filepath.Join(t.TempDir(), "wcdeploy.yaml")
	scope, err := ScopeOf(&config.Loaded{Profile: p, File: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	recordRun(t, j, scope, p, "1.0.0.1", t0, false)
	second := recordRun(t, j, scope, p, "1.0.0.2", t0.Add(time.Minute), false)
	partial := recordRun(t, j, scope, p, "1.0.0.3", t0.Add(2*time.Minute), true)

	// The journal keeps the project and the echo of verified servers only.
	last := journalRun(t, j, scope, partial)
	if last.Project != scope.Project || last.RunKind() != journal.KindDeploy || last.Servers[0].Swap == nil || last.Servers[1].Swap != nil {
		t.Errorf("journaled run: project %q kind %s, swap echoes %+v / %+v", last.Project, last.RunKind(), last.Servers[0].Swap, last.Servers[1].Swap)
	}

	// --resume: every server of the run, from the archive.
	r, err := j.Resume(scope, partial)
	if err != nil {
		t.Fatal(err)
	}
	rp := p
	if missing := Narrow(&rp, r.Servers); len(missing) != 0 || len(rp.Servers) != 2 || rp.Servers[1].Name != "web2" {
		t.Errorf("resume narrowed to %+v (missing %v), want web1 and web2", rp.Servers, missing)
	}
	var c Choices
	UseArchived(&rp, &c, r.Run.Exe, r.Archived)
	plan, err := NewPlan(rp, c)
	if err != nil {
		t.Fatal(err)
	}
	sum, _, err := peversion.HashFile(plan.Build.File())
	if plan.Build.Version != "1.0.0.3" || plan.Build.Path != r.Run.Exe.Path || err != nil || sum != r.Run.Exe.SHA256 {
		t.Errorf("resumed plan: build %+v reads %s (%v), want the archived %s", plan.Build, sum, err, r.Run.Exe.SHA256)
	}

	// rollback: the build the farm ran before the partial one (1.0.0.2).
	back, err := j.RollbackTarget(scope, "")
	if err != nil {
		t.Fatal(err)
	}
	if back.Target.ID != second || back.Target.Exe.Version != "1.0.0.2" || back.FromLink().Run != partial {
		t.Errorf("rollback goes to %s %s from %+v, want %s 1.0.0.2 from %s", back.Target.ID, back.Target.Exe.Version, back.FromLink(), second, partial)
	}

	// A server the profile no longer lists is named.
	gone := p
	gone.Servers = gone.Servers[:1]
	if missing := Narrow(&gone, r.Servers); strings.Join(missing, ",") != "web2" || len(gone.Servers) != 1 {
		t.Errorf("narrowing to a smaller profile: kept %+v, missing %v", gone.Servers, missing)
	}
}

func journalRun(t *testing.T, j *journal.Journal, s journal.Scope, id string) journal.Entry {
	t.Helper()
	e, err := j.FindIn(s, id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestRecordWarnsInsteadOfFailing(t *testing.T) {
	// The journal folder is a file: nothing can be written, and Record
	// says so as warnings; ArchiveBuild says what will not be possible.
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(dir, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep := &rollout.Report{Started: time.Now(), Servers: []rollout.ServerReport{{Name: "web1"}}}
	w := Record(journal.Open(dir), journal.Meta{ID: journal.NewID(rep.Started), Profile: "prod"}, 5, rep)
	if len(w) == 0 || !strings.Contains(w[0].Error(), "not journaled") {
		t.Errorf("warnings %v, want one saying the run was not journaled", w)
	}
	exe := filepath.Join(t.TempDir(), "App.exe")
	if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: "1.0.0.0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ArchiveBuild(journal.Open(dir), rollout.Build{Path: exe})(); err == nil || !strings.Contains(err.Error(), "rolling back to this build will not be possible") {
		t.Errorf("archiving into a broken state folder: %v", err)
	}
}
