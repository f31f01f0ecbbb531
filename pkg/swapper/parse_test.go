package swapper

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

func TestParseSwapReplyTranscripts(t *testing.T) {
	ok := &Swapped{FileName: "WcTestApp.exe", SizeKB: 1670, Version: "1.2.3.5"}
	tests := []struct {
		file string
		want *Swapped // nil = error
		err  string
		code exitcode.Code
	}{
		{file: "module-7.14/13-updateexe-swap.txt", want: ok},
		{file: "module-7.15/13-updateexe-swap.txt", want: ok},
		{file: "module-7.14/19-maintain-query-form.txt", want: ok},
		{file: "module-7.15/21c-updateexe-with-dll.txt", want: ok},
		{file: "module-7.15/04-updateexe-before-any-upload.txt", code: exitcode.Swap,
			err: `the server could not swap in the new EXE (500 Unable to copy Update Exe file): Could not find file "/deploy/WcTestApp_Update.exe"; UpdateFile is not there`},
		{file: "module-7.14/24-updateexe-copy-fails.txt", code: exitcode.Swap,
			err: `Access to the path "/deploy/WcTestApp.exe" is denied.; the application pool's account may not write`},
		{file: "module-7.15/01-updateexe-unauth.txt", code: exitcode.Auth, err: "refused the credentials (401): Unauthorized Operation"},
		{file: "module-7.14/02-updateexe-bad-password.txt", code: exitcode.Auth, err: "(401): 401 Authorization Required"},
		{file: "module-7.15/25-authenticated-non-admin.txt", code: exitcode.Auth, err: "AdminAccount"},
		{file: "module-7.15/26-empty-adminaccount.txt", code: exitcode.Auth, err: "(401)"},
		// An extra query parameter makes it a normal request (§1.1).
		{file: "module-7.15/20-maintain-query-form-extra-param.txt", code: exitcode.Swap, err: "the swap failed (500): Unable to retrieve a server instance"},
		{file: "module-7.14/14-normal-page-during-hold.txt", code: exitcode.Swap, err: "the swap failed (500): Please wait..."},
		{file: "module-7.15/03-admin-before.txt", code: exitcode.Swap, err: "the server answered 200 but not with the swap page (a login page or proxy?): Web Connection Handler Status Page"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			status, body := transcript(t, filepath.Join("testdata", tc.file))
			got, err := ParseSwapReply(status, body)
			checkSwap(t, got, err, tc.want, tc.err, tc.code)
		})
	}
}

func checkSwap(t *testing.T, got *Swapped, err error, want *Swapped, wantErr string, code exitcode.Code) {
	t.Helper()
	if want != nil {
		if err != nil {
			t.Fatal(err)
		}
		if got.Date == "" && !got.ISAPI && !got.Unread {
			t.Errorf("no date: %+v", got)
		}
		g := *got
		if want.Date == "" {
			g.Date = ""
		}
		if g != *want {
			t.Errorf("got %+v, want %+v", g, *want)
		}
		return
	}
	if err == nil {
		t.Fatalf("accepted %+v", got)
	}
	if !strings.Contains(err.Error(), wantErr) {
		t.Errorf("error %q\nwant it to contain %q", err, wantErr)
	}
	if c := exitcode.Of(err); c != code {
		t.Errorf("exit code %v, want %v", c, code)
	}
}

