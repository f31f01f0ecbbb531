package emulator

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	s := startT(t, Config{Flavor: Module715, Users: users})
	url := s.URL()
	get := func(path string) (*http.Response, []byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", url+path, nil)
		req.SetBasicAuth("wcadmin", "s3cret")
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	huge := int64(5 << 20)
	cases := []struct {
		name  string
		fault Fault
		check func(resp *http.Response, body []byte, err error) string
	}{
		{"403", Fault{Kind: FaultRespond, Action: "status", Status: 403, Body: []byte("<h1>Forbidden</h1>")}, func(r *http.Response, b []byte, err error) string {
			if err != nil || r.StatusCode != 403 || string(b) != "<h1>Forbidden</h1>" {
				return "want 403 Forbidden"
			}
			return ""
		}},
		{"non-utf8", Fault{Kind: FaultRespond, Action: "status", Status: 200, Body: []byte{0xff, 0xfe, 'a'}}, func(r *http.Response, b []byte, err error) string {
			if err != nil || !bytes.Equal(b, []byte{0xff, 0xfe, 'a'}) {
				return "want raw bytes"
			}
			return ""
		}},
		{"huge", Fault{Kind: FaultRespond, Action: "status", Status: 200, BodySize: huge}, func(r *http.Response, b []byte, err error) string {
			if err != nil || int64(len(b)) != huge {
				return "want the huge body"
			}
			return ""
		}},
		{"truncated", Fault{Kind: FaultRespond, Action: "status", Status: 200, Body: []byte("<html><body>cut here"), Truncate: true}, func(r *http.Response, b []byte, err error) string {
			if err == nil {
				return "want an unexpected EOF"
			}
			return ""
		}},
		{"login page", Fault{Kind: FaultLoginPage, Action: "status"}, func(r *http.Response, b []byte, err error) string {
			if err != nil || r.StatusCode != 200 || !strings.Contains(string(b), "Sign in") {
				return "want 200 sign-in page"
			}
			return ""
		}},
		{"redirect loop", Fault{Kind: FaultRedirectLoop, Action: "status"}, func(r *http.Response, b []byte, err error) string {
			if err == nil || !strings.Contains(err.Error(), "redirects") {
				return "want the client to stop after too many redirects"
			}
			return ""
		}},
		{"reset", Fault{Kind: FaultResetAfter, Action: "status"}, func(r *http.Response, b []byte, err error) string {
			if err == nil {
				return "want a reset connection"
			}
			return ""
		}},
		{"stall", Fault{Kind: FaultStall, Action: "status"}, func(r *http.Response, b []byte, err error) string {
			if err == nil || !strings.Contains(err.Error(), "deadline") {
				return "want the client's deadline"
			}
			return ""
		}},
		{"health", Fault{Kind: FaultHealthFail}, nil},
	}
	for _, tc := range cases {
		s.ClearFaults()
		s.Inject(tc.fault)
		if tc.check == nil {
			continue
		}
		resp, body, err := get("ModuleAdministration.wc")
		if msg := tc.check(resp, body, err); msg != "" {
			t.Errorf("%s: %s (err %v)", tc.name, msg, err)
		}
	}
	// Health: normal pages fail, admin pages do not.
	if r, _, _ := get("default.wc"); r == nil || r.StatusCode != 500 {
		t.Errorf("health fault: normal page did not fail")
	}
	if r, _, _ := get("ModuleAdministration.wc"); r == nil || r.StatusCode != 200 {
		t.Errorf("health fault hit an admin page")
	}
	s.ClearFaults()

	// Times: only the next N matching requests.
	s.Inject(Fault{Kind: FaultRespond, Action: "page", Status: 503, Times: 2})
	var codes []int
	for range 3 {
		r, _, _ := get("default.wc")
		codes = append(codes, r.StatusCode)
	}
	if codes[0] != 503 || codes[1] != 503 || codes[2] != 200 {
		t.Errorf("Times=2 gave %v", codes)
	}

	// Delay.
	s.Inject(Fault{Kind: FaultDelay, Action: "page", Delay: 150 * time.Millisecond, Times: 1})
	start := time.Now()
	if r, _, _ := get("default.wc"); r.StatusCode != 200 || time.Since(start) < 150*time.Millisecond {
		t.Errorf("delay: %v", time.Since(start))
	}

	// Swap copy failure with the default message, then a version mismatch.
	exeBytes := readFile(t, exe(t, t.TempDir(), "a.exe", "7.0.0.1", 0))
	ct, body := multipartBody(t, part{name: "File", filename: "WcDemo.exe", content: exeBytes})
	do(t, nil, "POST", url+"UploadExe.wc", admin, ct, body)
	s.Inject(Fault{Kind: FaultSwapCopy, Action: "swap", Times: 1})
	r := do(t, nil, "GET", url+"UpdateExe.wc", admin, "", nil)
	if r.status != 500 || !strings.Contains(r.body, "The file copy failed: The process cannot access the file '"+s.ExePath()+"' because it is being used by another process.") || s.ExeVersion() != "1.0.0.0" {
		t.Errorf("copy fault: %d %s", r.status, r.body)
	}
	s.Inject(Fault{Kind: FaultVersionMismatch, Action: "swap", Version: "6.9.9.9", Times: 1})
	r = do(t, nil, "GET", url+"UpdateExe.wc", admin, "", nil)
	if r.status != 200 || !strings.Contains(r.body, "File Version: 6.9.9.9") || s.ExeVersion() != "6.9.9.9" {
		t.Errorf("version mismatch: %d %s", r.status, r.body)
	}
	r = do(t, nil, "GET", url+"default.wc", "", "", nil)
	if !strings.Contains(r.body, `<span id="server-version">6.9.9.9</span>`) {
		t.Errorf("health page does not show the mismatched version")
	}
	// Reset after N request body bytes during an upload.
	s.Inject(Fault{Kind: FaultResetAfter, Action: "upload", Bytes: 100_000, Times: 1})
	before := s.BodyBytes()
	req, _ := http.NewRequest("POST", url+"UploadExe.wc", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.SetBasicAuth("wcadmin", "s3cret")
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Error("reset fault: the upload got a reply")
	}
	if got := s.BodyBytes() - before; got < 100_000 || got > 100_000+64<<10 {
		t.Errorf("reset after %d body bytes, want about 100000", got)
	}
	// The handler logs the request as it returns, which may be after the
	// client saw the reset: wait for the entry (a state, bounded).
	var last RequestLog
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if reqs := s.Requests(); len(reqs) > 0 {
			if last = reqs[len(reqs)-1]; last.Action == "uploadexe" {
				break
			}
		}
	}
	if last.Fault != string(FaultResetAfter) || last.Action != "uploadexe" {
		t.Errorf("request log: %+v", last)
	}
}

