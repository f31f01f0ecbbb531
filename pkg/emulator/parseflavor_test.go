package emulator

import (
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
