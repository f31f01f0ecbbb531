package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wcdeploy/wcdeploy/internal/ui"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// commandTree is the real command tree, as run builds it.
func commandTree(t *testing.T) *cobra.Command {
	s, _, _ := ui.Test("")
	return newRootCmd(&app{deps: systemDeps(s, func(string) string { return "" })})
}

func findCmd(t *testing.T, root *cobra.Command, path string) *cobra.Command {
	t.Helper()
	c, _, err := root.Find(strings.Fields(path))
	if err != nil || c == root {
		t.Fatalf("no command %q: %v", path, err)
	}
	return c
}

func ownFlags(c *cobra.Command) []string {
	var names []string
	c.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Name != "help" {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	return names
}

// TestEachCommandHasItsOwnFlags pins which flags each command shows: a deploy's
// rollout flags only where a rollout runs.
func TestEachCommandHasItsOwnFlags(t *testing.T) {
	server := []string{"url", "server", "group"}
	connect := []string{"user", "auth", "flavor", "status-url", "ca-file", "insecure-skip-verify",
		"allow-insecure-http", "connect-timeout", "response-timeout", "status-timeout", "keychain-timeout",
		"kerberos-keytab", "kerberos-config"}
	password := []string{"password-stdin", "password-file"}
	rollout := []string{"upload-url", "update-url", "swap-timeout", "retries", "parallel", "canary",
		"max-failures", "archive-keep", "health-url", "upload-parallel", "drain-delay", "skip-same-version"}
	join := func(groups ...[]string) []string {
		var all []string
		for _, g := range groups {
			all = append(all, g...)
		}
		sort.Strings(all)
		return slices.Compact(all)
	}
	want := map[string][]string{
		"deploy":      join(server, connect, password, rollout, []string{"exe", "dll", "force", "dry-run", "resume", "stage-only", "skip-unreachable", "wait-lock"}),
		"rollback":    join(server, connect, password, rollout, []string{"to", "dry-run", "skip-unreachable", "wait-lock"}),
		"swap":        join(server, connect, password, rollout, []string{"run", "dry-run", "skip-unreachable", "wait-lock"}),
		"status":      join(server, connect, password, []string{"exe"}),
		"doctor":      join(server, connect, password, []string{"exe", "dll", "upload-url", "update-url"}),
		"login":       join(server, connect, password, []string{"no-verify"}),
		"logout":      join(server, []string{"user", "keychain-timeout"}),
		"auth status": join(server, password, []string{"user", "keychain-timeout"}),
		"history":     {"all", "limit", "url"},
		"sample-exe":  {"file-version", "size"},
	}
	all := pflag.NewFlagSet("config", pflag.ContinueOnError)
	config.AddFlags(all)
	all.VisitAll(func(f *pflag.Flag) {
		if !slices.Contains(want["deploy"], f.Name) {
			t.Errorf("deploy lacks the profile flag --%s", f.Name)
		}
	})
	root := commandTree(t)
	for path, names := range want {
		c := findCmd(t, root, path)
		if got := ownFlags(c); !slices.Equal(got, names) {
			t.Errorf("%s flags:\n got  %v\n want %v", path, got, names)
		}
		if path == "deploy" || path == "rollback" {
			continue
		}
		c.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
			if strings.Contains(f.Usage, "deploy to") || strings.Contains(f.Usage, "deploy only") {
				t.Errorf("%s --%s speaks of a deploy: %q", path, f.Name, f.Usage)
			}
		})
	}
}

func TestHelpShowsDefaultsAndDescriptions(t *testing.T) {
	root := commandTree(t)
	deploy := findCmd(t, root, "deploy").NonInheritedFlags().FlagUsages()
	for _, w := range []string{`(default "module")`, "(default 4)", "(default 2m0s)", "(default 3)", "(default 5)"} {
		if !strings.Contains(deploy, w) {
			t.Errorf("deploy's flags do not show %s:\n%s", w, deploy)
		}
	}
	if u := root.PersistentFlags().Lookup("config").Usage; !strings.Contains(u, "WCDEPLOY_CONFIG") {
		t.Errorf("--config does not name WCDEPLOY_CONFIG: %q", u)
	}
	for _, path := range []string{"status", "history", "rollback", "deploy", "doctor", "login"} {
		c := findCmd(t, root, path)
		if len(c.Long) < 100 || c.Example == "" {
			t.Errorf("%s has no long description or examples", path)
		}
	}
}

// A flag set is the real parse: a default shown in help must not become a
// value that hides the environment or the file.
func TestShownDefaultsAreNotValues(t *testing.T) {
	f := findCmd(t, commandTree(t), "deploy").Flags().Lookup("parallel")
	if f.Changed || f.Value.String() != "0" {
		t.Fatalf("--parallel holds %q (changed %v) before parsing", f.Value, f.Changed)
	}
}

func TestUsageErrorsPointAtTheCommandsHelp(t *testing.T) {
	e := newEnv(t)
	r := runCLI(t, e, "status", "--canary", "2")
	if r.code != 2 || !strings.Contains(r.errOut, "unknown flag: --canary") || !strings.Contains(r.errOut, "Run 'wcdeploy status --help'") {
		t.Errorf("status --canary: exit %d\n%s", r.code, r.errOut)
	}
	r = runCLI(t, e, "deploy", "Orders.exe")
	if r.code != 2 || !strings.Contains(r.errOut, "wcdeploy deploy --exe Orders.exe") || !strings.Contains(r.errOut, "Run 'wcdeploy deploy --help'") {
		t.Errorf("deploy Orders.exe: exit %d\n%s", r.code, r.errOut)
	}
	r = runCLI(t, e, "status", "web1")
	if r.code != 2 || !strings.Contains(r.errOut, "takes no arguments") {
		t.Errorf("status web1: exit %d\n%s", r.code, r.errOut)
	}
}

