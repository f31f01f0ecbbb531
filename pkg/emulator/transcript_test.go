package emulator

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const admin = "wcadmin:s3cret"

// TestTranscripts replays the recorded module session (transcripts/) step by
// step against the emulator and compares status and page bytes.
func TestTranscripts(t *testing.T) {
	for _, flavor := range []Flavor{Module714, Module715} {
		t.Run(string(flavor), func(t *testing.T) {
			dir := string(flavor)
			work := t.TempDir()
			s := startT(t, Config{
				Flavor: flavor, Users: map[string]string{"wcadmin": "s3cret", "wcguest": "s3cret"},
				ExeName: "WcTestApp.exe", InitialVersion: "1.2.3.4", Auth: AuthBasic,
				// Requests 14 and 15 must land inside the hold: 50 ms was
				// too short under -race on a loaded machine.
				SwapDelay: time.Second,
			})
			// The real session's files: same versions and sizes.
			newExe := readFile(t, exe(t, work, "WcTestApp.exe", "1.2.3.5", 1670144))
			oldExe := readFile(t, exe(t, work, "WcTestApp-old.exe", "1.2.3.4", 1670144))
			readme := []byte("hello world")

			check := func(name string, got reply) {
				t.Helper()
				want := readTranscript(t, dir, name)
				if got.status != want.status {
					t.Errorf("%s: status %d, want %d\n%s", name, got.status, want.status, got.body)
				}
				g, w := normalise(s, got.body), normalise(s, want.body)
				if g != w {
					t.Errorf("%s: body differs\n--- got\n%q\n--- want\n%q", name, g, w)
				}
				for _, k := range []string{"X-AspNet-Version", "Cache-Control"} {
					if got.header.Get(k) != want.header.Get(k) {
						t.Errorf("%s: %s %q, want %q", name, k, got.header.Get(k), want.header.Get(k))
					}
				}
				if (want.header.Get("Expires") == "") != (got.header.Get("Expires") == "") {
					t.Errorf("%s: Expires %q, transcript %q", name, got.header.Get("Expires"), want.header.Get("Expires"))
				}
				if ct := got.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("%s: Content-Type %q", name, ct)
				}
				if sv := got.header.Get("Server"); sv != "Microsoft-IIS/10.0" {
					t.Errorf("%s: Server %q", name, sv)
				}
			}
			post := func(parts ...part) reply {
				ct, body := multipartBody(t, parts...)
				return do(t, nil, "POST", s.URL()+"UploadExe.wc", admin, ct, body)
			}

			check("00-moduletest-unauth.txt", do(t, nil, "GET", s.URL()+"ModuleTest.wc", "", "", nil))
			r := do(t, nil, "GET", s.URL()+"UpdateExe.wc", "", "", nil)
			check("01-updateexe-unauth.txt", r)
			if got := r.header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != `Basic realm="127.0.0.1"` {
				t.Errorf("01: challenges %q", got)
			}
			r = do(t, nil, "GET", s.URL()+"UpdateExe.wc", "wcadmin:wrong", "", nil)
			if r.status != 401 || !strings.Contains(r.body, "401 - Unauthorized: Access is denied due to invalid credentials.") {
				t.Errorf("02: wrong password: %d %s", r.status, r.body)
			}
			r = do(t, nil, "GET", s.URL()+"ModuleAdministration.wc", admin, "", nil)
			if r.status != 200 || !strings.Contains(r.body, "<tr><td>Exe Version</td><td>1.2.3.4&nbsp;&nbsp;&nbsp; ") {
				t.Errorf("03: status page %d without the 1.2.3.4 row", r.status)
			}
			check("04-updateexe-before-any-upload.txt", do(t, nil, "GET", s.URL()+"UpdateExe.wc", admin, "", nil))
			check("05-uploadexe-get-no-body.txt", do(t, nil, "GET", s.URL()+"UploadExe.wc", admin, "", nil))
			check("06-uploadexe-no-file.txt", post(part{name: "foo", noFilename: true, content: []byte("bar")}))
			check("07-uploadexe-file-without-filename.txt", post(part{name: "File", noFilename: true, content: newExe}))
			check("08-uploadexe-wrong-part-name.txt", post(part{name: "Exe", filename: "WcTestApp-old.exe", content: oldExe}))
			check("09-uploadexe-non-exe-filename.txt", post(part{name: "File", filename: "readme.txt", content: readme}))
			check("10-uploadexe-lowercase-part.txt", post(part{name: "file", filename: "WcTestApp-old.exe", content: oldExe}))
			check("11-uploadexe-ok.txt", post(part{name: "File", filename: "WcTestApp.exe", content: newExe}))
			if got := readFile(t, s.UpdatePath()); string(got) != string(newExe) {
				t.Fatalf("12: UpdateFile holds %d bytes, not the upload", len(got))
			}
			upInfo, _ := os.Stat(s.UpdatePath())

			// 13-15: the swap, a normal page and the admin page while it holds.
			done := make(chan reply)
			go func() { done <- do(t, nil, "GET", s.URL()+"UpdateExe.wc", admin, "", nil) }()
			waitHold(t, s)
			check("14-normal-page-during-hold.txt", do(t, nil, "GET", s.URL()+"default.wc", "", "", nil))
			r = do(t, nil, "GET", s.URL()+"ModuleAdministration.wc", admin, "", nil)
			if r.status != 200 || !strings.Contains(r.body, holdOn) {
				t.Errorf("15: admin page during hold: %d, hold row missing", r.status)
			}
			check("13-updateexe-swap.txt", <-done)
			exeInfo, _ := os.Stat(s.ExePath())
			if !exeInfo.ModTime().Equal(upInfo.ModTime()) {
				t.Errorf("16: ExeFile time %v, want the upload's %v", exeInfo.ModTime(), upInfo.ModTime())
			}
			r = do(t, nil, "GET", s.URL()+"ModuleAdministration.wc", admin, "", nil)
			if !strings.Contains(r.body, "<tr><td>Exe Version</td><td>1.2.3.5&nbsp;&nbsp;&nbsp; ") || strings.Contains(r.body, holdOn) {
				t.Errorf("17: status page after the swap lacks 1.2.3.5 or still holds")
			}
			if s.ExeVersion() != "1.2.3.5" {
				t.Errorf("ExeVersion %q", s.ExeVersion())
			}
			check("19-maintain-query-form.txt", do(t, nil, "GET", s.URL()+"wc.wc?_maintain~UpdateExe", admin, "", nil))

			if flavor == Module715 {
				dll := []byte("this is the dll bytes.")
				check("21a-uploadexe-exe-and-dll.txt", post(
					part{name: "File", filename: "WcTestApp.exe", content: newExe},
					part{name: "Dll", filename: "WcTestApp.dll", content: dll}))
				if got := readFile(t, filepath.Join(s.cfg.Dir, "WcTestApp_Update.dll")); string(got) != string(dll) {
					t.Errorf("21b: dll target %q", got)
				}
				check("21c-updateexe-with-dll.txt", do(t, nil, "GET", s.URL()+"UpdateExe.wc", admin, "", nil))
				if got := readFile(t, filepath.Join(s.cfg.Dir, "WcTestApp.dll")); string(got) != string(dll) {
					t.Errorf("21d: swapped dll %q", got)
				}
			}

			// 23: the old UpdateFile cannot be deleted: both pages, 200, old size.
			s.Inject(Fault{Kind: FaultUploadDeleteFails, Action: "uploadexe", Times: 1})
			check("23-uploadexe-delete-fails.txt", post(part{name: "File", filename: "WcTestApp-old.exe", content: oldExe}))
			// 24: ExeFile cannot be overwritten.
			if err := os.Chmod(s.ExePath(), 0o444); err != nil {
				t.Fatal(err)
			}
			check("24-updateexe-copy-fails.txt", do(t, nil, "GET", s.URL()+"UpdateExe.wc", admin, "", nil))
			os.Chmod(s.ExePath(), 0o755)
			if s.OnHold() {
				t.Error("hold not released after a failed swap")
			}
		})
	}
}

