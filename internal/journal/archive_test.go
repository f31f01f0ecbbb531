package journal

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeExe(t *testing.T, dir, content string) (path, sum string) {
	t.Helper()
	path = filepath.Join(dir, content+".exe")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, sha(content)
}

func TestStore(t *testing.T) {
	src := t.TempDir()
	j := Open(filepath.Join(t.TempDir(), "state"))
	p, sum := writeExe(t, src, "build-1")

	got, err := j.Store(p, strings.ToUpper(sum))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(j.Dir(), "archive", "sha256", sum+".exe"); got != want {
		t.Errorf("stored at %s, want %s", got, want)
	}
	if b, _ := os.ReadFile(got); string(b) != "build-1" {
		t.Errorf("archived content %q", b)
	}
	// A copy, not a link: rewriting the build leaves the archive alone.
	if err := os.WriteFile(p, []byte("rewritten"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(got); string(b) != "build-1" {
		t.Errorf("archive changed with the build: %q", b)
	}
	// Storing again is a no-op.
	if again, err := j.Store(p, sum); err != nil || again != got {
		t.Errorf("second store: %s %v", again, err)
	}
	if a, err := j.Archived(sum); err != nil || a != got {
		t.Errorf("Archived: %s %v", a, err)
	}

	t.Run("changed file is refused", func(t *testing.T) {
		q, _ := writeExe(t, src, "build-2")
		_, err := j.Store(q, sha("something else"))
		if err == nil || !strings.Contains(err.Error(), "changed during the deploy") {
			t.Fatalf("err = %v", err)
		}
		ents, _ := os.ReadDir(j.ArchiveDir())
		if len(ents) != 1 {
			t.Errorf("left behind: %v", ents)
		}
	})
	t.Run("bad sums", func(t *testing.T) {
		for _, s := range []string{"", "../../etc/passwd", strings.Repeat("g", 64), sum[:63]} {
			if _, err := j.Store(p, s); err == nil {
				t.Errorf("Store accepted %q", s)
			}
		}
		if _, err := j.Archived(sha("never")); err == nil || !strings.Contains(err.Error(), "not in the archive") {
			t.Errorf("Archived(missing) = %v", err)
		}
	})
	t.Run("missing source", func(t *testing.T) {
		if _, err := j.Store(filepath.Join(src, "gone.exe"), sha("gone")); err == nil {
			t.Error("stored a missing file")
		}
	})
}

func TestPrune(t *testing.T) {
	src := t.TempDir()
	j := Open(t.TempDir())
	old := time.Now().Add(-2 * pruneGrace)
	store := func(content string, age time.Time) string {
		p, sum := writeExe(t, src, content)
		a, err := j.Store(p, sum)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(a, age, age); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	// prod deployed v1..v4, test deployed v1 and v5; keep 2 per profile.
	for _, r := range []Entry{
		entry("a", "prod", "v1", 1, true, "w:ok"),
		entry("b", "test", "v1", 2, true, "t:ok"),
		entry("c", "prod", "v2", 3, true, "w:ok"),
		entry("d", "prod", "v3", 4, true, "w:ok"),
		entry("e", "prod", "v3", 5, true, "w:current"),
		entry("f", "prod", "v4", 6, false, "w:failed"),
		entry("g", "test", "v5", 7, true, "t:ok"),
	} {
		store(r.Exe.Version, old)
		if err := j.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	dry := entry("h", "prod", "v9", 8, true, "w:skipped")
	dry.DryRun = true
	if err := j.Append(dry); err != nil {
		t.Fatal(err)
	}
	store("v9", old)
	store("fresh-unreferenced", time.Now()) // another run's, not journaled yet

	removed, err := j.Prune(2)
	if err != nil {
		t.Fatal(err)
	}
	var gone []string
	for _, p := range removed {
		gone = append(gone, filepath.Base(p))
	}
	slices.Sort(gone)
	want := []string{sha("v2") + ".exe", sha("v9") + ".exe"}
	slices.Sort(want)
	if !slices.Equal(gone, want) {
		t.Errorf("removed %v, want v2 and v9 (%v)", gone, want)
	}
	for _, keep := range []string{"v1", "v3", "v4", "v5", "fresh-unreferenced"} {
		if _, err := j.Archived(sha(keep)); err != nil {
			t.Errorf("%s was pruned: %v", keep, err)
		}
	}
	// keep 0 keeps none, except the fresh file another run may still need.
	if r, err := j.Prune(0); err != nil || len(r) != 4 {
		t.Errorf("keep 0 removed %v, %v", r, err)
	}
	if _, err := j.Archived(sha("fresh-unreferenced")); err != nil {
		t.Errorf("keep 0 removed a fresh file: %v", err)
	}
	if r, err := Open(t.TempDir()).Prune(3); err != nil || r != nil {
		t.Errorf("empty state: %v %v", r, err)
	}
}
