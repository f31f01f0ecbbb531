package credentials

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/ui"
)

// memKeyring is an in-memory Keyring that counts calls and can fail or block.
type memKeyring struct {
	mu      sync.Mutex
	entries map[string]string
	calls   int
	err     error         // returned by every call when set
	block   chan struct{} // calls wait on it when set
}

func newMem() *memKeyring { return &memKeyring{entries: map[string]string{}} }

func (m *memKeyring) enter() error {
	if m.block != nil {
		<-m.block
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	return m.err
}

func (m *memKeyring) Get(service, account string) (string, error) {
	if err := m.enter(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.entries[service+"/"+account]
	if !ok {
		return "", ErrNotStored
	}
	return p, nil
}

func (m *memKeyring) Set(service, account, secret string) error {
	if err := m.enter(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[service+"/"+account] = secret
	return nil
}

func (m *memKeyring) Delete(service, account string) error {
	if err := m.enter(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[service+"/"+account]; !ok {
		return ErrNotStored
	}
	delete(m.entries, service+"/"+account)
	return nil
}

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// failReader fails the test if anything reads it.
type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("stdin was read")
	return 0, errors.New("must not be read")
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveOrder(t *testing.T) {
	base := Request{User: `CORP\deploy`, Host: "web1.example.com:8443"}
	stored := func() *memKeyring {
		m := newMem()
		m.entries[KeychainService+"/"+`CORP\deploy@web1.example.com:8443`] = "from-keychain"
		return m
	}
	tests := []struct {
		name        string
		stdin       string
		tty         bool
		typed       string
		getenv      func(string) string
		keyring     *memKeyring
		req         func(Request) Request
		want        string
		wantSource  Source
		wantCode    exitcode.Code
		wantInError []string
	}{
		{name: "stdin beats everything", stdin: "from-stdin\n", getenv: env(EnvPassword, "from-env"), keyring: stored(),
			req: func(r Request) Request { r.PasswordStdin = true; return r }, want: "from-stdin", wantSource: SourceStdin},
		{name: "stdin CRLF and no newline", stdin: "pw with spaces \r\n", req: func(r Request) Request { r.PasswordStdin = true; return r },
			want: "pw with spaces ", wantSource: SourceStdin},
		{name: "stdin without newline", stdin: "last", req: func(r Request) Request { r.PasswordStdin = true; return r },
			want: "last", wantSource: SourceStdin},
		{name: "empty stdin", stdin: "", req: func(r Request) Request { r.PasswordStdin = true; return r },
			wantCode: exitcode.Usage, wantInError: []string{"--password-stdin"}},
		{name: "file beats env", getenv: env(EnvPassword, "from-env"),
			req: func(r Request) Request { r.PasswordFile = writeFile(t, "from-file\r\nsecond line\n"); return r }, want: "from-file", wantSource: SourceFile},
		{name: "empty file", req: func(r Request) Request { r.PasswordFile = writeFile(t, "\n"); return r },
			wantCode: exitcode.Usage, wantInError: []string{"empty"}},
		{name: "missing file", req: func(r Request) Request { r.PasswordFile = filepath.Join(t.TempDir(), "none"); return r },
			wantCode: exitcode.Usage, wantInError: []string{"password file"}},
		{name: "stdin and file together", req: func(r Request) Request { r.PasswordStdin = true; r.PasswordFile = "x"; return r },
			wantCode: exitcode.Usage, wantInError: []string{"cannot be used together"}},
		{name: "env beats keychain", getenv: env(EnvPassword, "from-env"), keyring: stored(), want: "from-env", wantSource: SourceEnv},
		{name: "keychain beats prompt", keyring: stored(), tty: true, typed: "typed", want: "from-keychain", wantSource: SourceKeychain},
		{name: "keychain entry is per host", keyring: stored(), req: func(r Request) Request { r.Host = "web2.example.com:8443"; return r },
			wantCode: exitcode.Auth, wantInError: []string{EnvPassword, "--password-stdin", "web2.example.com:8443"}},
		{name: "prompt on a terminal", keyring: newMem(), tty: true, typed: "typed", want: "typed", wantSource: SourcePrompt},
		{name: "nothing and no terminal", keyring: newMem(), wantCode: exitcode.Auth,
			wantInError: []string{EnvPassword, "--password-stdin", "wcdeploy login", `CORP\deploy`}},
		{name: "no keyring at all and no terminal", wantCode: exitcode.Auth, wantInError: []string{EnvPassword, "--password-stdin"}},
		{name: "broken keychain and no terminal", keyring: &memKeyring{err: errors.New("org.freedesktop.secrets was not provided")},
			wantCode: exitcode.Auth, wantInError: []string{"no Secret Service on this machine", EnvPassword, "--password-stdin", "OS keychain"}},
		{name: "no user", req: func(r Request) Request { r.User = ""; return r }, getenv: env(EnvPassword, "x"),
			wantCode: exitcode.Usage, wantInError: []string{"user"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := ui.Test(tc.stdin)
			if tc.tty {
				s.InTTY, s.ErrTTY = true, true
				s.ReadSecret = func() (string, error) { return tc.typed, nil }
			} else {
				s.ReadSecret = func() (string, error) { t.Error("prompted without a terminal"); return "", nil }
			}
			r := &Resolver{Streams: s, Getenv: tc.getenv}
			if tc.keyring != nil {
				r.Keyring = tc.keyring
			}
			req := base
			if tc.req != nil {
				req = tc.req(req)
			}
			start := time.Now()
			c, err := r.Resolve(context.Background(), req)
			if time.Since(start) > time.Second {
				t.Errorf("Resolve took %v", time.Since(start))
			}
			if tc.wantCode != 0 {
				if err == nil {
					t.Fatalf("want an error, got %v", c)
				}
				if got := exitcode.Of(err); got != tc.wantCode {
					t.Errorf("exit code %d, want %d (%v)", got, tc.wantCode, err)
				}
				for _, w := range tc.wantInError {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if c.Password != tc.want || c.Source != tc.wantSource || c.User != req.User {
				t.Errorf("got %q from %s for %s, want %q from %s", c.Password, c.Source, c.User, tc.want, tc.wantSource)
			}
		})
	}
}

func TestStdinReadOnceForAllServers(t *testing.T) {
	s, _, _ := ui.Test("first\nsecond\n")
	r := &Resolver{Streams: s}
	var wg sync.WaitGroup
	got := make([]string, 10)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := r.Resolve(context.Background(), Request{User: "u", Host: "web" + string(rune('0'+i)), PasswordStdin: true})
			if err != nil {
				t.Error(err)
			}
			got[i] = c.Password
		}()
	}
	wg.Wait()
	for i, p := range got {
		if p != "first" {
			t.Errorf("server %d got %q", i, p)
		}
	}
	// Only the first line was consumed.
	rest := make([]byte, 16)
	n, _ := s.In.Read(rest)
	if string(rest[:n]) != "second\n" {
		t.Errorf("stdin left %q", rest[:n])
	}
}

func TestPromptOncePerUser(t *testing.T) {
	s, _, errOut := ui.Test("")
	s.InTTY, s.ErrTTY = true, true
	prompts := 0
	s.ReadSecret = func() (string, error) { prompts++; return "typed", nil }
	r := &Resolver{Streams: s, Keyring: newMem()}
	for _, h := range []string{"web1", "web2", "web3"} {
		c, err := r.Resolve(context.Background(), Request{User: "u", Host: h})
		if err != nil || c.Password != "typed" || c.Source != SourcePrompt {
			t.Fatalf("%s: %v %v", h, c, err)
		}
	}
	if prompts != 1 {
		t.Errorf("prompted %d times for one user", prompts)
	}
	if !strings.Contains(errOut.String(), "Password for u at web1: \n") {
		t.Errorf("prompt text %q", errOut.String())
	}
	if strings.Contains(errOut.String(), "typed") {
		t.Error("typed password echoed")
	}
}

func TestBrokenKeychainOnTerminalWarnsThenPrompts(t *testing.T) {
	s, _, errOut := ui.Test("")
	s.InTTY, s.ErrTTY = true, true
	s.ReadSecret = func() (string, error) { return "typed", nil }
	r := &Resolver{Streams: s, Keyring: &memKeyring{err: errors.New("collection is locked")}}
	c, err := r.Resolve(context.Background(), Request{User: "u", Host: "web1"})
	if err != nil || c.Source != SourcePrompt {
		t.Fatalf("got %v, %v", c, err)
	}
	if !strings.Contains(errOut.String(), "collection is locked") || !strings.Contains(errOut.String(), EnvPassword) {
		t.Errorf("no warning about the keychain: %q", errOut.String())
	}
}

func TestKeychainTimeout(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	k := &memKeyring{entries: map[string]string{}, block: block}
	s, _, _ := ui.Test("")
	r := &Resolver{Streams: s, Keyring: k, Timeout: 50 * time.Millisecond}
	req := Request{User: "u", Host: "web1"}

	// One timeout per run, not one per server.
	r2 := &Resolver{Streams: s, Keyring: k, Timeout: 50 * time.Millisecond}
	start := time.Now()
	for _, h := range []string{"web1", "web2", "web3", "web4"} {
		if _, err := r2.Resolve(context.Background(), Request{User: "u", Host: h}); !errors.Is(err, ErrKeychainTimeout) {
			t.Fatalf("%s: %v", h, err)
		}
	}
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Errorf("four servers took %v: the keychain was asked again after it timed out", d)
	}

	ops := map[string]func() error{
		"resolve": func() error { r.broken = nil; _, err := r.Resolve(context.Background(), req); return err },
		"which":   func() error { r.broken = nil; _, err := r.Which(context.Background(), req); return err },
		"store":   func() error { r.broken = nil; return r.Store(context.Background(), req, "pw") },
		"forget":  func() error { r.broken = nil; return r.Forget(context.Background(), req) },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := op()
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			if !errors.Is(err, ErrKeychainTimeout) {
				t.Fatalf("want a timeout, got %v", err)
			}
			if exitcode.Of(err) != exitcode.Auth {
				t.Errorf("exit code %d", exitcode.Of(err))
			}
			for _, w := range []string{EnvPassword, "--password-stdin", "50ms"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not mention %q", err, w)
				}
			}
		})
	}

	// A cancelled run does not wait for the timeout.
	r.Timeout, r.broken = time.Hour, nil
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := r.Resolve(ctx, req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled resolve: %v", err)
	}
}

