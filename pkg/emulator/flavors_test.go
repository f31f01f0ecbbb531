package emulator

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var users = map[string]string{"wcadmin": "s3cret"}

func TestRouting(t *testing.T) {
	cases := []struct {
		flavor Flavor
		target string
		want   string // canonical action, "page", or "404"
	}{
		{Module714, "/UpdateExe.wc", "updateexe"},
		{Module714, "/app/admin/UPDATEEXE.WC?t=1", "updateexe"},
		{Module714, "/wc.wc?_maintain~UpdateExe", "updateexe"},
		{Module714, "/wc.wc?_maintain%7Euploadexe", "uploadexe"},
		{Module714, "/wc.wc?_maintain~UpdateExe&t=1", "updateexe&t=1"},
		{Module714, "/wc.wc?_maintain", "page"},
		{Module714, "/ShowStatusJson.wc", "page"},
		{Module714, "/", "page"},
		{Module714, "/logo.png", "404"},
		{WebServer726, "/ShowStatusJson.wc", "showstatusjson"},
		{WebServer726, "/UpdateExe.wp", "404"},
		{ISAPI, "/wc.wc?_maintain~UpdateExe", "updateexe"},
		{ISAPI, "/wc.wc?_MAINTAIN~SHOWSTATUS", "showstatus"},
		{ISAPI, "/wc.wc?wwMaint~FileUpload", "uploadexe"},
		{ISAPI, "/UpdateExe.wc", "page"},
	}
	for _, tc := range cases {
		s, err := New(Config{Flavor: tc.flavor, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", "http://h"+tc.target, nil)
		rt := s.resolve(req)
		got := strings.TrimPrefix(rt.action, "isapi:")
		if !rt.handled {
			got = "404"
		} else if got == "" {
			got = "page"
		}
		if got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.flavor, tc.target, got, tc.want)
		}
		s.Close()
	}
}

func FuzzResolve(f *testing.F) {
	for _, seed := range []string{"/UpdateExe.wc", "/wc.wc?_maintain~UpdateExe&t=1", "/wc.wc?_maintain%7E", "/wc.wc?%zz_maintain~x", "/wc.wc?wwMaint~FileUpload", "/a/b.wcs?_MAINTAIN~KILL~12"} {
		f.Add(seed)
	}
	servers := map[Flavor]*Server{}
	for _, fl := range Flavors {
		s, err := New(Config{Flavor: fl, Dir: f.TempDir()})
		if err != nil {
			f.Fatal(err)
		}
		servers[fl] = s
		f.Cleanup(func() { s.Close() })
	}
	f.Fuzz(func(t *testing.T, target string) {
		req, err := http.NewRequest("GET", "http://h"+target, nil)
		if err != nil {
			return
		}
		for _, s := range servers {
			rt := s.resolve(req)
			if rt.action != strings.ToLower(rt.action) {
				t.Fatalf("action %q is not lower-case", rt.action)
			}
		}
	})
}

func TestModuleOtherActions(t *testing.T) {
	s := startT(t, Config{Flavor: Module714, Users: users})
	if r := do(t, nil, "GET", s.URL()+"dev.wc", "", "", nil); r.status != 204 {
		t.Errorf("dev.wc: %d", r.status)
	}
	if r := do(t, nil, "GET", s.URL()+"ModuleError.wc", "", "", nil); r.status != 500 || !strings.Contains(r.body, "Unknown application error<p>") {
		t.Errorf("ModuleError.wc: %d", r.status)
	}
	// HoldRequests toggles; the hold page for anonymous normal requests,
	// admin pages still served.
	r := do(t, nil, "GET", s.URL()+"HoldRequests.wc", admin, "", nil)
	if r.status != 200 || !strings.Contains(r.body, holdOn) || !s.OnHold() {
		t.Fatalf("HoldRequests on: %d", r.status)
	}
	if r := do(t, nil, "GET", s.URL()+"default.wc", "", "", nil); r.status != 500 || !strings.Contains(r.body, msgHold) {
		t.Errorf("normal page while held: %d", r.status)
	}
	if r := do(t, nil, "GET", s.URL()+"default.wc", admin, "", nil); r.status != 200 {
		t.Errorf("admin's normal page while held: %d", r.status)
	}
	do(t, nil, "GET", s.URL()+"wc.wc?_maintain~HoldRequests", admin, "", nil)
	if s.OnHold() {
		t.Error("second toggle left the hold on")
	}
	// A _maintain action the handler does not know goes to the FoxPro
	// server (COM mode) after admin auth: the normal page.
	if r := do(t, nil, "GET", s.URL()+"wc.wc?_maintain~UpdateExe&t=1", "", "", nil); r.status != 401 {
		t.Errorf("unauthenticated unknown _maintain: %d", r.status)
	}
	r = do(t, nil, "GET", s.URL()+"wc.wc?_maintain~UpdateExe&t=1", admin, "", nil)
	if r.status != 200 || !strings.Contains(r.body, `<span id="server-version">1.0.0.0</span>`) || strings.Contains(r.body, hdrSwapped) {
		t.Errorf("trailing parameter trap: %d %s", r.status, r.body)
	}
	if r := do(t, nil, "GET", s.URL()+"ShowServerList.wc", admin, "", nil); !strings.Contains(r.body, "No servers loaded...") {
		t.Errorf("ShowServerList: %s", r.body)
	}
	ct, body := multipartBody(t, part{name: "FileZip", filename: "site.zip", content: []byte("PK zip")})
	if r := do(t, nil, "POST", s.URL()+"UploadZip.wc", admin, ct, body); r.status != 200 || string(readFile(t, filepath.Join(s.cfg.Dir, "temp", "site.zip"))) != "PK zip" {
		t.Errorf("UploadZip: %d", r.status)
	}
}

