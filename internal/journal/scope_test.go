package journal

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
)

const projA, projB = "/p/a/wcdeploy.yaml", "/p/b/wcdeploy.yaml"

var farm = []string{"web1", "web2", "web3"}

func urlOf(name string) string { return "https://" + name + ".example/app/" }

func scopeA() Scope {
	var urls []string
	for _, n := range farm {
		urls = append(urls, urlOf(n))
	}
	return Scope{Project: projA, Profile: "prod", URLs: urls}
}

// run is a run of project A's prod profile at minute m, its servers given
// as "name:state" (ok, current, failed, skipped, staged, swapped: swapped
// but not verified), each with before as the version it ran before.
func run(id string, kind Kind, build string, m int, before string, servers ...string) Entry {
	e := entry(id, "prod", build, m, true, servers...)
	e.Project, e.Kind = projA, kind
	for k := range e.Servers {
		s := &e.Servers[k]
		s.URL, s.VersionBefore = urlOf(s.Name), before
		_, st, _ := strings.Cut(servers[k], ":")
		switch st {
		case "staged":
			s.Staged, s.Skipped = true, "staged, not swapped (--stage-only)"
		case "swapped":
			s.Staged, s.Swapped, s.Error, s.ExitCode = true, true, "verify failed", 6
		}
		if s.ExitCode != 0 {
			e.OK, e.ExitCode = false, 7
		}
	}
	return e
}

func all(state string) []string {
	var out []string
	for _, n := range farm {
		out = append(out, n+":"+state)
	}
	return out
}

