package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/golden"
	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

const password = "d0ctor-Pa55!"

// fleet is a profile over emulators on loopback, and the directories to
// hide from goldens.
type fleet struct {
	p    config.Profile
	dirs map[string]string // directory -> placeholder
}

func newFleet(t *testing.T, exe string, cfgs map[string]emulator.Config) *fleet {
	t.Helper()
	f := &fleet{p: config.Profile{Name: "prod", Exe: exe, Username: "deploy", Auth: "basic"}, dirs: map[string]string{}}
	if exe != "" {
		f.dirs[filepath.Dir(exe)] = "BUILD"
	}
	for _, name := range []string{"web1", "web2", "web3"} {
		cfg, ok := cfgs[name]
		if !ok {
			continue
		}
		cfg.Users = map[string]string{"deploy": password}
		cfg.Dir = t.TempDir()
		f.dirs[cfg.Dir] = strings.ToUpper(name)
		srv := emulatortest.Start(t, cfg)
		flavor := cfg.Flavor.Kind()
		up, upd, st, err := config.DeriveURLs(flavor, srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		f.p.Servers = append(f.p.Servers, config.Server{Name: name, URL: srv.URL(), Flavor: flavor, UploadURL: up, UpdateURL: upd, StatusURL: st})
	}
	return f
}

func (f *fleet) options() Options {
	client := func(user, pw string) ClientFunc {
		return func(t rollout.Target) (*http.Client, error) {
			return transport.New(t.URL, transport.Options{Auth: f.p.Auth, User: user, Password: pw})
		}
	}
	return Options{Profile: f.p, Client: client("deploy", password), Anonymous: client("", ""), Parallel: 2}
}

var port = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

// normalized is the report with loopback ports and temporary folders
// replaced, so it can be compared with a golden file.
func (f *fleet) normalized(t *testing.T, rep *Report) *Report {
	t.Helper()
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	s := port.ReplaceAllString(string(b), "127.0.0.1:PORT")
	for dir, name := range f.dirs {
		s = strings.ReplaceAll(s, strings.ReplaceAll(dir, `\`, `\\`), name)
	}
	var out Report
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func writeExe(t *testing.T, size int64) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "Shop.exe")
	if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: "2.0.0.0", Size: size, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	return exe
}

func golden2(t *testing.T, name string, f *fleet, rep *Report) {
	t.Helper()
	n := f.normalized(t, rep)
	var table, doc bytes.Buffer
	if err := n.WriteText(&table, 0); err != nil {
		t.Fatal(err)
	}
	if err := output.JSON(&doc, n); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{table.Bytes(), doc.Bytes()} {
		if bytes.Contains(b, []byte(password)) {
			t.Fatalf("the password appeared in the output:\n%s", b)
		}
	}
	golden.Assert(t, name+".txt", table.Bytes())
	golden.Assert(t, name+".json", doc.Bytes())
}

// The case: a 31 MB EXE, one server with the stock limit, one that
// raised it, one Web Server with Kestrel's stock limit. deploy's preflight
// stops two of them, so doctor must not call them ready.
func TestDoctorGoldenSizeLimits(t *testing.T) {
	f := newFleet(t, writeExe(t, 31_000_000), map[string]emulator.Config{
		"web1": {Flavor: emulator.Module715, Auth: "basic"},
		"web2": {Flavor: emulator.Module715, Auth: "basic", MaxRequestBytes: 64 << 20},
		"web3": {Flavor: emulator.WebServer726, Auth: "basic"},
	})
	rep := Run(context.Background(), f.options())
	if rep.OK || rep.Ready != 1 || exitcode.Of(rep.Err()) != exitcode.Upload {
		t.Errorf("ok %v, ready %d, exit %d: want not ok, 1 ready, exit 4", rep.OK, rep.Ready, exitcode.Of(rep.Err()))
	}
	golden2(t, "size-limits", f, rep)
}

func TestDoctorGoldenHealthy(t *testing.T) {
	f := newFleet(t, writeExe(t, 3_000_000), map[string]emulator.Config{
		"web1": {Flavor: emulator.Module714, Auth: "basic"},
		"web2": {Flavor: emulator.ISAPI, Auth: "basic"},
	})
	rep := Run(context.Background(), f.options())
	if !rep.OK || rep.Ready != 2 || rep.Err() != nil {
		t.Errorf("ok %v, ready %d, err %v", rep.OK, rep.Ready, rep.Err())
	}
	golden2(t, "healthy", f, rep)
}

// An EXE deploy refuses fails doctor, although every server is fine.
func TestDoctorGoldenRefusedExe(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "Shop.exe")
	if err := sampleexe.WriteFile(exe, sampleexe.Options{Size: 2 << 20}); err != nil {
		t.Fatal(err)
	}
	f := newFleet(t, exe, map[string]emulator.Config{"web1": {Flavor: emulator.Module715, Auth: "basic"}})
	rep := Run(context.Background(), f.options())
	if rep.OK || rep.Ready != 0 || exitcode.Of(rep.Err()) != exitcode.Usage || !rep.Servers[0].OK {
		t.Errorf("ok %v, ready %d, exit %d, server ok %v", rep.OK, rep.Ready, exitcode.Of(rep.Err()), rep.Servers[0].OK)
	}
	golden2(t, "refused-exe", f, rep)
}

// A cancelled run starts no server and says so with exit code 130's kind.
func TestDoctorInterrupted(t *testing.T) {
	f := newFleet(t, "", map[string]emulator.Config{"web1": {Flavor: emulator.Module715, Auth: "basic"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep := Run(ctx, f.options())
	if !rep.Interrupted || rep.OK || exitcode.Of(rep.Err()) != exitcode.Interrupted {
		t.Fatalf("interrupted %v, ok %v, exit %d", rep.Interrupted, rep.OK, exitcode.Of(rep.Err()))
	}
	if c := rep.Servers[0].Checks; len(c) != 1 || c[0].Status != Skip {
		t.Errorf("checks of an unstarted server: %+v", c)
	}
	if !strings.HasPrefix(rep.Verdict(), "interrupted") {
		t.Errorf("verdict %q", rep.Verdict())
	}
}
