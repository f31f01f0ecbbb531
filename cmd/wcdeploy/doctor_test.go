package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/golden"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// doctorCertFor is a self-signed certificate for 127.0.0.1 valid for the
// given time, and the PEM file that trusts it.
func doctorCertFor(t *testing.T, valid time.Duration) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "wcdeploy doctor test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(valid),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, ca
}

// doctorDeadURL is a loopback URL where nothing listens.
func doctorDeadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr + "/WcDemo/"
}

func startTLSEmulator(t *testing.T, cfg emulator.Config, cert tls.Certificate) *emulator.Server {
	t.Helper()
	cfg.SwapDelay = 10 * time.Millisecond
	cfg.Dir = t.TempDir()
	s, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StartTLS("127.0.0.1:0", cert); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// doctorCheck is one check of doctor's JSON document.
type doctorCheck struct {
	Check  string `json:"check"`
	Result string `json:"result"`
	Detail string `json:"detail"`
	Fix    string `json:"fix"`
}

type doctorResult struct {
	OK      bool          `json:"ok"`
	Local   []doctorCheck `json:"local"`
	Servers []struct {
		Name        string   `json:"name"`
		OK          bool     `json:"ok"`
		AuthOffered []string `json:"auth_offered"`
		Version     string   `json:"version"`
		ExeFile     string   `json:"exe_file"`
		UpdateFile  string   `json:"update_file"`
		Chain       []struct {
			Subject string `json:"subject"`
		} `json:"tls_chain"`
		Checks []doctorCheck `json:"checks"`
	} `json:"servers"`
}

func checkOf(t *testing.T, r doctorResult, name string) doctorCheck {
	t.Helper()
	for _, c := range append(r.Local, r.Servers[0].Checks...) {
		if c.Check == name {
			return c
		}
	}
	t.Fatalf("no %q check in %+v", name, r.Servers[0].Checks)
	return doctorCheck{}
}

func TestDoctor(t *testing.T) {
	users := map[string]string{"deploy": testPassword}
	cert, caFile := doctorCertFor(t, 90*24*time.Hour)
	soonCert, soonCA := doctorCertFor(t, 10*24*time.Hour)
	bigExe := filepath.Join(t.TempDir(), "Big.exe")
	if err := sampleexe.WriteFile(bigExe, sampleexe.Options{FileVersion: "2.0.0.0", Size: 31_000_000, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	midExe := filepath.Join(t.TempDir(), "Mid.exe")
	if err := sampleexe.WriteFile(midExe, sampleexe.Options{FileVersion: "2.0.0.0", Size: 5_000_000, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	noVersion := filepath.Join(t.TempDir(), "NoVersion.exe")
	if err := sampleexe.WriteFile(noVersion, sampleexe.Options{Size: 2 << 20}); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(t.TempDir(), "Garbage.exe")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a PE file ", 4096)), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		url      func(t *testing.T) string
		args     []string
		flavor   string // default module
		password string
		code     int
		check    string // the check that decides
		result   string
		detail   string // in the check's detail or fix
	}{
		{
			name: "healthy",
			url: func(t *testing.T) string {
				return emulatortest.Start(t, emulator.Config{Users: users, Auth: "basic"}).URL()
			},
			code: 0, check: "AdminAccount", result: "ok", detail: "passes AdminAccount",
		},
		{
			name: "healthy over NTLM",
			url: func(t *testing.T) string {
				return emulatortest.Start(t, emulator.Config{Users: users, Auth: "ntlm"}).URL()
			},
			code: 0, check: "auth offered", result: "ok", detail: "NTLM",
		},
		{
			name: "wrong password",
			url: func(t *testing.T) string {
				return emulatortest.Start(t, emulator.Config{Users: users, Auth: "basic"}).URL()
			},
			password: "not-the-password",
			code:     3, check: "login", result: "fail", detail: "refused the login",
		},
		{
			name: "user not in AdminAccount",
			url: func(t *testing.T) string {
				return emulatortest.Start(t, emulator.Config{Users: users, Auth: "basic", AdminAccount: "someoneelse", AdminAccountSet: true}).URL()
			},
			code: 3, check: "login", result: "fail", detail: "AdminAccount",
		},
		{
			// The ISAPI server's page at the module's status link is no
			// anonymous status page: doctor names the flavor instead.
			name: "module configured, isapi served",
			url: func(t *testing.T) string {
				return emulatortest.Start(t, emulator.Config{Flavor: emulator.ISAPI, Users: users, Auth: "basic"}).URL()
			},
			code: 4, check: "AdminAccount", result: "fail", detail: "use --flavor isapi",
		},
		{
			name: "unreachable port",
			url:  doctorDeadURL,
			code: 4, check: "tcp", result: "fail", detail: "cannot connect",
		},
		{
			name: "self-signed TLS",
			url: func(t *testing.T) string {
				return startTLSEmulator(t, emulator.Config{Users: users, Auth: "basic"}, cert).URL()
			},
			code: 4, check: "tls", result: "fail", detail: "not trusted",
		},
		{
			name: "self-signed TLS with ca_file",
			url: func(t *testing.T) string {
				return startTLSEmulator(t, emulator.Config{Users: users, Auth: "basic"}, cert).URL()
			},
			args: []string{"--ca-file", caFile},
			code: 0, check: "tls", result: "ok", detail: "valid until",
		},
		{
			name: "certificate expiring within 30 days",
			url: func(t *testing.T) string {
				return startTLSEmulator(t, emulator.Config{Users: users, Auth: "basic"}, soonCert).URL()
			},
			args: []string{"--ca-file", soonCA},
			code: 0, check: "tls", result: "warn", detail: "expires on",
		},
		{
			// deploy's preflight stops this server, so doctor fails it.
			name: "EXE too large for the default IIS limit",
			url: func(t *testing.T) string {
				return emulatortest.Start(t, emulator.Config{Users: users, Auth: "basic"}).URL()
			},
			args: []string{"--exe", bigExe},
			code: 4, check: "size", result: "fail", detail: `maxAllowedContentLength="38797312"`,
		},
		{
			name: "EXE too large for the Web Server's Kestrel",
			url: func(t *testing.T) string {
				return emulatortest.Start(t, emulator.Config{Flavor: emulator.WebServer726, Users: users, Auth: "ntlm"}).URL()
			},
			args: []string{"--exe", bigExe}, flavor: "webserver",
			code: 4, check: "size", result: "fail", detail: `"MaxRequestBodySize": 38797312`,
		},
		{
			name: "large EXE on a server that raised its limit",
			url: func(t *testing.T) string {
				return emulatortest.Start(t, emulator.Config{Users: users, Auth: "basic", MaxRequestBytes: 64 << 20}).URL()
			},
			args: []string{"--exe", bigExe},
			code: 0, check: "size", result: "ok", detail: "the server takes the 31.0 MB EXE",
		},
		{
			name: "random bytes deploy refuses",
			url: func(t *testing.T) string {
				return emulatortest.Start(t, emulator.Config{Users: users, Auth: "basic"}).URL()
			},
			args: []string{"--exe", garbage},
			code: 2, check: "exe", result: "fail", detail: "reading the EXE",
		},
		{
			name: "PE without a version resource",
			url: func(t *testing.T) string {
				return emulatortest.Start(t, emulator.Config{Users: users, Auth: "basic"}).URL()
			},
			args: []string{"--exe", noVersion},
			code: 2, check: "exe", result: "fail", detail: "no version resource",
		},
		{
			name: "EXE above ASP.NET's default maxRequestLength",
			url: func(t *testing.T) string {
				return emulatortest.Start(t, emulator.Config{Users: users, Auth: "basic"}).URL()
			},
			args: []string{"--exe", midExe},
			code: 0, check: "size", result: "warn", detail: "<httpRuntime maxRequestLength=",
		},
		{
			name: "no challenge offered",
			url: func(t *testing.T) string {
				return emulatortest.Start(t, emulator.Config{Users: users, Auth: "none"}).URL()
			},
			code: 3, check: "auth offered", result: "fail", detail: "without offering",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tt.password != "" {
				e["WCDEPLOY_PASSWORD"] = tt.password
			}
			flavor := tt.flavor
			if flavor == "" {
				flavor = "module"
			}
			args := append([]string{"doctor", "--json", "--url", tt.url(t), "--user", "deploy", "--flavor", flavor}, tt.args...)
			r := runCLI(t, e, args...)
			if strings.Contains(r.out, tt.password) && tt.password != "" {
				t.Fatalf("the password appeared in the output")
			}
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.out, r.errOut)
			}
			var doc doctorResult
			if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
				t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.out)
			}
			serverOK := tt.code == 0 || tt.check == "exe" // the EXE fails the run, not the server
			if doc.OK != (tt.code == 0) || doc.Servers[0].OK != serverOK {
				t.Errorf("ok = %v/%v with exit %d", doc.OK, doc.Servers[0].OK, tt.code)
			}
			c := checkOf(t, doc, tt.check)
			if c.Result != tt.result || !strings.Contains(c.Detail+"\n"+c.Fix, tt.detail) {
				t.Errorf("%s check = %+v, want %s with %q", tt.check, c, tt.result, tt.detail)
			}
			if serverOK {
				s := doc.Servers[0]
				if s.Version == "" || !strings.HasSuffix(s.ExeFile, "WcDemo.exe") || !strings.HasSuffix(s.UpdateFile, "WcDemo_Update.exe") {
					t.Errorf("status page data missing: version %q, exe %q, update %q", s.Version, s.ExeFile, s.UpdateFile)
				}
				if len(s.AuthOffered) == 0 {
					t.Errorf("no auth schemes recorded")
				}
			}
		})
	}
}

