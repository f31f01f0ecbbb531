package emulator

import (
	"net/http"
	"strings"
	"testing"
)

// The emulator takes a profile's flavor names as well as its own.
func TestNewTakesProfileFlavorNames(t *testing.T) {
	for in, want := range map[Flavor]Flavor{"module": Module715, "Module-7.14": Module714, "WEBSERVER": WebServer726, "IsApi": ISAPI} {
		s, err := New(Config{Flavor: in, Dir: t.TempDir()})
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := s.Config().Flavor; got != want {
			t.Errorf("%s: flavor %s, want %s", in, got, want)
		}
		s.Close()
	}
	_, err := New(Config{Flavor: "iis-5", Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "unknown flavor") || !strings.Contains(err.Error(), "module-7.14, module-7.15, webserver-7.26 or isapi") {
		t.Errorf("iis-5: %v", err)
	}
}

// The emulator is one application under every folder, as docs/emulator.md
// says: an upload to one folder is swapped from another and the status
// page anywhere shows it.
func TestAnyFolderIsTheApplication(t *testing.T) {
	s := startT(t, Config{Flavor: Module715, Users: map[string]string{"deploy": "secret"}})
	dir := t.TempDir()
	ctype, body := multipartBody(t, part{name: "File", filename: "App.exe", content: readFile(t, exe(t, dir, "App.exe", "3.1.0.0", 0))})
	if r := do(t, nil, http.MethodPost, s.URL()+"any/folder/UploadExe.wc", "deploy:secret", ctype, body); r.status != http.StatusOK || !strings.Contains(r.body, hdrUploaded) {
		t.Fatalf("upload under /any/folder/: %d %.200s", r.status, r.body)
	}
	if r := do(t, nil, http.MethodGet, s.URL()+"Other/UpdateExe.wc", "deploy:secret", "", nil); r.status != http.StatusOK || !strings.Contains(r.body, hdrSwapped) {
		t.Fatalf("swap under /Other/: %d %.200s", r.status, r.body)
	}
	for _, p := range []string{"ModuleAdministration.wc", "App/ModuleAdministration.wc", "x/y/z/ModuleAdministration.wc"} {
		if r := do(t, nil, http.MethodGet, s.URL()+p, "deploy:secret", "", nil); !strings.Contains(r.body, "3.1.0.0") {
			t.Errorf("/%s does not show the swapped version: %d", p, r.status)
		}
	}
	if r := do(t, nil, http.MethodGet, s.URL()+"somewhere/else/default.wc", "", "", nil); r.status != http.StatusOK || !strings.Contains(r.body, `<span id="server-version">3.1.0.0</span>`) {
		t.Errorf("normal page under another folder: %d %.200s", r.status, r.body)
	}
}
