package authlab_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/authlab"
	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/peversion"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/internal/transport/kerberos"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

const exeSize = 2 << 20

var (
	labOnce sync.Once
	theLab  *authlab.Lab
)

// lab starts one lab for the package's tests (about a second).
func lab(t *testing.T) *authlab.Lab {
	t.Helper()
	if m := authlab.Missing(); len(m) > 0 && os.Getenv("CI") != "true" {
		t.Skipf("the auth lab needs the Debian packages krb5-kdc krb5-admin-server krb5-user apache2-bin libapache2-mod-auth-gssapi gss-ntlmssp (missing %s)", strings.Join(m, ", "))
	}
	labOnce.Do(func() {
		theLab = authlab.Start(&pkgTB{T: t}, emulator.Config{SwapDelay: -1, InitialVersion: "1.0.0.0"})
	})
	if theLab == nil {
		t.Fatal("the auth lab did not start")
	}
	return theLab
}

// pkgTB lets the lab outlive the first test that starts it: its cleanups
// run when the package's tests end (TestMain).
type pkgTB struct {
	*testing.T
}

var cleanups []func()

func (p *pkgTB) Cleanup(f func()) { cleanups = append(cleanups, f) }

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	os.Exit(code)
}

func build(t *testing.T, version string) rollout.Build {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "WcDemo.exe")
	if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: version, Size: exeSize}); err != nil {
		t.Fatal(err)
	}
	info, err := peversion.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	return rollout.Build{Path: exe, Version: info.FileVersion, Size: info.Size, SHA256: info.SHA256}
}