func TestWebServerFlavor(t *testing.T) {
	for _, bug := range []bool{false, true} {
		s := startT(t, Config{Flavor: WebServer726, Users: users, WebServerDLLBug: bug})
		exeBytes := readFile(t, exe(t, t.TempDir(), "a.exe", "4.0.0.1", 0))
		dll := []byte("dll bytes")
		// Three files: the dll is ignored (only looked for when exactly 2).
		ct, body := multipartBody(t, part{name: "a", filename: "WcDemo.exe", content: exeBytes}, part{name: "b", filename: "WcDemo.dll", content: dll}, part{name: "c", filename: "x.txt", content: []byte("x")})
		if r := do(t, nil, "POST", s.URL()+"UploadExe.wc", admin, ct, body); r.status != 200 {
			t.Fatalf("3-file upload: %d %s", r.status, r.body)
		}
		if _, err := os.Stat(changeExt(s.UpdatePath(), ".dll")); err == nil {
			t.Error("dll saved although 3 files were posted")
		}
		ct, body = multipartBody(t, part{name: "a", filename: "WcDemo.exe", content: exeBytes}, part{name: "b", filename: "WcDemo.dll", content: dll})
		if r := do(t, nil, "POST", s.URL()+"UploadExe.wc", admin, ct, body); r.status != 200 || !strings.Contains(r.body, hdrUploaded) {
			t.Fatalf("2-file upload: %d", r.status)
		}
		want := dll
		if bug {
			want = exeBytes
		}
		if got := readFile(t, changeExt(s.UpdatePath(), ".dll")); string(got) != string(want) {
			t.Errorf("bug=%v: dll target has %d bytes, want %d", bug, len(got), len(want))
		}
		if r := do(t, nil, "GET", s.URL()+"UploadExe.wc", admin, "", nil); r.status != 500 || !strings.Contains(r.body, "Incorrect Content-Type: ") {
			t.Errorf("GET UploadExe.wc: %d", r.status)
		}
		ct, body = multipartBody(t, part{name: "f", noFilename: true, content: []byte("x")})
		if r := do(t, nil, "POST", s.URL()+"UploadExe.wc", admin, ct, body); r.status != 500 || !strings.Contains(r.body, hdrInvalidUpload) {
			t.Errorf("no files: %d", r.status)
		}
		r := do(t, nil, "GET", s.URL()+"UpdateExe.wc", admin, "", nil)
		if r.status != 200 || !strings.Contains(r.body, "File Version: 4.0.0.1") || r.header.Get("Server") != "Kestrel" || r.header.Get("Content-Type") != "text/html" {
			t.Errorf("swap: %d %v", r.status, r.header)
		}
		r = do(t, nil, "GET", s.URL()+"ShowStatusJson.wc", admin, "", nil)
		var doc struct {
			Configuration struct{ ExeFile, UpdateFile string }
		}
		if err := json.Unmarshal([]byte(r.body), &doc); err != nil || doc.Configuration.ExeFile != s.ExePath() || strings.Contains(r.body, "4.0.0.1") {
			t.Errorf("ShowStatusJson: %v %s", err, r.body)
		}
		r = do(t, nil, "GET", s.URL()+"Administration.wc", admin, "", nil)
		if !strings.Contains(r.body, "<title>"+hdrStatusWeb+"</title>") || !strings.Contains(r.body, "<tr><td>Exe Version</td><td>4.0.0.1&nbsp;&nbsp;&nbsp; ") {
			t.Errorf("web server status page")
		}
	}
}

