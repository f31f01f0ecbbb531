package uploader

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestRequestLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct{ request, want int64 }{
		{0, 29 * mib},                   // never below the stock 30,000,000 bytes
		{1000, 29 * mib},                // a small upload refused by a lowered limit
		{DefaultRequestLimit, 36 * mib}, // 37,500,000 rounded up
		{31_000_400, 37 * mib},          // the 31 MB EXE: 38,750,500
		{32 * mib, 40 * mib},            // exactly a quarter more
	} {
		if got := RequestLimit(tc.request); got != tc.want {
			t.Errorf("RequestLimit(%d) = %d, want %d", tc.request, got, tc.want)
		}
		if got := RequestLimit(tc.request); got%1024 != 0 || got < DefaultRequestLimit || got < tc.request {
			t.Errorf("RequestLimit(%d) = %d: not whole KB, or below the default or the request", tc.request, got)
		}
	}
}

func TestLimitAdviceByFlavor(t *testing.T) {
	const request = 31_000_400 // limit 38,797,312 bytes = 37,888 KB
	tests := []struct {
		flavor string
		want   []string // in String()
		not    []string
	}{
		{"module", []string{`<requestLimits maxAllowedContentLength="38797312" /> (bytes`, `<httpRuntime maxRequestLength="37888" /> (KB`}, []string{"Kestrel"}},
		{"module-7.14", []string{"maxAllowedContentLength", "maxRequestLength"}, []string{"Kestrel"}},
		{"webserver", []string{`Kestrel's MaxRequestBodySize to 38797312 bytes`, `when the Web Server is hosted in IIS also <requestLimits maxAllowedContentLength="38797312"`}, []string{"httpRuntime", "system.web)"}},
		{"WebServer-7.26", []string{"MaxRequestBodySize"}, []string{"httpRuntime"}},
		{"isapi", []string{`maxAllowedContentLength="38797312"`}, []string{"httpRuntime", "Kestrel"}},
		{"", []string{"maxAllowedContentLength", "maxRequestLength", "MaxRequestBodySize"}, nil},
	}
	for _, tc := range tests {
		a := LimitAdvice(tc.flavor, request)
		s, cfg := a.String(), a.Config()
		for _, w := range tc.want {
			if !strings.Contains(s, w) {
				t.Errorf("%q: advice lacks %q: %s", tc.flavor, w, s)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(s, w) || strings.Contains(cfg, w) {
				t.Errorf("%q: advice names %q: %s\n%s", tc.flavor, w, s, cfg)
			}
		}
		// Every value in the advice is the one limit, in bytes or in KB.
		for _, m := range regexp.MustCompile(`[0-9]{4,}`).FindAllString(s+cfg, -1) {
			if m != "38797312" && m != "37888" {
				t.Errorf("%q: value %s is neither the limit in bytes nor in KB", tc.flavor, m)
			}
		}
	}
}

// resetServer answers nothing: it reads a request's headers and resets the
// connection while the body is still coming, as IIS or Kestrel may do with
// an upload above their limit.
func resetServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			r := bufio.NewReader(c)
			if _, err := http.ReadRequest(r); err == nil {
				_, _ = r.Discard(64 << 10) // some of the body, then the reset
			}
			_ = c.(*net.TCPConn).SetLinger(0)
			_ = c.Close()
		}
	}()
	return "http://" + l.Addr().String() + "/UploadExe.wc"
}

// The reset path gives the same per-flavor advice as the 404.13 and
// Kestrel pages: a Web Server is told about MaxRequestBodySize, a module
// about its two web.config settings.
func TestResetDuringUploadAdvice(t *testing.T) {
	exe, _ := writeFile(t, t.TempDir(), "App.exe", 8<<20)
	url := resetServer(t)
	for flavor, want := range map[string][]string{
		"webserver": {"MaxRequestBodySize", "maxAllowedContentLength"},
		"module":    {"maxAllowedContentLength", "maxRequestLength"},
	} {
		_, err := Upload(context.Background(), &http.Client{Transport: &http.Transport{}}, Options{URL: url, ExePath: exe, Flavor: flavor})
		if err == nil {
			t.Fatalf("%s: the upload into a reset succeeded", flavor)
		}
		if !strings.Contains(err.Error(), "closed the connection") {
			t.Skipf("%s: the client saw no reset on this system: %v", flavor, err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: the reset's error lacks %q: %v", flavor, w, err)
			}
		}
		if flavor == "module" && strings.Contains(err.Error(), "Kestrel") {
			t.Errorf("module: the reset's error names Kestrel: %v", err)
		}
	}
}

// docs/troubleshooting.md shows the advice for a 31 MB EXE between markers;
// the block is generated here, so the page cannot drift from the code.
// Rewrite it with: WCDEPLOY_FIX_DOCS=1 go test ./pkg/uploader -run TestTroubleshootingExample
func TestTroubleshootingExample(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "troubleshooting.md")
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- size-advice:begin -->\n", "<!-- size-advice:end -->"
	i, j := strings.Index(string(page), begin), strings.Index(string(page), end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q block", path, begin, end)
	}
	want := troubleshootingExample()
	got := string(page[i+len(begin) : j])
	if got == want {
		return
	}
	if os.Getenv("WCDEPLOY_FIX_DOCS") != "" {
		fixed := string(page[:i+len(begin)]) + want + string(page[j:])
		if err := os.WriteFile(path, []byte(fixed), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the size-limit example in %s is out of date; rewrite it with WCDEPLOY_FIX_DOCS=1 go test ./pkg/uploader -run TestTroubleshootingExample\n--- got\n%s\n--- want\n%s", path, got, want)
}

// troubleshootingExample is the page's example: the advice for each
// flavor for an upload of 31,000,000 bytes.
func troubleshootingExample() string {
	const request = 31_000_000
	a := LimitAdvice("module", request)
	var b strings.Builder
	fmt.Fprintf(&b, "For an upload of %d bytes wcdeploy advises %d bytes, which is %d KB:\n", request, a.Limit, a.Limit/1024)
	for _, f := range []struct{ flavor, title string }{
		{"module", "IIS .NET module"},
		{"webserver", "Web Connection Web Server"},
		{"isapi", "ISAPI (wc.dll)"},
	} {
		fmt.Fprintf(&b, "\n%s:\n\n```\n%s\n```\n", f.title, LimitAdvice(f.flavor, request).Config())
	}
	return b.String()
}
