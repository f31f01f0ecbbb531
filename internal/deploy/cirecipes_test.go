package deploy_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/ui/report"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

// recipe is one jq command of docs/ci.md's "Reading the report", with the
// comment line that says what it lists.
type recipe struct{ what, cmd string }

func ciRecipes(t *testing.T) []recipe {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "ci.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## Reading the report")
	if !ok {
		t.Fatal(`docs/ci.md has no "## Reading the report" section`)
	}
	var out []recipe
	what := ""
	for _, line := range strings.Split(section, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "# "):
			what = strings.TrimPrefix(line, "# ")
		case strings.HasPrefix(line, "jq "):
			out = append(out, recipe{what, line})
		}
	}
	if len(out) == 0 {
		t.Fatal("docs/ci.md shows no jq recipe")
	}
	return out
}

// expected is what each recipe must print for rep, worked out from the
// emulators' files (runs[i]: server i's ExeFile holds the build) and the
// report's own fields.
func expected(t *testing.T, what string, rep *rollout.Report, runs []bool) []string {
	var out []string
	for i, s := range rep.Servers {
		switch {
		case strings.HasPrefix(what, "the servers that may still be behind"):
			// Every server not on the build, plus those nobody can tell.
			if !runs[i] || s.State == rollout.ServerUnknown {
				out = append(out, s.Name)
			}
		case strings.HasPrefix(what, "the servers with a non-zero exit code"):
			if !runs[i] || s.Error != "" || s.State == rollout.ServerUnknown {
				out = append(out, s.Name)
			}
		case strings.HasPrefix(what, "each failed server"):
			if s.Error != "" {
				out = append(out, s.Name+": "+s.Error)
			}
		case strings.HasPrefix(what, "the servers left out because the rollout halted"):
			if s.Staged && !s.Swapped && s.Error == "" && rep.Halted {
				out = append(out, s.Name+": halted: "+rep.HaltReason)
			}
		case strings.HasPrefix(what, "the servers whose state is unknown"):
			if s.State == rollout.ServerUnknown {
				out = append(out, s.Name+" "+s.StatusURL)
			}
		case strings.HasPrefix(what, "the command that finishes the run"):
			return []string{"wcdeploy deploy --resume " + rep.RunID}
		default:
			t.Fatalf("docs/ci.md recipe %q: this test does not know what it should print; add it here", what)
		}
	}
	return out
}

// TestCIRecipes runs every jq recipe of docs/ci.md with the real jq on the
// reports of real rollouts (a canary that fails, a partial rollout with a
// server whose swap nobody could settle) and compares what it prints with
// the emulators' state.
func TestCIRecipes(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed (.ci/run installs it)")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run the recipes with")
	}
	recipes := ciRecipes(t)
	scenarios := []struct {
		name  string
		n     int
		setup func(f *farm)
	}{
		{"canary fails", 3, func(f *farm) {
			f.plan.Canary, f.plan.Parallel = 1, 2
			f.servers[0].Inject(emulator.Fault{Kind: emulator.FaultSwapCopy, Action: "swap"})
		}},
		{"partial with an unknown server", 4, func(f *farm) {
			f.retime(t, 300*time.Millisecond)
			f.plan.Canary, f.plan.Parallel = 1, 2
			f.servers[2].Inject(emulator.Fault{Kind: emulator.FaultSwapCopy, Action: "swap"})
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			f := newFarm(t, sc.n, 2<<20, func(i int, c *emulator.Config) {
				if sc.n == 4 && i == 1 {
					c.SwapDelay = 1200 * time.Millisecond // outlives one more timeouts.swap
				}
			})
			f.backdate(t)
			sc.setup(f)
			f.plan.InterruptGrace = 10 * time.Second
			rep := rollout.Run(context.Background(), f.plan, f.steps, nil)
			rep.RunID = "20261201T101500Z-abc123" // as the caller sets it
			f.truth(t, rep)
			runs := make([]bool, len(f.servers))
			for i, s := range f.servers {
				runs[i] = fileSHA(t, s.ExePath()) == f.plan.Build.SHA256
			}
			dir := t.TempDir()
			var doc bytes.Buffer
			if err := report.WriteJSON(&doc, rep); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "report.json"), doc.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, r := range recipes {
				cmd := exec.Command(sh, "-c", r.cmd)
				cmd.Dir = dir
				got, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s: %v", r.cmd, err)
				}
				want := strings.Join(expected(t, r.what, rep, runs), "\n")
				if strings.TrimSpace(string(got)) != want {
					t.Errorf("%s (%s):\n got %q\nwant %q", r.what, r.cmd, strings.TrimSpace(string(got)), want)
				}
			}
		})
	}
}