// TestDoctorChangesNothing runs doctor against a server and checks that it
// only read pages: no upload, no swap, the EXE untouched.
func TestDoctorChangesNothing(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{Users: map[string]string{"deploy": testPassword}, Auth: "both"})
	before := srv.ExeVersion()
	r := runCLI(t, newEnv(t), "doctor", "--url", srv.URL(), "--user", "deploy", "--flavor", "module")
	if r.code != 0 {
		t.Fatalf("exit %d: %s %s", r.code, r.out, r.errOut)
	}
	for _, req := range srv.Requests() {
		if req.Method != "GET" || strings.Contains(strings.ToLower(req.Action), "exe") {
			t.Errorf("doctor sent %s %s (action %s)", req.Method, req.Path, req.Action)
		}
	}
	if srv.ExeVersion() != before || srv.BodyBytes() != 0 {
		t.Errorf("the server changed: version %q -> %q, %d body bytes", before, srv.ExeVersion(), srv.BodyBytes())
	}
	for _, want := range []string{"SERVER", "dns", "tcp", "auth offered", "login", "version", "paths", "1 of 1 servers ready to deploy"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("the table lacks %q:\n%s", want, r.out)
		}
	}
}

// TestDoctorManyServers checks that one bad server fails the run while the
// table still reports the healthy one.
func TestDoctorManyServers(t *testing.T) {
	users := map[string]string{"deploy": testPassword}
	good := emulatortest.Start(t, emulator.Config{Users: users, Auth: "basic"})
	cfg := filepath.Join(t.TempDir(), "wcdeploy.yaml")
	body := "profiles:\n  prod:\n    username: deploy\n    flavor: module\n    servers:\n" +
		"      - {name: good, url: \"" + good.URL() + "\"}\n" +
		"      - {name: dead, url: \"" + doctorDeadURL(t) + "\"}\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, newEnv(t), "doctor", "--config", cfg)
	if r.code != 4 {
		t.Fatalf("exit %d, want 4\n%s\n%s", r.code, r.out, r.errOut)
	}
	if !strings.Contains(r.out, "1 of 2 servers would fail a deploy") || !strings.Contains(r.out, "good  ") {
		t.Errorf("unexpected table:\n%s", r.out)
	}
}

