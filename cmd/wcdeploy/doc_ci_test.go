package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/ui"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

// docCIRecipe is one jq command of docs/ci.md's "Reading the report", with
// the comment line above it that says what it lists.
type docCIRecipe struct{ what, cmd string }

func docCIRecipes(t *testing.T) []docCIRecipe {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "ci.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "## Reading the report")
	if !ok {
		t.Fatal(`docs/ci.md has no "## Reading the report" section`)
	}
	var out []docCIRecipe
	what := ""
	for _, line := range strings.Split(section, "\n") {
		line = strings.TrimSpace(line)
		if c, ok := strings.CutPrefix(line, "# "); ok {
			what = c
		} else if strings.HasPrefix(line, "jq ") {
			out = append(out, docCIRecipe{what, line})
		}
	}
	if len(out) == 0 {
		t.Fatal("docs/ci.md shows no jq recipe")
	}
	return out
}

// docFile is the body of the <!-- file: name --> block of a document.
func docFile(t *testing.T, doc, name string) []string {
	raw, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(doc)))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	for _, b := range parseBlocks(t, lines) {
		if b.kind == "file" && b.file == name {
			return lines[b.start:b.end]
		}
	}
	t.Fatalf("%s has no %s block", doc, name)
	return nil
}

// ciReport is what the recipes read of a report.
type ciReport struct {
	RunID   string `json:"run_id"`
	Servers []struct {
		Name       string `json:"name"`
		State      string `json:"state"`
		Error      string `json:"error"`
		NotSwapped string `json:"not_swapped"`
		StatusURL  string `json:"status_url"`
	} `json:"servers"`
}

// TestDocCIRecipes runs every jq recipe of docs/ci.md with the real jq on
// the reports of real 'wcdeploy deploy --json' runs, on docs/rollouts.md's
// farm and wcdeploy.yaml: a partial rollout (web3's EXE locked), a canary
// that fails (the others are left out), and a swap request that gets no
// reply within timeouts.swap (nobody can tell whether it will be carried
// out).
func TestDocCIRecipes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the recipes are sh command lines")
	}
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed, so docs/ci.md's jq recipes were not run (.ci/run installs jq)")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run docs/ci.md's recipes with")
	}
	recipes := docCIRecipes(t)
	config := docFile(t, "docs/rollouts.md", "wcdeploy.yaml")
	for _, sc := range []struct {
		name                    string
		fault                   func(t *testing.T, w *walk)
		args                    []string
		exit                    int
		behind, halted, unknown []string
		failedWithAnError       []string
		errorHas, notSwappedHas string
	}{
		{name: "partial", exit: 7,
			fault:  func(t *testing.T, w *walk) { w.inject(t, "web3 swap-copy once") },
			behind: []string{"web3"}, failedWithAnError: []string{"web3"}, errorHas: "Unable to copy Update Exe file"},
		{name: "canary fails", exit: 5,
			fault:  func(t *testing.T, w *walk) { w.inject(t, "web1 swap-copy once") },
			behind: []string{"web1", "web2", "web3"}, failedWithAnError: []string{"web1"}, errorHas: "Unable to copy Update Exe file",
			halted: []string{"web2", "web3"}, notSwappedHas: "canary web1"},
		{name: "unknown", exit: 7, args: []string{"--swap-timeout", "300ms"},
			fault: func(t *testing.T, w *walk) {
				// The swap request waits until the client gives up on it
				// (or the test ends), so it is never carried out.
				w.farm["web2"].Inject(emulator.Fault{Kind: emulator.FaultDelay, Action: "swap", Delay: time.Minute, Times: 1})
			},
			behind: []string{"web2"}, unknown: []string{"web2"}, failedWithAnError: []string{"web2"}, errorHas: "what the server runs is unknown"},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			w := newWalkIn(t, "Shop")
			shopFarm(t, w)
			w.writeFile(t, "wcdeploy.yaml", config)
			sc.fault(t, w)
			var out, errOut syncBuffer
			s := &ui.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut, NoColor: true}
			args := append([]string{"deploy", "--profile", "prod", "--json"}, sc.args...)
			if code := execute(t.Context(), args, w.deps(s, w.env)); code != sc.exit {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, sc.exit, out.String(), errOut.String())
			}
			var rep ciReport
			if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
				t.Fatalf("the report is no JSON document: %v\n%s", err, out.String())
			}
			if id := lastJournal(t, w.env).ID; id != rep.RunID {
				t.Fatalf("the report's run_id is %q, the journal's run %q", rep.RunID, id)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "report.json"), []byte(out.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			var withError, halted []string
			for _, s := range rep.Servers {
				if s.Error != "" {
					withError = append(withError, s.Name)
					if !strings.Contains(s.Error, sc.errorHas) {
						t.Errorf("%s's error lacks %q: %s", s.Name, sc.errorHas, s.Error)
					}
				}
				if s.NotSwapped != "" {
					halted = append(halted, s.Name)
					if !strings.Contains(s.NotSwapped, sc.notSwappedHas) {
						t.Errorf("%s's not_swapped lacks %q: %s", s.Name, sc.notSwappedHas, s.NotSwapped)
					}
				}
			}
			if !slices.Equal(withError, sc.failedWithAnError) || !slices.Equal(halted, sc.halted) {
				t.Fatalf("servers with an error %q, left out %q; the scenario has %q and %q\n%s", withError, halted, sc.failedWithAnError, sc.halted, out.String())
			}
			for _, r := range recipes {
				var want []string
				for _, s := range rep.Servers {
					switch {
					case strings.HasPrefix(r.what, "the servers that may still be behind"),
						strings.HasPrefix(r.what, "the servers with a non-zero exit code"):
						if slices.Contains(sc.behind, s.Name) {
							want = append(want, s.Name)
						}
					case strings.HasPrefix(r.what, "each failed server with its error"):
						if slices.Contains(sc.failedWithAnError, s.Name) {
							want = append(want, s.Name+": "+s.Error)
						}
					case strings.HasPrefix(r.what, "the servers left out because the rollout halted"):
						if slices.Contains(sc.halted, s.Name) {
							want = append(want, s.Name+": "+s.NotSwapped)
						}
					case strings.HasPrefix(r.what, "the servers whose state is unknown"):
						if slices.Contains(sc.unknown, s.Name) {
							want = append(want, s.Name+" "+s.StatusURL)
							if s.State != "unknown" || !strings.HasPrefix(s.StatusURL, w.farm[s.Name].URL()) {
								t.Errorf("%s: state %q, status_url %q", s.Name, s.State, s.StatusURL)
							}
						}
					case strings.HasPrefix(r.what, "the command that finishes the run"):
						want = []string{"wcdeploy deploy --resume " + rep.RunID}
					default:
						t.Fatalf("docs/ci.md recipe %q: this test does not know what it should print; add it here", r.what)
					}
				}
				cmd := exec.Command(sh, "-c", r.cmd)
				cmd.Dir = dir
				got, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s: %v", r.cmd, err)
				}
				if g := strings.TrimSpace(string(got)); g != strings.Join(want, "\n") {
					t.Errorf("%s (%s):\n got %q\nwant %q", r.what, r.cmd, g, strings.Join(want, "\n"))
				}
			}
		})
	}
}