// TestTranscriptAccounts covers 20, 25 and 26, which need other settings.
func TestTranscriptAccounts(t *testing.T) {
	users := map[string]string{"wcadmin": "s3cret", "wcguest": "s3cret"}
	for _, flavor := range []Flavor{Module714, Module715} {
		dir := string(flavor)
		t.Run(dir, func(t *testing.T) {
			cases := []struct {
				file  string
				cfg   Config
				login string
				path  string
			}{
				{"25-authenticated-non-admin.txt", Config{AdminAccount: "wcadmin"}, "wcguest:s3cret", "UpdateExe.wc"},
				{"26-empty-adminaccount.txt", Config{AdminAccountSet: true}, admin, "ModuleAdministration.wc"},
				{"20-maintain-query-form-extra-param.txt", Config{NoFoxProServer: true}, admin, "wc.wc?_maintain~UpdateExe&t=1"},
			}
			for _, tc := range cases {
				cfg := tc.cfg
				cfg.Flavor, cfg.Users, cfg.Auth, cfg.ExeName = flavor, users, AuthBasic, "WcTestApp.exe"
				s := startT(t, cfg)
				got := do(t, nil, "GET", s.URL()+tc.path, tc.login, "", nil)
				want := readTranscript(t, dir, tc.file)
				if got.status != want.status || normalise(s, got.body) != normalise(s, want.body) {
					t.Errorf("%s: %d\n%q\nwant %d\n%q", tc.file, got.status, got.body, want.status, want.body)
				}
			}
		})
	}
}