func TestTimeoutDefaults(t *testing.T) {
	s, _, _ := ui.Test("")
	r := &Resolver{Streams: s}
	if r.timeout() != DefaultTimeout {
		t.Errorf("non-interactive %v", r.timeout())
	}
	s.InTTY, s.ErrTTY = true, true
	s.ReadSecret = func() (string, error) { return "", nil }
	if r.timeout() != InteractiveTimeout {
		t.Errorf("interactive %v", r.timeout())
	}
	r.Timeout = time.Second
	if r.timeout() != time.Second {
		t.Errorf("override %v", r.timeout())
	}
}

func TestStoreForget(t *testing.T) {
	k := newMem()
	s, _, _ := ui.Test("")
	r := &Resolver{Streams: s, Keyring: k}
	ctx := context.Background()
	req := Request{User: "deploy@corp.example", Host: "https://Web1.Example.com:443/app"}

	if err := r.Store(ctx, req, strings.Repeat("x", MaxKeychainPassword+1)); exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "2560") {
		t.Errorf("long password: %v", err)
	}
	if err := r.Store(ctx, req, ""); exitcode.Of(err) != exitcode.Usage {
		t.Errorf("empty password: %v", err)
	}
	if k.calls != 0 {
		t.Errorf("keychain called %d times for refused passwords", k.calls)
	}
	if err := r.Store(ctx, Request{User: "u"}, "pw"); exitcode.Of(err) != exitcode.Usage {
		t.Errorf("no host: %v", err)
	}
	if err := r.Store(ctx, req, strings.Repeat("p", MaxKeychainPassword)); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.entries["wcdeploy/deploy@corp.example@web1.example.com"]; !ok {
		t.Errorf("entries %v", k.entries)
	}
	c, err := r.Resolve(ctx, req)
	if err != nil || c.Source != SourceKeychain || len(c.Password) != MaxKeychainPassword {
		t.Fatalf("resolve after store: %v %v", c, err)
	}
	if src, err := r.Which(ctx, req); err != nil || src != SourceKeychain {
		t.Errorf("which: %v %v", src, err)
	}
	if err := r.Forget(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := r.Forget(ctx, req); !errors.Is(err, ErrNotStored) {
		t.Errorf("second forget: %v", err)
	}
	if err := (&Resolver{}).Store(ctx, req, "pw"); exitcode.Of(err) != exitcode.Auth {
		t.Errorf("no keyring: %v", err)
	}
	k.err = errors.New("dbus: no such object")
	err = r.Store(ctx, req, "pw")
	var ke *KeychainError
	if !errors.As(err, &ke) || ke.Op != "save" || !strings.Contains(err.Error(), "dbus: no such object") || strings.Contains(err.Error(), "pw\"") {
		t.Errorf("broken keychain: %v", err)
	}
}

