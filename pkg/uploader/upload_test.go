package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// seen is what the test server observed about one request.
type seen struct {
	contentLength    int64
	transferEncoding []string
	contentType      string
	parts            []string // "name filename size"
	bodyBytes        int64
}

// moduleServer behaves like UploadExe.wc of module 7.15: it reads the
// multipart body (streaming), finds the .exe part and answers with the
// success page echoing its size.
type moduleServer struct {
	mu   sync.Mutex
	reqs []seen
	// before, when set, may answer instead (return true) or disturb the
	// connection; n counts requests from 1.
	before func(n int, w http.ResponseWriter, r *http.Request) bool
	n      atomic.Int32
}

func (m *moduleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(m.n.Add(1))
	if m.before != nil && m.before(n, w, r) {
		return
	}
	s := seen{contentLength: r.ContentLength, transferEncoding: r.TransferEncoding, contentType: r.Header.Get("Content-Type")}
	var exeSize int64 = -1
	_, params, err := mime.ParseMediaType(s.contentType)
	if err == nil {
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			k, _ := io.Copy(io.Discard, p)
			s.bodyBytes += k
			s.parts = append(s.parts, fmt.Sprintf("%s %s %d", p.FormName(), p.FileName(), k))
			if strings.HasSuffix(strings.ToLower(p.FileName()), ".exe") && exeSize < 0 {
				exeSize = k
			}
		}
	}
	m.mu.Lock()
	m.reqs = append(m.reqs, s)
	m.mu.Unlock()
	w.Header().Set("Content-Type", "text/html")
	if exeSize < 0 {
		w.WriteHeader(500)
		io.WriteString(w, modulePage("No files sent", "It appears that there was no file uploaded."))
		return
	}
	io.WriteString(w, uploadedPage(exeSize, ","))
}

func (m *moduleServer) requests() []seen {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]seen(nil), m.reqs...)
}

func newServer(t *testing.T, m *moduleServer) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return srv, &http.Client{Transport: tr}
}

