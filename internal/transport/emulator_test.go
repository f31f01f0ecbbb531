package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// multipartExe is an upload body as the uploader sends it: one File part.
func multipartExe(t *testing.T, size int64) ([]byte, string) {
	t.Helper()
	exe, err := sampleexe.Build(sampleexe.Options{FileVersion: "1.2.3.5", Size: size})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, err := mw.CreateFormFile("File", "WcDemo.exe")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = part.Write(exe)
	_ = mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func TestEmulatorNTLM(t *testing.T) {
	for _, flavor := range []emulator.Flavor{emulator.Module714, emulator.Module715, emulator.WebServer726} {
		t.Run(string(flavor), func(t *testing.T) {
			em := emulatortest.Start(t, emulator.Config{
				Flavor: flavor, Auth: emulator.AuthBoth, Domain: "WCEMU",
				Users: map[string]string{`WCEMU\deploy`: pw},
			})
			c := mustNew(t, em.URL(), Options{Auth: "ntlm", User: `WCEMU\deploy`, Password: pw})

			// Preflight: the status page, logged in over NTLM.
			resp, page, err := do(t, c, "GET", em.URL()+"ModuleAdministration.wc", nil)
			if err != nil || resp.StatusCode != 200 || !strings.Contains(page, "1.0.0.0") {
				t.Fatalf("preflight: %v %v %.200q", resp, err, page)
			}

			// Upload a few MB on the logged-in connection: the body crosses once.
			body, ctype := multipartExe(t, 3<<20)
			sent := em.BodyBytes()
			rs := &readSeekCounter{r: bytes.NewReader(body)}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", em.URL()+"UploadExe.wc", nil)
			req.Body, req.ContentLength = rs, int64(len(body))
			req.Header.Set("Content-Type", ctype)
			resp, err = c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			reply, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(reply), "File has been uploaded") {
				t.Fatalf("upload %d: %.300s", resp.StatusCode, reply)
			}
			if got := em.BodyBytes() - sent; got != int64(len(body)) {
				t.Errorf("the emulator received %d body bytes, want %d: the upload must cross the wire once", got, len(body))
			}
			var reqs []emulator.RequestLog
			for _, r := range em.Requests() {
				if r.Action == "uploadexe" {
					reqs = append(reqs, r)
				}
			}
			if len(reqs) != 1 || reqs[0].User == "" {
				t.Errorf("upload took %d requests (%+v), want 1 authenticated", len(reqs), reqs)
			}
		})
	}
}

func TestEmulatorWrongPassword(t *testing.T) {
	for _, tc := range []struct {
		name, auth, emAuth string
		maxRequests        int // requests the server sees for one refused login
	}{
		{"ntlm", "ntlm", emulator.AuthNTLM, 2}, // NEGOTIATE, AUTHENTICATE (auth: ntlm skips the anonymous try)
		// anonymous, NEGOTIATE, AUTHENTICATE, then Basic once: NTLM's 401
		// may be a proxy without connection affinity, not the password.
		{"auto picks ntlm, then basic once", "auto", emulator.AuthBoth, 4},
		{"basic", "basic", emulator.AuthBasic, 1},
		{"auto falls back to basic", "auto", emulator.AuthBasic, 2}, // anonymous, Basic
	} {
		t.Run(tc.name, func(t *testing.T) {
			em := emulatortest.Start(t, emulator.Config{Auth: tc.emAuth, Domain: "WCEMU", Users: map[string]string{`WCEMU\deploy`: pw}})
			c := mustNew(t, em.URL(), Options{Auth: tc.auth, User: `WCEMU\deploy`, Password: "wrong-" + pw})
			for i := 0; i < 4; i++ {
				_, _, err := do(t, c, "GET", em.URL()+"ModuleAdministration.wc", nil)
				var ae *AuthError
				if !errors.As(err, &ae) || ae.Failure != FailRefused || exitcode.Of(err) != exitcode.Auth {
					t.Fatalf("try %d: %v", i, err)
				}
				noSecret(t, err)
				if strings.Contains(err.Error(), "wrong-") {
					t.Errorf("password in error: %v", err)
				}
			}
			// The emulator logs a request just after answering it.
			n := len(em.Requests())
			for end := time.Now().Add(time.Second); n < tc.maxRequests && time.Now().Before(end); n = len(em.Requests()) {
				time.Sleep(5 * time.Millisecond)
			}
			if n != tc.maxRequests {
				t.Errorf("the server saw %d requests for 4 tries, want %d: a refused password must not be sent again", n, tc.maxRequests)
			}
		})
	}
}

