package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadBuildScriptFixture(t *testing.T) {
	path := filepath.Join("testdata", "bld_Orders.prg")
	bs, err := ReadBuildScript(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &BuildScript{
		ExeFile:        "Orders",
		UploadURL:      "https://apps.example.com/Orders/UploadExe.wc",
		UpdateURL:      "https://apps.example.com/Orders/UpdateExe.wc",
		ISAPIUploadURL: "https://apps.example.com/Orders/wc.wc?wwmaint~FileUpload",
	}
	if !reflect.DeepEqual(bs, want) {
		t.Errorf("got  %+v\nwant %+v", bs, want)
	}
	if got := bs.ExePath(path); got != filepath.Join("testdata", "Orders.exe") {
		t.Errorf("ExePath = %q", got)
	}
	base, flavor, up, upd, err := bs.Server()
	if err != nil || base != "https://apps.example.com/Orders/" || flavor != FlavorModule || up != "" || upd != "" {
		t.Errorf("Server = %q %q %q %q %v", base, flavor, up, upd, err)
	}
}

func TestParseBuildScriptShapes(t *testing.T) {
	cases := []struct {
		name   string
		script string
		want   BuildScript
		// expected Server() result
		base, flavor, up, upd string
	}{
		{
			name: "defines, any case, && comments",
			script: "#define exe_file \"App\"   && the EXE\n" +
				"#DEFINE HTTP_UPLOADURL [https://h/App/uploadexe.wc] && note\n" +
				"#Define Http_UpdateUrl 'https://h/App/UPDATEEXE.WC'\n",
			want: BuildScript{ExeFile: "App", UploadURL: "https://h/App/uploadexe.wc", UpdateURL: "https://h/App/UPDATEEXE.WC"},
			base: "https://h/App/", flavor: "module",
		},
		{
			name: "active ISAPI link chooses isapi",
			script: "EXE_FILE = \"Legacy\"\n" +
				"* HTTP_UPLOADURL = \"http://srv/legacy/UploadExe.wc\"\n" +
				"HTTP_UPLOADURL = \"http://srv/legacy/wc.wc?wwMaint~FileUpload\"\n" +
				"HTTP_UPDATEURL = \"http://srv/legacy/wc.wc?_maintain~UpdateExe\"\n",
			want: BuildScript{ExeFile: "Legacy", UploadURL: "http://srv/legacy/wc.wc?wwMaint~FileUpload", UpdateURL: "http://srv/legacy/wc.wc?_maintain~UpdateExe"},
			base: "http://srv/legacy/", flavor: "isapi",
		},
		{
			name: "ISAPI upload with a module-style update link keeps the link",
			script: "EXE_FILE = 'Mixed'\n" +
				"HTTP_UPLOADURL = \"http://srv/mixed/UploadExe.wc\"\n" +
				"HTTP_UPDATEURL = \"http://srv/mixed/UpdateExe.wc\"\n" +
				"*** for ISAPI use this url\n" +
				"HTTP_UPLOADURL = \"http://srv/mixed/wc.wc?wwmaint~FileUpload\"\n",
			want: BuildScript{ExeFile: "Mixed", UploadURL: "http://srv/mixed/wc.wc?wwmaint~FileUpload", UpdateURL: "http://srv/mixed/UpdateExe.wc"},
			base: "http://srv/mixed/", flavor: "isapi", upd: "http://srv/mixed/UpdateExe.wc",
		},
		{
			name: "concatenation, m. prefix, continuation, STORE",
			script: "LOCAL lcBase\n" +
				"m.lcBase = \"https://web.example.com/\" + ;\n" +
				"   \"Shop/\"\n" +
				"STORE \"Shop\" TO EXE_FILE\n" +
				"HTTP_UPLOADURL = lcBase + \"UploadExe.wc\"\n" +
				"HTTP_UPDATEURL = (m.lcBase + [UpdateExe.wc])\n" +
				"WEB_USERNAME = 'CORP\\deploy'\n",
			want: BuildScript{ExeFile: "Shop", UploadURL: "https://web.example.com/Shop/UploadExe.wc", UpdateURL: "https://web.example.com/Shop/UpdateExe.wc", Username: `CORP\deploy`},
			base: "https://web.example.com/Shop/", flavor: "module",
		},
		{
			name: "&& inside strings is text; NOTE lines are comments",
			script: "NOTE HTTP_UPLOADURL = \"https://wrong/\"\n" +
				"EXE_FILE = \"bin\\Tool\" && built into bin\n" +
				"HTTP_UPLOADURL = \"https://h/a&&b/UploadExe.wc\"\n",
			want: BuildScript{ExeFile: `bin\Tool`, UploadURL: "https://h/a&&b/UploadExe.wc"},
			base: "https://h/a&&b/", flavor: "module",
		},
		{
			name: "custom links are kept explicitly",
			script: "EXE_FILE = \"X\"\n" +
				"HTTP_UPLOADURL = \"https://h/App/admin/UploadExe.wc\"\n" +
				"HTTP_UPDATEURL = \"https://h/App/wc.wc?_maintain~UpdateExe\"\n",
			want: BuildScript{ExeFile: "X", UploadURL: "https://h/App/admin/UploadExe.wc", UpdateURL: "https://h/App/wc.wc?_maintain~UpdateExe"},
			base: "https://h/App/admin/", flavor: "module", upd: "https://h/App/wc.wc?_maintain~UpdateExe",
		},
		{
			name: "computed values are reported, last assignment wins",
			script: "EXE_FILE = \"First\"\n" +
				"EXE_FILE = GetExeName()\n" +
				"HTTP_UPLOADURL = \"https://h/App/UploadExe.wc\"\n" +
				"HTTP_UPDATEURL = lcSomething\n",
			want: BuildScript{UploadURL: "https://h/App/UploadExe.wc", Computed: []string{"EXE_FILE", "HTTP_UPDATEURL"}},
			base: "https://h/App/", flavor: "module",
		},
		{
			name:   "comparisons are not assignments",
			script: "EXE_FILE = \"A\"\nIF EXE_FILE = \"B\"\nENDIF\nEXE_FILE == \"C\"\n",
			want:   BuildScript{ExeFile: "A"},
		},
		{
			name:   "Windows-1252 text",
			script: "* Gr\xfc\xdfe\nEXE_FILE = \"Caf\xe9\"\n",
			want:   BuildScript{ExeFile: "Café"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bs, err := ParseBuildScript(strings.NewReader(c.script))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*bs, c.want) {
				t.Errorf("got  %+v\nwant %+v", *bs, c.want)
			}
			if c.base == "" {
				return
			}
			base, flavor, up, upd, err := bs.Server()
			if err != nil || base != c.base || flavor != c.flavor || up != c.up || upd != c.upd {
				t.Errorf("Server = %q %q %q %q %v; want %q %q %q %q", base, flavor, up, upd, err, c.base, c.flavor, c.up, c.upd)
			}
		})
	}
}

