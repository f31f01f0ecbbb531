package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/ui"
)

func TestAuthStatusSources(t *testing.T) {
	cfg := emptyConfig(t)
	pwFile := filepath.Join(t.TempDir(), "pw")
	_ = os.WriteFile(pwFile, []byte(loginPW), 0o600)
	stored := &memKeyring{entries: map[string]string{"wcdeploy/u@web1.example.com": loginPW}}
	envPW := func(k string) string {
		if k == credentials.EnvPassword {
			return loginPW
		}
		return ""
	}
	for _, tc := range []struct {
		name   string
		getenv func(string) string
		kr     *memKeyring
		tty    bool
		extra  []string
		want   string
		code   exitcode.Code
	}{
		{name: "env", getenv: envPW, kr: stored, want: "env"},
		{name: "keychain", kr: stored, want: "keychain"},
		{name: "file", kr: stored, extra: []string{"--password-file", pwFile}, want: "file"},
		{name: "stdin", getenv: envPW, extra: []string{"--password-stdin"}, want: "stdin"},
		{name: "prompt", kr: &memKeyring{entries: map[string]string{}}, tty: true, want: "prompt"},
		{name: "none", kr: &memKeyring{entries: map[string]string{}}, want: "", code: exitcode.Auth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, jsonOut := range []bool{false, true} {
				s, out, errOut := ui.Test(loginPW + "\n")
				if tc.tty {
					s.InTTY, s.ErrTTY = true, true
					s.ReadSecret = func() (string, error) { t.Error("prompted"); return "", nil }
				}
				kr := tc.kr
				if kr == nil {
					kr = &memKeyring{entries: map[string]string{}}
				}
				args := append([]string{"auth", "status", "--config", cfg, "--url", "https://WEB1.example.com:443/App/", "--user", "u"}, tc.extra...)
				if jsonOut {
					args = append(args, "--json")
				}
				code, err := credRun(t, s, tc.getenv, kr, args...)
				if code != tc.code {
					t.Fatalf("json=%v: code %d, %v\n%s", jsonOut, code, err, errOut)
				}
				if err != nil && !errors.Is(err, errReported) {
					t.Errorf("error would be printed twice: %v", err)
				}
				noPassword(t, out.String(), errOut.String())
				if jsonOut {
					var doc struct {
						OK      bool               `json:"ok"`
						Servers []AuthStatusServer `json:"servers"`
					}
					if err := json.Unmarshal(out.Bytes(), &doc); err != nil || len(doc.Servers) != 1 {
						t.Fatalf("json %q: %v", out, err)
					}
					row := doc.Servers[0]
					if row.Source != tc.want || row.Host != "web1.example.com" || row.User != "u" || doc.OK != (tc.code == 0) {
						t.Errorf("row %+v ok=%v", row, doc.OK)
					}
					if tc.code != 0 && !strings.Contains(row.Error, credentials.EnvPassword) {
						t.Errorf("error %q", row.Error)
					}
					continue
				}
				want := tc.want
				if want == "" {
					want = "none"
				}
				if !strings.Contains(out.String(), "PASSWORD FROM") || !strings.Contains(out.String(), want) {
					t.Errorf("table:\n%s", out)
				}
				if tc.code != 0 && (!strings.Contains(errOut.String(), credentials.EnvPassword) || !strings.Contains(errOut.String(), "--password-stdin")) {
					t.Errorf("stderr %q", errOut)
				}
			}
		})
	}
}

// TestCredentialCommandsWithSystemKeyring runs login, auth status and
// logout through run(), with the real OS keychain.
func TestCredentialCommandsWithSystemKeyring(t *testing.T) {
	if os.Getenv("WCDEPLOY_TEST_KEYRING") == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("WCDEPLOY_TEST_KEYRING is not set in CI: run the suite with bash scripts/test.sh")
		}
		t.Skip("needs a Secret Service: run bash scripts/test.sh")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	user := "wcdeploy-test-" + hex.EncodeToString(b)
	args := []string{"--config", emptyConfig(t), "--url", "https://keyring-test.example:8443/App/", "--user", user}
	getenv := func(string) string { return "" }

	s, _, errOut := ui.Test(loginPW + "\n")
	if code := run(append([]string{"login", "--no-verify", "--password-stdin"}, args...), s, getenv); code != 0 {
		t.Fatalf("login: %d %s", code, errOut)
	}
	t.Cleanup(func() {
		s, _, _ := ui.Test("")
		run(append([]string{"logout"}, args...), s, getenv)
	})
	s, out, errOut := ui.Test("")
	if code := run(append([]string{"auth", "status", "--json"}, args...), s, getenv); code != 0 || !strings.Contains(out.String(), `"source": "keychain"`) {
		t.Errorf("status: %d %s %s", code, out, errOut)
	}
	noPassword(t, out.String(), errOut.String())
	s, _, errOut = ui.Test("")
	if code := run(append([]string{"logout"}, args...), s, getenv); code != 0 || !strings.Contains(errOut.String(), "Deleted") {
		t.Errorf("logout: %d %s", code, errOut)
	}
	s, out, _ = ui.Test("")
	if code := run(append([]string{"auth", "status", "--json"}, args...), s, getenv); code != int(exitcode.Auth) {
		t.Errorf("status after logout: %d %s", code, out)
	}
}