// TestStatusTemplateExact renders the status page with the values of the
// recorded server and expects the transcript's bytes.
func TestStatusTemplateExact(t *testing.T) {
	for _, tc := range []struct{ flavor, file, hold string }{
		{"module-7.14", "03-admin-before.txt", holdRunning},
		{"module-7.14", "15-admin-during-hold.txt", holdOn},
		{"module-7.15", "17-admin-after.txt", holdRunning},
	} {
		want := readTranscript(t, tc.flavor, tc.file)
		v := statusValues{
			dllVersion: strings.TrimPrefix(tc.flavor, "module-"), hold: tc.hold,
			physPath: "<run>/site/", configFile: "<run>/site/web.config",
			webServer: "nginx/1.22.1 &bull; fastcgi-mono-server4 &bull; 64bit", winVer: "0.0.0.0",
			tempPath: "<run>/deploy", progID: "WcTestApp.WcTestAppServer",
			exeFile: "<run>/deploy/WcTestApp.exe", updateFile: "<run>/deploy/WcTestApp_Update.exe",
			adminAccount: "ANY", serverAccount: "root", timeout: "90",
		}
		// Take the run's own changing values from the transcript.
		v.updated = between(want.body, "Updated: ", "</div>")
		ev := between(want.body, "<tr><td>Exe Version</td><td>", "</td>")
		v.exeVersion, v.exeDate, _ = strings.Cut(ev, "&nbsp;&nbsp;&nbsp; ")
		if tc.flavor == "module-7.15" {
			v.fileInput = ` multiple="multiple" accept=".exe,.dll"`
		}
		s := &Server{tmpl: fallbackTemplate}
		if got := s.render(hdrStatus, v.render()); got != want.body {
			t.Errorf("%s/%s: status page differs (%d vs %d bytes)", tc.flavor, tc.file, len(got), len(want.body))
		}
	}
}

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	v, _, _ := strings.Cut(rest, b)
	return v
}

func waitHold(t testing.TB, s *Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !s.OnHold() {
		if time.Now().After(deadline) {
			t.Fatal("the swap never set the hold")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var _ = http.StatusOK
