package deploy_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

// The tests of this file check the report against the emulators' files:
// what each server's ExeFile holds after the run, never the tool's output.

// retime rebuilds the farm's steps with other timeouts (the farm's swap
// timeout is generous; these tests make the swap outlive a short one).
func (f *farm) retime(tb testing.TB, swap time.Duration) {
	tb.Helper()
	steps, err := deploy.New(deploy.Options{
		Build: f.plan.Build,
		Client: func(t rollout.Target) (*http.Client, error) {
			return transport.New(t.URL, transport.Options{Auth: "basic", User: "deploy", Password: password})
		},
		Retries:       1,
		Backoff:       10 * time.Millisecond,
		SwapTimeout:   swap,
		StatusTimeout: config.Defaults().Timeouts.Status,
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.steps = steps
}

// backdate makes every server's ExeFile an hour old, as a file deployed
// earlier is: the swapped EXE carries the upload's date, which must differ
// from the one before even when a test uploads within the same second.
func (f *farm) backdate(tb testing.TB) {
	tb.Helper()
	old := time.Now().Add(-time.Hour)
	for _, s := range f.servers {
		if err := os.Chtimes(s.ExePath(), old, old); err != nil {
			tb.Fatal(err)
		}
	}
}

func fileSHA(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// truth checks every server's report against its emulator: the state
// claimed must be what its ExeFile holds, and no server may hold requests.
func (f *farm) truth(tb testing.TB, rep *rollout.Report) {
	tb.Helper()
	for i, s := range f.servers {
		sr := rep.Servers[i]
		for s.OnHold() { // a swap the run could not settle finishes here
			time.Sleep(20 * time.Millisecond)
		}
		runs := fileSHA(tb, s.ExePath()) == f.plan.Build.SHA256
		switch sr.State {
		case rollout.ServerUpdated, rollout.ServerCurrent:
			if !runs {
				tb.Errorf("%s: report says %s, the server runs other bytes", sr.Name, sr.State)
			}
		case rollout.ServerNotUpdated:
			if runs {
				tb.Errorf("%s: report says not updated, the server runs the build", sr.Name)
			}
		case rollout.ServerUnknown:
			if sr.StatusURL == "" || sr.ExitCode == 0 {
				tb.Errorf("%s: unknown without a status link or exit code: %+v", sr.Name, sr)
			}
		default:
			tb.Errorf("%s: state %q", sr.Name, sr.State)
		}
		if sr.Verified && !runs {
			tb.Errorf("%s: verified, but the server runs other bytes", sr.Name)
		}
		if sr.State != rollout.ServerUpdated && sr.State != rollout.ServerCurrent && sr.ExitCode == 0 && !rep.DryRun {
			tb.Errorf("%s: %s with exit code 0", sr.Name, sr.State)
		}
	}
}

func (f *farm) run(tb testing.TB) *rollout.Report {
	tb.Helper()
	if f.plan.InterruptGrace == 0 {
		f.plan.InterruptGrace = 10 * time.Second
	}
	rep := rollout.Run(context.Background(), f.plan, f.steps, nil)
	f.truth(tb, rep)
	return rep
}

func states(rep *rollout.Report) string {
	var out []string
	for _, s := range rep.Servers {
		out = append(out, s.Name+"="+s.State)
	}
	return strings.Join(out, " ")
}

// faultProxy stands in front of an emulator on loopback: every request
// goes through, and the swap's reply, once the server has swapped, is
// replaced by damage (a 200 with a garbage body) or dropped.
func faultProxy(tb testing.TB, backend string, damage func(w http.ResponseWriter)) string {
	tb.Helper()
	u, err := url.Parse(backend)
	if err != nil {
		tb.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.URL.Path, "/UpdateExe.wc") && !strings.HasSuffix(strings.ToLower(r.URL.Path), "/updateexe.wc") {
			rp.ServeHTTP(w, r)
			return
		}
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host, out.RequestURI, out.Host = u.Scheme, u.Host, "", u.Host
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			w.WriteHeader(resp.StatusCode)
			return
		}
		damage(w)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

func garbage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("\x00\x17<ht\xffml><bo"))
}

func drop(http.ResponseWriter) { panic(http.ErrAbortHandler) }

// behind puts the farm's servers behind fault proxies.
func (f *farm) behind(tb testing.TB, damage func(w http.ResponseWriter)) {
	tb.Helper()
	for i, s := range f.servers {
		pu := faultProxy(tb, s.URL(), damage)
		up, upd, st, err := config.DeriveURLs(config.FlavorModule, pu)
		if err != nil {
			tb.Fatal(err)
		}
		t := &f.plan.Targets[i]
		t.URL, t.UploadURL, t.UpdateURL, t.StatusURL = pu, up, upd, st
	}
}

// TestSwapTruthLateSwap (item 3): the swap outlives timeouts.swap. The
// status page, read until the hold ends, shows the build with a new file
// date: the server is updated. A late canary stops the rollout (partial, 7);
// a batch whose swaps were all late but all happened exits 0.
func TestSwapTruthLateSwap(t *testing.T) {
	// The emulator answers a swap no sooner than its delay, so the reply
	// always misses the timeout; the swap ends well inside one more.
	const timeout = 800 * time.Millisecond
	late := func(_ int, c *emulator.Config) { c.SwapDelay = time.Second }
	t.Run("canary", func(t *testing.T) {
		f := newFarm(t, 3, 2<<20, late)
		f.retime(t, timeout)
		f.backdate(t)
		f.plan.Canary, f.plan.Parallel = 1, 2
		rep := f.run(t)
		if rep.ExitCode != int(exitcode.Partial) || states(rep) != "web01=updated web02=not_updated web03=not_updated" {
			t.Fatalf("exit %d, %s\n%+v", rep.ExitCode, states(rep), rep.Servers)
		}
		c := rep.Servers[0]
		if !c.Swapped || !c.Verified || !strings.Contains(c.Note, "within timeouts.swap (800ms)") || !strings.Contains(c.Evidence, "new file date") {
			t.Errorf("canary: %+v", c)
		}
		for _, s := range rep.Servers[1:] {
			if s.ExitCode == 0 || !strings.HasPrefix(s.NotSwapped, "halted: canary web01: ") {
				t.Errorf("%s: exit %d, not_swapped %q", s.Name, s.ExitCode, s.NotSwapped)
			}
		}
	})
	t.Run("batch", func(t *testing.T) {
		f := newFarm(t, 3, 2<<20, late)
		f.retime(t, timeout)
		f.backdate(t)
		f.plan.Canary, f.plan.Parallel = 0, 3
		rep := f.run(t)
		if rep.ExitCode != 0 || states(rep) != "web01=updated web02=updated web03=updated" {
			t.Fatalf("exit %d, %s\n%+v", rep.ExitCode, states(rep), rep.Servers)
		}
	})
	t.Run("still on hold", func(t *testing.T) {
		// The hold outlasts one more timeouts.swap: nobody can tell yet.
		f := newFarm(t, 1, 2<<20, func(_ int, c *emulator.Config) { c.SwapDelay = 1200 * time.Millisecond })
		f.retime(t, 300*time.Millisecond)
		f.backdate(t)
		rep := f.run(t)
		s := rep.Servers[0]
		if rep.ExitCode != int(exitcode.Swap) || s.State != rollout.ServerUnknown || !strings.Contains(s.Error, "still held its requests") {
			t.Fatalf("exit %d: %+v", rep.ExitCode, s)
		}
	})
}

// TestSwapTruthDamagedReply (item 4): a 200 with a garbage body, or no
// reply at all, after a real swap: the status page settles it.
func TestSwapTruthDamagedReply(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(http.ResponseWriter)
		note   string
	}{
		{"garbage 200", garbage, "the swap reply was unreadable"},
		{"dropped", drop, "the swap reply was lost"},
	} {
		t.Run(c.name+" canary", func(t *testing.T) {
			f := newFarm(t, 3, 2<<20, nil)
			f.backdate(t)
			f.behind(t, c.damage)
			f.plan.Canary, f.plan.Parallel = 1, 2
			rep := f.run(t)
			if rep.ExitCode != int(exitcode.Partial) || states(rep) != "web01=updated web02=not_updated web03=not_updated" {
				t.Fatalf("exit %d, %s\n%+v", rep.ExitCode, states(rep), rep.Servers)
			}
			if s := rep.Servers[0]; !strings.HasPrefix(s.Note, c.note) || s.VersionAfter != newVersion {
				t.Errorf("canary: %+v", s)
			}
		})
		t.Run(c.name+" batch", func(t *testing.T) {
			f := newFarm(t, 2, 2<<20, nil)
			f.backdate(t)
			f.behind(t, c.damage)
			f.plan.Canary, f.plan.Parallel = 0, 2
			rep := f.run(t)
			if rep.ExitCode != 0 || states(rep) != "web01=updated web02=updated" {
				t.Fatalf("exit %d, %s\n%+v", rep.ExitCode, states(rep), rep.Servers)
			}
		})
	}
}