func TestEmulatorAuthenticatedButNotAdmin(t *testing.T) {
	em := emulatortest.Start(t, emulator.Config{Auth: emulator.AuthNTLM, Domain: "WCEMU", AdminAccount: `WCEMU\boss`,
		Users: map[string]string{`WCEMU\deploy`: pw, `WCEMU\boss`: "x"}})
	c := mustNew(t, em.URL(), Options{User: `WCEMU\deploy`, Password: pw})
	_, _, err := do(t, c, "GET", em.URL()+"ModuleAdministration.wc", nil)
	if !IsAuthFailure(err) || !strings.Contains(err.Error(), "AdminAccount") {
		t.Errorf("not in AdminAccount: %v", err)
	}
}

func TestEmulatorBasicAutoOverLoopback(t *testing.T) {
	em := emulatortest.Start(t, emulator.Config{Auth: emulator.AuthBasic, Users: map[string]string{"deploy": pw}})
	c := mustNew(t, em.URL(), Options{User: "deploy", Password: pw})
	resp, page, err := do(t, c, "GET", em.URL()+"ModuleAdministration.wc", nil)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(page, "Status") {
		t.Fatalf("%v %v %.200q", resp, err, page)
	}
	body, ctype := multipartExe(t, 2<<20)
	sent := em.BodyBytes()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", em.URL()+"UploadExe.wc", bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || em.BodyBytes()-sent != int64(len(body)) {
		t.Errorf("status %d, %d body bytes for a %d-byte upload", resp.StatusCode, em.BodyBytes()-sent, len(body))
	}
}

// One refused password is not tried on the other servers of the run, while
// another password for the same user still is.
func TestGuardSharesRefusalsAcrossServers(t *testing.T) {
	g := NewGuard()
	var servers []*emulator.Server
	for i := 0; i < 3; i++ {
		servers = append(servers, emulatortest.Start(t, emulator.Config{Auth: emulator.AuthNTLM, Domain: "WCEMU", Users: map[string]string{`WCEMU\deploy`: pw}}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, em := range servers {
		c := mustNew(t, em.URL(), Options{User: `WCEMU\deploy`, Password: "wrong", Guard: g})
		err := Login(ctx, c, em.URL()+"ModuleAdministration.wc")
		if !IsAuthFailure(err) || exitcode.Of(err) != exitcode.Auth {
			t.Fatalf("server %d: %v", i, err)
		}
		if i > 0 && !strings.Contains(err.Error(), "not tried on") {
			t.Errorf("server %d: %v", i, err)
		}
	}
	if n := len(servers[1].Requests()) + len(servers[2].Requests()); n != 0 {
		t.Errorf("the refused password reached the other servers (%d requests)", n)
	}
	// The right password still works with the same guard.
	c := mustNew(t, servers[2].URL(), Options{User: `WCEMU\deploy`, Password: pw, Guard: g})
	if err := Login(ctx, c, servers[2].URL()+"ModuleAdministration.wc"); err != nil {
		t.Errorf("right password: %v", err)
	}
	// Login reports a page that is not there.
	if err := Login(ctx, c, servers[2].URL()+"nothing/here.txt"); err == nil || IsAuthFailure(err) {
		t.Errorf("missing page: %v", err)
	}
}
