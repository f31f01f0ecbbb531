package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// docs/troubleshooting.md's size-limit settings are generated from
// pkg/uploader's advice (TestTroubleshootingExample there). This test holds
// them to what 'wcdeploy doctor' prints: for an EXE of the page's size, a
// server of each flavor with the stock limit gets exactly the page's block.
func TestTroubleshootingAdviceIsDoctors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(raw), "<!-- size-advice:begin -->")
	section, _, ok := strings.Cut(section, "<!-- size-advice:end -->")
	if !ok || !strings.Contains(section, "For an upload of 31000000 bytes") {
		t.Fatal("docs/troubleshooting.md has no size-advice block for 31000000 bytes")
	}
	blocks := map[string]string{} // by the heading above each block
	parts := strings.Split(section, "\n```\n")
	for i := 0; i+1 < len(parts); i += 2 {
		lines := strings.Split(strings.TrimSpace(parts[i]), "\n")
		heading := strings.TrimSuffix(strings.TrimSpace(lines[len(lines)-1]), ":")
		blocks[heading] = strings.TrimPrefix(parts[i+1], "```\n")
	}
	exe := filepath.Join(t.TempDir(), "App.exe")
	if err := sampleexe.WriteFile(exe, sampleexe.Options{FileVersion: "1.4.0.8", Size: 31_000_000}); err != nil {
		t.Fatal(err)
	}
	for heading, f := range map[string]emulator.Flavor{
		"IIS .NET module":           emulator.Module715,
		"Web Connection Web Server": emulator.WebServer726,
		"ISAPI (wc.dll)":            emulator.ISAPI,
	} {
		t.Run(heading, func(t *testing.T) {
			want, ok := blocks[heading]
			if !ok {
				t.Fatalf("docs/troubleshooting.md shows no block under %q (it has %q)", heading, sortedNames(blocks))
			}
			srv := emulatortest.Start(t, emulator.Config{Flavor: f, Auth: authFor(f), ExeName: "App.exe", Users: map[string]string{"deploy": testPassword}})
			r := runCLI(t, newEnv(t), "doctor", "--exe", exe, "--url", srv.URL(), "--flavor", f.Kind(), "--user", "deploy")
			if r.code != 4 || !strings.Contains(r.out, "\n"+want+"\n") {
				t.Errorf("doctor (exit %d) does not print the page's block:\n%s\n--- the page\n%s", r.code, r.out, want)
			}
		})
	}
}