// sameVersionFarm is one server that runs another build of the version
// being deployed (a rebuild that kept its FileVersion, other size).
func sameVersionFarm(t *testing.T) *farm {
	f := newFarm(t, 1, 2<<20, func(_ int, c *emulator.Config) { c.InitialVersion = newVersion })
	f.backdate(t)
	if fileSHA(t, f.servers[0].ExePath()) == f.plan.Build.SHA256 {
		t.Fatal("the server already runs the build's bytes")
	}
	return f
}

// TestSwapTruthForceLostRequest (item 5): --force of a rebuild with the
// same FileVersion; the swap request is reset before it reaches the
// server. The status page shows the same version as before, with the same
// file date: never "swapped" or "verified"; the client cannot tell a
// request the server never saw from one it will still carry out (the
// property test saw a queued swap happen after this read), so the state
// is unknown, exit 5, with the status link.
func TestSwapTruthForceLostRequest(t *testing.T) {
	f := sameVersionFarm(t)
	f.plan.Force = true
	f.servers[0].Inject(emulator.Fault{Kind: emulator.FaultResetAfter, Action: "swap"})
	rep := f.run(t)
	s := rep.Servers[0]
	if rep.ExitCode != int(exitcode.Swap) || s.Swapped || s.Verified || s.State != rollout.ServerUnknown || s.StatusURL == "" {
		t.Fatalf("exit %d: %+v", rep.ExitCode, s)
	}
	if !strings.Contains(s.Error, "still shows the EXE it ran before") {
		t.Errorf("error %q", s.Error)
	}

	// The same rebuild, the swap done but its reply dropped: the new file
	// date tells it happened.
	g := sameVersionFarm(t)
	g.plan.Force = true
	g.behind(t, drop)
	rep = g.run(t)
	if s := rep.Servers[0]; rep.ExitCode != 0 || s.State != rollout.ServerUpdated {
		t.Fatalf("dropped reply: exit %d: %+v", rep.ExitCode, s)
	}
}