func TestISAPIFlavor(t *testing.T) {
	s := startT(t, Config{Flavor: ISAPI, Users: users})
	exeBytes := readFile(t, exe(t, t.TempDir(), "a.exe", "5.0.0.2", 0))
	ct, body := multipartBody(t, part{name: "File", filename: "WcDemo.exe", content: exeBytes})
	if r := do(t, nil, "POST", s.URL()+"wc.wc?wwMaint~FileUpload", "", ct, body); r.status != 401 {
		t.Errorf("anonymous FileUpload: %d", r.status)
	}
	r := do(t, nil, "POST", s.URL()+"wc.wc?wwMaint~FileUpload", admin, ct, body)
	if r.status != 200 || !strings.Contains(r.body, hdrUploaded) || !strings.Contains(r.body, s.n0(int64(len(exeBytes)))+" bytes") {
		t.Fatalf("FileUpload: %d %s", r.status, r.body)
	}
	if r := do(t, nil, "GET", s.URL()+"UpdateExe.wc", admin, "", nil); r.status != 200 || strings.Contains(r.body, "Exe Updated") {
		t.Errorf("UpdateExe.wc is not an ISAPI link and must not swap: %d", r.status)
	}
	r = do(t, nil, "GET", s.URL()+"wc.wc?_maintain~UpdateExe", admin, "", nil)
	if r.status != 200 || !strings.Contains(r.body, "<title>Exe Updated</title>") || !strings.Contains(r.body, "The Exe file has been updated.") ||
		!strings.Contains(r.body, "File Version: 5.0.0.2") || r.header.Get("Expires") != "Sunday 15-May-94 14:00:01 GMT" {
		t.Errorf("ISAPI swap: %d %s", r.status, r.body)
	}
	r = do(t, nil, "GET", s.URL()+"wc.wc?_maintain~ShowStatus", admin, "", nil)
	for _, row := range []string{"<tr><td>Exe Version</td><td>5.0.0.2&nbsp;&nbsp;&nbsp; ", "<tr><td>Exe File</td><td>" + s.ExePath() + "</td></tr>", "<tr><td>Update File</td><td>" + s.UpdatePath() + "</td></tr>"} {
		if !strings.Contains(r.body, row) {
			t.Errorf("ISAPI status lacks %q", row)
		}
	}
	os.Remove(s.UpdatePath())
	if r := do(t, nil, "GET", s.URL()+"wc.wc?_maintain~UpdateExe", admin, "", nil); r.status != 500 || !strings.Contains(r.body, "Exe Not Updated") {
		t.Errorf("ISAPI failed swap: %d", r.status)
	}
}

