package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
)

func TestDefaultDir(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		goos string
		want string
		err  bool
	}{
		{"override wins", map[string]string{"WCDEPLOY_STATE_DIR": "/tmp/st", "XDG_STATE_HOME": "/x", "HOME": "/h"}, "linux", "/tmp/st", false},
		{"xdg", map[string]string{"XDG_STATE_HOME": "/x/state", "HOME": "/h"}, "linux", "/x/state/wcdeploy", false},
		{"relative xdg ignored", map[string]string{"XDG_STATE_HOME": "rel", "HOME": "/h"}, "linux", "/h/.local/state/wcdeploy", false},
		{"home", map[string]string{"HOME": "/home/ann"}, "darwin", "/home/ann/.local/state/wcdeploy", false},
		{"windows", map[string]string{"LOCALAPPDATA": "/c/Users/ann/AppData/Local", "XDG_STATE_HOME": "/x"}, "windows", "/c/Users/ann/AppData/Local/wcdeploy", false},
		{"windows without LOCALAPPDATA", map[string]string{}, "windows", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DefaultDir(func(k string) string { return c.env[k] }, c.goos)
			if (err != nil) != c.err || got != filepath.FromSlash(c.want) {
				t.Errorf("got %q, %v; want %q (error %v)", got, err, c.want, c.err)
			}
			if err != nil && !strings.Contains(err.Error(), "WCDEPLOY_STATE_DIR") {
				t.Errorf("error does not say what to do: %v", err)
			}
		})
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// entry is a run of profile deploying build (its content names it) at minute
// m, with the servers' outcomes given as "name:state" (ok, current, failed,
// skipped).
func entry(id, profile, build string, m int, ok bool, servers ...string) Entry {
	e := Entry{ID: id, Time: t0.Add(time.Duration(m) * time.Minute), Profile: profile, OK: ok,
		Exe: Exe{Path: "/b/" + build + ".exe", Version: build, Size: int64(len(build)), SHA256: sha(build)}}
	if !ok {
		e.ExitCode = 7
	}
	for _, s := range servers {
		n, st, _ := strings.Cut(s, ":")
		sv := Server{Name: n}
		switch st {
		case "ok":
			sv.Staged, sv.Swapped, sv.Verified = true, true, true
		case "current":
			sv.UpToDate = true
		case "failed":
			sv.Error, sv.ExitCode = n+": swap failed", 5
		default:
			sv.Skipped = "staged, not swapped: rollout halted"
		}
		e.Servers = append(e.Servers, sv)
	}
	return e
}