// TestBuildIdentity (item 6): the same FileVersion with other bytes is
// deployed unless this very build is known to run there.
func TestBuildIdentity(t *testing.T) {
	cases := []struct {
		name     string
		identify func(f *farm) func(rollout.Target, rollout.Running) (string, bool)
		skip     bool
		state    string
		identity string
		text     string // in the note or the skip reason
	}{
		{name: "never deployed by this machine", state: rollout.ServerUpdated, identity: rollout.IdentityUnknown,
			text: "same version " + newVersion + ", but a build this machine never deployed there: deploying"},
		{name: "another build this machine deployed", identify: func(*farm) func(rollout.Target, rollout.Running) (string, bool) {
			return func(rollout.Target, rollout.Running) (string, bool) { return strings.Repeat("0", 64), true }
		}, state: rollout.ServerUpdated, identity: rollout.IdentityOther, text: "same version " + newVersion + ", other build: deploying"},
		{name: "skip by version", skip: true, state: rollout.ServerCurrent, identity: rollout.IdentityUnknown,
			text: "a build this machine never deployed there: skipped by version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := sameVersionFarm(t)
			if c.identify != nil {
				f.plan.Identify = c.identify(f)
			}
			f.plan.SkipSameVersion = c.skip
			uploads := f.servers[0].BodyBytes()
			before := fileSHA(t, f.servers[0].ExePath())
			rep := rollout.Run(context.Background(), f.plan, f.steps, nil)
			s := rep.Servers[0]
			if rep.ExitCode != 0 || s.State != c.state || s.Identity != c.identity || !strings.Contains(s.Note+s.Skipped, c.text) {
				t.Fatalf("exit %d: %+v", rep.ExitCode, s)
			}
			after := fileSHA(t, f.servers[0].ExePath())
			if c.skip {
				if after != before || f.servers[0].BodyBytes() != uploads {
					t.Error("a skipped server was deployed to")
				}
				return
			}
			if after != f.plan.Build.SHA256 {
				t.Error("the server does not run the build")
			}
		})
	}
	t.Run("this very build", func(t *testing.T) {
		f := newFarm(t, 1, 2<<20, nil)
		rep := rollout.Run(context.Background(), f.plan, f.steps, nil)
		if rep.ExitCode != 0 || rep.Servers[0].Running == nil {
			t.Fatalf("first deploy: exit %d %+v", rep.ExitCode, rep.Servers[0])
		}
		seen := *rep.Servers[0].Running
		f.plan.Identify = func(_ rollout.Target, r rollout.Running) (string, bool) {
			if r.Version == seen.Version && r.Date == seen.Date {
				return f.plan.Build.SHA256, true
			}
			return "", false
		}
		uploads := f.servers[0].BodyBytes()
		rep = rollout.Run(context.Background(), f.plan, f.steps, nil)
		s := rep.Servers[0]
		if rep.ExitCode != 0 || s.State != rollout.ServerCurrent || s.Identity != rollout.IdentitySame || f.servers[0].BodyBytes() != uploads {
			t.Fatalf("second deploy: exit %d %+v", rep.ExitCode, s)
		}
	})
}