func TestUploadOK(t *testing.T) {
	dir := t.TempDir()
	exe, _ := writeFile(t, dir, "WcTestApp.exe", 1670144)
	dll, _ := writeFile(t, dir, "WcTestApp_loader.dll", 4096)
	for _, withDLL := range []bool{false, true} {
		t.Run(fmt.Sprint("dll=", withDLL), func(t *testing.T) {
			m := &moduleServer{}
			srv, client := newServer(t, m)
			o := Options{URL: srv.URL + "/UploadExe.wc", ExePath: exe, Size: 1670144}
			wantParts := []string{"File WcTestApp.exe 1670144"}
			if withDLL {
				o.DLLPath = dll
				wantParts = append(wantParts, "Dll WcTestApp.dll 4096")
			}
			var last, total atomic.Int64
			o.Progress = func(sent, tot int64) { last.Store(sent); total.Store(tot) }
			res, err := Upload(context.Background(), client, o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Bytes != 1670144 || res.Attempts != 1 || res.UpdateFile == "" {
				t.Errorf("result %+v", res)
			}
			reqs := m.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.contentLength <= 1670144 || len(r.transferEncoding) != 0 {
				t.Errorf("Content-Length %d, Transfer-Encoding %v", r.contentLength, r.transferEncoding)
			}
			if !strings.HasPrefix(r.contentType, "multipart/form-data; boundary=") {
				t.Errorf("Content-Type %q", r.contentType)
			}
			if strings.Join(r.parts, "|") != strings.Join(wantParts, "|") {
				t.Errorf("parts %q, want %q", r.parts, wantParts)
			}
			if last.Load() != r.contentLength || total.Load() != r.contentLength {
				t.Errorf("progress ended at %d of %d, body %d", last.Load(), total.Load(), r.contentLength)
			}
		})
	}
}

// resetConn closes the connection with a TCP RST, like a crashed server or
// a proxy giving up.
func resetConn(t *testing.T, w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		t.Error("no hijacker")
		return
	}
	c, _, err := hj.Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

func TestUploadRetries(t *testing.T) {
	dir := t.TempDir()
	exe, _ := writeFile(t, dir, "a.exe", 300000)
	page503 := "<html><body><h1>503 Service Unavailable</h1></body></html>"
	tests := []struct {
		name     string
		before   func(t *testing.T) func(n int, w http.ResponseWriter, r *http.Request) bool
		retries  int
		attempts int    // requests the server should see
		want     string // error substring, "" = success
		code     exitcode.Code
	}{
		{"reset twice then ok", func(t *testing.T) func(int, http.ResponseWriter, *http.Request) bool {
			return func(n int, w http.ResponseWriter, r *http.Request) bool {
				if n <= 2 {
					io.CopyN(io.Discard, r.Body, 1000) // mid-body, as a dying server would
					resetConn(t, w)
					return true
				}
				return false
			}
		}, 3, 3, "", 0},
		{"closed before reply", func(t *testing.T) func(int, http.ResponseWriter, *http.Request) bool {
			return func(n int, w http.ResponseWriter, r *http.Request) bool {
				if n == 1 {
					io.Copy(io.Discard, r.Body)
					hj, _ := w.(http.Hijacker)
					c, _, _ := hj.Hijack()
					c.Close()
					return true
				}
				return false
			}
		}, 1, 2, "", 0},
		{"503 then ok", func(t *testing.T) func(int, http.ResponseWriter, *http.Request) bool {
			return func(n int, w http.ResponseWriter, r *http.Request) bool {
				if n == 1 {
					io.Copy(io.Discard, r.Body)
					w.WriteHeader(503)
					io.WriteString(w, page503)
					return true
				}
				return false
			}
		}, 2, 2, "", 0},
		{"502 always", func(t *testing.T) func(int, http.ResponseWriter, *http.Request) bool {
			return func(n int, w http.ResponseWriter, r *http.Request) bool {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(502)
				io.WriteString(w, "Bad Gateway")
				return true
			}
		}, 2, 3, "the server is unavailable (502): Bad Gateway; try again when it is back (after 3 attempts)", exitcode.Upload},
		{"reset, no retries", func(t *testing.T) func(int, http.ResponseWriter, *http.Request) bool {
			return func(n int, w http.ResponseWriter, r *http.Request) bool { resetConn(t, w); return true }
		}, 0, 1, "the server closed the connection while the EXE was being sent", exitcode.Upload},
		{"500 page is final", func(t *testing.T) func(int, http.ResponseWriter, *http.Request) bool {
			return func(n int, w http.ResponseWriter, r *http.Request) bool {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(500)
				io.WriteString(w, modulePage("Unable to save Update Exe file", "The save operation  failed: Access to the path 'C:\\d\\a.exe' is denied."))
				return true
			}
		}, 5, 1, "the server could not save the upload: The save operation failed: Access to the path", exitcode.Upload},
		{"401 is final", func(t *testing.T) func(int, http.ResponseWriter, *http.Request) bool {
			return func(n int, w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("WWW-Authenticate", "Negotiate")
				w.WriteHeader(401)
				io.WriteString(w, modulePage("Unauthorized Operation", "<p>Administration Page access requires that you log in.</p>"))
				return true
			}
		}, 5, 1, "refused the credentials (401): Unauthorized Operation", exitcode.Auth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &moduleServer{before: tc.before(t)}
			srv, client := newServer(t, m)
			var resets atomic.Int32
			var prev atomic.Int64
			progress := func(sent, total int64) {
				if sent < prev.Load() {
					resets.Add(1)
				}
				prev.Store(sent)
			}
			start := time.Now()
			res, err := Upload(context.Background(), client, Options{URL: srv.URL + "/UploadExe.wc", ExePath: exe, Retries: tc.retries, Backoff: 5 * time.Millisecond, Progress: progress})
			if got := int(m.n.Load()); got != tc.attempts {
				t.Errorf("server saw %d requests, want %d", got, tc.attempts)
			}
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.Attempts != tc.attempts || res.Bytes != 300000 {
					t.Errorf("result %+v", res)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err %v\nwant %q", err, tc.want)
				}
				if exitcode.Of(err) != tc.code {
					t.Errorf("exit code %v, want %v", exitcode.Of(err), tc.code)
				}
				if strings.Contains(err.Error(), srv.URL) || strings.Contains(err.Error(), "127.0.0.1") {
					t.Errorf("error names the server: %v", err)
				}
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

func TestUploadConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	exe, _ := writeFile(t, t.TempDir(), "a.exe", 100)
	_, err = Upload(context.Background(), &http.Client{Transport: &http.Transport{}}, Options{URL: "http://" + addr + "/UploadExe.wc", ExePath: exe, Retries: 2, Backoff: time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "after 3 attempts") || exitcode.Of(err) != exitcode.Upload {
		t.Fatalf("err %v", err)
	}
}

func TestUploadCancel(t *testing.T) {
	exe := sparseFile(t, 64<<20)
	// The server reads slowly, so the client is mid-body when cancelled.
	stop := make(chan struct{})
	m := &moduleServer{before: func(n int, w http.ResponseWriter, r *http.Request) bool {
		buf := make([]byte, 64<<10)
		for {
			if _, err := r.Body.Read(buf); err != nil {
				return true
			}
			select {
			case <-stop:
				return true
			case <-time.After(time.Millisecond):
			}
		}
	}}
	srv, client := newServer(t, m)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	var cancelledAt atomic.Int64
	progress := func(sent, total int64) {
		if sent > 4<<20 {
			once.Do(func() { cancelledAt.Store(sent); cancel() })
		}
	}
	start := time.Now()
	_, err := Upload(ctx, client, Options{URL: srv.URL, ExePath: exe, Retries: 3, Backoff: time.Millisecond, Progress: progress})
	close(stop)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if exitcode.Of(err) != exitcode.Interrupted {
		t.Errorf("exit code %v", exitcode.Of(err))
	}
	if cancelledAt.Load() == 0 {
		t.Error("never cancelled")
	}
	if m.n.Load() != 1 {
		t.Errorf("%d requests: a cancelled upload was retried", m.n.Load())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v", d)
	}
	t.Logf("cancelled at %d bytes, Upload returned after %v", cancelledAt.Load(), time.Since(start))
}

func TestUploadFileChanges(t *testing.T) {
	tests := []struct {
		name   string
		during bool
	}{{"before the upload", false}, {"during the upload", true}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exe, _ := writeFile(t, t.TempDir(), "a.exe", 8<<20)
			m := &moduleServer{}
			srv, client := newServer(t, m)
			o := Options{URL: srv.URL, ExePath: exe, Retries: 3, Backoff: time.Millisecond, Size: 8 << 20}
			if tc.during {
				var once sync.Once
				o.Progress = func(sent, total int64) {
					if sent > 1<<20 {
						once.Do(func() {
							if err := os.Chtimes(exe, time.Now(), time.Now().Add(time.Minute)); err != nil {
								t.Error(err)
							}
						})
					}
				}
			} else {
				o.Size = 8<<20 - 1 // what the plan read earlier
			}
			_, err := Upload(context.Background(), client, o)
			if !errors.Is(err, ErrChanged) {
				t.Fatalf("err %v, want ErrChanged", err)
			}
			if !strings.Contains(err.Error(), "the EXE changed during the deploy") || exitcode.Of(err) != exitcode.Upload {
				t.Errorf("err %v (code %v)", err, exitcode.Of(err))
			}
			if n := m.n.Load(); n > 1 {
				t.Errorf("%d requests: a changed file was re-sent", n)
			}
		})
	}
}

// A 200 MB upload must not cost 200 MB of memory: the body is streamed from
// the file, never buffered.
func TestUploadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("200 MB over loopback")
	}
	const size = 200 << 20
	exe := sparseFile(t, size)
	// The server counts raw bytes: parsing 200 MB of multipart would only
	// slow the test down.
	var got, clen atomic.Int64
	var te atomic.Value
	m := &moduleServer{before: func(n int, w http.ResponseWriter, r *http.Request) bool {
		clen.Store(r.ContentLength)
		te.Store(r.TransferEncoding)
		k, _ := io.Copy(io.Discard, r.Body)
		got.Store(k)
		io.WriteString(w, uploadedPage(size, ","))
		return true
	}}
	srv, client := newServer(t, m)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := Upload(context.Background(), client, Options{URL: srv.URL + "/UploadExe.wc", ExePath: exe, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if res.Bytes != size || got.Load() != clen.Load() || clen.Load() <= size {
		t.Errorf("server read %d bytes, Content-Length %d", got.Load(), clen.Load())
	}
	if enc, _ := te.Load().([]string); len(enc) != 0 {
		t.Errorf("Transfer-Encoding %v", enc)
	}
	// Client and server both run in this process; everything they
	// allocated together must stay far below the file size.
	alloc := after.TotalAlloc - before.TotalAlloc
	heap := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("200 MB upload: TotalAlloc +%d KB, HeapInuse %+d KB", alloc>>10, heap>>10)
	if alloc > size/20 || heap > 8<<20 {
		t.Errorf("memory grew with the file: TotalAlloc +%d, HeapInuse %+d", alloc, heap)
	}
}

// sparseFile makes a file of size bytes that costs no disk space.
func sparseFile(t *testing.T, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "big.exe")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("MZ"); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return p
}
