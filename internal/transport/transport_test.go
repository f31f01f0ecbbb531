package transport

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

const pw = "Pa55-w0rd!"

func do(t *testing.T, c *http.Client, method, u string, body []byte) (*http.Response, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b), nil
}

func mustNew(t *testing.T, u string, o Options) *http.Client {
	t.Helper()
	c, err := New(u, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func noSecret(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), pw) {
		t.Errorf("password in error: %v", err)
	}
}

func TestBasicAuto(t *testing.T) {
	s := (&iis{basic: true, user: `CORP\deploy`, password: pw}).start(t, false)
	c := mustNew(t, s.srv.URL+"/app/", Options{User: `CORP\deploy`, Password: pw})

	resp, body, err := do(t, c, "GET", s.srv.URL+"/app/ModuleAdministration.wc", nil)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(body, "hello") {
		t.Fatalf("preflight: %v %v %q", resp, err, body)
	}
	if s.requests.Load() != 2 {
		t.Errorf("first request took %d round trips, want 2 (anonymous, then Basic after the challenge)", s.requests.Load())
	}
	// After the challenge Basic goes out pre-emptively: the upload crosses once.
	payload := bytes.Repeat([]byte("x"), 1<<20)
	s.requests.Store(0)
	s.bodyBytes.Store(0)
	resp, _, err = do(t, c, "POST", s.srv.URL+"/app/UploadExe.wc", payload)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload: %v %v", resp, err)
	}
	if s.requests.Load() != 1 || s.bodyBytes.Load() != int64(len(payload)) {
		t.Errorf("upload: %d requests, %d body bytes; want 1 and %d", s.requests.Load(), s.bodyBytes.Load(), len(payload))
	}
}

func TestBasicModeIsPreemptive(t *testing.T) {
	s := (&iis{basic: true, user: "deploy", password: pw}).start(t, false)
	c := mustNew(t, s.srv.URL, Options{Auth: "basic", User: "deploy", Password: pw})
	resp, _, err := do(t, c, "GET", s.srv.URL+"/a.wc", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(resp, err)
	}
	if s.requests.Load() != 1 {
		t.Errorf("%d round trips, want 1", s.requests.Load())
	}
}

func TestRefusedLoginStopsSendingCredentials(t *testing.T) {
	for _, tc := range []struct {
		name    string
		server  *iis
		auth    string
		user    string
		wantIn  []string
		failure Failure
		checks  int64 // password checks the server makes; 0 means 1
	}{
		{name: "basic", server: &iis{basic: true, user: "deploy", password: "other"}, auth: "auto", user: "deploy",
			failure: FailRefused, wantIn: []string{"refused", `"deploy"`, "AdminAccount", "Basic"}},
		{name: "ntlm, then basic", server: &iis{windows: true, basic: true, user: `CORP\deploy`, password: "other"}, auth: "auto", user: `CORP\deploy`,
			failure: FailRefused, wantIn: []string{"refused", `"CORP\deploy"`, "AdminAccount", "NTLM, then Basic"}, checks: 2},
		{name: "ntlm forced", server: &iis{windows: true, user: `CORP\deploy`, password: "other"}, auth: "ntlm", user: `CORP\deploy`,
			failure: FailRefused, wantIn: []string{"refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.server.start(t, false)
			c := mustNew(t, s.srv.URL, Options{Auth: tc.auth, User: tc.user, Password: pw})
			for i := 0; i < 3; i++ {
				_, _, err := do(t, c, "GET", s.srv.URL+"/ModuleAdministration.wc", nil)
				var ae *AuthError
				if !errors.As(err, &ae) || ae.Failure != tc.failure || !IsAuthFailure(err) {
					t.Fatalf("try %d: want an AuthError %s, got %v", i, tc.failure, err)
				}
				if exitcode.Of(err) != exitcode.Auth {
					t.Errorf("exit code %d", exitcode.Of(err))
				}
				for _, w := range tc.wantIn {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%q lacks %q", err, w)
					}
				}
				noSecret(t, err)
			}
			if n, want := s.attempts.Load(), max(tc.checks, 1); n != want {
				t.Errorf("the server checked the password %d times, want %d (lockout risk)", n, want)
			}
		})
	}
}

