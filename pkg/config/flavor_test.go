package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseFlavorBothForms(t *testing.T) {
	for _, tc := range []struct{ in, kind, emulated string }{
		{"module", FlavorModule, "module-7.15"},
		{"MODULE", FlavorModule, "module-7.15"},
		{" Module-7.15 ", FlavorModule, "module-7.15"},
		{"module-7.14", FlavorModule, "module-7.14"},
		{"WebServer", FlavorWebServer, "webserver-7.26"},
		{"webserver-7.26", FlavorWebServer, "webserver-7.26"},
		{"ISAPI", FlavorISAPI, "isapi"},
	} {
		kind, err := ParseFlavor(tc.in)
		if err != nil || kind != tc.kind {
			t.Errorf("ParseFlavor(%q) = %q, %v; want %q", tc.in, kind, err, tc.kind)
		}
		em, err := ParseEmulatedFlavor(tc.in)
		if err != nil || em != tc.emulated {
			t.Errorf("ParseEmulatedFlavor(%q) = %q, %v; want %q", tc.in, em, err, tc.emulated)
		}
	}
	_, err := ParseFlavor("iis")
	if err == nil || !strings.Contains(err.Error(), "must be one of module, webserver, isapi") || !strings.Contains(err.Error(), "module-7.14") {
		t.Errorf("ParseFlavor(iis) error %v should list the names", err)
	}
	_, err = ParseEmulatedFlavor("module-8")
	if err == nil || !strings.Contains(err.Error(), `"module-8"`) || !strings.Contains(err.Error(), "module-7.14, module-7.15, webserver-7.26 or isapi") {
		t.Errorf("ParseEmulatedFlavor(module-8) error %v should list the names", err)
	}
}

// The emulator's names work in a profile, on the command line and per
// server, and are stored as the kind the links are derived from.
func TestProfileTakesEmulatorFlavorNames(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, FileName)
	data := "profiles:\n  prod:\n    flavor: Module-7.15\n    servers:\n      - {name: a, url: \"https://a.example.com/App/\"}\n      - {name: b, url: \"https://b.example.com/App/\", flavor: ISAPI}\n      - {name: c, url: \"https://c.example.com/App/\", flavor: webserver-7.26}\n"
	if err := os.WriteFile(cfg, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	ld, err := Load(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p := ld.Profile
	if p.Flavor != FlavorModule {
		t.Errorf("profile flavor %q, want module", p.Flavor)
	}
	want := map[string]string{"a": FlavorModule, "b": FlavorISAPI, "c": FlavorWebServer}
	for _, s := range p.Servers {
		if s.Flavor != want[s.Name] {
			t.Errorf("server %s flavor %q, want %q", s.Name, s.Flavor, want[s.Name])
		}
	}
	if p.Servers[1].UploadURL != "https://b.example.com/App/wc.wc?wwMaint~FileUpload" {
		t.Errorf("isapi server upload link %q", p.Servers[1].UploadURL)
	}

	ld, err = Load(Options{Dir: dir, Getenv: func(k string) string {
		if k == "WCDEPLOY_FLAVOR" {
			return "module-7.14"
		}
		return ""
	}})
	if err != nil || ld.Profile.Flavor != FlavorModule {
		t.Fatalf("WCDEPLOY_FLAVOR=module-7.14: %v, flavor %q", err, ld.Profile.Flavor)
	}
}