// TestIdentifyFromTheJournal: a build deployed and journaled is known on
// the next run (a no-op); a rebuild with the same version is deployed.
func TestIdentifyFromTheJournal(t *testing.T) {
	f := newFarm(t, 2, 2<<20, nil)
	f.backdate(t)
	j := journal.Open(t.TempDir())
	var urls []string
	for _, tg := range f.plan.Targets {
		urls = append(urls, tg.URL)
	}
	scope, err := journal.NewScope("", "default", urls)
	if err != nil {
		t.Fatal(err)
	}
	deployOnce := func(id string) *rollout.Report {
		ids, err := j.Identities(scope)
		if err != nil {
			t.Fatal(err)
		}
		f.plan.Identify = deploy.Identify(ids)
		rep := f.run(t)
		rep.RunID = id
		rep.Started = time.Now()
		if w := deploy.Record(j, journal.Meta{ID: id, Project: scope.Project, Profile: "default", User: "tester", Kind: journal.KindDeploy}, 5, rep); len(w) > 0 {
			t.Fatal(w)
		}
		return rep
	}
	if rep := deployOnce("20261201T100000Z-000001"); rep.ExitCode != 0 || states(rep) != "web01=updated web02=updated" {
		t.Fatalf("first deploy: exit %d %s", rep.ExitCode, states(rep))
	}
	uploads := f.servers[0].BodyBytes()
	rep := deployOnce("20261201T100001Z-000002")
	if rep.ExitCode != 0 || states(rep) != "web01=current web02=current" || rep.Servers[0].Identity != rollout.IdentitySame || f.servers[0].BodyBytes() != uploads {
		t.Fatalf("second deploy: exit %d %s %+v", rep.ExitCode, states(rep), rep.Servers[0])
	}
}