// TestDoctorGolden is the case through the command, in both forms:
// a 31 MB EXE, a server with the stock limit (deploy's preflight stops it)
// and one that raised it.
func TestDoctorGolden(t *testing.T) {
	users := map[string]string{"deploy": testPassword}
	build := t.TempDir()
	exe := filepath.Join(build, "Shop.exe")
	if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: "2.0.0.0", Size: 31_000_000, Seed: 6}); err != nil {
		t.Fatal(err)
	}
	dir1, dir2 := t.TempDir(), t.TempDir()
	stock := emulatortest.Start(t, emulator.Config{Users: users, Auth: "basic", Dir: dir1})
	raised := emulatortest.Start(t, emulator.Config{Users: users, Auth: "basic", Dir: dir2, MaxRequestBytes: 64 << 20})
	host := func(s *emulator.Server) string {
		u, err := url.Parse(s.URL())
		if err != nil {
			t.Fatal(err)
		}
		return u.Host
	}
	cfg := filepath.Join(t.TempDir(), "wcdeploy.yaml")
	body := "profiles:\n  prod:\n    username: deploy\n    flavor: module\n    exe: '" + exe + "'\n    servers:\n" +
		"      - {name: web1, url: '" + stock.URL() + "'}\n" +
		"      - {name: web2, url: '" + raised.URL() + "'}\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	hide := strings.NewReplacer(build, "BUILD", dir1, "WEB1", dir2, "WEB2", host(stock), "127.0.0.1:PORT1", host(raised), "127.0.0.1:PORT2")
	for name, args := range map[string][]string{"doctor-table": nil, "doctor-json": {"--json"}} {
		r := runCLI(t, newEnv(t), append([]string{"doctor", "--config", cfg}, args...)...)
		if r.code != 4 {
			t.Fatalf("%s: exit %d, want 4\n%s\n%s", name, r.code, r.out, r.errOut)
		}
		golden.Assert(t, name, []byte(hide.Replace(r.out)))
	}

	// deploy's preflight stops the server doctor failed, with the same
	// values, and only that one.
	r := runCLI(t, newEnv(t), "deploy", "--config", cfg, "--dry-run", "--json", "--skip-unreachable")
	var rep struct {
		Servers []struct {
			Name  string `json:"name"`
			Error string `json:"error"`
		} `json:"servers"`
	}
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil || len(rep.Servers) != 2 {
		t.Fatalf("deploy --dry-run --json: %v\n%s\n%s", err, r.out, r.errOut)
	}
	if e := rep.Servers[0].Error; !strings.Contains(e, `maxAllowedContentLength="38797312"`) || !strings.Contains(e, `maxRequestLength="37888"`) {
		t.Errorf("deploy's preflight on web1: %q, want the values doctor gave", e)
	}
	if e := rep.Servers[1].Error; e != "" {
		t.Errorf("deploy's preflight stopped web2, which doctor called ready: %s", e)
	}
}