func TestBuildScriptExePath(t *testing.T) {
	dir := filepath.Join("proj", "deploy")
	cases := map[string]string{
		"App":             filepath.Join(dir, "App.exe"),
		"App.EXE":         filepath.Join(dir, "App.EXE"),
		`bin\App`:         filepath.Join(dir, "bin", "App.exe"),
		`..\build\App`:    filepath.Join("proj", "build", "App.exe"),
		`C:\Builds\App`:   `C:\Builds\App.exe`,
		"":                "",
		"/abs/linux/App":  "/abs/linux/App.exe",
		"  spaced  ":      filepath.Join(dir, "spaced.exe"),
		"sub/dir/App.exe": filepath.Join(dir, "sub", "dir", "App.exe"),
	}
	for in, want := range cases {
		if filepath.Separator == '\\' && strings.HasPrefix(in, "/") {
			continue
		}
		got := (&BuildScript{ExeFile: in}).ExePath(filepath.Join(dir, "bld_App.prg"))
		if got != want {
			t.Errorf("ExePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBuildScriptServerErrors(t *testing.T) {
	for _, up := range []string{"", "not a url", "https://u:pw@h/App/UploadExe.wc"} {
		_, _, _, _, err := (&BuildScript{UploadURL: up}).Server()
		if err == nil {
			t.Errorf("Server(%q): no error", up)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

func TestReadBuildScriptMissing(t *testing.T) {
	_, err := ReadBuildScript(filepath.Join(t.TempDir(), "nope.prg"))
	if err == nil || !strings.Contains(err.Error(), "cannot read the build script") {
		t.Errorf("err = %v", err)
	}
}

func FuzzParseBuildScript(f *testing.F) {
	fixture, err := os.ReadFile(filepath.Join("testdata", "bld_Orders.prg"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(fixture))
	f.Add("#DEFINE EXE_FILE [A]\nHTTP_UPLOADURL = 'https://h/' + ;\n\"App/wc.wc?wwMaint~FileUpload\"\n")
	f.Add("STORE 'x' TO a, EXE_FILE\nm.HTTP_UPDATEURL = (EXE_FILE)\n* HTTP_UPLOADURL = \"http://h/wc.wc?wwmaint~fileupload\" && isapi\n")
	f.Add("x = [a&&b] && c ;\n;\n[")
	f.Fuzz(func(t *testing.T, script string) {
		bs, err := ParseBuildScript(strings.NewReader(script))
		if err != nil {
			t.Fatalf("parse error on in-memory input: %v", err)
		}
		if bs.UploadURL == "" {
			return
		}
		base, flavor, _, _, err := bs.Server()
		if err != nil {
			return
		}
		// The base handed to init must be one Load accepts.
		if _, _, _, err := DeriveURLs(flavor, base); err != nil {
			t.Fatalf("base %q flavor %q: %v", base, flavor, err)
		}
		if again, err := NormalizeBaseURL(base); err != nil || again != base {
			t.Fatalf("base %q does not normalize to itself: %q, %v", base, again, err)
		}
	})
}