func TestParseSwapReplySynthetic(t *testing.T) {
	read := func(name string) string {
		t.Helper()
		_, b := 0, mustRead(t, filepath.Join("testdata", "synthetic", name))
		return string(b)
	}
	locked := modulePage("Unable to copy Update Exe file", "The file copy failed: The process cannot access the file 'C:\\WebApps\\App\\deploy\\App.exe' because it is being used by another process.<br/><br/>~\\..\\deploy\\App_Update.exe to C:\\WebApps\\App\\deploy\\App.exe")
	tests := []struct {
		name   string
		status int
		body   string
		want   *Swapped
		err    string
		code   exitcode.Code
	}{
		{name: "template de-DE", status: 200, body: read("admintemplate-swap-ok.html"),
			want: &Swapped{FileName: "WebDemo.exe", SizeKB: 12346, Version: "7.0.1 beta", Date: "23.11.2026 20:23:42"}},
		{name: "isapi", status: 200, body: read("isapi-exe-updated.html"), want: &Swapped{ISAPI: true}},
		{name: "isapi not updated", status: 200, body: "<html><head><title>Exe Not Updated</title></head><body><div class='header'>Exe Not Updated</div><div style='padding:20px;'>Could not copy the file.</div></body></html>",
			code: exitcode.Swap, err: "the server did not update the EXE (200 Exe Not Updated): Could not copy the file."},
		{name: "n/a", status: 200, body: swapPage("n/a", "1,670"), want: &Swapped{FileName: "App.exe", SizeKB: 1670, Unread: true}},
		{name: "empty version", status: 200, body: swapPage("", "0"), want: &Swapped{FileName: "App.exe"}},
		{name: "nbsp separator", status: 200, body: swapPage("2.0", "12\u00a0346"), want: &Swapped{FileName: "App.exe", SizeKB: 12346, Version: "2.0"}},
		{name: "bad size", status: 200, body: swapPage("2.0", "lots of"), code: exitcode.Swap, err: `file size "lots of kb" is not a number`},
		{name: "no details", status: 200, body: modulePage("Exe File Updated", "The Exe file has been updated."), code: exitcode.Swap, err: "not its size and version"},
		{name: "locked", status: 500, body: locked, code: exitcode.Swap,
			err: "because it is being used by another process.; the EXE is locked: the COM servers did not unload in time; run wcdeploy deploy again"},
		{name: "locked cp1252", status: 500, body: read("cp1252-copy-failed.bin"), code: exitcode.Swap,
			err: "Der Prozess kann nicht auf die Datei 'D:\\Anwendungen\\Größe\\App.exe' zugreifen, da sie von einem anderen Prozess verwendet wird.; the EXE is locked"},
		{name: "empty config", status: 500, body: modulePage("Unable to copy Update Exe file", "The file copy failed: Empty file name is not legal.\r\nParameter name: sourceFileName<br/><br/> to C:\\x.exe"),
			code: exitcode.Swap, err: "set UpdateFile in web.config"},
		{name: "login page", status: 200, body: "<html><head><title>Sign in to Contoso</title></head><body><form></form></body></html>", code: exitcode.Swap,
			err: "the server answered 200 but not with the swap page (a login page or proxy?): Sign in to Contoso"},
		{name: "garbage", status: 200, body: "\x00\x01\xff", code: exitcode.Swap, err: "not with the swap page"},
		{name: "empty", status: 502, body: "", code: exitcode.Swap, err: "the swap failed (502)"},
		{name: "404", status: 404, body: "Not Found", code: exitcode.Swap, err: "update URL was not found (404)"},
		{name: "403", status: 403, body: "Forbidden", code: exitcode.Auth, err: "denied access (403)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSwapReply(tc.status, []byte(tc.body))
			checkSwap(t, got, err, tc.want, tc.err, tc.code)
		})
	}
}

func TestParseStatusTranscripts(t *testing.T) {
	tests := []struct {
		file string
		want Status
	}{
		{"module-7.15/03-admin-before.txt", Status{Header: "Web Connection Handler Status Page", Version: "1.2.3.4", Date: "11/23/2026 8:23:36 PM",
			ExeFile: "/deploy/WcTestApp.exe", UpdateFile: "/deploy/WcTestApp_Update.exe", Module: "7.15 (.NET Handler)", WebServer: "nginx/1.22.1 • fastcgi-mono-server4 • 64bit"}},
		{"module-7.14/03-admin-before.txt", Status{Header: "Web Connection Handler Status Page", Version: "1.2.3.4", Date: "11/23/2026 8:22:57 PM",
			ExeFile: "/deploy/WcTestApp.exe", UpdateFile: "/deploy/WcTestApp_Update.exe", Module: "7.14 (.NET Handler)", WebServer: "nginx/1.22.1 • fastcgi-mono-server4 • 64bit"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, body := transcript(t, filepath.Join("testdata", tc.file))
			got, err := ParseStatus(body)
			if err != nil {
				t.Fatal(err)
			}
			if *got != tc.want {
				t.Errorf("got  %+v\nwant %+v", *got, tc.want)
			}
		})
	}
	// The pages during and after the swap show the versions of the capture.
	for _, f := range []string{"module-7.14/15-admin-during-hold.txt", "module-7.15/15-admin-during-hold.txt", "module-7.14/17-admin-after.txt", "module-7.15/17-admin-after.txt"} {
		_, body := transcript(t, filepath.Join("testdata", f))
		got, err := ParseStatus(body)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.HasPrefix(got.Version, "1.2.3.") || got.Date == "" || got.ExeFile == "" {
			t.Errorf("%s: %+v", f, got)
		}
	}
}

