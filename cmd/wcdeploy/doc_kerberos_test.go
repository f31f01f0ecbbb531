package main

import (
	"os"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/authlab"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

// kerberosLab is docs/authentication.md's Kerberos setting: a real MIT
// KDC of the realm CORP.EXAMPLE with the user deploy, and Apache taking
// Kerberos only (HTTP/localhost) in front of an emulated App.exe 1.4.0.7,
// written localhost:8090; the user's keytab and the lab's krb5.conf are
// written as the document's /run/secrets/deploy.keytab and /etc/krb5.conf.
// The document's test skips where the lab's packages are missing
// (.ci/run installs them).
func kerberosLab(t *testing.T, w *walk) {
	t.Setenv("AUTHLAB_REALM", "CORP.EXAMPLE")
	t.Setenv("AUTHLAB_USER", "deploy")
	// No credentials of the machine running the test.
	t.Setenv("KRB5_CONFIG", "/nonexistent")
	t.Setenv("KRB5CCNAME", "FILE:/nonexistent")
	t.Setenv("KRB5_CLIENT_KTNAME", "")
	dir, err := os.MkdirTemp("", "wcemulator-") // shown as 'wcdeploy emulate' shows its folder
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	l := authlab.Start(t, emulator.Config{Dir: dir, ExeName: "App.exe", InitialVersion: "1.4.0.7", SwapDelay: docSwapDelay})
	w.mu.Lock()
	w.addrs["localhost:8090"] = strings.TrimSuffix(strings.TrimPrefix(l.URL(authlab.ModeKerberos), "http://"), "/")
	w.aliases = append(w.aliases,
		[2]string{"/run/secrets/deploy.keytab", l.Env["AUTHLAB_USER_KEYTAB"]},
		[2]string{"/etc/krb5.conf", l.Env["AUTHLAB_KRB5_CONFIG"]})
	w.mu.Unlock()
	w.writeExe(t, "App.exe", "1.4.0.8", 2<<20)
}
