package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/ui"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
)

// runIn runs a command line in dir with stdin, as a user at a shell would.
func runIn(t *testing.T, e env, dir, stdin string, args ...string) result {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	s, out, errOut := ui.Test(stdin)
	code := run(args, s, e.get)
	r := result{code, out.String(), errOut.String()}
	for _, text := range []string{r.out, r.errOut} {
		if strings.Contains(text, testPassword) {
			t.Fatalf("%v: the password appeared in the output:\n%s", args, text)
		}
	}
	return r
}

// noSecretInFiles fails if any file below the roots holds the password.
func noSecretInFiles(t *testing.T, roots ...string) {
	t.Helper()
	for _, root := range roots {
		noPasswordIn(t, root, testPassword)
	}
}

// TestKeychainLoginDeployLogout runs the life of a developer's credential
// against the real OS keychain (Secret Service under scripts/test.sh), and
// every command in every output mode with a known password, which must
// appear nowhere: stdout, stderr, the config, the journal, the archive.
func TestKeychainLoginDeployLogout(t *testing.T) {
	if os.Getenv("WCDEPLOY_TEST_KEYRING") == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must run the keychain tests: run them through bash scripts/test.sh (dbus-run-session + gnome-keyring)")
		}
		t.Skip("needs the Secret Service: run bash scripts/test.sh")
	}
	srv := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: "basic",
		Users: map[string]string{"deploy": testPassword}, InitialVersion: "1.0.0.0"})
	project := t.TempDir()
	e := newEnv(t)
	delete(e, "WCDEPLOY_PASSWORD")
	exe := writeExe(t, filepath.Join(project), "3.1.4.1", 7)

	steps := []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"", []string{"init", "--exe", exe, "--url", srv.URL(), "--flavor", "module", "--user", "deploy"}, 0, ""},
		{"", []string{"deploy"}, 3, "WCDEPLOY_PASSWORD"}, // nothing stored yet, no terminal
		{"wrong-password\n", []string{"login", "--password-stdin"}, 3, ""},
		{testPassword + "\n", []string{"login", "--password-stdin"}, 0, ""},
		{"", []string{"auth", "status"}, 0, "keychain"},
		{"", []string{"auth", "status", "--json"}, 0, "keychain"},
		{"", []string{"deploy", "--dry-run"}, 0, ""},
		{"", []string{"deploy", "-v"}, 0, "3.1.4.1"},
		{"", []string{"status", "--json"}, 0, "3.1.4.1"},
		{"", []string{"deploy", "--json", "--force"}, 0, `"exit_code": 0`},
		{"", []string{"deploy", "-q", "--force"}, 0, ""},
		{"", []string{"history", "--json"}, 0, "3.1.4.1"},
		{"", []string{"logout"}, 0, ""},
		{"", []string{"deploy", "--force"}, 3, "WCDEPLOY_PASSWORD"},
	}
	for _, s := range steps {
		r := runIn(t, e, project, s.stdin, s.args...)
		if r.code != s.code || !strings.Contains(r.out+r.errOut, s.want) {
			t.Fatalf("%v: exit %d (want %d), want %q in the output\nstdout:\n%s\nstderr:\n%s", s.args, r.code, s.code, s.want, r.out, r.errOut)
		}
	}
	if got := srv.ExeVersion(); got != "3.1.4.1" {
		t.Errorf("the server runs %s", got)
	}
	noSecretInFiles(t, project, e["WCDEPLOY_STATE_DIR"], e["HOME"])
}
