package swapper

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// rawServer speaks HTTP/1.1 by hand so a test can drop a connection after
// reading a request and before writing any reply: the case in which
// net/http would re-send an idempotent request by itself.
type rawServer struct {
	ln      net.Listener
	swaps   atomic.Int32
	version atomic.Value // what the status page shows
	// onSwap writes the reply to the swap request or drops the connection
	// (return false).
	onSwap func(n int, w *bufio.Writer) bool
	mu     sync.Mutex
	bad    []string // problems seen in requests
}

func startRaw(t *testing.T, onSwap func(n int, w *bufio.Writer) bool) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, onSwap: onSwap}
	s.version.Store("1.2.3.4")
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	return s
}

func (s *rawServer) url(path string) string { return "http://" + s.ln.Addr().String() + path }

func (s *rawServer) serve(c net.Conn) {
	defer c.Close()
	br, bw := bufio.NewReader(c), bufio.NewWriter(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.ContentLength != 0 || len(req.TransferEncoding) != 0 || req.Header.Get("Content-Length") != "" || req.Method != http.MethodGet {
			s.mu.Lock()
			s.bad = append(s.bad, fmt.Sprintf("%s %s CL=%d TE=%v", req.Method, req.URL, req.ContentLength, req.TransferEncoding))
			s.mu.Unlock()
		}
		io.Copy(io.Discard, req.Body)
		switch req.URL.Path {
		case "/UpdateExe.wc":
			n := int(s.swaps.Add(1))
			if !s.onSwap(n, bw) {
				return // dropped: nothing written
			}
		default:
			reply(bw, 200, statusPage(s.version.Load().(string)))
		}
		if err := bw.Flush(); err != nil {
			return
		}
	}
}

func reply(w *bufio.Writer, status int, body string) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", status, http.StatusText(status), len(body), body)
}

func (s *rawServer) problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bad...)
}

