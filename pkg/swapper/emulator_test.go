package swapper

import (
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"

	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
	"github.com/wcdeploy/wcdeploy/pkg/uploader"
)

// credentials puts the user and password on every request; go-ntlmssp
// reads them from there for the NTLM handshake.
type credentials struct {
	user, pass string
	next       http.RoundTripper
}

func (c credentials) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(c.user, c.pass)
	return c.next.RoundTrip(r)
}

// The whole flow against the project's emulator: status, upload, swap,
// verify, status again, for each .NET flavor and both auth schemes.
func TestEmulatorDeploy(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "App.exe")
	const size = 3<<20 + 17
	if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: "2.0.0.7", Size: size}); err != nil {
		t.Fatal(err)
	}
	for _, flavor := range []emulator.Flavor{emulator.Module714, emulator.Module715, emulator.WebServer726} {
		for _, auth := range []string{emulator.AuthBasic, emulator.AuthNTLM} {
			t.Run(string(flavor)+"/"+auth, func(t *testing.T) {
				var mu sync.Mutex
				actions := map[string]int{}
				var uploadBytes int64
				srv := emulatortest.Start(t, emulator.Config{
					Flavor: flavor, Auth: auth, Users: map[string]string{"deployer": "s3cret!"},
					InitialVersion: "1.0.0.0", SwapDelay: 20 * time.Millisecond,
					Log: func(l emulator.RequestLog) {
						mu.Lock()
						actions[l.Action]++
						if l.Action == "uploadexe" {
							uploadBytes += l.BodyBytes
						}
						mu.Unlock()
					},
				})
				tr := &http.Transport{}
				t.Cleanup(tr.CloseIdleConnections)
				var rt http.RoundTripper = tr
				if auth == emulator.AuthNTLM {
					rt = ntlmssp.Negotiator{RoundTripper: tr}
				}
				client := &http.Client{Transport: credentials{"deployer", "s3cret!", rt}}
				ctx := context.Background()
				status := srv.URL() + "/ModuleAdministration.wc"

				before, err := FetchStatus(ctx, client, status)
				if err != nil {
					t.Fatal(err)
				}
				if before.Version != "1.0.0.0" {
					t.Errorf("before: %+v", before)
				}
				res, err := uploader.Upload(ctx, client, uploader.Options{URL: srv.URL() + "/UploadExe.wc", ExePath: exe, Size: size, Retries: 1, Backoff: time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				if res.Bytes != size {
					t.Errorf("upload: %+v", res)
				}
				got, err := Swap(ctx, client, srv.URL()+"/UpdateExe.wc", status, 30*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if err := Verify("2.0.0.7", size, got); err != nil {
					t.Error(err)
				}
				after, err := FetchStatus(ctx, client, status)
				if err != nil {
					t.Fatal(err)
				}
				if after.Version != "2.0.0.7" {
					t.Errorf("after: %+v", after)
				}
				mu.Lock()
				defer mu.Unlock()
				t.Logf("upload requests %d, body bytes received %d for a %d-byte EXE", actions["uploadexe"], uploadBytes, size)
				if n := actions["updateexe"]; n != 1 {
					t.Errorf("swap handled %d times (actions %v)", n, actions)
				}
			})
		}
	}
}
