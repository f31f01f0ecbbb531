// Package authlab runs scripts/authlab.sh for tests: a real MIT Kerberos
// KDC and Apache httpd (mod_auth_gssapi, gss-ntlmssp) on loopback, as
// reverse proxies in front of an emulated Web Connection server, and reads
// the Apache log to count what crossed the wire.
package authlab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
)

// The lab's modes (scripts/authlab.sh).
const (
	ModeKerberos = "kerberos" // Negotiate, Kerberos only
	ModeWindows  = "windows"  // Negotiate (Kerberos or NTLM) and NTLM, as IIS offers them
	ModeNTLM     = "ntlm"     // NTLM, raw and inside Negotiate
	ModeBoth     = "both"     // NTLM and Basic
	ModeClose3   = "close3"   // NTLM, connections closed after 3 requests
	ModeNoBind   = "nobind"   // a proxy hop without connection affinity before NTLM + Basic
)

// UserHeader is the header through which Apache names the user to the
// emulator.
const UserHeader = "X-Remote-User"

// Lab is a running lab.
type Lab struct {
	Dir      string
	Env      map[string]string
	Emulator *emulator.Server
}

// Script is the path of scripts/authlab.sh.
func Script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "authlab.sh")
}

// Missing names the Debian packages' programs that are not installed, or
// is empty.
func Missing() []string {
	var missing []string
	for _, p := range []string{"/usr/sbin/krb5kdc", "/usr/sbin/kdb5_util", "/usr/sbin/kadmin.local", "/usr/sbin/apache2",
		"/usr/lib/apache2/modules/mod_auth_gssapi.so", "/usr/bin/kinit"} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if m, _ := filepath.Glob("/usr/lib/*/gssntlmssp/gssntlmssp.so"); len(m) == 0 {
		missing = append(missing, "gssntlmssp.so")
	}
	return missing
}

// Start starts an emulator (cfg, with Auth none and the proxy's user
// header) and the lab in front of it, and stops both when t ends. It skips
// t when the Debian packages are missing (.ci/run installs them).
func Start(t testing.TB, cfg emulator.Config) *Lab {
	t.Helper()
	if m := Missing(); len(m) > 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must run the auth lab, but %s are missing: .ci/run installs them", strings.Join(m, ", "))
		}
		t.Skipf("the auth lab needs krb5-kdc krb5-admin-server krb5-user apache2-bin libapache2-mod-auth-gssapi gss-ntlmssp (missing %s): apt-get install them to run these tests", strings.Join(m, ", "))
	}
	top, err := os.MkdirTemp("", "authlab-")
	if err != nil {
		t.Fatal(err)
	}
	// Apache's workers (www-data when run as root) read the keytab and the
	// user file inside.
	if err := os.Chmod(top, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(top, "lab")
	t.Cleanup(func() {
		_ = exec.Command("bash", Script(), "stop", dir).Run()
		_ = os.RemoveAll(top)
	})
	cfg.Auth, cfg.ProxyUserHeader = emulator.AuthNone, UserHeader
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(top, "site")
	}
	em := emulatortest.Start(t, cfg)
	l := &Lab{Dir: dir, Emulator: em}
	backend := strings.TrimSuffix(strings.TrimPrefix(em.URL(), "http://"), "/")
	if i := strings.Index(backend, "/"); i >= 0 {
		backend = backend[:i]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, "bash", Script(), "start", dir, backend).CombinedOutput()
	if err != nil {
		t.Fatalf("authlab.sh start: %v\n%s", err, out)
	}
	t.Logf("auth lab up in %s", time.Since(start).Round(time.Millisecond))
	if l.Env, err = readEnv(filepath.Join(dir, "env")); err != nil {
		t.Fatal(err)
	}
	return l
}

func readEnv(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env, nil
}

// URL is the base URL of a mode's Apache port. The Kerberos modes are
// named localhost, the host their service principal (HTTP/localhost)
// names.
func (l *Lab) URL(mode string) string {
	host := "127.0.0.1"
	if mode == ModeKerberos || mode == ModeWindows {
		host = "localhost"
	}
	return fmt.Sprintf("http://%s:%s/", host, l.Env["AUTHLAB_PORT_"+strings.ToUpper(mode)])
}

// Password is the lab user's password.
func (l *Lab) Password() string { return l.Env["AUTHLAB_PASSWORD"] }

// Request is one line of the Apache log.
type Request struct {
	Mode      string
	Conn      string // the client's port: one connection
	Status    int
	BytesIn   int64 // request bytes received, headers and body
	AuthLeg   string
	Method    string
	Path      string
	Keepalive int
}

// Requests reads the Apache log. Apache writes a line just after it has
// answered, so this first waits until the log stops growing.
func (l *Lab) Requests() ([]Request, error) {
	settle(l.Env["AUTHLAB_ACCESS_LOG"])
	f, err := os.Open(l.Env["AUTHLAB_ACCESS_LOG"])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rs []Request
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Fields(sc.Text())
		if len(p) != 8 {
			continue
		}
		status, _ := strconv.Atoi(p[3])
		in, _ := strconv.ParseInt(p[4], 10, 64)
		ka, _ := strconv.Atoi(p[2])
		rs = append(rs, Request{Mode: p[0], Conn: p[1], Keepalive: ka, Status: status, BytesIn: in, AuthLeg: p[5], Method: p[6], Path: p[7]})
	}
	return rs, sc.Err()
}

// Crossings counts the requests of mode that carried more than size bytes:
// how often a body of that size crossed the wire.
func (l *Lab) Crossings(mode string, size int64) (int, error) {
	rs, err := l.Requests()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rs {
		if r.Mode == mode && r.BytesIn > size {
			n++
		}
	}
	return n, nil
}

// PasswordTries counts the requests of mode that carried a password proof:
// an NTLM AUTHENTICATE message or a Basic header.
func (l *Lab) PasswordTries(mode string) (int, error) {
	rs, err := l.Requests()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rs {
		if r.Mode == mode && (r.AuthLeg == "ntlm-authenticate" || r.AuthLeg == "basic") {
			n++
		}
	}
	return n, nil
}

// settle waits (at most 2 s) until the file at path has not grown for
// 100 ms.
func settle(path string) {
	last := int64(-1)
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		fi, err := os.Stat(path)
		if err != nil {
			return
		}
		if fi.Size() == last {
			return
		}
		last = fi.Size()
	}
}

// KDCFailures counts the KDC's refused password tries (PREAUTH_FAILED).
func (l *Lab) KDCFailures() (int, error) {
	settle(l.Env["AUTHLAB_KDC_LOG"])
	b, err := os.ReadFile(l.Env["AUTHLAB_KDC_LOG"])
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	return strings.Count(string(b), "PREAUTH_FAILED"), err
}

// Kinit fills a new ticket cache from the user's keytab with MIT kinit and
// returns its KRB5CCNAME; lifetime "" is the default.
func (l *Lab) Kinit(t testing.TB, lifetime string) string {
	t.Helper()
	cc := "FILE:" + filepath.Join(t.TempDir(), "krb5cc")
	args := []string{"-k", "-t", l.Env["AUTHLAB_USER_KEYTAB"]}
	if lifetime != "" {
		args = append(args, "-l", lifetime)
	}
	cmd := exec.Command("kinit", append(args, l.Env["AUTHLAB_USER"])...)
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+l.Env["AUTHLAB_KRB5_CONFIG"], "KRB5CCNAME="+cc)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit: %v\n%s", err, out)
	}
	return cc
}