// journalOf writes the runs and archives every build named in archived.
func journalOf(t *testing.T, runs []Entry, archived ...string) *Journal {
	t.Helper()
	j := Open(filepath.Join(t.TempDir(), "state"))
	for _, e := range runs {
		if err := j.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	src := t.TempDir()
	for _, b := range archived {
		p, sum := writeExe(t, src, b)
		if _, err := j.Store(p, sum); err != nil {
			t.Fatal(err)
		}
	}
	return j
}

func rollback(id, build string, m int, from Entry, servers ...string) Entry {
	e := run(id, KindRollback, build, m, from.Exe.Version, servers...)
	e.RollbackFrom = &Link{Run: from.ID, Version: from.Exe.Version, SHA256: from.Exe.SHA256}
	return e
}

func TestRollbackTarget(t *testing.T) {
	r1 := run("r1", KindDeploy, "2.0.0.1", 1, "", all("ok")...)
	r2 := run("r2", KindDeploy, "2.0.0.2", 2, "2.0.0.1", all("ok")...)
	r3 := run("r3", KindDeploy, "2.0.0.3", 3, "2.0.0.2", all("ok")...)
	r3p := run("r3", KindDeploy, "2.0.0.3", 3, "2.0.0.2", "web1:ok", "web2:failed", "web3:skipped")
	builds := []string{"2.0.0.1", "2.0.0.2", "2.0.0.3", "2.0.0.4"}
	cases := []struct {
		name       string
		runs       []Entry
		target     string // run id; "" when an error is expected
		from       string
		errHas     []string
		unarchived []string
	}{
		{name: "partial over a farm that ran 2.0.0.2: back to 2.0.0.2, not 2.0.0.1",
			runs: []Entry{r1, r2, r3p}, target: "r2", from: "r3"},
		{name: "a build that never ran everywhere is not a target: the farm was mixed",
			runs: []Entry{r1, run("r2", KindDeploy, "2.0.0.2", 2, "2.0.0.1", "web1:ok", "web2:failed", "web3:skipped"),
				run("r3", KindDeploy, "2.0.0.3", 3, "2.0.0.1", "web1:ok", "web2:ok", "web3:failed")},
			target: "r1", from: "r3"},
		{name: "after a full deploy: the build before it",
			runs: []Entry{r1, r2, r3}, target: "r2", from: "r3"},
		{name: "a verify failure still reached the server",
			runs: []Entry{r1, r2, run("r3", KindDeploy, "2.0.0.3", 3, "2.0.0.2", "web1:swapped", "web2:skipped", "web3:skipped")}, target: "r2", from: "r3"},
		{name: "a run that reached nothing is not what rollback leaves",
			runs: []Entry{r1, r2, run("r3", KindDeploy, "2.0.0.3", 3, "2.0.0.2", "web1:failed", "web2:skipped", "web3:skipped")}, target: "r1", from: "r2"},
		{name: "first-ever deploy, partial: names what the servers ran, which wcdeploy never had",
			runs:   []Entry{run("r1", KindDeploy, "2.0.0.3", 1, "2.0.0.2", "web1:ok", "web2:failed", "web3:skipped")},
			errHas: []string{"no earlier build wcdeploy has", "2.0.0.2 (web1, web2, web3)", "never had that EXE", "--exe PATH"}},
		{name: "first-ever deploy, resumed: the first run's versions",
			runs: []Entry{
				run("r1", KindDeploy, "2.0.0.3", 1, "2.0.0.2", "web1:ok", "web2:failed", "web3:skipped"),
				resume(run("r2", KindResume, "2.0.0.3", 2, "2.0.0.3", "web2:ok", "web3:ok"), "r1"),
			},
			errHas: []string{"before run r1 (2.0.0.3) the servers ran 2.0.0.2 (web1, web2, web3)"}},
		{name: "a rollback right after a rollback goes one good build further back",
			runs: []Entry{r1, r2, r3, rollback("r4", "2.0.0.2", 4, r3, all("ok")...)}, target: "r1", from: "r4"},
		{name: "and a third finds every earlier build rolled back from",
			runs: []Entry{r1, r2, r3, rollback("r4", "2.0.0.2", 4, r3, all("ok")...),
				rollback("r5", "2.0.0.1", 5, rollback("r4", "2.0.0.2", 4, r3), all("ok")...)},
			errHas: []string{"was rolled back from", "rollback --to RUN"}},
		{name: "a build deployed again after its rollback is a target again",
			runs: []Entry{r2, r3, rollback("r4", "2.0.0.2", 4, r3, all("ok")...),
				run("r5", KindDeploy, "2.0.0.3", 5, "2.0.0.2", all("ok")...),
				run("r6", KindDeploy, "2.0.0.4", 6, "2.0.0.3", "web1:ok", "web2:failed", "web3:skipped")},
			target: "r5", from: "r6"},
		{name: "a partial run finished by a resume was fully deployed",
			runs: []Entry{r1,
				run("r2", KindDeploy, "2.0.0.2", 2, "2.0.0.1", "web1:ok", "web2:failed", "web3:skipped"),
				resume(run("r3", KindResume, "2.0.0.2", 3, "2.0.0.1", "web2:ok", "web3:ok"), "r2"),
				run("r4", KindDeploy, "2.0.0.3", 4, "2.0.0.2", "web1:ok", "web2:failed", "web3:skipped")},
			target: "r3", from: "r4"},
		{name: "no-op runs of the same build change nothing",
			runs: []Entry{r2, r3, run("r4", KindDeploy, "2.0.0.3", 4, "2.0.0.3", all("current")...)}, target: "r2", from: "r4"},
		{name: "a build only ever found running, never archived, is named, not passed over",
			runs:   []Entry{r1, run("r2", KindDeploy, "2.0.0.2", 2, "2.0.0.2", all("current")...), r3},
			errHas: []string{"ran 2.0.0.2 before (run r2)", "never uploaded it", "rollback --to r1"}, unarchived: []string{"2.0.0.2"}},
		{name: "a pruned build says so",
			runs: []Entry{r2, r3}, errHas: []string{"ran 2.0.0.2 before", "pruned"}, unarchived: []string{"2.0.0.2"}},
		{name: "stage-only and dry runs are not deployments",
			runs: []Entry{r1, r2, run("r3", KindStage, "2.0.0.3", 3, "2.0.0.2", all("staged")...),
				func() Entry {
					e := run("r4", KindDeploy, "2.0.0.4", 4, "2.0.0.2", all("ok")...)
					e.DryRun = true
					return e
				}()},
			target: "r1", from: "r2"},
		{name: "a swap of a stage run that missed a server did not deploy everywhere",
			runs: []Entry{r1, run("s2", KindStage, "2.0.0.2", 2, "2.0.0.1", "web1:staged", "web2:staged", "web3:failed"),
				func() Entry {
					e := run("w2", KindSwap, "2.0.0.2", 3, "2.0.0.1", "web1:ok", "web2:ok")
					e.StageRun = "s2"
					return e
				}(),
				run("r3", KindDeploy, "2.0.0.3", 4, "2.0.0.1", "web1:ok", "web2:failed", "web3:skipped")},
			target: "r1", from: "r3"},
		{name: "a full swap is a full deploy",
			runs: []Entry{r1, run("s2", KindStage, "2.0.0.2", 2, "2.0.0.1", all("staged")...),
				func() Entry {
					e := run("w2", KindSwap, "2.0.0.2", 3, "2.0.0.1", all("ok")...)
					e.StageRun = "s2"
					return e
				}(),
				r3p},
			target: "w2", from: "r3"},
		{name: "nothing deployed yet", runs: []Entry{run("r1", KindStage, "2.0.0.3", 1, "2.0.0.2", all("staged")...)},
			errHas: []string{"no run of profile \"prod\" of /p/a/wcdeploy.yaml deployed a build yet"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var keep []string
			for _, b := range builds {
				if !slices.Contains(c.unarchived, b) {
					keep = append(keep, b)
				}
			}
			j := journalOf(t, c.runs, keep...)
			r, err := j.RollbackTarget(scopeA(), "")
			if c.target == "" {
				if err == nil || !errors.Is(err, ErrNotFound) && !strings.Contains(err.Error(), "archive") {
					t.Fatalf("want an error, got target %s (%v)", r.Target.ID, err)
				}
				for _, s := range c.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error lacks %q:\n%v", s, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Target.ID != c.target || r.From.ID != c.from {
				t.Errorf("target %s from %s; want %s from %s", r.Target.ID, r.From.ID, c.target, c.from)
			}
			if want, _ := j.ArchivePath(r.Target.Exe.SHA256); r.Archived != want {
				t.Errorf("archived %s, want %s", r.Archived, want)
			}
			if l := r.FromLink(); l == nil || l.Run != c.from {
				t.Errorf("FromLink %+v", l)
			}
		})
	}
}

func resume(e Entry, of string) Entry { e.Resumes = of; return e }

func TestRollbackToAndOtherProjects(t *testing.T) {
	b1 := run("b1", KindDeploy, "9.0.0.1", 1, "", all("ok")...)
	b1.Project = projB
	b2 := run("b2", KindDeploy, "9.0.0.2", 5, "9.0.0.1", all("ok")...)
	b2.Project = projB
	runs := []Entry{b1, run("a1", KindDeploy, "2.0.0.1", 2, "", all("ok")...), run("a2", KindDeploy, "2.0.0.2", 3, "2.0.0.1", all("ok")...), b2}
	j := journalOf(t, runs, "9.0.0.1", "9.0.0.2", "2.0.0.1", "2.0.0.2")

	// Project B's newer runs never reach project A's rollback.
	r, err := j.RollbackTarget(scopeA(), "")
	if err != nil || r.Target.ID != "a1" || r.From.ID != "a2" {
		t.Fatalf("A's rollback: %s from %s, %v", r.Target.ID, r.From.ID, err)
	}
	if r, err := j.RollbackTarget(scopeA(), "2.0.0.1"); err != nil || r.Target.ID != "a1" || r.From.ID != "a2" {
		t.Errorf("--to 2.0.0.1: %s %v", r.Target.ID, err)
	}
	if _, err := j.RollbackTarget(scopeA(), "9.0.0.1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("--to another project's version: %v", err)
	}
	_, err = j.RollbackTarget(scopeA(), "b1")
	if !errors.Is(err, ErrOtherScope) || !strings.Contains(err.Error(), "--config "+projB+" --profile prod") {
		t.Errorf("--to another project's run: %v", err)
	}
	h, err := j.History(scopeA())
	if err != nil {
		t.Fatal(err)
	}
	if ids := idsOf(h); !slices.Equal(ids, []string{"a2", "a1"}) {
		t.Errorf("A's history: %v", ids)
	}
	other := scopeA()
	other.Profile = "staging"
	if h, _ := j.History(other); len(h) != 0 {
		t.Errorf("staging sees %v", idsOf(h))
	}
}

func idsOf(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestResume(t *testing.T) {
	p := run("p", KindDeploy, "2.0.0.2", 2, "2.0.0.1", "web1:ok", "web2:failed", "web3:skipped")
	runs := []Entry{
		run("r1", KindDeploy, "2.0.0.1", 1, "", all("ok")...),
		p,
		rollback("rb", "2.0.0.1", 3, p, all("ok")...),
		resume(run("p2", KindResume, "2.0.0.2", 4, "2.0.0.1", "web2:ok", "web3:failed"), "p"),
		run("st", KindStage, "2.0.0.3", 5, "2.0.0.2", all("staged")...),
		func() Entry {
			e := run("dry", KindDeploy, "2.0.0.4", 6, "2.0.0.2", all("skipped")...)
			e.DryRun = true
			return e
		}(),
		func() Entry {
			e := run("other", KindDeploy, "2.0.0.2", 7, "2.0.0.1", all("failed")...)
			e.Profile = "staging"
			return e
		}(),
	}
	j := journalOf(t, runs, "2.0.0.1", "2.0.0.2", "2.0.0.3", "2.0.0.4")

	for _, id := range []string{"p", "p2"} { // a resume of a resume finishes the same run
		r, err := j.Resume(scopeA(), id)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range r.Servers {
			names = append(names, s.Name)
		}
		// Every server of the run: the rollback since moved web1 back too.
		if r.Run.ID != "p" || !slices.Equal(names, farm) || !slices.Equal(r.Unverified, []string{"web3"}) || !strings.HasSuffix(r.Archived, sha("2.0.0.2")+".exe") {
			t.Errorf("Resume(%s) = run %s, servers %v, unverified %v, %s", id, r.Run.ID, names, r.Unverified, r.Archived)
		}
	}
	refusals := map[string]string{
		"other": `run other is a run of profile "staging" of /p/a/wcdeploy.yaml, not of profile "prod"`,
		"st":    "'wcdeploy swap --run st' swaps it",
		"dry":   "was a dry run",
		"nope":  "no run \"nope\"",
	}
	for id, want := range refusals {
		if _, err := j.Resume(scopeA(), id); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Resume(%s): %v; want %q", id, err, want)
		}
	}
	if _, err := j.Resume(scopeA(), "other"); !errors.Is(err, ErrOtherScope) {
		t.Errorf("another profile's run: %v", err)
	}
	gone := journalOf(t, runs) // nothing archived
	if _, err := gone.Resume(scopeA(), "p"); err == nil || !strings.Contains(err.Error(), "not in the archive") {
		t.Errorf("unarchived: %v", err)
	}
}

func TestStage(t *testing.T) {
	st := run("st", KindStage, "2.0.0.3", 2, "2.0.0.2", "web1:staged", "web2:staged", "web3:failed")
	runs := []Entry{run("r1", KindDeploy, "2.0.0.2", 1, "", all("ok")...), st}
	j := journalOf(t, runs, "2.0.0.2", "2.0.0.3")
	s, err := j.Stage(scopeA(), "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sv := range s.Servers {
		names = append(names, sv.Name)
	}
	if s.Run.ID != "st" || !slices.Equal(names, []string{"web1", "web2"}) || len(s.Notes) != 1 || !strings.HasPrefix(s.Notes[0], "web3: was not staged") {
		t.Errorf("Stage = %s %v %v", s.Run.ID, names, s.Notes)
	}
	if s2, err := j.Stage(scopeA(), "st"); err != nil || s2.Run.ID != "st" {
		t.Errorf("Stage(st): %v", err)
	}
	if _, err := j.Stage(scopeA(), "r1"); err == nil || !strings.Contains(err.Error(), "not a stage-only one") {
		t.Errorf("Stage(r1): %v", err)
	}

	// A deploy of another build since overwrote web2's UpdateFile; a swap
	// run then swapped web1: nothing is left.
	sw := run("sw", KindSwap, "2.0.0.3", 4, "2.0.0.2", "web1:ok")
	sw.StageRun = "st"
	more := append(runs, run("d", KindDeploy, "2.0.0.4", 3, "2.0.0.2", "web1:failed", "web2:staged", "web3:skipped"), sw)
	j = journalOf(t, more, "2.0.0.3")
	_, err = j.Stage(scopeA(), "")
	for _, want := range []string{"run st (2.0.0.3) left nothing to swap", "web1: already runs 2.0.0.3 (run sw)", "web2: run d uploaded 2.0.0.4 over it", "--stage-only"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("after the swap: %v; want %q", err, want)
		}
	}
	if _, err := journalOf(t, runs[:1]).Stage(scopeA(), ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("no stage run: %v", err)
	}
}

