package emulator

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// transcript is one recorded reply of the real module.
type transcript struct {
	status int
	header http.Header
	body   string
}

func readTranscript(t *testing.T, flavor, name string) transcript {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "transcripts", flavor, name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for strings.HasPrefix(s, "#") {
		_, s, _ = strings.Cut(s, "\n")
	}
	s = strings.TrimPrefix(s, "HTTP/1.1 100 Continue\r\n\r\n")
	head, body, ok := strings.Cut(s, "\r\n\r\n")
	if !ok {
		t.Fatalf("%s: no header end", name)
	}
	lines := strings.Split(head, "\r\n")
	var tr transcript
	if _, err := fmt.Sscanf(lines[0], "HTTP/1.1 %d", &tr.status); err != nil {
		t.Fatalf("%s: status line %q", name, lines[0])
	}
	tr.header = http.Header{}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ": ")
		tr.header.Add(k, v)
	}
	// The recorded paths were shortened to <run>/…, so Content-Length no
	// longer fits; the file adds one final newline after the body.
	tr.body = strings.TrimSuffix(body, "\n")
	if n, err := strconv.Atoi(tr.header.Get("Content-Length")); err == nil && n <= len(body) && !strings.Contains(body, "<run>") {
		tr.body = body[:n]
	}
	return tr
}

var (
	reDateEN   = regexp.MustCompile(`\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d:\d\d [AP]M`)
	reMonoFind = regexp.MustCompile(`Could not find file "([^"]*)"`)
	reMonoDeny = regexp.MustCompile(`Access to the path "([^"]*)" is denied\.`)
)

// normalise maps an emulator body and a transcript body to comparable text:
// the deploy folder, host and dates differ by run; Mono words two
// exceptions differently from .NET (transcripts/README.md).
func normalise(s *Server, body string) string {
	body = strings.ReplaceAll(body, s.cfg.Dir, "<run>/deploy")
	body = strings.ReplaceAll(body, strings.TrimSuffix(strings.TrimPrefix(s.URL(), "http://"), "/"), "127.0.0.1:18181")
	body = reMonoFind.ReplaceAllString(body, "Could not find file '$1'.")
	body = reMonoDeny.ReplaceAllString(body, "Access to the path '$1' is denied.")
	return reDateEN.ReplaceAllString(body, "<date>")
}

// exe writes a sample EXE and returns its path and bytes.
func exe(t testing.TB, dir, name, version string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := sampleexe.WriteFile(p, sampleexe.Options{FileVersion: version, Size: size}); err != nil {
		t.Fatal(err)
	}
	return p
}

// part is one multipart part; noFilename sends a plain field with the
// content (curl -F name=<file).
type part struct {
	name, filename string
	noFilename     bool
	content        []byte
}

func multipartBody(t testing.TB, parts ...part) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p.noFilename {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.name))
		} else {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.filename))
			h.Set("Content-Type", "application/octet-stream")
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.content)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type reply struct {
	status int
	header http.Header
	body   string
}

// do sends one request with an optional Basic login ("user:pass").
func do(t testing.TB, c *http.Client, method, url, login, ctype string, body []byte) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if login != "" {
		u, p, _ := strings.Cut(login, ":")
		req.SetBasicAuth(u, p)
	}
	if c == nil {
		c = &http.Client{Timeout: 20 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// startT is emulatortest.Start for this package's own tests (which cannot
// import it: it imports this package).
func startT(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.SwapDelay == 0 {
		cfg.SwapDelay = 50 * time.Millisecond
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("emulator: %v", err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("emulator: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
