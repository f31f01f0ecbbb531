package main

import (
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/authlab"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

// A CI runner with a keytab, or a shell after kinit, deploys to a
// Kerberos-only server with no password anywhere and no terminal.
func TestDeployWithKerberosAndNoPassword(t *testing.T) {
	l := authlab.Start(t, emulator.Config{SwapDelay: -1})
	url := l.URL(authlab.ModeKerberos)
	for i, tc := range []struct{ name, key string }{{"keytab", "KRB5_CLIENT_KTNAME"}, {"ticket cache", "KRB5CCNAME"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KRB5_CONFIG", l.Env["AUTHLAB_KRB5_CONFIG"])
			t.Setenv("KRB5CCNAME", "FILE:/nonexistent")
			t.Setenv("KRB5_CLIENT_KTNAME", "")
			if tc.key == "KRB5CCNAME" {
				t.Setenv("KRB5CCNAME", l.Kinit(t, ""))
			} else {
				t.Setenv("KRB5_CLIENT_KTNAME", l.Env["AUTHLAB_USER_KEYTAB"])
			}
			e := newEnv(t)
			delete(e, "WCDEPLOY_PASSWORD")
			before, err := l.Crossings(authlab.ModeKerberos, 2<<20)
			if err != nil {
				t.Fatal(err)
			}
			exe := writeExe(t, t.TempDir(), "1.2.3."+string(rune('7'+i)), 7)
			r := runCLI(t, e, "deploy", "--exe", exe, "--url", url, "--user", l.Env["AUTHLAB_USER"])
			if r.code != 0 || strings.Contains(r.errOut, "no password") {
				t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
			}
			after, err := l.Crossings(authlab.ModeKerberos, 2<<20)
			if err != nil || after-before != 1 {
				t.Errorf("the EXE crossed %d times (%v), want 1", after-before, err)
			}
		})
	}
}
