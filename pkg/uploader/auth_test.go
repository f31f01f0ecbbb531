package uploader

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// A refused login during the upload is an auth failure (exit 3), and it is
// not retried: every retry would be one more failed logon for the account.
func TestRefusedLoginIsAuthAndNotRetried(t *testing.T) {
	for _, auth := range []string{"basic", "ntlm"} {
		t.Run(auth, func(t *testing.T) {
			srv := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: auth, Users: map[string]string{"deploy": "right"}})
			exe := filepath.Join(t.TempDir(), "App.exe")
			if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: "1.0.0.1", Size: 2 << 20}); err != nil {
				t.Fatal(err)
			}
			c, err := transport.New(srv.URL(), transport.Options{Auth: auth, User: "deploy", Password: "wrong"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = Upload(context.Background(), c, Options{URL: srv.URL() + "UploadExe.wc", ExePath: exe, Retries: 3, Backoff: 1})
			if exitcode.Of(err) != exitcode.Auth {
				t.Fatalf("err = %v (exit %d), want an auth error", err, exitcode.Of(err))
			}
			if strings.Contains(err.Error(), "after") {
				t.Errorf("a refused login was retried: %v", err)
			}
			var posts int
			for _, r := range srv.Requests() {
				if r.Method == "POST" {
					posts++
				}
			}
			// NTLM: anonymous, negotiate, authenticate: one logon.
			if max := map[string]int{"basic": 1, "ntlm": 3}[auth]; posts > max {
				t.Errorf("%d POSTs reached the server, want at most %d", posts, max)
			}
		})
	}
}