func TestIdentities(t *testing.T) {
	rep := &rollout.Report{Build: rollout.Build{Path: "/b/App.exe", Version: "1.2.3.5", Size: 2_300_000, SHA256: sha("A")}, Started: t0,
		Servers: []rollout.ServerReport{
			{Name: "web1", URL: urlOf("web1"), Staged: true, Swapped: true, Verified: true},
			{Name: "web2", URL: urlOf("web2"), Staged: true, Swapped: true},
		}}
	a := NewRun(Meta{ID: "a", Project: projA, Profile: "prod"}, rep)
	echo := rollout.Swapped{Version: "1.2.3.5", SizeKB: 2300, Date: "12/1/2026 9:30:15 AM"}
	if !a.SetSwap("web1", echo) || a.SetSwap("web2", echo) || a.SetSwap("web9", echo) {
		t.Fatal("SetSwap must record verified servers only")
	}
	if a.SetSwap("web1", rollout.Swapped{Version: "1.2.3.5", Date: "n/a"}) || a.Servers[0].Swap.Date != echo.Date {
		t.Error("an unusable date replaced the echo")
	}
	// The same version rebuilt (other bytes), swapped later on web1.
	rep.Build.SHA256, rep.Started = sha("B"), t0.Add(time.Hour)
	b := NewRun(Meta{ID: "b", Project: projA, Profile: "prod"}, rep)
	b.SetSwap("web1", rollout.Swapped{Version: "1.2.3.5", SizeKB: 2301, Date: "12/1/2026 10:30:15 AM"})
	// Another project's deploy with the same echo identifies nothing here.
	c := NewRun(Meta{ID: "c", Project: projB, Profile: "prod"}, rep)
	c.SetSwap("web1", echo)
	j := journalOf(t, []Entry{a, b, c})

	ids, err := j.Identities(scopeA())
	if err != nil {
		t.Fatal(err)
	}
	status := func(v, d string) rollout.Running { return rollout.Running{Version: v, Date: d} }
	if id, ok := ids.Lookup("HTTPS://WEB1.example/app", status("1.2.3.5", "12/1/2026\u00a0 9:30:15 AM")); !ok || id.SHA256 != sha("A") || id.Run != "a" {
		t.Errorf("web1 at 9:30: %+v %v", id, ok)
	}
	if !ids.RunsBuild(urlOf("web1"), status("1.2.3.5", "12/1/2026 10:30:15 AM"), strings.ToUpper(sha("B"))) {
		t.Error("web1 at 10:30 runs B")
	}
	for name, q := range map[string]struct {
		url string
		r   rollout.Running
	}{
		"another date (someone else's upload)": {urlOf("web1"), status("1.2.3.5", "12/1/2026 11:00:00 AM")},
		"another version":                      {urlOf("web1"), status("1.2.3.6", "12/1/2026 9:30:15 AM")},
		"a server never verified":              {urlOf("web2"), status("1.2.3.5", "12/1/2026 9:30:15 AM")},
		"no date on the page":                  {urlOf("web1"), status("1.2.3.5", "")},
		"n/a":                                  {urlOf("web1"), status("1.2.3.5", "n/a")},
	} {
		if id, ok := ids.Lookup(q.url, q.r); ok {
			t.Errorf("%s: identified %+v", name, id)
		}
	}
	// Two builds swapped in with the same version and date cannot be told apart.
	d := NewRun(Meta{ID: "d", Project: projA, Profile: "prod"}, rep)
	d.Servers[0].Verified = true
	d.SetSwap("web1", echo)
	d.Time = t0.Add(2 * time.Hour)
	if err := j.Append(d); err != nil {
		t.Fatal(err)
	}
	ids, _ = j.Identities(scopeA())
	if id, ok := ids.Lookup(urlOf("web1"), status("1.2.3.5", echo.Date)); ok {
		t.Errorf("ambiguous echo identified %+v", id)
	}
	var none *Identities
	if _, ok := none.Lookup(urlOf("web1"), status("1", "d")); ok {
		t.Error("nil Identities identified a build")
	}
}