func TestSizeLimits(t *testing.T) {
	for _, flavor := range Flavors {
		s := startT(t, Config{Flavor: flavor, Users: users, MaxRequestBytes: 4096})
		ct, body := multipartBody(t, part{name: "File", filename: "WcDemo.exe", content: make([]byte, 8192)})
		target := "UploadExe.wc"
		if flavor == ISAPI {
			target = "wc.wc?wwMaint~FileUpload"
		}
		req, _ := http.NewRequest("POST", s.URL()+target, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", ct)
		req.SetBasicAuth("wcadmin", "s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			// A reset while still sending is what IIS clients may see too.
			if flavor == WebServer726 {
				t.Errorf("%s: %v", flavor, err)
			}
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch flavor {
		case WebServer726:
			if resp.StatusCode != 500 || !strings.Contains(string(b), "Request body too large. The max request body size is 4096 bytes.") {
				t.Errorf("%s: %d %s", flavor, resp.StatusCode, b)
			}
		default:
			if resp.StatusCode != 404 || !strings.Contains(string(b), "404.13") {
				t.Errorf("%s: %d %s", flavor, resp.StatusCode, b)
			}
		}
		if _, err := os.Stat(s.UpdatePath()); err == nil {
			t.Errorf("%s: an oversized upload was saved", flavor)
		}
	}
}

func TestCultures(t *testing.T) {
	cases := []struct {
		culture, size, kb string
		date              *regexp.Regexp
	}{
		{"en-US", "1,670,144", "1,670", regexp.MustCompile(`File Date: \d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d:\d\d [AP]M<hr/>`)},
		{"de-DE", "1.670.144", "1.670", regexp.MustCompile(`File Date: \d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d<hr/>`)},
	}
	for _, tc := range cases {
		s := startT(t, Config{Flavor: Module715, Users: users, Culture: tc.culture})
		ct, body := multipartBody(t, part{name: "File", filename: "WcDemo.exe", content: readFile(t, exe(t, t.TempDir(), "a.exe", "1.2.3.5", 1670144))})
		r := do(t, nil, "POST", s.URL()+"UploadExe.wc", admin, ct, body)
		if !strings.Contains(r.body, "("+tc.size+" bytes)") {
			t.Errorf("%s: upload page lacks %s bytes", tc.culture, tc.size)
		}
		r = do(t, nil, "GET", s.URL()+"UpdateExe.wc", admin, "", nil)
		if !strings.Contains(r.body, "File Size: "+tc.kb+" kb") || !tc.date.MatchString(r.body) {
			t.Errorf("%s: swap page %s", tc.culture, r.body)
		}
	}
	s := &Server{cfg: Config{Culture: "de-DE"}}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1.000", 1234567: "1.234.567", -1000: "-1.000"} {
		if got := s.n0(n); got != want {
			t.Errorf("n0(%d) = %q, want %q", n, got, want)
		}
	}
	if got := s.dateG(time.Date(2026, 11, 23, 20, 23, 42, 0, time.Local)); got != "23.11.2026 20:23:42" {
		t.Errorf("de-DE G: %q", got)
	}
	s.cfg.Culture = "en-US"
	if got := s.dateG(time.Date(2026, 11, 23, 20, 23, 42, 0, time.Local)); got != "11/23/2026 8:23:42 PM" {
		t.Errorf("en-US G: %q", got)
	}
}

func TestBootstrapTemplate(t *testing.T) {
	s := startT(t, Config{Flavor: Module714, Users: users, Template: TemplateBootstrap})
	r := do(t, nil, "GET", s.URL()+"UploadExe.wc", admin, "", nil)
	if r.status != 500 || !strings.Contains(r.body, "<title>Missing File</title>") || !strings.Contains(r.body, `href="/lib/bootstrap`) || strings.Count(r.body, "Missing File") != 2 {
		t.Errorf("bootstrap template: %s", r.body)
	}
	f := filepath.Join(t.TempDir(), "_AdminTemplate.html")
	os.WriteFile(f, []byte("<title>{0}</title><h1>{0}</h1><div>{1}</div>{2}<a href='~/admin/'>"), 0o644)
	s = startT(t, Config{Flavor: Module714, Users: users, Template: f})
	r = do(t, nil, "GET", s.URL()+"UploadExe.wc", admin, "", nil)
	if r.body != "<title>Missing File</title><h1>Missing File</h1><div>"+msgNoFile+"</div><a href='/admin/'>" {
		t.Errorf("file template: %q", r.body)
	}
}

func TestHoldReleasedWhenClientLeaves(t *testing.T) {
	s := startT(t, Config{Flavor: Module715, Users: users, SwapDelay: 300 * time.Millisecond})
	exePath := exe(t, t.TempDir(), "a.exe", "6.0.0.1", 0)
	ct, body := multipartBody(t, part{name: "File", filename: "WcDemo.exe", content: readFile(t, exePath)})
	do(t, nil, "POST", s.URL()+"UploadExe.wc", admin, ct, body)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"UpdateExe.wc", nil)
	req.SetBasicAuth("wcadmin", "s3cret")
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the swap answered within 50 ms")
	}
	if !s.OnHold() {
		t.Error("no hold during the swap")
	}
	deadline := time.Now().Add(3 * time.Second)
	for s.OnHold() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// Like the module, the swap completes although the client left.
	if s.OnHold() || s.ExeVersion() != "6.0.0.1" {
		t.Errorf("hold %v, version %q after the client left", s.OnHold(), s.ExeVersion())
	}
}

func TestCloseReleasesHoldAndStalls(t *testing.T) {
	s, err := New(Config{Flavor: Module715, Users: users, Dir: t.TempDir(), SwapDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	s.Inject(Fault{Kind: FaultStall, Action: "page"})
	errs := make(chan error, 2)
	go func() {
		req, _ := http.NewRequest("GET", s.URL()+"UpdateExe.wc", nil)
		req.SetBasicAuth("wcadmin", "s3cret")
		_, err := http.DefaultClient.Do(req)
		errs <- err
	}()
	go func() { _, err := http.Get(s.URL() + "default.wc"); errs <- err }()
	waitHold(t, s)
	time.Sleep(20 * time.Millisecond)
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung on a swap or a stalled request")
	}
	if s.OnHold() {
		t.Error("Close left the hold on")
	}
	for range 2 {
		if err := <-errs; err == nil {
			t.Error("a request got a reply from a closed server")
		}
	}
}
