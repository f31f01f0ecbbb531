package wcpage

import (
	"bytes"
	"github.com/wcdeploy/wcdeploy/internal/wctest"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// transcript returns the final status and body of a captured reply.
func transcript(t testing.TB, path string) (int, []byte) {
	t.Helper()
	return wctest.Transcript(t, path)
}

func transcripts(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/module-*/*.txt")
	if err != nil || len(files) < 40 {
		t.Fatalf("transcripts: %d files, %v", len(files), err)
	}
	return files
}

// Every captured module page: one page per <title>, banner equal to the
// title, a message; other pages (nginx's 401, the module test text) have none.
func TestTranscriptsShape(t *testing.T) {
	for _, f := range transcripts(t) {
		t.Run(f, func(t *testing.T) {
			_, body := transcript(t, f)
			d, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			titles := strings.Count(string(body), "<title>")
			module := strings.Contains(string(body), "page-header-text")
			if len(d.Pages) != titles {
				t.Fatalf("%d pages, %d titles: %+v", len(d.Pages), titles, d.Pages)
			}
			for _, p := range d.Pages {
				if module {
					if p.Header == "" || p.Header != p.Title || p.Message == "" {
						t.Errorf("page %+v: want header = title and a message", p)
					}
				} else if p.Header != "" || p.Message != "" {
					t.Errorf("not a module page, got %+v", p)
				}
			}
			if d.Text == "" {
				t.Error("no text")
			}
		})
	}
}

func TestTranscriptDetails(t *testing.T) {
	tests := []struct {
		file    string
		headers []string
		lines   []string // of the first page
		row     string   // a table row to look up
		cells   []string
	}{
		{file: "module-7.15/11-uploadexe-ok.txt",
			headers: []string{"File has been uploaded"},
			// <run> in the captured path is parsed as an (unknown) element.
			lines: []string{"File Uploaded:", "/deploy/WcTestApp_Update.exe (1,670,144 bytes)", "Swap Servers Handler Admin Page"}},
		{file: "module-7.14/23-uploadexe-delete-fails.txt",
			headers: []string{"Unable to save Update Exe file", "File has been uploaded"},
			lines:   []string{"The save operation failed: Access to the path '/deploy/WcTestApp_Update.exe' is denied."}},
		{file: "module-7.15/13-updateexe-swap.txt",
			headers: []string{"Exe File Updated"},
			lines: []string{"The Exe file has been updated on your server and the latest version is now running.",
				"File Name: WcTestApp.exe", "File Size: 1,670 kb", "File Version: 1.2.3.5", "File Date: 11/23/2026 8:23:42 PM", "Back to Admin Page"}},
		{file: "module-7.14/24-updateexe-copy-fails.txt",
			headers: []string{"Unable to copy Update Exe file"}},
		{file: "module-7.15/03-admin-before.txt",
			headers: []string{"Web Connection Handler Status Page"},
			row:     "Exe Version", cells: []string{"1.2.3.4\u00a0\u00a0\u00a0 11/23/2026 8:23:36 PM"}},
		{file: "module-7.14/17-admin-after.txt",
			headers: []string{"Web Connection Handler Status Page"},
			row:     "Dll Version", cells: []string{"7.14 (.NET Handler)"}},
		// A one-cell heading "Web Server" comes before the "Web Server" row.
		{file: "module-7.14/17-admin-after.txt",
			headers: []string{"Web Connection Handler Status Page"},
			row:     "web server", cells: []string{"nginx/1.22.1 • fastcgi-mono-server4 • 64bit"}},
		{file: "module-7.15/02-updateexe-bad-password.txt",
			headers: []string{"401 Authorization Required"}},
		{file: "module-7.15/00-moduletest-unauth.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, body := transcript(t, filepath.Join("testdata", tc.file))
			d, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Headers(); !reflect.DeepEqual(got, tc.headers) {
				t.Errorf("headers %q, want %q", got, tc.headers)
			}
			if tc.lines != nil && !reflect.DeepEqual(d.Pages[0].Lines, tc.lines) {
				t.Errorf("lines\n got %q\nwant %q", d.Pages[0].Lines, tc.lines)
			}
			if tc.row != "" {
				got, ok := d.Row(tc.row)
				if !ok || !reflect.DeepEqual(got, tc.cells) {
					t.Errorf("row %q = %q, %v; want %q", tc.row, got, ok, tc.cells)
				}
			}
		})
	}
}

func TestSynthetic(t *testing.T) {
	tests := []struct {
		file   string
		header string
		lines  []string
	}{
		{"admintemplate-upload-ok.html", "File has been uploaded",
			[]string{"File Uploaded:", `D:\WebApps\WebDemo\deploy\WebDemo_Update.exe (12.345.678 bytes)`, "Swap Servers Handler Admin Page"}},
		{"admintemplate-swap-ok.html", "Exe File Updated",
			[]string{"The Exe file has been updated on your server and the latest version is now running.",
				"File Name: WebDemo.exe", "File Size: 12.346 kb", "File Version: 7.0.1 beta", "File Date: 23.11.2026 20:23:42", "Back to Admin Page"}},
		{"isapi-exe-updated.html", "Exe Updated", []string{"The Exe file has been updated."}},
		{"cp1252-copy-failed.bin", "Unable to copy Update Exe file",
			[]string{`The file copy failed: Der Prozess kann nicht auf die Datei 'D:\Anwendungen\Größe\App.exe' zugreifen, da sie von einem anderen Prozess verwendet wird.`,
				`~\..\deploy\App_Update.exe to D:\Anwendungen\Größe\App.exe`}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "synthetic", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			d, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			p, ok := d.Header(tc.header)
			if !ok {
				t.Fatalf("no page %q in %+v", tc.header, d.Pages)
			}
			if !reflect.DeepEqual(p.Lines, tc.lines) {
				t.Errorf("lines\n got %q\nwant %q", p.Lines, tc.lines)
			}
			if len(d.Pages) != 1 {
				t.Errorf("%d pages", len(d.Pages))
			}
		})
	}
}

func TestGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	tests := map[string][]byte{
		"empty":          nil,
		"random bytes":   random,
		"plain text":     []byte("Service Unavailable"),
		"json":           []byte(`{"error":"nope"}`),
		"unclosed":       []byte(`<html><head><title>Exe File Updated`),
		"header only":    []byte(`<div class="page-header-text">Exe File Updated`),
		"nested garbage": []byte(strings.Repeat("<div><table><tr><td><p>", 300)),
		"deep nesting":   []byte(strings.Repeat("<div>", 100000)),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			d, err := Parse(b)
			if err != nil {
				return // refused markup is fine, as long as it is an error
			}
			for _, p := range d.Pages {
				if p.Header == "Exe File Updated" && p.Message != "" {
					t.Errorf("invented a message: %+v", p)
				}
			}
		})
	}
}

func TestHeaderOnlyIsFound(t *testing.T) {
	d, err := Parse([]byte(`<div class="page-header-text">Exe File Updated`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Header("exe file updated"); !ok {
		t.Errorf("pages %+v", d.Pages)
	}
}

// Cutting a real page anywhere never crashes, and once the cut is past the
// banner the header is found.
func TestTruncatedTranscripts(t *testing.T) {
	for _, f := range []string{"module-7.15/23-uploadexe-delete-fails.txt", "module-7.15/13-updateexe-swap.txt", "module-7.14/03-admin-before.txt"} {
		_, body := transcript(t, filepath.Join("testdata", f))
		full, err := Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		want := full.Pages[0].Header
		after := bytes.Index(body, []byte("</div>")) // end of the first banner
		for n := 0; n <= len(body); n += 37 {
			d, err := Parse(body[:n])
			if err != nil {
				t.Fatalf("%s cut at %d: %v", f, n, err)
			}
			if n > after && len(d.Pages) > 0 && d.Pages[0].Header != want {
				t.Errorf("%s cut at %d: header %q, want %q", f, n, d.Pages[0].Header, want)
			}
		}
	}
}

func TestHugeBody(t *testing.T) {
	_, page := transcript(t, "testdata/module-7.15/11-uploadexe-ok.txt")
	body := append(bytes.Clone(page), bytes.Repeat([]byte("ü filler text "), (MaxBytes/15)+1000)...)
	d, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Truncated {
		t.Error("not marked truncated")
	}
	if _, ok := d.Header("File has been uploaded"); !ok {
		t.Errorf("header lost: %q", d.Headers())
	}
	// The cut may split "ü"; that must not make the page Windows-1252.
	if strings.Contains(d.Text, "Ã¼") {
		t.Error("truncated UTF-8 body decoded as Windows-1252")
	}
}

func TestSummaryAndClip(t *testing.T) {
	_, body := transcript(t, "testdata/module-7.15/24-updateexe-copy-fails.txt")
	d, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	s := d.Summary(60)
	if !strings.HasPrefix(s, "Unable to copy Update Exe file: The file copy failed") || len([]rune(s)) != 60 || !strings.HasSuffix(s, "…") {
		t.Errorf("summary %q", s)
	}
	d2, _ := Parse([]byte("Service Unavailable"))
	if got := d2.Summary(100); got != "Service Unavailable" {
		t.Errorf("plain summary %q", got)
	}
	if got := Clip("äöü", 3); got != "äöü" {
		t.Errorf("clip %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, file := range transcripts(f) {
		_, body := transcript(f, file)
		f.Add(body)
	}
	syn, _ := filepath.Glob("testdata/synthetic/*")
	for _, s := range syn {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("<title>a</title><div class=header>b</div><div>c<br>d</div><title>e</title>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse(b)
		if err != nil {
			return
		}
		for _, p := range d.Pages {
			if p.Message != strings.Join(p.Lines, " ") {
				t.Errorf("message %q does not match lines %q", p.Message, p.Lines)
			}
		}
		_ = d.Summary(80)
		_ = d.Headers()
	})
}