func TestSchemeProblems(t *testing.T) {
	for _, tc := range []struct {
		name    string
		server  *iis
		opts    Options
		failure Failure
		wantIn  string
	}{
		{name: "ntlm forced, server offers Basic", server: &iis{basic: true}, opts: Options{Auth: "ntlm", User: "u", Password: pw},
			failure: FailScheme, wantIn: "auth: ntlm"},
		{name: "basic forced, server offers Windows", server: &iis{windows: true}, opts: Options{Auth: "basic", User: "u", Password: pw},
			failure: FailScheme, wantIn: "does not accept Basic"},
		{name: "no challenge", server: &iis{noChallenge: true}, opts: Options{User: "u", Password: pw},
			failure: FailNoChallenge, wantIn: "Windows Authentication"},
		{name: "no user", server: &iis{basic: true, windows: true}, opts: Options{},
			failure: FailNoUser, wantIn: "Negotiate, NTLM, Basic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.server.start(t, false)
			c := mustNew(t, s.srv.URL, tc.opts)
			_, _, err := do(t, c, "GET", s.srv.URL+"/x.wc", nil)
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Failure != tc.failure {
				t.Fatalf("want %s, got %v", tc.failure, err)
			}
			if !strings.Contains(err.Error(), tc.wantIn) || exitcode.Of(err) != exitcode.Auth {
				t.Errorf("%q (code %d) lacks %q", err, exitcode.Of(err), tc.wantIn)
			}
			if s.attempts.Load() != 0 {
				t.Errorf("%d password checks", s.attempts.Load())
			}
		})
	}
}

// readSeekCounter is an upload body that can be rewound, like a file.
type readSeekCounter struct {
	r     *bytes.Reader
	reads atomic.Int64
}

func (b *readSeekCounter) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.reads.Add(int64(n))
	return n, err
}
func (b *readSeekCounter) Seek(o int64, w int) (int64, error) { return b.r.Seek(o, w) }
func (b *readSeekCounter) Close() error                       { return nil }

func TestNTLMPreflightThenUploadCrossesOnce(t *testing.T) {
	for _, user := range []string{`CORP\deploy`, "deploy@corp.example"} {
		t.Run(user, func(t *testing.T) {
			s := (&iis{windows: true, basic: true, user: `CORP\deploy`, password: pw}).start(t, false)
			c := mustNew(t, s.srv.URL, Options{User: user, Password: pw})
			resp, body, err := do(t, c, "GET", s.srv.URL+"/ModuleAdministration.wc", nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("preflight: %v %v", resp, err)
			}
			if !strings.Contains(body, "hello") || s.attempts.Load() != 1 {
				t.Fatalf("body %q, attempts %d", body, s.attempts.Load())
			}
			if h, _ := s.lastAuthHdr.Load().(string); !strings.HasPrefix(h, "NTLM ") {
				t.Errorf("last Authorization %q: NTLM must win over Basic", h)
			}

			payload := bytes.Repeat([]byte("MZ"), 2<<20) // 4 MiB
			body2 := &readSeekCounter{r: bytes.NewReader(payload)}
			s.bodyBytes.Store(0)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", s.srv.URL+"/UploadExe.wc", nil)
			req.Body, req.ContentLength = body2, int64(len(payload))
			resp, err = c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("upload %d", resp.StatusCode)
			}
			if got := s.bodyBytes.Load(); got != int64(len(payload)) {
				t.Errorf("server read %d body bytes, want %d (the body must cross once)", got, len(payload))
			}
			if got := body2.reads.Load(); got != int64(len(payload)) {
				t.Errorf("body read %d bytes locally, want %d", got, len(payload))
			}
			if s.conns.Load() != 1 || s.attempts.Load() != 1 {
				t.Errorf("%d connections, %d logins; want 1 and 1", s.conns.Load(), s.attempts.Load())
			}
		})
	}
}

// Without a preflight, the NTLM handshake runs on a bodiless GET of the
// same URL and the body goes out once, on the logged-in connection.
func TestNTLMWithoutPreflightReplaysThroughGetBody(t *testing.T) {
	s := (&iis{windows: true, user: `CORP\deploy`, password: pw}).start(t, false)
	c := mustNew(t, s.srv.URL, Options{Auth: "ntlm", User: `CORP\deploy`, Password: pw})
	payload := bytes.Repeat([]byte("z"), 512<<10)
	opened := 0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.srv.URL+"/UploadExe.wc", nil)
	req.GetBody = func() (io.ReadCloser, error) {
		opened++
		return io.NopCloser(io.MultiReader(bytes.NewReader(payload))), nil
	}
	req.Body, _ = req.GetBody()
	req.ContentLength = int64(len(payload))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// No handshake leg carries the body.
	if opened != 1 || s.bodyBytes.Load() != int64(len(payload)) {
		t.Errorf("GetBody called %d times, %d bytes sent", opened, s.bodyBytes.Load())
	}
}