// In an empty folder every command that needs servers says so in its own
// words, and points at init.
func TestNoServerSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy"}, "no server to deploy to"},
		{[]string{"status"}, "no server to check"},
		{[]string{"doctor"}, "no server to check"},
		{[]string{"login", "--user", "u", "--password-stdin"}, "no server to log in to"},
		{[]string{"logout", "--user", "u"}, "no server to log out of"},
	} {
		r := runIn(t, e, dir, "", tc.args...)
		if r.code != 2 || !strings.Contains(r.errOut, tc.want) || !strings.Contains(r.errOut, "wcdeploy init") || !strings.Contains(r.errOut, "--url") {
			t.Errorf("%v: exit %d\n%s", tc.args, r.code, r.errOut)
		}
	}
	if r := runIn(t, e, dir, "", "deploy"); !strings.Contains(r.errOut, "--exe") {
		t.Errorf("deploy does not say how to name the EXE:\n%s", r.errOut)
	}
	if r := runIn(t, e, dir, "", "status"); strings.Contains(r.errOut, "--exe") {
		t.Errorf("status asks for an EXE it does not need:\n%s", r.errOut)
	}
}

func TestSampleExeJSON(t *testing.T) {
	dir := t.TempDir()
	r := runIn(t, newEnv(t), dir, "", "sample-exe", "--json", "--file-version", "2.1.0.0", "App.exe")
	var doc SampleExe
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil || r.code != 0 {
		t.Fatalf("exit %d, not JSON (%v):\n%s%s", r.code, err, r.out, r.errOut)
	}
	if doc.FileVersion != "2.1.0.0" || doc.Path != filepath.Join(dir, "App.exe") || doc.Size < 1000 {
		t.Errorf("%+v", doc)
	}
}

// -q keeps the result: the summary line on stdout, nothing on stderr.
func TestQuietDeployPrintsTheSummaryLine(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: "basic",
		Users: map[string]string{"deploy": testPassword}, InitialVersion: "1.0.0.0"})
	exe := writeExe(t, t.TempDir(), "1.2.3.5", 1)
	env := newEnv(t) // one journal: the second run knows the server runs this build
	for _, want := range []string{
		"WcDemo.exe 1.2.3.5: 1 of 1 servers updated; exit 0 (ok)\n",
		"WcDemo.exe 1.2.3.5: 0 of 1 servers updated, 1 already current; exit 0 (ok)\n",
	} {
		r := runCLI(t, env, deployArgs(exe, srv, emulator.Module715, "-q")...)
		if r.code != 0 || r.out != want || r.errOut != "" {
			t.Errorf("deploy -q: exit %d\nstdout %q, want %q\nstderr %q", r.code, r.out, want, r.errOut)
		}
	}
}

// brokenKeyring is a keychain that cannot save, as on a Linux server
// without a Secret Service.
type brokenKeyring struct{ memKeyring }

func (*brokenKeyring) Set(string, string, string) error {
	return errors.New("the Secret Service is not running")
}

func TestLoginStoreFailureAdvisesDeploys(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: "basic",
		Users: map[string]string{"deploy": testPassword}})
	s, _, errOut := ui.Test(testPassword + "\n")
	kr := &brokenKeyring{memKeyring{entries: map[string]string{}}}
	code, err := credRun(t, s, nil, kr, "login", "--password-stdin", "--url", srv.URL(), "--user", "deploy", "--flavor", "module")
	if code != 3 || err == nil {
		t.Fatalf("exit %d, %v", code, err)
	}
	msg := err.Error()
	for _, w := range []string{"accepted it", "could not be saved", "the Secret Service is not running", "each deploy", "WCDEPLOY_PASSWORD"} {
		if !strings.Contains(msg, w) {
			t.Errorf("the error lacks %q: %s", w, msg)
		}
	}
	if strings.Contains(msg, "instead") || strings.Contains(msg, testPassword) || strings.Contains(errOut.String(), testPassword) {
		t.Errorf("the error tells to log in another way, or shows the password: %s", msg)
	}
}

// A deploy whose EXE has another name than the server's ExeFile goes on, and
// says so once per server after the rollout.
func TestDeployWarnsOfAnotherExeName(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: "basic",
		Users: map[string]string{"deploy": testPassword}, InitialVersion: "1.0.0.0", ExeName: "Orders.exe"})
	exe := filepath.Join(t.TempDir(), "Shop.exe")
	if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: "1.2.0.0"}); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, newEnv(t), deployArgs(exe, srv, emulator.Module715)...)
	if r.code != 0 || srv.ExeVersion() != "1.2.0.0" {
		t.Fatalf("exit %d, the server runs %s\n%s%s", r.code, srv.ExeVersion(), r.out, r.errOut)
	}
	if n := strings.Count(r.errOut, "the local EXE is Shop.exe, the server runs Orders.exe"); n != 1 {
		t.Errorf("the name warning appears %d times:\n%s", n, r.errOut)
	}
}
