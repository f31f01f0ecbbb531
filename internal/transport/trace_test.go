package transport

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
)

// baseOf is the *http.Transport under a client made by New, below the
// request trace when there is one.
func baseOf(c *http.Client) *http.Transport {
	rt := c.Transport.(*authTransport).base
	if tr, ok := rt.(*traceTransport); ok {
		rt = tr.next
	}
	return rt.(*http.Transport)
}

// logs collects RequestLogs from several goroutines.
type logs struct {
	mu   sync.Mutex
	recs []RequestLog
}

func (l *logs) add(r RequestLog) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r)
}

func (l *logs) all() []RequestLog {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]RequestLog(nil), l.recs...)
}

// waitRequests waits until the emulator has logged n requests (it logs
// each just after answering it).
func waitRequests(t *testing.T, em *emulator.Server, n int) []emulator.RequestLog {
	t.Helper()
	reqs := em.Requests()
	for end := time.Now().Add(5 * time.Second); len(reqs) < n && time.Now().Before(end); reqs = em.Requests() {
		time.Sleep(5 * time.Millisecond)
	}
	return reqs
}

// TestTraceEveryLeg: against the emulator, the trace has one record per
// request the server saw, with its method, path, status and body bytes,
// and names each auth leg; no record holds the password or a token.
func TestTraceEveryLeg(t *testing.T) {
	cases := []struct {
		name, emAuth, auth string
		login              []string // Auth of the status page GET's records
		challenges         []string
	}{
		// Forced NTLM starts the handshake at once: no anonymous probe first.
		{"ntlm", emulator.AuthNTLM, "ntlm", []string{"NTLM 1/3", "NTLM 3/3"}, []string{"NTLM 2/3", ""}},
		{"auto to ntlm", emulator.AuthNTLM, "auto", []string{"none", "NTLM 1/3", "NTLM 3/3"}, []string{"offers Negotiate, NTLM", "NTLM 2/3", ""}},
		{"basic", emulator.AuthBasic, "basic", []string{"Basic"}, []string{""}},
		{"auto to basic", emulator.AuthBasic, "auto", []string{"none", "Basic"}, []string{"offers Basic", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			em := emulatortest.Start(t, emulator.Config{Auth: tc.emAuth, Domain: "WCEMU", Users: map[string]string{`WCEMU\deploy`: pw}})
			var l logs
			c := mustNew(t, em.URL(), Options{Auth: tc.auth, User: `WCEMU\deploy`, Password: pw, Name: "web1", Log: l.add})
			if resp, _, err := do(t, c, "GET", em.URL()+"ModuleAdministration.wc", nil); err != nil || resp.StatusCode != 200 {
				t.Fatalf("login: %v %v", resp, err)
			}
			body, ctype := multipartExe(t, 2<<20)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", em.URL()+"UploadExe.wc", bytes.NewReader(body))
			req.Header.Set("Content-Type", ctype)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()

			recs := l.all()
			reqs := waitRequests(t, em, len(recs))
			if len(recs) != len(reqs) || len(recs) != len(tc.login)+1 {
				t.Fatalf("%d records for %d requests on the wire (want %d):\n%v", len(recs), len(reqs), len(tc.login)+1, recs)
			}
			for i, r := range recs {
				w := reqs[i]
				if r.Server != "web1" || r.Method != w.Method || !strings.HasSuffix(r.Link, w.Path) || r.Status != w.Status || r.Sent != w.BodyBytes || r.Err != nil {
					t.Errorf("record %d %+v, the server saw %+v", i, r, w)
				}
				if r.Duration <= 0 || (r.Status == 200 && r.Received == 0) {
					t.Errorf("record %d: duration %v, %d bytes received", i, r.Duration, r.Received)
				}
				if i < len(tc.login) && (r.Auth != tc.login[i] || r.Challenge != tc.challenges[i]) {
					t.Errorf("record %d: auth %q answer %q, want %q %q", i, r.Auth, r.Challenge, tc.login[i], tc.challenges[i])
				}
				line := r.String()
				t.Log(line)
				basic := base64.StdEncoding.EncodeToString([]byte(`WCEMU\deploy:` + pw))
				if strings.Contains(line, pw) || strings.Contains(line, basic) || strings.Contains(line, "TlRMTVNT") {
					t.Errorf("a credential in %q", line)
				}
			}
			up := recs[len(recs)-1]
			if up.Method != "POST" || up.Sent != int64(len(body)) || up.Status != 200 {
				t.Errorf("upload record %+v, body %d bytes", up, len(body))
			}
		})
	}
}