func TestWhichNeverReadsSecrets(t *testing.T) {
	file := writeFile(t, "pw\n")
	tests := []struct {
		name    string
		req     Request
		getenv  func(string) string
		keyring Keyring
		tty     bool
		want    Source
		code    exitcode.Code
	}{
		{name: "stdin", req: Request{User: "u", Host: "h", PasswordStdin: true}, want: SourceStdin},
		{name: "file", req: Request{User: "u", Host: "h", PasswordFile: file}, want: SourceFile},
		{name: "missing file", req: Request{User: "u", Host: "h", PasswordFile: file + ".none"}, code: exitcode.Usage},
		{name: "env", req: Request{User: "u", Host: "h"}, getenv: env(EnvPassword, "x"), want: SourceEnv},
		{name: "keychain", req: Request{User: "u", Host: "h"}, keyring: &memKeyring{entries: map[string]string{"wcdeploy/u@h": "x"}}, want: SourceKeychain},
		{name: "prompt", req: Request{User: "u", Host: "h"}, keyring: newMem(), tty: true, want: SourcePrompt},
		{name: "none", req: Request{User: "u", Host: "h"}, keyring: newMem(), code: exitcode.Auth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &ui.Streams{In: failReader{t}, Out: &strings.Builder{}, Err: &strings.Builder{}}
			s.ReadSecret = func() (string, error) { t.Error("prompted"); return "", nil }
			s.InTTY, s.ErrTTY = tc.tty, tc.tty
			r := &Resolver{Streams: s, Getenv: tc.getenv, Keyring: tc.keyring}
			src, err := r.Which(context.Background(), tc.req)
			if tc.code != 0 {
				if exitcode.Of(err) != tc.code {
					t.Errorf("got %v %v, want code %d", src, err, tc.code)
				}
				return
			}
			if err != nil || src != tc.want {
				t.Errorf("got %v %v, want %v", src, err, tc.want)
			}
		})
	}
}

