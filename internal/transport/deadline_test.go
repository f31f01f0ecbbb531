package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/faultproxy"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
)

// stallTimeout is the progress timeout of these tests: short, so a stall
// ends quickly; bounds are generous, so a loaded machine does not flake.
const stallTimeout = 300 * time.Millisecond

// bound is how long a stalled request may take to end.
const bound = 10 * stallTimeout

func stallClient(t *testing.T, url string) *http.Client {
	t.Helper()
	c, err := New(url, Options{Auth: AuthBasic, User: "deploy", Password: "pw", ProgressTimeout: stallTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func stallEmulator(t *testing.T) *emulator.Server {
	return emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: emulator.AuthBasic, Users: map[string]string{"deploy": "pw"}})
}

// readAll sends req and reads the whole reply, returning the first error.
func readAll(c *http.Client, req *http.Request) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	return err
}

// TestProgressDeadlineEndsStalls: each way a server can stop moving bytes
// ends the request within the bound with a *StallError that names the
// server, the phase, what stalled and the setting to raise.
func TestProgressDeadlineEndsStalls(t *testing.T) {
	upload, ctype := multipartExe(t, 8<<20)
	cases := []struct {
		name  string
		rule  faultproxy.Rule
		post  bool
		stage string
		words []string
	}{
		{"reply headers stall", faultproxy.Rule{Mode: faultproxy.StallHeaders}, false, StageWaiting, []string{"sent no reply to the status request"}},
		{"reply body stalls", faultproxy.Rule{Mode: faultproxy.StallBody, Bytes: 100}, false, StageReading, []string{"stopped sending its reply to the status request after"}},
		{"server stops reading the upload", faultproxy.Rule{Mode: faultproxy.StopReading, Bytes: 64 << 10}, true, StageSending, []string{"stopped reading the upload request after"}},
		{"upload reply stalls", faultproxy.Rule{Mode: faultproxy.StallHeaders}, true, StageWaiting, []string{"sent no reply to the upload request"}},
		{"upload reset", faultproxy.Rule{Mode: faultproxy.ResetUpload, Bytes: 64 << 10}, true, "", []string{"reset"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			em := stallEmulator(t)
			px := faultproxy.Start(t, em.URL(), c.rule)
			client := stallClient(t, px.URL())
			phase := "status"
			req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(px.URL(), "/")+"/ModuleAdministration.wc", nil)
			if c.post {
				phase = "upload"
				body := upload
				if c.stage == StageWaiting {
					// Small enough that a busy machine's pauses in the
					// server cannot look like a stall of the upload.
					body = upload[:4<<10]
				}
				req, _ = http.NewRequest(http.MethodPost, strings.TrimSuffix(px.URL(), "/")+"/UploadExe.wc", bytes.NewReader(body))
				req.Header.Set("Content-Type", ctype)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang fails the test, not the suite
			defer cancel()
			start := time.Now()
			err := readAll(client, req.WithContext(WithPhase(ctx, Phase{Name: phase})))
			took := time.Since(start)
			if c.stage == "" {
				// A reset is no stall: it ends the request at once.
				if err == nil || errors.As(err, new(*StallError)) || took > bound {
					t.Fatalf("after %s: err = %v, want the reset", took, err)
				}
				return
			}
			var stall *StallError
			if !errors.As(err, &stall) {
				t.Fatalf("error = %v, want a *StallError", err)
			}
			if took > bound {
				t.Errorf("the stall took %s to end, want under %s", took, bound)
			}
			if stall.Stage != c.stage || stall.Phase != phase || stall.Host != px.Addr() || stall.Setting != SettingResponse {
				t.Errorf("stall = %+v, want stage %s, phase %s, host %s", stall, c.stage, phase, px.Addr())
			}
			msg := Quiet(err).Error()
			for _, w := range append(c.words, px.Addr(), "timeouts.response (now 300ms)") {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not say %q", msg, w)
				}
			}
			var ne interface{ Timeout() bool }
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("a stall is not a timeout: %v", err)
			}
		})
	}
}

// TestProgressDeadlineSlowUploadPasses: a throttled line that keeps moving
// bytes is never cut, however long the whole upload takes.
func TestProgressDeadlineSlowUploadPasses(t *testing.T) {
	em := stallEmulator(t)
	const rate = 512 << 10
	upload, ctype := multipartExe(t, 1200<<10) // over 2 s at 512 KB/s: several progress timeouts
	px := faultproxy.Start(t, em.URL(), faultproxy.Rule{Path: "UploadExe", Rate: rate})
	client := stallClient(t, px.URL())
	req, _ := http.NewRequest(http.MethodPost, strings.TrimSuffix(px.URL(), "/")+"/UploadExe.wc", bytes.NewReader(upload))
	req.Header.Set("Content-Type", ctype)
	start := time.Now()
	if err := readAll(client, req.WithContext(WithPhase(context.Background(), Phase{Name: "upload"}))); err != nil {
		t.Fatalf("a slow upload that kept moving was cut after %s: %v", time.Since(start), err)
	}
	took := time.Since(start)
	if took < 3*stallTimeout {
		t.Errorf("the throttled upload took %s: the proxy did not throttle, so this proves nothing", took)
	}
	if got := em.BodyBytes(); got < int64(len(upload)) {
		t.Errorf("the server read %d bytes, want %d", got, len(upload))
	}
	t.Logf("%d bytes in %s through a %d B/s line, progress timeout %s", len(upload), took, rate, stallTimeout)
}