func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestSwapOK(t *testing.T) {
	srv := startRaw(t, func(n int, w *bufio.Writer) bool {
		reply(w, 200, swapPage("1.2.3.5", "1,670"))
		return true
	})
	client := newClient(t)
	got, err := Swap(context.Background(), client, srv.url("/UpdateExe.wc"), srv.url("/ModuleAdministration.wc"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != "1.2.3.5" || got.SizeKB != 1670 || got.FileName != "App.exe" {
		t.Errorf("got %+v", got)
	}
	if err := Verify("1.2.3.5", 1670144, got); err != nil {
		t.Error(err)
	}
	// A body-less GET on the wire: no Content-Length, no Transfer-Encoding.
	if p := srv.problems(); len(p) != 0 {
		t.Errorf("requests on the wire: %v", p)
	}
}

// The swap request goes out on a reused keep-alive connection (as it does
// after preflight), the server swaps and the connection dies before a reply.
// net/http would re-send a plain GET; Swap's request must go out once.
func TestSwapNeverResent(t *testing.T) {
	drop := func(n int, w *bufio.Writer) bool { return false }
	t.Run("plain GET is re-sent by net/http", func(t *testing.T) {
		// Shows that the scenario is real, so the next subtest means something.
		srv := startRaw(t, drop)
		client := newClient(t)
		if _, err := FetchStatus(context.Background(), client, srv.url("/ModuleAdministration.wc")); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, srv.url("/UpdateExe.wc"), nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
		if n := srv.swaps.Load(); n < 2 {
			t.Skipf("this Go release no longer re-sends idempotent requests (%d sent)", n)
		}
	})
	t.Run("Swap", func(t *testing.T) {
		srv := startRaw(t, drop)
		client := newClient(t)
		if _, err := FetchStatus(context.Background(), client, srv.url("/ModuleAdministration.wc")); err != nil {
			t.Fatal(err)
		}
		srv.version.Store("1.2.3.5") // the swap happened
		_, err := Swap(context.Background(), client, srv.url("/UpdateExe.wc"), srv.url("/ModuleAdministration.wc"), 5*time.Second)
		if n := srv.swaps.Load(); n != 1 {
			t.Fatalf("the swap request was sent %d times", n)
		}
		var lost *LostReplyError
		if !errors.As(err, &lost) || lost.Status == nil || lost.Status.Version != "1.2.3.5" {
			t.Fatalf("err %v, want a lost reply with the status page", err)
		}
		if !strings.Contains(err.Error(), "the swap reply was lost (") || !strings.Contains(err.Error(), "the server now runs 1.2.3.5 (status page)") {
			t.Errorf("message %q", err)
		}
		if exitcode.Of(err) != exitcode.Swap {
			t.Errorf("exit code %v", exitcode.Of(err))
		}
		if strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("error names the server: %v", err)
		}
		if p := srv.problems(); len(p) != 0 {
			t.Errorf("requests on the wire: %v", p)
		}
	})
}

func TestSwapTimeout(t *testing.T) {
	release := make(chan struct{})
	var swaps atomic.Int32
	statusCode := atomic.Int32{}
	statusCode.Store(200)
	mux := http.NewServeMux()
	mux.HandleFunc("/UpdateExe.wc", func(w http.ResponseWriter, r *http.Request) {
		swaps.Add(1)
		select { // the module's hold, unload and 3 s sleep, much longer
		case <-release:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/ModuleAdministration.wc", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(statusCode.Load()))
		io.WriteString(w, statusPage("1.2.3.5"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	client := newClient(t)

	start := time.Now()
	_, err := Swap(context.Background(), client, srv.URL+"/UpdateExe.wc", srv.URL+"/ModuleAdministration.wc", 150*time.Millisecond)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
	var lost *LostReplyError
	if !errors.As(err, &lost) || lost.Status == nil {
		t.Fatalf("err %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline not in the chain: %v", err)
	}
	want := "the swap reply was lost (no reply in time: context deadline exceeded); the server now runs 1.2.3.5 (status page)"
	if !strings.HasPrefix(err.Error(), want) || exitcode.Of(err) != exitcode.Swap {
		t.Errorf("err %q (code %v)\nwant prefix %q", err, exitcode.Of(err), want)
	}
	if swaps.Load() != 1 {
		t.Errorf("%d swap requests", swaps.Load())
	}

	// The status page fails too.
	statusCode.Store(500)
	_, err = Swap(context.Background(), client, srv.URL+"/UpdateExe.wc", srv.URL+"/ModuleAdministration.wc", 100*time.Millisecond)
	if !errors.As(err, &lost) || lost.Status != nil || !strings.Contains(err.Error(), "the status page could not be read either (the status page answered 500") {
		t.Errorf("err %v", err)
	}
}

func TestSwapCancel(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/UpdateExe.wc", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := Swap(ctx, newClient(t), srv.URL+"/UpdateExe.wc", srv.URL+"/ModuleAdministration.wc", time.Minute)
	if !errors.Is(err, context.Canceled) || exitcode.Of(err) != exitcode.Interrupted {
		t.Fatalf("err %v (code %v)", err, exitcode.Of(err))
	}
	if !strings.Contains(err.Error(), "may or may not have happened") {
		t.Errorf("message %q", err)
	}
}

func TestSwapReplies(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		// statusPage answers the status page after a 401.
		statusOK bool
		err      string
		code     exitcode.Code
	}{
		{"locked", 500, modulePage("Unable to copy Update Exe file", "The file copy failed: The process cannot access the file 'C:\\a\\App.exe' because it is being used by another process.<br/><br/>x to y"), false,
			"the EXE is locked", exitcode.Swap},
		{"401", 401, modulePage("Unauthorized Operation", "<p>Administration Page access requires that you log in.</p>"), false,
			"refused the credentials (401): Unauthorized Operation", exitcode.Auth},
		{"401 but status answers", 401, modulePage("Unauthorized Operation", "<p>x</p>"), true,
			"yet the status page answers and shows 1.2.3.5 running, so the swap may have happened", exitcode.Swap},
		{"login page", 200, "<html><head><title>Sign in</title></head></html>", false, "not with the swap page", exitcode.Swap},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("/UpdateExe.wc", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			mux.HandleFunc("/ModuleAdministration.wc", func(w http.ResponseWriter, r *http.Request) {
				if !tc.statusOK {
					w.WriteHeader(401)
					return
				}
				io.WriteString(w, statusPage("1.2.3.5"))
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			_, err := Swap(context.Background(), newClient(t), srv.URL+"/UpdateExe.wc", srv.URL+"/ModuleAdministration.wc", 5*time.Second)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v\nwant %q", err, tc.err)
			}
			if exitcode.Of(err) != tc.code {
				t.Errorf("exit code %v, want %v", exitcode.Of(err), tc.code)
			}
		})
	}
}

func TestFetchStatus(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, statusPage("7.0.1 beta")) })
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html><head><title>Sign in</title></head></html>")
	})
	mux.HandleFunc("/auth", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		io.WriteString(w, modulePage("Unauthorized Operation", "<p>x</p>"))
	})
	mux.HandleFunc("/forbidden", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := newClient(t)
	st, err := FetchStatus(context.Background(), client, srv.URL+"/ok")
	if err != nil || st.Version != "7.0.1 beta" || st.ExeFile != `C:\WebApps\App\deploy\App.exe` {
		t.Fatalf("%+v, %v", st, err)
	}
	for path, want := range map[string]string{
		"/login":     "not with the status page (a login page or proxy?): Sign in",
		"/auth":      "refused the credentials (401)",
		"/forbidden": "denied access (403)",
		"/missing":   "not found (404)",
	} {
		_, err := FetchStatus(context.Background(), client, srv.URL+path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
		wantCode := exitcode.Unexpected
		if path == "/auth" || path == "/forbidden" {
			wantCode = exitcode.Auth
		}
		if exitcode.Of(err) != wantCode {
			t.Errorf("%s: code %v", path, exitcode.Of(err))
		}
	}
}
