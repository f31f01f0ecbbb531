package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/lbtest"
	"github.com/wcdeploy/wcdeploy/internal/ui"
)

// TestHookZeroDowntimeThroughTheCLI runs 'wcdeploy deploy' over three
// emulated servers behind a real HAProxy (internal/lbtest) with the drain
// hooks of docs/rollouts.md in wcdeploy.yaml, while users' requests flow
// through the balancer: none may fail. internal/lbtest's twin without
// hooks shows that the lab's users do meet the hold otherwise.
func TestHookZeroDowntimeThroughTheCLI(t *testing.T) {
	if err := lbtest.Available(); err != nil {
		t.Skipf("the load balancer lab needs HAProxy: %v", err)
	}
	root, err := lbtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := lbtest.NewFarm(t.TempDir(), 3, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	cfg, err := f.WriteConfig(lbtest.DrainHooks(root))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HAPROXY_SOCKET", f.Lab.Socket)
	t.Setenv("WCDEPLOY_PASSWORD", lbtest.Password) // the process has it; the hooks must not
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.Lab.WaitUp(ctx); err != nil {
		t.Fatal(err)
	}

	e := hookEnv(t)
	traffic := lbtest.StartTraffic(f.Lab.URL+"default.wc", 50)
	time.Sleep(500 * time.Millisecond)
	s, out, errOut := ui.Test(lbtest.Password + "\n")
	start := time.Now()
	code := run([]string{"--config", cfg, "deploy", "--password-stdin", "--json"}, s, e.get)
	wall := time.Since(start)
	time.Sleep(500 * time.Millisecond)
	tr := traffic.Stop()
	r := result{code, out.String(), errOut.String()}
	if strings.Contains(r.out+r.errOut, lbtest.Password) {
		t.Fatalf("the password appeared in the output")
	}
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	t.Logf("through the CLI with drain hooks: %d of %d user requests failed (%v) in %s", tr.Failed, tr.Total, tr.FailedBy, wall.Round(time.Millisecond))
	if tr.Total < 50 {
		t.Fatalf("only %d user requests were sent", tr.Total)
	}
	if tr.Failed != 0 {
		t.Errorf("%d of %d user requests failed although every server was drained (%v); first: %s", tr.Failed, tr.Total, tr.FailedBy, tr.FirstFailure)
	}

	for _, root := range []string{f.Dir, e["WCDEPLOY_STATE_DIR"]} {
		noPasswordIn(t, root, lbtest.Password)
	}
	rep := parseReport(t, r)
	runs := journalLines(t, e)
	if len(runs) != 1 || runs[0].ID != rep.RunID {
		t.Fatalf("journal runs %d, want one with the report's id %s", len(runs), rep.RunID)
	}
	for i, srv := range f.Servers {
		name := f.Profile.Servers[i].Name
		if v := srv.ExeVersion(); v != lbtest.NewVersion {
			t.Errorf("%s runs %s", name, v)
		}
		sr := rep.Servers[i]
		if sr.BeforeSwap == nil || !sr.BeforeSwap.OK || !strings.Contains(strings.Join(sr.BeforeSwap.Output, "\n"), "be/"+name+" drained") {
			t.Errorf("%s: before_swap %+v, want be/%s drained", name, sr.BeforeSwap, name)
		}
		if sr.AfterSwap == nil || !sr.AfterSwap.OK {
			t.Errorf("%s: after_swap %+v", name, sr.AfterSwap)
		}
		data, err := os.ReadFile(filepath.Join(f.Dir, "hook-env", name+".before_swap"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		env := "\n" + string(data)
		for _, kv := range []string{"WCDEPLOY_SERVER=" + name, "WCDEPLOY_RUN_ID=" + rep.RunID, "WCDEPLOY_VAR_LB_SERVER=be/" + name} {
			if !strings.Contains(env, "\n"+kv+"\n") {
				t.Errorf("%s: the hook's environment has no %s", name, kv)
			}
		}
		if strings.Contains(env, lbtest.Password) || strings.Contains(env, "\nWCDEPLOY_PASSWORD=") {
			t.Errorf("%s: the deploy password reached the hook's environment", name)
		}
	}
}

// noPasswordIn fails if a file below root holds password.
func noPasswordIn(t *testing.T, root, password string) {
	t.Helper()
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), password) {
			t.Errorf("%s holds the password", p)
		}
		return nil
	})
}
