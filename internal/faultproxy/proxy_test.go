package faultproxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/faultproxy"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

func start(t *testing.T) *emulator.Server {
	return emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: emulator.AuthBasic, Users: map[string]string{"u": "p"}, InitialVersion: "1.0.0.0"})
}

// get fetches path through the proxy with a client that gives up after
// limit, returning the status and body.
func get(t *testing.T, px *faultproxy.Proxy, path string, limit time.Duration) (int, []byte, error) {
	t.Helper()
	return getWith(t, &http.Client{Transport: &http.Transport{}}, px, path, limit)
}

func getWith(t *testing.T, c *http.Client, px *faultproxy.Proxy, path string, limit time.Duration) (int, []byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(px.URL(), "/")+path, nil)
	req.SetBasicAuth("u", "p")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func TestPassAndCount(t *testing.T) {
	em := start(t)
	px := faultproxy.Start(t, em.URL())
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	for range 2 {
		code, body, err := getWith(t, c, px, "/ModuleAdministration.wc", 10*time.Second)
		if err != nil || code != 200 || !bytes.Contains(body, []byte("1.0.0.0")) {
			t.Fatalf("status %d err %v: the status page did not pass", code, err)
		}
	}
	st := px.Stats()
	if st.Conns != 1 || len(st.Exchanges) != 2 || st.Up == 0 || st.Down == 0 {
		t.Fatalf("stats %+v: want one keep-alive connection, two exchanges and bytes both ways", st)
	}
	for _, e := range st.Exchanges {
		if e.Mode != faultproxy.Pass || !e.Forwarded || !e.Answered || e.Status != 200 || e.ReplyBytes == 0 {
			t.Errorf("exchange %+v", e)
		}
	}
}

// TestGarbageAfterRealRequest: the server acts on the request (the swap
// happens) and the client gets a 200 whose body is garbage.
func TestGarbageAfterRealRequest(t *testing.T) {
	em := start(t)
	if err := sampleexe.WriteFile(em.UpdatePath(), sampleexe.Options{FileVersion: "2.0.0.0"}); err != nil {
		t.Fatal(err)
	}
	px := faultproxy.Start(t, em.URL(), faultproxy.Rule{Path: "updateexe", Mode: faultproxy.Garbage})
	code, body, err := get(t, px, "/UpdateExe.wc", 10*time.Second)
	if err != nil || code != 200 || string(body) != faultproxy.DefaultGarbage {
		t.Fatalf("status %d body %q err %v: want 200 and the garbage", code, body, err)
	}
	if n := countAction(em, "updateexe"); n != 1 {
		t.Errorf("the server saw %d swap requests, want 1", n)
	}
	if v := em.ExeVersion(); v != "2.0.0.0" {
		t.Errorf("the server runs %s: the swap behind the garbage did not happen", v)
	}
}

// TestDropAfterRequest: the server gets the whole request and finishes it;
// the client gets no reply.
func TestDropAfterRequest(t *testing.T) {
	em := start(t)
	px := faultproxy.Start(t, em.URL(), faultproxy.Rule{Path: "UpdateExe", Mode: faultproxy.DropAfterRequest, Times: 1})
	if _, _, err := get(t, px, "/UpdateExe.wc", 10*time.Second); err == nil {
		t.Fatal("the client got a reply")
	}
	waitFor(t, func() bool { return countAction(em, "updateexe") == 1 })
	e := px.Stats().Exchanges[0]
	if !e.Forwarded || e.Answered {
		t.Errorf("exchange %+v: want forwarded, not answered", e)
	}
	// Times: 1 — the next request passes.
	if code, _, err := get(t, px, "/ModuleAdministration.wc", 10*time.Second); err != nil || code != 200 {
		t.Errorf("after the drop: %d %v", code, err)
	}
}

// TestResetBefore: the server never sees the request.
func TestResetBefore(t *testing.T) {
	em := start(t)
	px := faultproxy.Start(t, em.URL(), faultproxy.Rule{Path: "UpdateExe", Mode: faultproxy.ResetBefore})
	if _, _, err := get(t, px, "/UpdateExe.wc", 10*time.Second); err == nil {
		t.Fatal("the client got a reply")
	}
	if n := countAction(em, "updateexe"); n != 0 {
		t.Errorf("the server saw %d swap requests, want none", n)
	}
}

// TestDelayAndStall: a delayed reply comes late but whole; a stalled one
// never comes, and Close ends the held exchange at once.
func TestDelayAndStall(t *testing.T) {
	em := start(t)
	const delay = 300 * time.Millisecond
	px := faultproxy.Start(t, em.URL(), faultproxy.Rule{Path: "ModuleAdministration", Mode: faultproxy.DelayReply, Delay: delay, Times: 1},
		faultproxy.Rule{Mode: faultproxy.StallBody, Bytes: 10})
	start := time.Now()
	if code, _, err := get(t, px, "/ModuleAdministration.wc", 10*time.Second); err != nil || code != 200 {
		t.Fatalf("delayed reply: %d %v", code, err)
	}
	if took := time.Since(start); took < delay {
		t.Errorf("the reply came after %s, before the delay of %s", took, delay)
	}
	done := make(chan error, 1)
	go func() {
		_, body, err := get(t, px, "/ModuleAdministration.wc", time.Minute)
		if len(body) != 10 {
			err = errors.Join(err, errors.New("not the 10 body bytes the rule lets through"))
		}
		done <- err
	}()
	waitFor(t, func() bool { return len(px.Stats().Exchanges) == 2 && px.Stats().Exchanges[1].ReplyBytes == 10 })
	_ = px.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("the stalled body ended without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the held exchange")
	}
}

func TestLoopbackOnly(t *testing.T) {
	if _, err := faultproxy.New("http://192.0.2.1:80/", faultproxy.Options{}); err == nil {
		t.Fatal("a proxy to a host that is not loopback was started")
	}
}

func countAction(em *emulator.Server, action string) int {
	n := 0
	for _, r := range em.Requests() {
		if r.Action == action {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatal("timed out waiting")
}
