package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/authlab"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/ui"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

// krbCase is one way a machine holds Kerberos credentials: a keytab (a CI
// runner) or a ticket cache from kinit (a person's shell).
type krbCase struct {
	name, source string
	env          func(t *testing.T, l *authlab.Lab)
}

func krbCases() []krbCase {
	return []krbCase{
		{"keytab", "from keytab", func(t *testing.T, l *authlab.Lab) {
			t.Setenv("KRB5_CLIENT_KTNAME", l.Env["AUTHLAB_USER_KEYTAB"])
		}},
		{"ticket cache", "from ticket cache", func(t *testing.T, l *authlab.Lab) {
			t.Setenv("KRB5CCNAME", l.Kinit(t, ""))
		}},
	}
}

// krbEnv is the environment of one case: the lab's krb5.conf, no other
// credentials, and no password anywhere.
func krbEnv(t *testing.T, l *authlab.Lab, c krbCase) env {
	t.Setenv("KRB5_CONFIG", l.Env["AUTHLAB_KRB5_CONFIG"])
	t.Setenv("KRB5CCNAME", "FILE:/nonexistent")
	t.Setenv("KRB5_CLIENT_KTNAME", "")
	c.env(t, l)
	e := newEnv(t)
	delete(e, "WCDEPLOY_PASSWORD")
	return e
}

// noKeyMaterial fails when output shows the lab's password or the bytes
// of a keytab or ticket cache.
func noKeyMaterial(t *testing.T, l *authlab.Lab, texts ...string) {
	t.Helper()
	secrets := []string{l.Password()}
	for _, f := range []string{l.Env["AUTHLAB_USER_KEYTAB"], strings.TrimPrefix(os.Getenv("KRB5CCNAME"), "FILE:")} {
		if b, err := os.ReadFile(f); err == nil && len(b) > 40 {
			secrets = append(secrets, fmt.Sprintf("%x", b[len(b)-32:]), string(b[len(b)-32:]))
		}
	}
	for _, text := range texts {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Fatalf("secret material in the output:\n%s", text)
			}
		}
	}
}

func TestKerberosIdentityShown(t *testing.T) {
	l := authlab.Start(t, emulator.Config{SwapDelay: -1})
	url, user := l.URL(authlab.ModeKerberos), l.Env["AUTHLAB_USER"]
	for _, c := range krbCases() {
		t.Run(c.name, func(t *testing.T) {
			e := krbEnv(t, l, c)
			want := []string{user, c.source, "ticket for HTTP/localhost: ok"}
			if c.name == "ticket cache" {
				want = append(want, ", expires ")
			}
			for _, auth := range []string{"auto", "kerberos"} {
				r := runCLI(t, e, "doctor", "--url", url, "--user", user, "--auth", auth)
				noKeyMaterial(t, l, r.out, r.errOut)
				if r.code != 0 || !hasAll(kerberosRow(r.out), want...) {
					t.Fatalf("doctor --auth %s: exit %d\n%s\n%s", auth, r.code, r.out, r.errOut)
				}
				// The challenge check's request stays anonymous: the keytab
				// or ticket cache does not log it in.
				if !strings.Contains(r.out, "auth offered  ok      Negotiate") {
					t.Errorf("the anonymous request logged in:\n%s", r.out)
				}
			}
			r := runCLI(t, e, "auth", "status", "--url", url, "--user", user)
			noKeyMaterial(t, l, r.out, r.errOut)
			if r.code != 0 || !hasAll(r.out, append(want, "KERBEROS")...) {
				t.Fatalf("auth status: exit %d\n%s\n%s", r.code, r.out, r.errOut)
			}
			r = runCLI(t, e, "auth", "status", "--url", url, "--user", user, "--json")
			noKeyMaterial(t, l, r.out, r.errOut)
			if r.code != 0 || !hasAll(r.out, `"principal": "`+user+"@", `"spn": "HTTP/localhost"`, `"spn_ok": true`) {
				t.Fatalf("auth status --json: exit %d\n%s\n%s", r.code, r.out, r.errOut)
			}
			// No password given and no terminal: login shows the identity,
			// logs in with it and stores nothing.
			r = runCLI(t, e, "login", "--url", url, "--user", user, "--json")
			noKeyMaterial(t, l, r.out, r.errOut)
			if r.code != 0 || !hasAll(r.errOut, append(want, "Logged in to", "No password stored")...) || !hasAll(r.out, `"stored": []`, `"verified_on": "`) {
				t.Fatalf("login: exit %d\n%s\n%s", r.code, r.out, r.errOut)
			}
		})
	}
}

// A wrong spn: fails doctor's kerberos check with the hint to set spn:,
// even though the login failed before it.
func TestDoctorWrongSPN(t *testing.T) {
	l := authlab.Start(t, emulator.Config{SwapDelay: -1})
	c := krbCases()[0]
	e := krbEnv(t, l, c)
	cfg := filepath.Join(t.TempDir(), "wcdeploy.yaml")
	yaml := fmt.Sprintf("profiles:\n  default:\n    username: %s\n    servers:\n      - {name: web1, url: %q, spn: HTTP/wrong.example}\n", l.Env["AUTHLAB_USER"], l.URL(authlab.ModeKerberos))
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, e, "doctor", "--config", cfg)
	noKeyMaterial(t, l, r.out, r.errOut)
	row := kerberosRow(r.out)
	if r.code != 3 || !hasAll(row, "fail", "HTTP/wrong.example", l.Env["AUTHLAB_USER"]+"@", "from keytab") || !strings.Contains(r.out, "web1, kerberos: fail\nthe service principal asked for is HTTP/wrong.example (from spn:") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	for _, args := range [][]string{{"auth", "status"}, {"login"}} {
		r := runCLI(t, e, append(args, "--config", cfg)...)
		noKeyMaterial(t, l, r.out, r.errOut)
		if r.code != 3 || !strings.Contains(r.out+r.errOut, "HTTP/wrong.example") {
			t.Errorf("%v: exit %d\n%s\n%s", args, r.code, r.out, r.errOut)
		}
	}
}

func kerberosRow(table string) string {
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[1] == "kerberos" {
			return line
		}
	}
	return ""
}

func hasAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// login checks the password it is given, not the keytab also at hand: a
// wrong one stores nothing, the right one is stored.
func TestLoginChecksThePasswordNotTheKeytab(t *testing.T) {
	l := authlab.Start(t, emulator.Config{SwapDelay: -1})
	krbEnv(t, l, krbCases()[0])
	args := []string{"login", "--password-stdin", "--config", emptyConfig(t), "--url", l.URL(authlab.ModeKerberos), "--user", l.Env["AUTHLAB_USER"]}
	for _, tc := range []struct {
		pw   string
		code exitcode.Code
	}{{"wrong-" + l.Password(), exitcode.Auth}, {l.Password(), 0}} {
		kr := &memKeyring{entries: map[string]string{}}
		s, out, errOut := ui.Test(tc.pw + "\n")
		code, err := credRun(t, s, nil, kr, args...)
		noKeyMaterial(t, l, out.String(), errOut.String(), fmt.Sprint(err))
		if code != tc.code || (len(kr.entries) == 1) != (tc.code == 0) || !strings.Contains(errOut.String(), "from keytab") {
			t.Fatalf("password ok=%v: exit %d (%v), %d stored\n%s", tc.code == 0, code, err, len(kr.entries), errOut)
		}
	}
}
