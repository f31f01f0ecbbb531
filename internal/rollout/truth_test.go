package rollout

import (
	"context"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// settledSteps are fake steps whose swaps of some servers could only be
// settled from the status page (a late, lost or unreadable reply).
type settledSteps struct {
	*fakeSteps
	settled map[string]bool
}

func (s settledSteps) Swap(ctx context.Context, t Target) (Swapped, error) {
	sw, err := s.fakeSteps.Swap(ctx, t)
	if err == nil && s.settled[t.Name] {
		sw.SizeKB, sw.Settled = 0, "the swap reply was lost; the status page showed this build once the hold ended"
	}
	return sw, err
}

// TestRunSettledSwaps: a swap settled from the status page updates its
// server, but stops the rollout after a canary (partial, 7) and counts
// against max_failures; a batch of them that all happened exits 0.
func TestRunSettledSwaps(t *testing.T) {
	t.Run("canary", func(t *testing.T) {
		f := newFake(testBuild, 3, "1.2.3.4")
		rep := Run(context.Background(), plan(3), settledSteps{f, map[string]bool{"web01": true}}, nil)
		if rep.ExitCode != 7 || !rep.Halted || !strings.HasPrefix(rep.HaltReason, "canary web01: the swap reply was lost") {
			t.Fatalf("exit %d halted %v %q", rep.ExitCode, rep.Halted, rep.HaltReason)
		}
		c := rep.Servers[0]
		if c.State != ServerUpdated || c.Error != "" || c.ExitCode != 0 || !strings.Contains(c.Note, "status page") {
			t.Errorf("canary: %+v", c)
		}
		for _, s := range rep.Servers[1:] {
			if s.State != ServerNotUpdated || s.ExitCode == 0 || s.NotSwapped != "halted: "+rep.HaltReason || s.Swapped {
				t.Errorf("%s: %+v", s.Name, s)
			}
		}
	})
	t.Run("batch", func(t *testing.T) {
		f := newFake(testBuild, 3, "1.2.3.4")
		p := plan(3)
		p.Canary = 0
		rep := Run(context.Background(), p, settledSteps{f, map[string]bool{"web01": true, "web02": true, "web03": true}}, nil)
		if rep.ExitCode != 0 {
			t.Fatalf("exit %d: %+v", rep.ExitCode, rep.Servers)
		}
		for _, s := range rep.Servers {
			if s.State != ServerUpdated {
				t.Errorf("%s: %+v", s.Name, s)
			}
		}
	})
}

// TestRunUnknownState: a swap whose outcome nobody could settle leaves
// the server unknown, with its status page, and counts as not updated.
func TestRunUnknownState(t *testing.T) {
	f := newFake(testBuild, 2, "1.2.3.4")
	f.failOn("web02", PhaseSwap, StateUnknown(exitcode.Errorf(exitcode.Swap, "web02: the swap reply was lost and the status page could not be read")))
	p := plan(2)
	p.Canary = 1
	rep := Run(context.Background(), p, f, nil)
	s := rep.Servers[1]
	if rep.ExitCode != 7 || s.State != ServerUnknown || s.StatusURL != targets(2)[1].StatusURL || s.ExitCode != 5 {
		t.Fatalf("exit %d: %+v", rep.ExitCode, s)
	}
}

// TestRunBuildIdentity: the same version is a no-op only where this very
// build is known to run.
func TestRunBuildIdentity(t *testing.T) {
	cases := []struct {
		name     string
		sha      string // what the server runs; "" unknown to Identify
		skip     bool
		upToDate bool
		identity string
		text     string
	}{
		{"this build", testBuild.SHA256, false, true, IdentitySame, "already runs 1.2.3.5"},
		{"another build", "cd", false, false, IdentityOther, "same version 1.2.3.5, other build: deploying"},
		{"never deployed here", "", false, false, IdentityUnknown, "a build this machine never deployed there: deploying"},
		{"never deployed here, skip by version", "", true, true, IdentityUnknown, "skipped by version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(testBuild, 1, testBuild.Version)
			p := plan(1)
			p.Build.SHA256 = ""
			hashed := 0
			p.Hash = func() (string, error) { hashed++; return testBuild.SHA256, nil }
			p.Identify = func(Target, Running) (string, bool) { return c.sha, c.sha != "" }
			p.SkipSameVersion = c.skip
			rep := Run(context.Background(), p, f, nil)
			s := rep.Servers[0]
			if rep.ExitCode != 0 || s.UpToDate != c.upToDate || s.Identity != c.identity || !strings.Contains(s.Skipped+s.Note, c.text) {
				t.Fatalf("exit %d: %+v", rep.ExitCode, s)
			}
			if s.Verified == c.upToDate || (c.upToDate && len(f.calls(PhaseStage)) > 0) {
				t.Errorf("deployed %v, want %v", s.Verified, !c.upToDate)
			}
			if hashed > 1 {
				t.Errorf("the build was hashed %d times", hashed)
			}
		})
	}
}