func TestHostOfAndAccount(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://Web1.Example.com/app", "web1.example.com"},
		{"https://web1:443/app", "web1"},
		{"https://web1:8443/app", "web1:8443"},
		{"http://web1:80", "web1"},
		{"http://web1:443", "web1:443"},
		{"http://[::1]:8080/x", "[::1]:8080"},
		{" https://WEB1/ ", "web1"},
	}
	for _, tc := range tests {
		got, err := HostOf(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("HostOf(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "web1", "/app", "://x"} {
		if _, err := HostOf(bad); exitcode.Of(err) != exitcode.Usage {
			t.Errorf("HostOf(%q): %v", bad, err)
		}
	}
	if got := Account(`CORP\u`, "https://WEB1:443/app"); got != `CORP\u@web1` {
		t.Errorf("Account = %q", got)
	}
	if got := Account("u", "Web2:8080"); got != "u@web2:8080" {
		t.Errorf("Account = %q", got)
	}
}

func TestPasswordFileModeWarning(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	p := writeFile(t, "pw\n")
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	s, _, errOut := ui.Test("")
	c, err := (&Resolver{Streams: s}).Resolve(context.Background(), Request{User: "u", Host: "h", PasswordFile: p})
	if err != nil || c.Password != "pw" {
		t.Fatal(c, err)
	}
	if !strings.Contains(errOut.String(), "chmod 600") {
		t.Errorf("no warning: %q", errOut.String())
	}
	big := writeFile(t, strings.Repeat("x", maxSecretInput+10))
	if _, err := (&Resolver{Streams: s}).Resolve(context.Background(), Request{User: "u", Host: "h", PasswordFile: big}); exitcode.Of(err) != exitcode.Usage {
		t.Errorf("big file: %v", err)
	}
}

func TestAddFlags(t *testing.T) {
	var req Request
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	AddFlags(fs, &req)
	if err := fs.Parse([]string{"--password-stdin", "--password-file", "/tmp/pw"}); err != nil {
		t.Fatal(err)
	}
	if !req.PasswordStdin || req.PasswordFile != "/tmp/pw" {
		t.Errorf("%+v", req)
	}
}

func FuzzReadLine(f *testing.F) {
	for _, s := range []string{"", "pw", "pw\n", "pw\r\n", "a\nb\n", "\r\n", "\x00\xff\n", strings.Repeat("x", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := readLine(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsRune(got, '\n') || !strings.HasPrefix(in, got) {
			t.Errorf("readLine(%q) = %q", in, got)
		}
	})
}

func FuzzHostOf(f *testing.F) {
	for _, s := range []string{"https://web1/app", "http://[::1]:80/", "https://WEB:443", "x", "", "https://u:p@h/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, err := HostOf(in)
		if err != nil {
			return
		}
		if h == "" || h != strings.ToLower(h) {
			t.Errorf("HostOf(%q) = %q", in, h)
		}
	})
}

// The library's "exec: dbus-launch: executable file not found" is told as
// what it means: no Secret Service on this machine.
func TestKeychainErrorInUserTerms(t *testing.T) {
	err := &KeychainError{Op: "read", Account: "deploy@web1", Err: errors.New(`exec: "dbus-launch": executable file not found in $PATH`)}
	msg := err.Error()
	if strings.Contains(msg, "dbus-launch") || strings.Contains(msg, "exec:") || !strings.Contains(msg, "no Secret Service on this machine") {
		t.Errorf("message %q", msg)
	}
}

// The "no password" message a CI job meets on a machine without a desktop
// session tells the keychain's cause in the same terms.
func TestNoCredentialTellsKeychainCause(t *testing.T) {
	cause := &KeychainError{Op: "read", Account: "deploy@web1", Err: errors.New(`exec: "dbus-launch": executable file not found in $PATH`)}
	msg := (&Resolver{}).noCredential(Request{User: "deploy", Host: "web1"}, cause).Error()
	if strings.Contains(msg, "dbus-launch") || strings.Contains(msg, "exec:") || !strings.Contains(msg, "no Secret Service on this machine") || !strings.Contains(msg, EnvPassword) {
		t.Errorf("message %q", msg)
	}
}

// A password file that is not there is told in the user's terms.
func TestPasswordFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nosuch.txt")
	_, err := (&Resolver{}).Resolve(context.Background(), Request{User: "deploy", Host: "web1", PasswordFile: path})
	if exitcode.Of(err) != exitcode.Usage || err == nil || !strings.Contains(err.Error(), "the password file "+path+" does not exist") || strings.Contains(err.Error(), "open ") {
		t.Errorf("%v (code %d)", err, exitcode.Of(err))
	}
}