// TestProgressDeadlineReplyWait: a phase's ReplyWait lets the server take
// longer than the progress timeout to start its reply (the swap), and a
// stall past it names ReplySetting.
func TestProgressDeadlineReplyWait(t *testing.T) {
	em := stallEmulator(t)
	px := faultproxy.Start(t, em.URL(), faultproxy.Rule{Mode: faultproxy.DelayReply, Delay: 3 * stallTimeout, Times: 1})
	client := stallClient(t, px.URL())
	get := func(p Phase) error {
		req, _ := http.NewRequestWithContext(WithPhase(context.Background(), p), http.MethodGet, strings.TrimSuffix(px.URL(), "/")+"/ModuleAdministration.wc", nil)
		return readAll(client, req)
	}
	if err := get(Phase{Name: "swap", ReplyWait: 10 * stallTimeout, ReplySetting: SettingSwap}); err != nil {
		t.Fatalf("a reply within ReplyWait failed: %v", err)
	}
	px.SetRules(faultproxy.Rule{Mode: faultproxy.StallHeaders})
	start := time.Now()
	err := get(Phase{Name: "swap", ReplyWait: 2 * stallTimeout, ReplySetting: SettingSwap})
	var stall *StallError
	if !errors.As(err, &stall) || stall.Setting != SettingSwap || stall.Idle != 2*stallTimeout {
		t.Fatalf("err = %v, want a stall that names %s after %s", err, SettingSwap, 2*stallTimeout)
	}
	if took := time.Since(start); took > bound {
		t.Errorf("took %s, want under %s", took, bound)
	}
}

// TestProgressDeadlineIdleConnection: a keep-alive connection that sits in
// the pool longer than the progress timeout is not cut: the next request
// reuses it.
func TestProgressDeadlineIdleConnection(t *testing.T) {
	em := stallEmulator(t)
	px := faultproxy.Start(t, em.URL())
	client := stallClient(t, px.URL())
	reused := make([]bool, 0, 2)
	for i := range 2 {
		if i > 0 {
			time.Sleep(3 * stallTimeout)
		}
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) }}
		ctx := httptrace.WithClientTrace(WithPhase(context.Background(), Phase{Name: "status"}), trace)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(px.URL(), "/")+"/ModuleAdministration.wc", nil)
		if err := readAll(client, req); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	if len(reused) != 2 || !reused[1] {
		t.Errorf("reused = %v: the idle connection was cut by the progress deadline", reused)
	}
	if n := px.Stats().Conns; n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestProgressDeadlineTLSAndNTLM: the phase reaches the connection under
// TLS (the trace sees the *tls.Conn), and through the legs of an NTLM
// login, whose 401s pass while the logged-in reply stalls.
func TestProgressDeadlineTLSAndNTLM(t *testing.T) {
	t.Run("tls", func(t *testing.T) {
		t.Parallel()
		certSrv := httptest.NewTLSServer(http.NotFoundHandler())
		certSrv.Close()
		em, err := emulator.New(emulator.Config{Flavor: emulator.Module715, Auth: emulator.AuthBasic, Users: map[string]string{"deploy": "pw"}, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if err := em.StartTLS("127.0.0.1:0", certSrv.TLS.Certificates[0]); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = em.Close() })
		em.Inject(emulator.Fault{Kind: emulator.FaultStall, Action: "status"})
		c, err := New(em.URL(), Options{Auth: AuthBasic, User: "deploy", Password: "pw", CAFile: writeCA(t, certSrv), ProgressTimeout: stallTimeout})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseIdleConnections()
		expectStall(t, c, em.URL()+"ModuleAdministration.wc", "status", StageWaiting)
	})
	t.Run("ntlm", func(t *testing.T) {
		t.Parallel()
		em := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: emulator.AuthNTLM, Domain: "WCEMU", Users: map[string]string{`WCEMU\deploy`: "pw"}})
		px := faultproxy.Start(t, em.URL(), faultproxy.Rule{Path: "ModuleAdministration", Mode: faultproxy.StallBody, Status: http.StatusOK})
		c, err := New(px.URL(), Options{Auth: AuthNTLM, User: `WCEMU\deploy`, Password: "pw", ProgressTimeout: stallTimeout})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseIdleConnections()
		expectStall(t, c, px.URL()+"ModuleAdministration.wc", "status", StageReading)
		ex := px.Stats().Exchanges
		if len(ex) < 2 || ex[0].Status != http.StatusUnauthorized || ex[len(ex)-1].Status != http.StatusOK {
			t.Errorf("exchanges %+v: want the 401 legs, then the stalled 200", ex)
		}
	})
}

func expectStall(t *testing.T, c *http.Client, url, phase, stage string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(WithPhase(ctx, Phase{Name: phase}), http.MethodGet, url, nil)
	start := time.Now()
	err := readAll(c, req)
	var stall *StallError
	if !errors.As(err, &stall) || stall.Phase != phase || stall.Stage != stage {
		t.Fatalf("err = %v, want a %s stall of the %s request", err, stage, phase)
	}
	if took := time.Since(start); took > bound {
		t.Errorf("took %s, want under %s", took, bound)
	}
}