// deployTo runs preflight, upload, swap and verify against url through the
// real client code.
func deployTo(t *testing.T, url string, o transport.Options, b rollout.Build) (transport.Choice, error) {
	t.Helper()
	up, upd, st, err := config.DeriveURLs(config.FlavorModule, url)
	if err != nil {
		t.Fatal(err)
	}
	target := rollout.Target{Name: "web1", URL: url, Flavor: config.FlavorModule, UploadURL: up, UpdateURL: upd, StatusURL: st}
	var client *http.Client
	steps, err := deploy.New(deploy.Options{Build: b, Retries: 1, Backoff: 10 * time.Millisecond, SwapTimeout: 30 * time.Second,
		StatusTimeout: 20 * time.Second,
		Client: func(rollout.Target) (*http.Client, error) {
			c, err := transport.New(url, o)
			client = c
			return c, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	choice := func() transport.Choice {
		if client == nil {
			return transport.Choice{}
		}
		c, _ := transport.SchemeOf(client)
		client.CloseIdleConnections()
		return c
	}
	if _, err := steps.Preflight(ctx, target); err != nil {
		return choice(), err
	}
	if err := steps.Stage(ctx, target, nil); err != nil {
		return choice(), err
	}
	sw, err := steps.Swap(ctx, target)
	if err != nil {
		return choice(), err
	}
	_, err = steps.Verify(ctx, target, sw)
	return choice(), err
}

func TestLabDeploy(t *testing.T) {
	l := lab(t)
	env := func(extra ...string) func(string) string {
		m := map[string]string{"KRB5_CONFIG": l.Env["AUTHLAB_KRB5_CONFIG"], "KRB5CCNAME": "FILE:" + filepath.Join(t.TempDir(), "none")}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return func(k string) string { return m[k] }
	}
	user := l.Env["AUTHLAB_USER"]
	ntlmUser := l.Env["AUTHLAB_DOMAIN"] + `\` + user
	for i, tc := range []struct {
		name, mode string
		o          transport.Options
		scheme     string
	}{
		{"ntlm", authlab.ModeNTLM, transport.Options{User: ntlmUser, Password: l.Password()}, "NTLM"},
		{"ntlm and basic offered", authlab.ModeBoth, transport.Options{User: user, Password: l.Password()}, "NTLM"},
		{"connections closed after 3 requests", authlab.ModeClose3, transport.Options{User: ntlmUser, Password: l.Password()}, "NTLM"},
		{"proxy without affinity: basic once", authlab.ModeNoBind, transport.Options{User: user, Password: l.Password()}, "Basic"},
		{"kerberos keytab", authlab.ModeKerberos, transport.Options{User: user, Kerberos: transport.KerberosOptions{Keytab: l.Env["AUTHLAB_USER_KEYTAB"]}}, "Kerberos"},
		{"kerberos ticket cache from kinit", authlab.ModeKerberos, transport.Options{}, "Kerberos"},
		{"kerberos password", authlab.ModeKerberos, transport.Options{Auth: "kerberos", User: user, Password: l.Password()}, "Kerberos"},
		{"as IIS: negotiate and ntlm, keytab", authlab.ModeWindows, transport.Options{User: user, Kerberos: transport.KerberosOptions{Keytab: l.Env["AUTHLAB_USER_KEYTAB"]}}, "Kerberos"},
		{"as IIS: negotiate and ntlm, password", authlab.ModeWindows, transport.Options{User: user, Password: l.Password()}, "NTLM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Kerberos.Getenv = env()
			if tc.name == "kerberos ticket cache from kinit" {
				o.Kerberos.Getenv = env("KRB5CCNAME", l.Kinit(t, ""))
			}
			before, err := l.Crossings(tc.mode, exeSize)
			if err != nil {
				t.Fatal(err)
			}
			choice, err := deployTo(t, l.URL(tc.mode), o, build(t, "2.0."+string(rune('0'+i))+".0"))
			if err != nil {
				t.Fatalf("deploy: %v", err)
			}
			if choice.Scheme != tc.scheme {
				t.Errorf("scheme %q (%s), want %s", choice.Scheme, choice.Reason, tc.scheme)
			}
			after, err := l.Crossings(tc.mode, exeSize)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: the EXE crossed %d time(s); %s: %s", tc.mode, after-before, choice.Scheme, choice.Reason)
			if after-before != 1 {
				t.Errorf("the EXE crossed the wire %d times, want 1", after-before)
			}
		})
	}
}

func TestLabWrongPassword(t *testing.T) {
	l := lab(t)
	user := l.Env["AUTHLAB_USER"]
	getenv := func(k string) string {
		if k == "KRB5_CONFIG" {
			return l.Env["AUTHLAB_KRB5_CONFIG"]
		}
		return ""
	}
	for _, tc := range []struct {
		name, mode, auth string
		maxTries         int
	}{
		{"ntlm", authlab.ModeNTLM, "", 1},
		{"ntlm and basic", authlab.ModeBoth, "", 2},
		{"closed after 3", authlab.ModeClose3, "", 1},
		{"proxy without affinity", authlab.ModeNoBind, "", 2},
		{"kerberos password", authlab.ModeKerberos, "kerberos", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := l.PasswordTries(tc.mode)
			kdcBefore, _ := l.KDCFailures()
			o := transport.Options{Auth: tc.auth, User: user, Password: "wrong-" + l.Password(), Guard: transport.NewGuard(),
				Kerberos: transport.KerberosOptions{Getenv: getenv}}
			if tc.mode == authlab.ModeNTLM || tc.mode == authlab.ModeClose3 {
				o.User = l.Env["AUTHLAB_DOMAIN"] + `\` + user
			}
			_, err := deployTo(t, l.URL(tc.mode), o, build(t, "3.0.0.0"))
			if exitcode.Of(err) != exitcode.Auth {
				t.Fatalf("exit %d: %v", exitcode.Of(err), err)
			}
			if strings.Contains(err.Error(), l.Password()) {
				t.Fatal("the password is in the error")
			}
			var ae *transport.AuthError
			if !errors.As(err, &ae) || (ae.Failure != transport.FailRefused && ae.Failure != transport.FailKerberos) {
				t.Errorf("want a refused login, got %v", err)
			}
			after, _ := l.PasswordTries(tc.mode)
			kdcAfter, _ := l.KDCFailures()
			// Apache checks Basic passwords at the KDC too: count the KDC
			// only where the client itself asks it.
			tries := after - before
			if tc.mode == authlab.ModeKerberos {
				tries = kdcAfter - kdcBefore
			}
			t.Logf("%s: %d password tries: %v", tc.mode, tries, err)
			if tries < 1 || tries > tc.maxTries {
				t.Errorf("%d password tries, want 1..%d", tries, tc.maxTries)
			}
		})
	}
}

func TestLabKerberosMessages(t *testing.T) {
	l := lab(t)
	user := l.Env["AUTHLAB_USER"]
	cfg := l.Env["AUTHLAB_KRB5_CONFIG"]
	noCache := "FILE:" + filepath.Join(t.TempDir(), "none")
	getenv := func(kv ...string) func(string) string {
		m := map[string]string{"KRB5_CONFIG": cfg, "KRB5CCNAME": noCache}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	badKDC := filepath.Join(t.TempDir(), "krb5.conf")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badKDC, []byte(strings.ReplaceAll(string(b), l.Env["AUTHLAB_KDC_PORT"], "1")), 0o644); err != nil {
		t.Fatal(err)
	}
	kt := l.Env["AUTHLAB_USER_KEYTAB"]
	kerbURL := l.URL(authlab.ModeKerberos)
	byIP := strings.Replace(kerbURL, "localhost", "127.0.0.1", 1)
	for _, tc := range []struct {
		name    string
		url     string
		o       transport.Options
		failure transport.Failure
		wantIn  []string
	}{
		{"kerberos-only server, no credentials", kerbURL, transport.Options{User: user, Kerberos: transport.KerberosOptions{Getenv: getenv()}},
			transport.FailNoKerberos, []string{"kinit", "kerberos.keytab"}},
		{"unknown service principal", byIP, transport.Options{User: user, Kerberos: transport.KerberosOptions{Keytab: kt, Getenv: getenv()}},
			transport.FailKerberos, []string{"HTTP/127.0.0.1", "spn:"}},
		{"wrong realm", kerbURL, transport.Options{User: user + "@NOWHERE.TEST", Auth: "kerberos", Password: l.Password(), Kerberos: transport.KerberosOptions{Getenv: getenv()}},
			transport.FailKerberos, []string{"realm", "NOWHERE.TEST"}},
		{"KDC unreachable", kerbURL, transport.Options{User: user, Kerberos: transport.KerberosOptions{Keytab: kt, Config: badKDC, Getenv: getenv()}},
			transport.FailKerberos, []string{"no KDC answered", "krb5.conf"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deployTo(t, tc.url, tc.o, build(t, "4.0.0.0"))
			var ae *transport.AuthError
			if !errors.As(err, &ae) || ae.Failure != tc.failure || exitcode.Of(err) != exitcode.Auth {
				t.Fatalf("want %s with exit 3, got exit %d: %v", tc.failure, exitcode.Of(err), err)
			}
			for _, w := range tc.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
	t.Run("unknown service principal at an IIS-like server: NTLM", func(t *testing.T) {
		url := strings.Replace(l.URL(authlab.ModeWindows), "localhost", "127.0.0.1", 1)
		o := transport.Options{User: user, Password: l.Password(), Kerberos: transport.KerberosOptions{Keytab: kt, Getenv: getenv()}}
		choice, err := deployTo(t, url, o, build(t, "4.0.1.0"))
		if err != nil || choice.Scheme != "NTLM" || !strings.Contains(choice.Reason, "HTTP/127.0.0.1") {
			t.Fatalf("%+v: %v", choice, err)
		}
	})
	t.Run("spn set for a server reached by address", func(t *testing.T) {
		o := transport.Options{User: user, Kerberos: transport.KerberosOptions{Keytab: kt, SPN: "HTTP/localhost", Getenv: getenv()}}
		if _, err := deployTo(t, byIP, o, build(t, "4.1.0.0")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("expired ticket", func(t *testing.T) {
		cc := l.Kinit(t, "1s")
		time.Sleep(1500 * time.Millisecond) // let the one-second ticket run out
		o := transport.Options{Auth: "kerberos", Kerberos: transport.KerberosOptions{Getenv: getenv("KRB5CCNAME", cc)}}
		_, err := deployTo(t, kerbURL, o, build(t, "4.2.0.0"))
		if exitcode.Of(err) != exitcode.Auth || !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), "kinit") {
			t.Fatalf("exit %d: %v", exitcode.Of(err), err)
		}
	})
}

// Describe names the identity and checks the SPN without a web request.
func TestLabDescribe(t *testing.T) {
	l := lab(t)
	cc := l.Kinit(t, "")
	s := kerberos.Settings{Getenv: func(k string) string {
		return map[string]string{"KRB5_CONFIG": l.Env["AUTHLAB_KRB5_CONFIG"], "KRB5CCNAME": cc}[k]
	}}
	id := kerberos.Describe(s, "HTTP/localhost")
	want := l.Env["AUTHLAB_USER"] + "@" + l.Env["AUTHLAB_REALM"]
	if id.Source != kerberos.SourceCCache || id.Principal != want || id.CCacheExpires.IsZero() || !id.SPNOK {
		t.Errorf("%+v", id)
	}
	t.Log(id)
	id = kerberos.Describe(s, "HTTP/nosuch.example")
	if id.SPNOK || !strings.Contains(id.SPNError, "HTTP/nosuch.example") {
		t.Errorf("unknown SPN: %+v", id)
	}
	// The same through the client's options, for a server URL.
	tid := transport.KerberosIdentity(l.URL(authlab.ModeKerberos), transport.Options{Kerberos: transport.KerberosOptions{Getenv: s.Getenv}})
	if tid.SPN != "HTTP/localhost" || !tid.SPNOK || tid.Principal != want {
		t.Errorf("KerberosIdentity: %+v", tid)
	}
	s.Keytab = l.Env["AUTHLAB_USER_KEYTAB"]
	if id := kerberos.Describe(s, ""); id.Source != kerberos.SourceKeytab || len(id.KeytabPrincipals) == 0 {
		t.Errorf("keytab: %+v", id)
	}
}

// The emulator checks Kerberos tokens with a keytab (wcdeploy emulate
// --auth kerberos).
func TestEmulatorKerberos(t *testing.T) {
	l := lab(t)
	em := emulatortest.Start(t, emulator.Config{Auth: emulator.AuthKerberos, Keytab: l.Env["AUTHLAB_HTTP_KEYTAB"], SwapDelay: -1})
	url := strings.Replace(em.URL(), "127.0.0.1", "localhost", 1)
	o := transport.Options{User: l.Env["AUTHLAB_USER"], Kerberos: transport.KerberosOptions{Keytab: l.Env["AUTHLAB_USER_KEYTAB"],
		Getenv: func(k string) string {
			return map[string]string{"KRB5_CONFIG": l.Env["AUTHLAB_KRB5_CONFIG"]}[k]
		}}}
	before := em.BodyBytes()
	b := build(t, "5.0.0.0")
	if _, err := deployTo(t, url, o, b); err != nil {
		t.Fatal(err)
	}
	if got := em.BodyBytes() - before; got < b.Size || got > 2*b.Size-1 {
		t.Errorf("the emulator received %d body bytes for a %d-byte EXE: it must cross once", got, b.Size)
	}
	for _, r := range em.Requests() {
		if r.Action == "uploadexe" && !strings.HasSuffix(r.User, `\`+l.Env["AUTHLAB_USER"]) {
			t.Errorf("upload as %q", r.User)
		}
	}
	// Without credentials the emulator's Kerberos-only site says so.
	o = transport.Options{User: "nobody", Kerberos: transport.KerberosOptions{Getenv: func(k string) string {
		return map[string]string{"KRB5_CONFIG": l.Env["AUTHLAB_KRB5_CONFIG"], "KRB5CCNAME": "FILE:/nonexistent"}[k]
	}}}
	if _, err := deployTo(t, url, o, b); exitcode.Of(err) != exitcode.Auth {
		t.Errorf("no credentials: exit %d: %v", exitcode.Of(err), err)
	}
}