// TestTraceStreams: the request body goes out as it is read, never
// gathered first: the body below waits for the server to have received
// its first part before giving the rest.
func TestTraceStreams(t *testing.T) {
	got := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1024)
		if _, err := io.ReadFull(r.Body, buf); err == nil {
			close(got)
		}
		n, _ := io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, strings.Repeat("x", int(n%1000)))
	}))
	defer srv.Close()
	var l logs
	c := mustNew(t, srv.URL, Options{Log: l.add})
	const first, rest = 64 << 10, 1 << 20
	body := io.MultiReader(bytes.NewReader(make([]byte, first)), &afterSignal{ready: got, r: bytes.NewReader(make([]byte, rest))})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "PUT", srv.URL+"/up?password=hunter22&x=1", io.NopCloser(body))
	req.ContentLength = first + rest
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("the upload did not stream: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	recs := l.all()
	if len(recs) != 1 || recs[0].Sent != first+rest || recs[0].Received != int64(len(b)) || recs[0].Status != 200 {
		t.Fatalf("records %+v", recs)
	}
	if recs[0].Link != "/up?password=REDACTED&x=1" || recs[0].Auth != "none" {
		t.Errorf("link %q auth %q", recs[0].Link, recs[0].Auth)
	}
}

type afterSignal struct {
	ready <-chan struct{}
	r     io.Reader
}

func (a *afterSignal) Read(p []byte) (int, error) {
	<-a.ready
	return a.r.Read(p)
}

// TestTraceFailure: a request that gets no reply is still one record.
func TestTraceFailure(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	var l logs
	c := mustNew(t, u, Options{Log: l.add})
	if _, _, err := do(t, c, "GET", u+"/Admin.aspx", nil); err == nil {
		t.Fatal("a closed server answered")
	}
	recs := l.all()
	if len(recs) != 1 || recs[0].Err == nil || recs[0].Status != 0 || !strings.Contains(recs[0].String(), "failed (") {
		t.Fatalf("records %+v", recs)
	}
}

func TestTraceLink(t *testing.T) {
	tr := &traceTransport{host: "h", password: "Se cret/&1"}
	for in, want := range map[string]string{
		"https://u:p@h/App/ModuleAdministration.wc":               "/App/ModuleAdministration.wc",
		"https://h/App/wc.wc?_maintain~ShowStatus":                "/App/wc.wc?_maintain~ShowStatus",
		"https://h/x?api_key=1&Token=2&user=bob&Pwd=3&sig=4":      "/x?api_key=REDACTED&Token=REDACTED&user=bob&Pwd=REDACTED&sig=REDACTED",
		"https://h/x?q=" + url.QueryEscape("Se cret/&1") + "&y=2": "/x?q=REDACTED&y=2",
		"https://h/" + url.PathEscape("Se cret/&1") + "/file.exe": "/REDACTED/file.exe",
		"https://other:8443/sso?ticket=1":                         "https://other:8443/sso?ticket=REDACTED",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.link(u); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

func TestAuthLegs(t *testing.T) {
	ntlm := func(typ byte) string {
		return base64.StdEncoding.EncodeToString(append([]byte("NTLMSSP\x00"), typ, 0, 0, 0))
	}
	// A SPNEGO NegTokenInit offering Kerberos (the start of a real one).
	krb := base64.StdEncoding.EncodeToString([]byte{0x60, 0x82, 0x01, 0x00, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa0, 0x30, 0x30, 0x2e, 0xa0, 0x30, 0x30, 0x2e,
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02})
	for h, want := range map[string]string{
		"": "none",
		"Basic " + base64.StdEncoding.EncodeToString([]byte("a:b")): "Basic",
		"NTLM " + ntlm(1):      "NTLM 1/3",
		"NTLM " + ntlm(3):      "NTLM 3/3",
		"Negotiate " + ntlm(1): "Negotiate NTLM 1/3",
		"Negotiate " + krb:     "Negotiate Kerberos",
		"Negotiate !!":         "Negotiate",
		"Bearer abc.def":       "scheme Bearer",
	} {
		hd := http.Header{}
		if h != "" {
			hd.Set("Authorization", h)
		}
		if got := authLeg(hd); got != want {
			t.Errorf("%q: %q, want %q", h, got, want)
		}
	}
	ch := http.Header{}
	ch.Add("WWW-Authenticate", "NTLM "+ntlm(2))
	if got := challengeLeg(ch); got != "NTLM 2/3" {
		t.Errorf("challenge: %q", got)
	}
}

// TestTraceRedirect: each hop is a record; one on another host shows it.
func TestTraceRedirect(t *testing.T) {
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "there") }))
	defer b.Close()
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, b.URL+"/App/page?token=abc", http.StatusFound)
	}))
	defer a.Close()
	var l logs
	c := mustNew(t, a.URL, Options{Name: "web1", Log: l.add})
	if resp, body, err := do(t, c, "GET", a.URL+"/App/", nil); err != nil || body != "there" {
		t.Fatalf("%v %v %q", resp, err, body)
	}
	recs := l.all()
	if len(recs) != 2 || recs[0].Status != 302 || recs[0].Link != "/App/" || recs[1].Status != 200 ||
		recs[1].Link != b.URL+"/App/page?token=REDACTED" || recs[1].Server != "web1" {
		t.Fatalf("records %+v", recs)
	}
}