// TestCurl is the interoperability test: curl uploads with -F and swaps,
// with Basic and with --ntlm.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	exePath := exe(t, t.TempDir(), "WcDemo.exe", "8.1.2.3", 2_000_000)
	for _, mode := range []string{"basic", "ntlm"} {
		for _, flavor := range []Flavor{Module714, Module715, WebServer726} {
			t.Run(mode+"/"+string(flavor), func(t *testing.T) {
				s := startT(t, Config{Flavor: flavor, Users: users, Auth: mode})
				run := func(args ...string) string {
					args = append([]string{"-sS", "--max-time", "20", "-u", "wcadmin:s3cret", "--" + mode}, args...)
					out, err := exec.Command(curl, args...).CombinedOutput()
					if err != nil {
						t.Fatalf("curl %v: %v\n%s", args, err, out)
					}
					return string(out)
				}
				page := run("-F", "File=@"+exePath, s.URL()+"UploadExe.wc")
				if !strings.Contains(page, "File has been uploaded") || !strings.Contains(page, "(2,000,000 bytes)") {
					t.Fatalf("upload page: %s", page)
				}
				if got := readFile(t, s.UpdatePath()); !bytes.Equal(got, readFile(t, exePath)) {
					t.Fatal("UpdateFile differs from the uploaded file")
				}
				page = run(s.URL() + "UpdateExe.wc")
				if !strings.Contains(page, "Exe File Updated") || !strings.Contains(page, "File Version: 8.1.2.3") || !strings.Contains(page, "File Size: 2,000 kb") {
					t.Fatalf("swap page: %s", page)
				}
				if s.ExeVersion() != "8.1.2.3" {
					t.Errorf("ExeVersion %q", s.ExeVersion())
				}
				for _, r := range s.Requests() {
					if r.Action == "uploadexe" && r.Status == 200 && r.User != "wcadmin" {
						t.Errorf("upload logged as %q", r.User)
					}
				}
			})
		}
	}
}