// Lines written before projects, kinds and echoes were recorded.
func TestLegacyLines(t *testing.T) {
	lines := []string{
		`{"id":"old1","time":"2026-03-01T12:01:00Z","user":"ann","profile":"prod","exe":{"path":"/b/App.exe","version":"2.0.0.1","size":7,"sha256":"` + sha("2.0.0.1") + `"},"ok":true,"exit_code":0,"duration_ms":5,"servers":[{"name":"web1","url":"https://web1.example/app/","staged":true,"swapped":true,"verified":true,"exit_code":0,"duration_ms":1},{"name":"web2","url":"https://web2.example/app","staged":true,"swapped":true,"verified":true,"exit_code":0,"duration_ms":1}]}`,
		`{"id":"old2","time":"2026-03-01T12:02:00Z","profile":"prod","exe":{"path":"/b/App.exe","version":"2.0.0.2","size":7,"sha256":"` + sha("2.0.0.2") + `"},"ok":true,"exit_code":0,"duration_ms":5,"servers":[{"name":"web1","url":"https://web1.example/app/","staged":true,"swapped":false,"verified":false,"skipped":"staged, not swapped (--stage-only)","exit_code":0,"duration_ms":1}]}`,
		`{"id":"old3","time":"2026-03-01T12:03:00Z","profile":"prod","resumes":"old1","exe":{"path":"/b/App.exe","version":"2.0.0.1","size":7,"sha256":"` + sha("2.0.0.1") + `"},"ok":true,"exit_code":0,"duration_ms":5,"servers":[]}`,
		`{"id":"old4","time":"2026-03-01T12:04:00Z","profile":"prod","exe":{"path":"/c/Other.exe","version":"9.0.0.1","size":7,"sha256":"` + sha("9.0.0.1") + `"},"ok":true,"exit_code":0,"duration_ms":5,"servers":[{"name":"web1","url":"https://other.example/x/","staged":true,"swapped":true,"verified":true,"exit_code":0,"duration_ms":1}]}`,
	}
	j := Open(t.TempDir())
	if err := os.WriteFile(j.Path(), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runs, err := j.All()
	if err != nil || len(runs) != 4 {
		t.Fatalf("%d runs, %v", len(runs), err)
	}
	kinds := map[string]Kind{}
	for _, e := range runs {
		kinds[e.ID] = e.RunKind()
		if e.ProjectLabel() != "?" {
			t.Errorf("%s: project %q", e.ID, e.ProjectLabel())
		}
	}
	if kinds["old1"] != KindDeploy || kinds["old2"] != KindStage || kinds["old3"] != KindResume {
		t.Errorf("kinds %v", kinds)
	}
	// Adopted by the scope whose servers they name; old3 names none,
	// old4 names a server of another project.
	s := Scope{Project: projA, Profile: "PROD", URLs: []string{"https://WEB1.example/app", "https://web2.example/app/"}}
	h, err := j.History(s)
	if err != nil || !slices.Equal(idsOf(h), []string{"old2", "old1"}) {
		t.Errorf("adopted %v, %v", idsOf(h), err)
	}
	s.URLs = nil
	if h, _ := j.History(s); len(h) != 0 {
		t.Errorf("adopted without URLs: %v", idsOf(h))
	}
}

func TestNewRunKindsAndLinks(t *testing.T) {
	rep := &rollout.Report{Build: rollout.Build{Path: "/b/App.exe", Version: "2.0.0.3", SHA256: sha("x")}, Started: t0, StageOnly: true}
	if e := NewRun(Meta{ID: "s"}, rep); e.Kind != KindStage || e.KindLabel() != "stage" {
		t.Errorf("stage-only report: %s", e.Kind)
	}
	rep.StageOnly = false
	if e := NewEntry("d", "prod", "ann", rep); e.Kind != KindDeploy || e.Project != "" {
		t.Errorf("NewEntry: %+v", e)
	}
	rb := Rollback{From: Entry{ID: "r3", Exe: Exe{Version: "2.0.0.3", SHA256: sha("x")}}}
	e := NewRun(Meta{ID: "r", Project: projA, Profile: "prod", Kind: KindRollback, RollbackFrom: rb.FromLink()}, rep)
	sw := NewRun(Meta{ID: "w", Kind: KindSwap, StageRun: "s"}, rep)
	rs := NewRun(Meta{ID: "u", Kind: KindResume, Resumes: "d"}, rep)
	labels := []string{e.KindLabel(), sw.KindLabel(), rs.KindLabel()}
	if !slices.Equal(labels, []string{"rollback from 2.0.0.3", "swap of s", "resume of d"}) {
		t.Errorf("labels %v", labels)
	}
	j := journalOf(t, []Entry{e})
	back, err := j.FindIn(scopeA(), "r")
	if err != nil || back.RollbackFrom == nil || *back.RollbackFrom != *rb.FromLink() || back.Kind != KindRollback {
		t.Errorf("round trip: %+v %v", back, err)
	}
	if (Rollback{}).FromLink() != nil {
		t.Error("a rollback from nothing links a run")
	}
}

func TestProjectKey(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wcdeploy.yaml")
	if err := os.WriteFile(cfg, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link.yaml")
	if err := os.Symlink(cfg, link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	t.Chdir(dir)
	real, _ := filepath.EvalSymlinks(cfg)
	for _, p := range []string{cfg, "wcdeploy.yaml", link} {
		if k, err := ProjectKey(p, []string{"https://x/"}); err != nil || k != real {
			t.Errorf("ProjectKey(%s) = %s, %v; want %s", p, k, err, real)
		}
	}
	a, _ := ProjectKey("", []string{"https://web2.example/app", "https://deploy:pw@WEB1.example/app/", "https://web2.example/app/"})
	b, _ := ProjectKey("", []string{"https://web1.example/app/", "https://web2.example/app/"})
	if a != b || a != "servers: https://web1.example/app/ https://web2.example/app/" || strings.Contains(a, "pw") {
		t.Errorf("flags-only keys %q and %q", a, b)
	}
	ns, err := NewScope("", "Prod", []string{"https://web1.example/app/", "https://web2.example/app/"})
	if err != nil || ns.Project != a || ns.Profile != "prod" || len(ns.URLs) != 2 {
		t.Errorf("NewScope = %+v, %v", ns, err)
	}
	s := Scope{Project: a, Profile: "Prod"}
	if s.Key() != (Scope{Project: a, Profile: "prod"}).Key() || s.Key() == (Scope{Project: a, Profile: "staging"}).Key() {
		t.Error("Key must ignore the profile's case and tell profiles apart")
	}
	if !strings.Contains(s.String(), "flags-only project of https://web1.example/app/") {
		t.Errorf("String: %s", s)
	}
}

func TestArchiveBuild(t *testing.T) {
	j := Open(filepath.Join(t.TempDir(), "state"))
	p, want := writeExe(t, t.TempDir(), "build-9")
	sum, path, err := j.ArchiveBuild(p)
	if err != nil || sum != want {
		t.Fatalf("ArchiveBuild = %s, %v", sum, err)
	}
	if a, err := j.Archived(sum); err != nil || a != path {
		t.Errorf("Archived: %s %v", a, err)
	}
	old := time.Now().Add(-2 * pruneGrace)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if _, again, err := j.ArchiveBuild(p); err != nil || again != path {
		t.Errorf("again: %s %v", again, err)
	}
	if info, _ := os.Stat(path); time.Since(info.ModTime()) > pruneGrace {
		t.Error("archiving again did not protect the copy from Prune")
	}
	if ents, _ := os.ReadDir(j.ArchiveDir()); len(ents) != 1 {
		t.Errorf("archive holds %d files", len(ents))
	}
	if _, _, err := j.ArchiveBuild(filepath.Join(t.TempDir(), "gone.exe")); err == nil {
		t.Error("archived a missing file")
	}
}

func TestPrunePerProject(t *testing.T) {
	src := t.TempDir()
	j := Open(t.TempDir())
	old := time.Now().Add(-2 * pruneGrace)
	for _, b := range []string{"a1", "a2", "b1", "b2"} {
		p, sum := writeExe(t, src, b)
		a, err := j.Store(p, sum)
		if err != nil {
			t.Fatal(err)
		}
		_ = os.Chtimes(a, old, old)
	}
	a1, a2 := run("a1", KindDeploy, "a1", 1, "", all("ok")...), run("a2", KindDeploy, "a2", 2, "", all("ok")...)
	b1, b2 := run("b1", KindDeploy, "b1", 3, "", all("ok")...), run("b2", KindDeploy, "b2", 4, "", all("ok")...)
	b1.Project, b2.Project = projB, projB
	for _, e := range []Entry{a1, a2, b1, b2} {
		if err := j.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := j.Prune(1)
	if err != nil || len(removed) != 2 {
		t.Fatalf("removed %v, %v", removed, err)
	}
	for _, keep := range []string{"a2", "b2"} { // both projects have a profile "prod"
		if _, err := j.Archived(sha(keep)); err != nil {
			t.Errorf("%s pruned: %v", keep, err)
		}
	}
}

// A build rewritten while it was archived is told apart from the one that
// was hashed: a new file at the path, or the same file written again.
func TestChangedSince(t *testing.T) {
	p, _ := writeExe(t, t.TempDir(), "build-1")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before, _ := f.Stat()
	if why := changedSince(f, p, before); why != "" {
		t.Fatalf("unchanged file: %q", why)
	}
	later := before.ModTime().Add(time.Second)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	if why := changedSince(f, p, before); why != "it was written again" {
		t.Errorf("rewritten file: %q", why)
	}
	if err := os.Rename(p, p+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("MZ new build"), 0o644); err != nil {
		t.Fatal(err)
	}
	if why := changedSince(f, p, before); why != "a new file was written in its place" {
		t.Errorf("replaced file: %q", why)
	}
}

// A server whose newest swap ended unknown (a swap of another build with
// the same version went out and may have happened) runs no known build:
// the status page's date (one second) cannot tell two quick swaps apart,
// so even the earlier build's exact echo is no proof. A later verified
// swap makes it known again.
func TestIdentitiesAfterUnknownSwap(t *testing.T) {
	rep := &rollout.Report{Build: rollout.Build{Path: "/b/App.exe", Version: "2.0.0.1", Size: 7, SHA256: sha("A")}, Started: t0,
		Servers: []rollout.ServerReport{{Name: "web1", URL: urlOf("web1"), Staged: true, Swapped: true, Verified: true}}}
	a := NewRun(Meta{ID: "a", Project: projA, Profile: "prod"}, rep)
	echo := rollout.Swapped{Version: "2.0.0.1", SizeKB: 7, Date: "12/1/2026 2:09:19 PM"}
	a.SetSwap("web1", echo)
	rep.Build.SHA256, rep.Started = sha("B"), t0.Add(time.Second)
	rep.Servers[0] = rollout.ServerReport{Name: "web1", URL: urlOf("web1"), Staged: true, State: rollout.ServerUnknown, Error: "the swap reply was unreadable"}
	b := NewRun(Meta{ID: "b", Project: projA, Profile: "prod"}, rep)
	b.Time = t0.Add(time.Second)
	j := journalOf(t, []Entry{a, b})
	ids, err := j.Identities(scopeA())
	if err != nil {
		t.Fatal(err)
	}
	now := rollout.Running{Version: "2.0.0.1", Date: echo.Date}
	if id, ok := ids.Lookup(urlOf("web1"), now); ok {
		t.Errorf("after an unknown swap, identified %+v", id)
	}
	// A later deploy verifies A again: known.
	rep.Build.SHA256 = sha("A")
	rep.Servers[0] = rollout.ServerReport{Name: "web1", URL: urlOf("web1"), Staged: true, Swapped: true, Verified: true, State: rollout.ServerUpdated}
	c := NewRun(Meta{ID: "c", Project: projA, Profile: "prod"}, rep)
	c.Time = t0.Add(time.Minute)
	c.SetSwap("web1", rollout.Swapped{Version: "2.0.0.1", SizeKB: 7, Date: "12/1/2026 2:10:19 PM"})
	if err := j.Append(c); err != nil {
		t.Fatal(err)
	}
	ids, _ = j.Identities(scopeA())
	if id, ok := ids.Lookup(urlOf("web1"), rollout.Running{Version: "2.0.0.1", Date: "12/1/2026 2:10:19 PM"}); !ok || id.SHA256 != sha("A") {
		t.Errorf("after a verified swap: %+v %v", id, ok)
	}
}