func TestAppendAndQueries(t *testing.T) {
	j := Open(filepath.Join(t.TempDir(), "state"))
	if runs, err := j.All(); err != nil || runs != nil {
		t.Fatalf("empty journal: %v %v", runs, err)
	}
	runs := []Entry{
		entry("r1", "prod", "1.0.0.1", 1, true, "web1:ok", "web2:ok"),
		entry("r2", "test", "1.0.0.2", 2, true, "t1:ok"),
		entry("r3", "prod", "1.0.0.2", 3, true, "web1:ok", "web2:ok"),
		entry("r4", "prod", "1.0.0.3", 4, false, "web1:ok", "web2:failed"),
		entry("r5", "prod", "1.0.0.3", 5, true, "web1:current", "web2:ok"),
		entry("r6", "prod", "1.0.0.4", 6, false, "web1:failed", "web2:skipped"),
	}
	dry := entry("r7", "prod", "1.0.0.9", 7, true, "web1:skipped", "web2:skipped")
	dry.DryRun = true
	runs = append(runs, dry)
	for _, e := range runs {
		if err := j.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	info, err := os.Stat(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		t.Errorf("journal mode %v: readable by others", perm)
	}

	got, err := j.Runs("prod")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if fmt.Sprint(ids) != "[r7 r6 r5 r4 r3 r1]" {
		t.Errorf("prod runs newest first: %v", ids)
	}
	if all, _ := j.Runs(""); len(all) != 7 {
		t.Errorf("all runs: %d", len(all))
	}

	t.Run("find", func(t *testing.T) {
		cases := map[string]string{"r3": "r3", "1.0.0.3": "r5", "1.0.0.1": "r1", " r2 ": "r2"}
		for q, want := range cases {
			if e, err := j.Find(q); err != nil || e.ID != want {
				t.Errorf("Find(%q) = %s, %v; want %s", q, e.ID, err, want)
			}
		}
		if _, err := j.Find("r"); err == nil || !strings.Contains(err.Error(), "matches 7 runs") {
			t.Errorf("ambiguous prefix: %v", err)
		}
		if _, err := j.Find("9.9.9.9"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown: %v", err)
		}
	})

	t.Run("previous build", func(t *testing.T) {
		// Last successful prod run is r5 (1.0.0.3; r6 failed, r7 is a dry
		// run); the build that ran before it is 1.0.0.2 (r3), not r4's.
		e, err := j.PreviousBuild("prod")
		if err != nil || e.ID != "r3" || e.Exe.Version != "1.0.0.2" {
			t.Errorf("PreviousBuild(prod) = %s %s, %v", e.ID, e.Exe.Version, err)
		}
		if _, err := j.PreviousBuild("test"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no other build") {
			t.Errorf("PreviousBuild(test): %v", err)
		}
		if _, err := j.PreviousBuild("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("PreviousBuild(nope): %v", err)
		}
	})

	t.Run("unverified", func(t *testing.T) {
		cases := map[string]string{"r4": "[web2]", "r5": "[]", "r6": "[web1 web2]"}
		for id, want := range cases {
			_, got, err := j.Unverified(id)
			if err != nil || fmt.Sprint(got) != want {
				t.Errorf("Unverified(%s) = %v, %v; want %s", id, got, err, want)
			}
		}
	})
}

func TestNewEntryKeepsNoSecret(t *testing.T) {
	rep := &rollout.Report{
		Build:   rollout.Build{Path: "/b/App.exe", Version: "1.2.3.5", Size: 10, SHA256: strings.ToUpper(sha("x"))},
		Started: t0, ExitCode: 5,
		Servers: []rollout.ServerReport{{
			Name: "web1", URL: "https://deploy:Hunter2pw@web1.example/app/",
			Error: `web1: Get "https://deploy:Hunter2pw@web1.example/app/UpdateExe.wc": EOF`, ExitCode: 5,
		}},
	}
	j := Open(t.TempDir())
	e := NewEntry(NewID(t0), "prod", "ann", rep)
	if err := j.Append(e); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "Hunter2pw") {
		t.Errorf("journal holds the password:\n%s", data)
	}
	back, err := ParseLine(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Servers[0].URL != "https://web1.example/app/" || !strings.Contains(back.Servers[0].Error, "https://deploy@web1.example") {
		t.Errorf("redacted wrongly: %+v", back.Servers[0])
	}
	if back.Exe.SHA256 != sha("x") || back.User != "ann" || back.Profile != "prod" || !strings.HasPrefix(back.ID, "20260301T120000Z-") {
		t.Errorf("entry: %+v", back)
	}
}

func TestConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	const writers, each = 8, 25
	// Big lines (many servers, long errors) are where interleaving would show.
	var servers []string
	for i := range 60 {
		servers = append(servers, fmt.Sprintf("web%02d:failed", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			j := Open(dir) // each writer its own handle, like separate processes
			for k := range each {
				e := entry(fmt.Sprintf("w%d-%d", w, k), "prod", "1.0.0.1", k, false, servers...)
				e.Servers[0].Error = strings.Repeat("long error ", 400)
				if err := j.Append(e); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != writers*each {
		t.Fatalf("%d lines, want %d", len(lines), writers*each)
	}
	for i, l := range lines {
		if _, err := ParseLine([]byte(l)); err != nil {
			t.Fatalf("line %d is torn: %v", i, err)
		}
	}
}

func TestAllSkipsDamagedLines(t *testing.T) {
	j := Open(t.TempDir())
	if err := j.Append(entry("a", "p", "1", 1, true, "w:ok")); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(j.Path(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("not json\n{\"id\":\"\"}\n\n{\"id\":\"b\",\"time\":\"2026-03-01T12:09:00Z\",\"prof")
	f.Close()
	if err := j.Append(entry("c", "p", "2", 3, true, "w:ok")); err != nil {
		t.Fatal(err)
	}
	runs, err := j.All()
	if err != nil {
		t.Fatal(err)
	}
	// The torn line swallowed the newline before "c": c is lost with it,
	// but the reader goes on and a is intact.
	var ids []string
	for _, e := range runs {
		ids = append(ids, e.ID)
	}
	if !slices.Contains(ids, "a") || slices.Contains(ids, "") || slices.Contains(ids, "b") {
		t.Errorf("ids %v", ids)
	}
}

func FuzzParseLine(f *testing.F) {
	good, _ := json.Marshal(entry("r1", "prod", "1.0.0.1", 1, true, "web1:ok", "web2:failed"))
	for _, s := range []string{string(good), "", "{}", `{"id":"x","servers":null}`, `{"id":"x","time":"bad"}`, "[1,2]", "\x00\xff", `{"id":"x","exe":{"size":-1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseLine(b)
		if err != nil {
			return
		}
		if e.ID == "" {
			t.Fatal("accepted a run without an id")
		}
		// What we accept we can write back and read again.
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseLine(out); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}