func TestParseStatusSynthetic(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		version string
		date    string
		err     string
	}{
		{"plain", statusPage("1.2.3.5"), "1.2.3.5", "11/23/2026 8:23:42 PM", ""},
		{"spaces in version", statusPage("7.0.1 beta"), "7.0.1 beta", "11/23/2026 8:23:42 PM", ""},
		{"n/a", strings.Replace(statusPage("n/a"), "11/23/2026 8:23:42 PM", "n/a", 1), "", "", ""},
		{"no nbsp", strings.Replace(statusPage("2.0.0.1"), "&nbsp;&nbsp;&nbsp;", "", 1), "2.0.0.1", "11/23/2026 8:23:42 PM", ""},
		{"no nbsp de", strings.Replace(strings.Replace(statusPage("2.0 RC"), "&nbsp;&nbsp;&nbsp;", "", 1), "11/23/2026 8:23:42 PM", "23.11.2026 20:23:42", 1), "2.0 RC", "23.11.2026 20:23:42", ""},
		{"empty cell", strings.Replace(statusPage(""), "&nbsp;&nbsp;&nbsp; 11/23/2026 8:23:42 PM", "", 1), "", "", ""},
		{"login page", "<html><head><title>Sign in</title></head><body><form></form></body></html>", "", "", "not with the status page (a login page or proxy?): Sign in"},
		{"swap page", swapPage("1.2.3.5", "1,670"), "", "", "not with the status page"},
		{"garbage", "\xff\xfe\x00", "", "", "not with the status page"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStatus([]byte(tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != tc.version || got.Date != tc.date {
				t.Errorf("version %q date %q, want %q %q", got.Version, got.Date, tc.version, tc.date)
			}
			if r := got.Running(); tc.version == "" && r.Version != "n/a" {
				t.Errorf("Running %+v", r)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name string
		want string
		size int64
		got  *Swapped
		err  string
	}{
		{"same", "1.2.3.5", 1670144, &Swapped{Version: "1.2.3.5", SizeKB: 1670}, ""},
		{"leading zero", "1.2.3.5", 1670144, &Swapped{Version: "1.2.3.05", SizeKB: 1670}, ""},
		{"trailing zeros", "1.2", 1670144, &Swapped{Version: "1.2.0.0", SizeKB: 1670}, ""},
		{"text version", "7.0.1 beta", 999, &Swapped{Version: " 7.0.1 beta ", SizeKB: 0}, ""},
		{"older", "1.2.3.5", 1670144, &Swapped{Version: "1.2.3.4", SizeKB: 1670}, "runs 1.2.3.4, expected 1.2.3.5"},
		{"text differs", "7.0.1 beta", 999, &Swapped{Version: "7.0.1 rc", SizeKB: 0}, "runs 7.0.1 rc, expected 7.0.1 beta"},
		{"n/a", "1.2.3.5", 1670144, &Swapped{Unread: true, SizeKB: 1670}, "runs an unreadable version (n/a), expected 1.2.3.5"},
		{"size", "1.2.3.5", 1671000, &Swapped{Version: "1.2.3.5", SizeKB: 1670}, "runs 1.2.3.5 but its size is 1670 kb, expected 1671 kb"},
		{"isapi", "1.2.3.5", 1, &Swapped{ISAPI: true}, "verify it on the status page"},
		{"nil", "1.2.3.5", 1, nil, "no swap reply"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.want, tc.size, tc.got)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
			if exitcode.Of(err) != exitcode.Verify {
				t.Errorf("exit code %v", exitcode.Of(err))
			}
		})
	}
}

func TestSameVersion(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"1.2.3.5", "1.2.3.5", true}, {"1.2.3.5", "1.2.3.05", true}, {"1.0", "1", true},
		{"1.2.3.5", "1.2.3.4", false}, {"1.2.3.5", "", false}, {"", "", false},
		{"1.2.3", "1.2.3 beta", false}, {"1..2", "1.0.2", false}, {"99999999999.1", "99999999999.1", true},
	} {
		if got := SameVersion(tc.a, tc.b); got != tc.same {
			t.Errorf("SameVersion(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func FuzzParseSwapReply(f *testing.F) {
	files, _ := filepath.Glob("testdata/module-*/*.txt")
	for _, file := range files {
		status, body := transcript(f, file)
		f.Add(status, body)
	}
	f.Add(200, []byte(swapPage("1.2.3.5", "1.670")))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		s, err := ParseSwapReply(status, body)
		if err == nil {
			if status != 200 || s == nil {
				t.Errorf("accepted status %d", status)
			}
			return
		}
		if c := exitcode.Of(err); c != exitcode.Swap && c != exitcode.Auth {
			t.Errorf("exit code %v", c)
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	files, _ := filepath.Glob("testdata/module-*/*.txt")
	for _, file := range files {
		_, body := transcript(f, file)
		f.Add(body)
	}
	f.Add([]byte(statusPage("7.0.1 beta")))
	f.Fuzz(func(t *testing.T, body []byte) {
		st, err := ParseStatus(body)
		if err == nil && st == nil {
			t.Error("nil status without error")
		}
	})
}
