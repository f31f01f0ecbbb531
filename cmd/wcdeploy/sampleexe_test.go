package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/peversion"
)

func TestSampleExeCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Orders.exe")
	r := runCLI(t, newEnv(t), "sample-exe", "--file-version", "1.2.0.0", "--size", "3000000", path)
	if r.code != 0 || !strings.Contains(r.out, "FileVersion 1.2.0.0, 3000000 bytes") {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	info, err := peversion.ReadFile(path)
	if err != nil || info.FileVersion != "1.2.0.0" || info.Size != 3000000 {
		t.Fatalf("%+v %v", info, err)
	}
	if r := runCLI(t, newEnv(t), "sample-exe", "--size", "10", path); r.code != 2 {
		t.Errorf("a size below the EXE's: exit %d, want 2\n%s", r.code, r.errOut)
	}
	if r := runCLI(t, newEnv(t), "sample-exe"); r.code != 2 {
		t.Errorf("no path: exit %d, want 2", r.code)
	}
}