func writeCA(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// otherCA writes a self-signed CA certificate that signed nothing.
func otherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTLS(t *testing.T) {
	s := (&iis{basic: true, user: "u", password: pw}).start(t, true)

	c := mustNew(t, s.srv.URL, Options{User: "u", Password: pw})
	_, _, err := do(t, c, "GET", s.srv.URL+"/x.wc", nil)
	var te *TLSError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "ca_file") || !strings.Contains(err.Error(), "signed by an authority this machine does not trust") {
		t.Fatalf("self-signed without ca_file: %v", err)
	}
	t.Log(err)
	if s.attempts.Load() != 0 {
		t.Error("credentials checked over an untrusted connection")
	}

	c = mustNew(t, s.srv.URL, Options{User: "u", Password: pw, CAFile: writeCA(t, s.srv)})
	resp, _, err := do(t, c, "GET", s.srv.URL+"/x.wc", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("with ca_file: %v %v", resp, err)
	}
	if resp.Proto != "HTTP/1.1" {
		t.Errorf("spoke %s; HTTP/2 must be off", resp.Proto)
	}

	c = mustNew(t, s.srv.URL, Options{User: "u", Password: pw, InsecureSkipVerify: true})
	if resp, _, err := do(t, c, "GET", s.srv.URL+"/x.wc", nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("insecure: %v %v", resp, err)
	}

	// A CA file that is not the server's CA: the hint says so.
	c = mustNew(t, s.srv.URL, Options{CAFile: otherCA(t)})
	if _, _, err := do(t, c, "GET", s.srv.URL+"/x.wc", nil); !errors.As(err, &te) || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("wrong CA: %v", err)
	}

	// TLS to a plain http port.
	plain := (&iis{}).start(t, false)
	httpsURL := strings.Replace(plain.srv.URL, "http://", "https://", 1)
	c = mustNew(t, httpsURL, Options{})
	if _, _, err := do(t, c, "GET", httpsURL+"/x.wc", nil); !errors.As(err, &te) || !strings.Contains(err.Error(), "answered in plain HTTP, not TLS") ||
		!strings.Contains(err.Error(), "use http://") || strings.Contains(err.Error(), "first record") {
		t.Errorf("https to http port: %v", err)
	}

	// A name the certificate does not name: the names it has are told.
	byIP := strings.Replace(s.srv.URL, "127.0.0.1", "localhost", 1)
	c = mustNew(t, byIP, Options{CAFile: writeCA(t, s.srv)})
	_, _, err = do(t, c, "GET", byIP+"/x.wc", nil)
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "the certificate is issued for ") || !strings.Contains(err.Error(), "not localhost") {
		t.Errorf("wrong name: %v", err)
	}
}

func TestCAFileErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	_ = os.WriteFile(junk, []byte("not a certificate"), 0o600)
	for _, f := range []string{junk, filepath.Join(dir, "missing.pem")} {
		_, err := New("https://web1/", Options{CAFile: f})
		if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "ca_file") {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestRedirectNeverCarriesCredentials(t *testing.T) {
	var otherAuth atomic.Value
	otherAuth.Store("")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); h != "" {
			otherAuth.Store(h)
		}
		if r.URL.Path == "/locked" {
			w.Header().Set("WWW-Authenticate", `Basic realm="other"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "other host")
	}))
	defer other.Close()

	for _, mode := range []string{"basic", "auto", "ntlm"} {
		t.Run(mode, func(t *testing.T) {
			s := &iis{basic: true, windows: mode != "basic", user: `CORP\u`, password: pw}
			s.start(t, false)
			mux := http.NewServeMux()
			mux.HandleFunc("/go", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/landing", http.StatusFound)
			})
			mux.HandleFunc("/go-locked", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/locked", http.StatusTemporaryRedirect)
			})
			mux.HandleFunc("/", s.serve)
			s.srv.Config.Handler = mux

			c := mustNew(t, s.srv.URL, Options{Auth: mode, User: `CORP\u`, Password: pw})
			// Log in first, so a credential would be at hand.
			if resp, _, err := do(t, c, "GET", s.srv.URL+"/x.wc", nil); err != nil || resp.StatusCode != 200 {
				t.Fatalf("login: %v %v", resp, err)
			}
			resp, body, err := do(t, c, "GET", s.srv.URL+"/go", nil)
			if err != nil || body != "other host" {
				t.Fatalf("redirect: %v %v %q", resp, err, body)
			}
			_, _, err = do(t, c, "GET", s.srv.URL+"/go-locked", nil)
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Failure != FailForeignHost || !strings.Contains(err.Error(), other.URL) {
				t.Errorf("locked foreign host: %v", err)
			}
			if h := otherAuth.Load().(string); h != "" {
				t.Errorf("the other host received Authorization %q", h)
			}
		})
	}

	// A header the caller set by hand is stripped too.
	s := (&iis{}).start(t, false)
	s.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/landing", http.StatusFound)
	})
	c := mustNew(t, s.srv.URL, Options{})
	req, _ := http.NewRequest("GET", s.srv.URL+"/go", nil)
	req.SetBasicAuth("u", pw)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := otherAuth.Load().(string); h != "" {
		t.Errorf("hand-set header reached the other host: %q", h)
	}
}

func TestRedirectLoopAndLoginPage(t *testing.T) {
	var hits, loginHits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/Account/Login"):
			loginHits.Add(1)
			io.WriteString(w, "<form>login</form>")
		case r.URL.Path == "/forms":
			http.Redirect(w, r, "/Account/Login.aspx?ReturnUrl=%2fapp%2fModuleAdministration.wc", http.StatusFound)
		default:
			hits.Add(1)
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	}))
	defer srv.Close()
	c := mustNew(t, srv.URL, Options{User: "u", Password: pw})

	_, _, err := do(t, c, "GET", srv.URL+"/loop", nil)
	if err == nil || !strings.Contains(err.Error(), "redirected 5 times") {
		t.Errorf("loop: %v", err)
	}
	if hits.Load() != MaxRedirects {
		t.Errorf("%d requests in the loop, want %d", hits.Load(), MaxRedirects)
	}

	_, _, err = do(t, c, "GET", srv.URL+"/forms", nil)
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Failure != FailLoginPage || exitcode.Of(err) != exitcode.Auth || !strings.Contains(err.Error(), "login page") {
		t.Errorf("login page: %v", err)
	}
	if loginHits.Load() != 0 {
		t.Error("the login page was requested")
	}
}

func TestBasicOverPlainHTTP(t *testing.T) {
	// Refused before anything is dialled: 192.0.2.1 (TEST-NET-1) is never contacted.
	_, err := New("http://192.0.2.1/app", Options{Auth: "basic", User: "u", Password: pw})
	if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "allow_insecure_http") {
		t.Errorf("basic over http: %v", err)
	}
	noSecret(t, err)
	if _, err := New("http://192.0.2.1/app", Options{Auth: "basic", User: "u", Password: pw, AllowInsecureHTTP: true}); err != nil {
		t.Errorf("allowed: %v", err)
	}
	for _, u := range []string{"http://127.0.0.1:8080/", "http://localhost/", "http://[::1]/", "https://192.0.2.1/", "http://127.9.9.9/"} {
		if _, err := New(u, Options{Auth: "basic", User: "u", Password: pw}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}

	// auto mode: a non-loopback name over http that turns out to offer only
	// Basic. The dial hook reaches the loopback server without DNS.
	s := (&iis{basic: true, user: "u", password: pw}).start(t, false)
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.srv.Listener.Addr().String())
	}
	for _, allow := range []bool{false, true} {
		rt, err := newRoundTripper("http://wc.example/app", Options{User: "u", Password: pw, AllowInsecureHTTP: allow}, dial)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Transport: rt, CheckRedirect: rt.checkRedirect}
		resp, _, err := do(t, c, "GET", "http://wc.example/app/x.wc", nil)
		if !allow {
			if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "allow_insecure_http") {
				t.Errorf("auto over http: %v", err)
			}
			if s.attempts.Load() != 0 {
				t.Error("a Basic password crossed plain http")
			}
			continue
		}
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("allowed: %v %v", resp, err)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for h, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "[::1]": true, "localhost": true, "LOCALHOST": true,
		"app.localhost": true, "localhost.": true,
		"192.0.2.1": false, "10.0.0.1": false, "localhost.example.com": false, "web1": false, "::2": false, "": false,
	} {
		if got := isLoopback(h); got != want {
			t.Errorf("isLoopback(%q) = %v", h, got)
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, tc := range []struct{ url, auth string }{
		{"ftp://web1/", ""}, {"web1/app", ""}, {"https://", ""}, {"https://web1/", "digest"},
	} {
		if _, err := New(tc.url, Options{Auth: tc.auth}); exitcode.Of(err) != exitcode.Usage {
			t.Errorf("%v: %v", tc, err)
		}
	}
}

func TestTransportSettings(t *testing.T) {
	c, err := New("https://web1:8443/app", Options{ConnectTimeout: 3 * time.Second, ResponseHeaderTimeout: 7 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if c.Timeout != 0 {
		t.Error("client has an overall timeout: uploads would be cut")
	}
	base := baseOf(c)
	if base.ForceAttemptHTTP2 || base.TLSNextProto == nil || len(base.TLSNextProto) != 0 {
		t.Error("HTTP/2 not off")
	}
	if base.DisableKeepAlives || base.MaxIdleConnsPerHost != 1 {
		t.Error("keep-alive with one idle connection per host expected")
	}
	if base.TLSHandshakeTimeout != 3*time.Second || base.ResponseHeaderTimeout != 7*time.Second {
		t.Errorf("timeouts %v %v", base.TLSHandshakeTimeout, base.ResponseHeaderTimeout)
	}
	if base.Proxy == nil || base.TLSClientConfig.InsecureSkipVerify {
		t.Error("proxy from the environment and verified TLS by default")
	}
}

func TestResponseHeaderTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	c := mustNew(t, srv.URL, Options{ResponseHeaderTimeout: 100 * time.Millisecond})
	start := time.Now()
	_, _, err := do(t, c, "GET", srv.URL+"/slow", nil)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("got %v after %v", err, time.Since(start))
	}
}

func TestProxyOption(t *testing.T) {
	var seen atomic.Value
	seen.Store("")
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.URL.String())
		io.WriteString(w, "via proxy")
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	c := mustNew(t, "http://wc.example/app", Options{Proxy: http.ProxyURL(pu)})
	_, body, err := do(t, c, "GET", "http://wc.example/app/x.wc", nil)
	if err != nil || body != "via proxy" || seen.Load().(string) != "http://wc.example/app/x.wc" {
		t.Errorf("%v %q %q", err, body, seen.Load())
	}
}

func TestParseChallenges(t *testing.T) {
	for _, tc := range []struct {
		lines       []string
		basic, ntlm bool
		schemes     string
	}{
		{[]string{"Negotiate", "NTLM", `Basic realm="web1:5200"`}, true, true, "Negotiate,NTLM,Basic"},
		{[]string{`Basic realm="a, b", charset="UTF-8"`}, true, false, "Basic"},
		{[]string{`Negotiate, NTLM`}, false, true, "Negotiate,NTLM"},
		{[]string{`NTLM TlRMTVNTUAACAAAA==`}, false, true, "NTLM"},
		{[]string{`Bearer realm="x", error="invalid_token"`, `basic`}, true, false, "Bearer,basic"},
		{[]string{`Digest realm="x\", Basic", nonce="1"`}, false, false, "Digest"},
		{nil, false, false, ""},
	} {
		h := http.Header{}
		for _, l := range tc.lines {
			h.Add("WWW-Authenticate", l)
		}
		c := parseChallenges(h)
		if c.basic != tc.basic || c.ntlm != tc.ntlm || strings.Join(c.schemes, ",") != tc.schemes {
			t.Errorf("%q: %+v", tc.lines, c)
		}
	}
}

func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{"Negotiate", `Basic realm="a,b"`, `NTLM abc==`, `x="\"`, ",,,", `Digest a="b\\", Basic`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		h := http.Header{}
		h.Add("WWW-Authenticate", line)
		c := parseChallenges(h)
		for _, s := range c.schemes {
			if s == "" || strings.ContainsAny(s, ` ,="`) {
				t.Errorf("scheme %q from %q", s, line)
			}
		}
	})
}

