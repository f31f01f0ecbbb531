package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/ui"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
)

const loginPW = "L0gin-Pa55"

// memKeyring is an in-memory OS keychain.
type memKeyring struct {
	mu      sync.Mutex
	entries map[string]string
	calls   int
}

func (m *memKeyring) Get(service, account string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	p, ok := m.entries[service+"/"+account]
	if !ok {
		return "", credentials.ErrNotStored
	}
	return p, nil
}

func (m *memKeyring) Set(service, account, secret string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	m.entries[service+"/"+account] = secret
	return nil
}

func (m *memKeyring) Delete(service, account string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if _, ok := m.entries[service+"/"+account]; !ok {
		return credentials.ErrNotStored
	}
	delete(m.entries, service+"/"+account)
	return nil
}

// credRun runs the command line like run does, with the OS keychain
// replaced by kr.
func credRun(t *testing.T, s *ui.Streams, getenv func(string) string, kr credentials.Keyring, args ...string) (exitcode.Code, error) {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	d := systemDeps(s, getenv)
	d.keyring = kr
	root := newRootCmd(&app{deps: d})
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return exitcode.Of(err), err
}

// twoServerConfig writes a config with two servers: the emulator (by IP)
// and a second host name for the same port, which is never contacted.
func twoServerConfig(t *testing.T, em *emulator.Server) string {
	t.Helper()
	base := strings.TrimSuffix(em.URL(), "/")
	port := base[strings.LastIndex(base, ":")+1:]
	p := filepath.Join(t.TempDir(), "wcdeploy.yaml")
	cfg := fmt.Sprintf(`
profiles:
  prod:
    username: 'WCEMU\deploy'
    timeouts: {connect: 2s, status: 5s, keychain: 2s}
    servers:
      - {name: web1, url: "%s/"}
      - {name: web2, url: "http://localhost:%s/App/"}
      - {name: web1b, url: "%s/Other/"}
`, base, port, base)
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func hostOf(t *testing.T, u string) string {
	h, err := credentials.HostOf(u)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func noPassword(t *testing.T, outs ...string) {
	t.Helper()
	for _, o := range outs {
		if strings.Contains(o, loginPW) {
			t.Errorf("password printed: %q", o)
		}
	}
}

func TestLoginVerifiesThenStoresPerHost(t *testing.T) {
	em := emulatortest.Start(t, emulator.Config{Auth: emulator.AuthNTLM, Domain: "WCEMU", Users: map[string]string{`WCEMU\deploy`: loginPW}})
	cfg := twoServerConfig(t, em)
	kr := &memKeyring{entries: map[string]string{}}

	s, out, errOut := ui.Test(loginPW + "\n")
	code, err := credRun(t, s, nil, kr, "login", "--config", cfg, "--password-stdin", "--json")
	if code != 0 {
		t.Fatalf("login: %d %v\n%s", code, err, errOut)
	}
	h1 := hostOf(t, em.URL())
	h2 := "localhost:" + h1[strings.LastIndex(h1, ":")+1:]
	want := map[string]string{
		"wcdeploy/" + `WCEMU\deploy@` + h1: loginPW,
		"wcdeploy/" + `WCEMU\deploy@` + h2: loginPW,
	}
	if fmt.Sprint(kr.entries) != fmt.Sprint(want) {
		t.Errorf("keychain %v, want %v", kr.entries, want)
	}
	var doc struct {
		User     string   `json:"user"`
		Verified string   `json:"verified_on"`
		Stored   []string `json:"stored"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || doc.Verified != "web1" || len(doc.Stored) != 2 {
		t.Errorf("json %q: %v", out, err)
	}
	if !strings.Contains(errOut.String(), "Logged in to web1") {
		t.Errorf("stderr %q", errOut)
	}
	noPassword(t, out.String(), errOut.String())
	// Only the first server was contacted.
	if n := len(em.Requests()); n == 0 || n > 3 {
		t.Errorf("%d requests for the check", n)
	}

	// The stored password is what the deploy would use now.
	s, out, errOut = ui.Test("")
	if code, err := credRun(t, s, nil, kr, "auth", "status", "--config", cfg); code != 0 {
		t.Fatalf("auth status: %d %v %s", code, err, errOut)
	}
	if strings.Count(out.String(), "keychain") != 3 {
		t.Errorf("auth status:\n%s", out)
	}
}

func TestLoginRefusedStoresNothing(t *testing.T) {
	em := emulatortest.Start(t, emulator.Config{Auth: emulator.AuthBoth, Domain: "WCEMU", Users: map[string]string{`WCEMU\deploy`: "other"}})
	kr := &memKeyring{entries: map[string]string{}}
	s, out, errOut := ui.Test(loginPW + "\n")
	code, err := credRun(t, s, nil, kr, "login", "--config", twoServerConfig(t, em), "--password-stdin")
	if code != exitcode.Auth || !strings.Contains(err.Error(), "not stored") {
		t.Fatalf("code %d, %v", code, err)
	}
	if len(kr.entries) != 0 || kr.calls != 0 {
		t.Errorf("keychain touched: %v", kr.entries)
	}
	noPassword(t, out.String(), errOut.String(), err.Error())
}

func TestLoginPrompt(t *testing.T) {
	em := emulatortest.Start(t, emulator.Config{Auth: emulator.AuthBasic, Users: map[string]string{`deploy`: loginPW}})
	kr := &memKeyring{entries: map[string]string{}}
	s, out, errOut := ui.Test("")
	s.InTTY, s.ErrTTY = true, true
	prompts := 0
	s.ReadSecret = func() (string, error) { prompts++; return loginPW, nil }
	code, err := credRun(t, s, nil, kr, "login", "--config", emptyConfig(t), "--url", em.URL(), "--user", "deploy")
	if code != 0 || prompts != 1 {
		t.Fatalf("code %d (%v), %d prompts\n%s", code, err, prompts, errOut)
	}
	if !strings.Contains(errOut.String(), "Password for deploy at ") {
		t.Errorf("no prompt: %q", errOut)
	}
	if len(kr.entries) != 1 {
		t.Errorf("entries %v", kr.entries)
	}
	noPassword(t, out.String(), errOut.String())
}

// emptyConfig is a config file with one empty profile, so --url alone
// selects the server and nothing is found by walking up.
func emptyConfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wcdeploy.yaml")
	if err := os.WriteFile(p, []byte("profiles:\n  default: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoginUsageErrors(t *testing.T) {
	kr := &memKeyring{entries: map[string]string{}}
	cfg := emptyConfig(t)
	pwFile := filepath.Join(t.TempDir(), "pw")
	_ = os.WriteFile(pwFile, []byte(loginPW+"\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		code exitcode.Code
		want string
	}{
		{"no terminal, no flag", []string{"login", "--url", "https://web1.example.com/App/", "--user", "u"}, exitcode.Usage, "--password-stdin"},
		{"no user", []string{"login", "--url", "https://web1.example.com/App/", "--password-file", pwFile}, exitcode.Usage, "username"},
		{"no server", []string{"login", "--user", "u", "--password-file", pwFile}, exitcode.Usage, "no server"},
		{"stdin and file", []string{"login", "--url", "https://web1.example.com/App/", "--user", "u", "--password-stdin", "--password-file", pwFile}, exitcode.Usage, "together"},
		{"basic over http", []string{"login", "--url", "http://192.0.2.1/App/", "--user", "u", "--auth", "basic", "--password-file", pwFile}, exitcode.Usage, "allow_insecure_http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, out, errOut := ui.Test("")
			code, err := credRun(t, s, nil, kr, append(tc.args, "--config", cfg)...)
			if code != tc.code || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("code %d, %v; want %d and %q", code, err, tc.code, tc.want)
			}
			noPassword(t, out.String(), errOut.String())
		})
	}
	if len(kr.entries) != 0 {
		t.Errorf("stored %v", kr.entries)
	}
}

func TestLoginNoVerifyAndLogout(t *testing.T) {
	kr := &memKeyring{entries: map[string]string{}}
	cfg := emptyConfig(t)
	pwFile := filepath.Join(t.TempDir(), "pw")
	_ = os.WriteFile(pwFile, []byte(loginPW+"\r\n"), 0o600)
	// 192.0.2.1 is never contacted with --no-verify.
	args := []string{"--config", cfg, "--url", "https://192.0.2.1:8443/App/", "--user", `CORP\u`}
	s, _, errOut := ui.Test("")
	if code, err := credRun(t, s, nil, kr, append([]string{"login", "--no-verify", "--password-file", pwFile}, args...)...); code != 0 {
		t.Fatalf("login: %v %s", err, errOut)
	}
	if kr.entries[`wcdeploy/CORP\u@192.0.2.1:8443`] != loginPW {
		t.Fatalf("entries %v", kr.entries)
	}

	s, out, _ := ui.Test("")
	if code, err := credRun(t, s, nil, kr, append([]string{"logout", "--json"}, args...)...); code != 0 {
		t.Fatal(err)
	}
	var doc struct {
		Removed   []string `json:"removed"`
		NotStored []string `json:"not_stored"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || len(doc.Removed) != 1 || len(doc.NotStored) != 0 {
		t.Errorf("logout json %q %v", out, err)
	}
	s, out, errOut = ui.Test("")
	if code, err := credRun(t, s, nil, kr, append([]string{"logout", "--json"}, args...)...); code != 0 {
		t.Fatal(err)
	}
	doc.Removed, doc.NotStored = nil, nil
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || len(doc.Removed) != 0 || len(doc.NotStored) != 1 {
		t.Errorf("second logout %q %v", out, err)
	}
	if !strings.Contains(errOut.String(), "No password") {
		t.Errorf("stderr %q", errOut)
	}
}

// TestLoginUnreachable: a server that cannot be reached is told in the
// user's terms, with exit 4 (docs/exit-codes.md), and nothing is stored.
func TestLoginUnreachable(t *testing.T) {
	kr := &memKeyring{entries: map[string]string{}}
	s, out, errOut := ui.Test(loginPW + "\n")
	code, err := credRun(t, s, nil, kr, "login", "--url", closedPort(t), "--flavor", "module", "--user", "deploy", "--password-stdin")
	if code != exitcode.Upload || err == nil || !strings.Contains(err.Error(), "the login could not be checked at") ||
		strings.Contains(err.Error(), `Get "`) || !strings.Contains(err.Error(), "check that the server is up") {
		t.Fatalf("code %d, %v", code, err)
	}
	if len(kr.entries) != 0 {
		t.Errorf("stored: %v", kr.entries)
	}
	noPassword(t, out.String(), errOut.String(), err.Error())
}
