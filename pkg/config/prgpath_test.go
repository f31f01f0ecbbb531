package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --from-prg 'deploy\bld_Shop.prg' reads the script on every OS, and the
// EXE is found relative to the script's folder, as with 'deploy/bld_Shop.prg'.
func TestReadBuildScriptBackslashPath(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "bld_Orders.prg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "deploy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "deploy", "bld_Shop.prg"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, typed := range []string{`deploy\bld_Shop.prg`, "deploy/bld_Shop.prg"} {
		path := filepath.Join(dir, typed) // as init joins it to the current folder
		bs, err := ReadBuildScript(path)
		if err != nil {
			t.Fatalf("%s: %v", typed, err)
		}
		if bs.UploadURL != "https://apps.example.com/Orders/UploadExe.wc" {
			t.Errorf("%s: upload link %q", typed, bs.UploadURL)
		}
		if got, want := bs.ExePath(path), filepath.Join(dir, "deploy", "Orders.exe"); got != want {
			t.Errorf("%s: ExePath %q, want %q", typed, got, want)
		}
	}
	if _, err := ReadBuildScript(filepath.Join(dir, `deploy\nope.prg`)); err == nil {
		t.Error("a missing script was read")
	}
}

// A generated script keeps its ISAPI link as a commented-out #DEFINE; it is
// noted like a commented-out assignment.
func TestCommentedDefineISAPILink(t *testing.T) {
	src := "#DEFINE EXE_FILE \"Shop\"\n" +
		"#DEFINE HTTP_UPLOADURL \"https://web.example.com/Shop/UploadExe.wc\"\n" +
		"*** for ISAPI use this url\n" +
		"* #DEFINE HTTP_UPLOADURL \"https://web.example.com/Shop/wc.wc?wwmaint~FileUpload\"  && wc.dll\n" +
		"&& #define HTTP_UPDATEURL \"https://web.example.com/Shop/wc.wc?_maintain~UpdateExe\"\n"
	bs, err := ParseBuildScript(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if bs.ISAPIUploadURL != "https://web.example.com/Shop/wc.wc?wwmaint~FileUpload" {
		t.Errorf("ISAPI link %q", bs.ISAPIUploadURL)
	}
	if bs.UploadURL != "https://web.example.com/Shop/UploadExe.wc" {
		t.Errorf("active link %q", bs.UploadURL)
	}
}