func FuzzLooksLikeLogin(f *testing.F) {
	for _, s := range []string{"/Account/Login.aspx?ReturnUrl=%2f", "/app/UpdateExe.wc", "/adfs/ls/", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		if looksLikeLogin(u) && !looksLikeLogin(&url.URL{Path: strings.ToUpper(u.Path), RawQuery: strings.ToUpper(u.RawQuery)}) {
			t.Errorf("case-sensitive result for %q", s)
		}
	})
}

// zeros is an endless reader that allocates nothing.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// A large body is streamed once after the NTLM handshake, never held in
// memory.
func TestNTLMLargeBodyNotBuffered(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 48 MiB over loopback")
	}
	s := (&iis{windows: true, user: `CORP\deploy`, password: pw}).start(t, false)
	c := mustNew(t, s.srv.URL, Options{Auth: "ntlm", User: `CORP\deploy`, Password: pw})
	const size = 16 << 20
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.srv.URL+"/UploadExe.wc", nil)
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(io.LimitReader(zeros{}, size)), nil }
	req.Body, _ = req.GetBody()
	req.ContentLength = size

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	if resp.StatusCode != 200 || s.bodyBytes.Load() != size {
		t.Fatalf("status %d, %d bytes", resp.StatusCode, s.bodyBytes.Load())
	}
	t.Logf("allocated %d KiB for a %d MiB body", (after.TotalAlloc-before.TotalAlloc)>>10, size>>20)
	// Client and test server share the process: both stay far below the body size.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
		t.Errorf("allocated %d MiB for a %d MiB body", alloc>>20, size>>20)
	}
}

// uploadAfterLogin logs in with a GET, then posts payload; it returns the
// upload's error.
func uploadAfterLogin(t *testing.T, s *iis, c *http.Client, payload []byte) error {
	t.Helper()
	if err := Login(context.Background(), c, s.srv.URL+"/ModuleAdministration.wc"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.srv.URL+"/UploadExe.wc", nil)
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }
	req.Body, _ = req.GetBody()
	req.ContentLength = int64(len(payload))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("upload: %s", resp.Status)
	}
	return nil
}

// A server that closes connections after a few requests: the upload goes
// only on a logged-in connection (a new login first), so it crosses once.
func TestNTLMUploadSurvivesClosedConnections(t *testing.T) {
	for _, max := range []int64{3, 4, 5} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			s := (&iis{windows: true, user: `CORP\deploy`, password: pw, maxPerConn: max}).start(t, false)
			c := mustNew(t, s.srv.URL, Options{User: `CORP\deploy`, Password: pw})
			payload := bytes.Repeat([]byte("E"), 1<<20)
			if err := uploadAfterLogin(t, s, c, nil); err != nil { // a first login, as the preflight does
				t.Fatal(err)
			}
			s.bodyBytes.Store(0)
			if err := uploadAfterLogin(t, s, c, payload); err != nil {
				t.Fatal(err)
			}
			if got := s.bodyBytes.Load(); got != int64(len(payload)) {
				t.Errorf("the server read %d body bytes, want %d: the upload crosses once", got, len(payload))
			}
		})
	}
}

// A server that closes the connection after every request cannot take an
// NTLM upload: wcdeploy says so and never sends the body.
func TestNTLMServerClosingEveryConnection(t *testing.T) {
	s := (&iis{windows: true, user: `CORP\deploy`, password: pw, maxPerConn: 2}).start(t, false)
	c := mustNew(t, s.srv.URL, Options{Auth: "ntlm", User: `CORP\deploy`, Password: pw})
	// NEGOTIATE and AUTHENTICATE use up each connection: no request is
	// left for the upload.
	s.bodyBytes.Store(0)
	err := uploadAfterLogin(t, s, c, bytes.Repeat([]byte("E"), 1<<20))
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Failure != FailConnClosed || exitcode.Of(err) != exitcode.Auth {
		t.Fatalf("want %s, got %v", FailConnClosed, err)
	}
	if !strings.Contains(err.Error(), "MaxKeepAliveRequests") || s.bodyBytes.Load() != 0 {
		t.Errorf("%v; %d body bytes sent", err, s.bodyBytes.Load())
	}
}

// Basic once after NTLM could not complete, and the choice is reported.
func TestNTLMFallsBackToBasicOnce(t *testing.T) {
	// Behind a proxy without connection affinity NTLM never completes; Basic works.
	s := (&iis{windows: true, basic: true, user: "deploy", password: pw, noAffinity: true}).start(t, false)
	var choices []Choice
	c := mustNew(t, s.srv.URL, Options{User: "deploy", Password: pw, OnScheme: func(ch Choice) { choices = append(choices, ch) }})
	s.lastAuthHdr.Store("")
	if err := Login(context.Background(), c, s.srv.URL+"/ModuleAdministration.wc"); err != nil {
		t.Fatal(err)
	}
	got, ok := SchemeOf(c)
	if !ok || got.Scheme != "Basic" || len(choices) != 2 || choices[0].Scheme != "NTLM" || !strings.Contains(got.Reason, "NTLM") {
		t.Errorf("SchemeOf %+v %v, choices %+v", got, ok, choices)
	}
	if s.attempts.Load() != 2 {
		t.Errorf("%d password checks, want 2 (NTLM, then Basic)", s.attempts.Load())
	}
}
