package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/ui"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
)

// With --json and no terminal (CI), stderr carries the plain progress
// lines while stdout stays one JSON document, which names the run.
func TestDeployJSONInCI(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{Flavor: emulator.Module715, Auth: "basic", Users: map[string]string{"deploy": testPassword}, InitialVersion: "1.0.0.0"})
	e := newEnv(t)
	exe := writeExe(t, t.TempDir(), "4.1.0.0", 21)
	s, out, errOut := ui.Test("")
	code := run(deployArgs(exe, srv, emulator.Module715, "--json"), s, e.get)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var doc struct {
		RunID   string `json:"run_id"`
		Servers []struct {
			State string `json:"state"`
		} `json:"servers"`
	}
	dec := json.NewDecoder(strings.NewReader(out.String()))
	if err := dec.Decode(&doc); err != nil || dec.More() {
		t.Fatalf("stdout is not one JSON document (%v):\n%s", err, out)
	}
	if doc.RunID == "" || len(doc.Servers) != 1 || doc.Servers[0].State != "updated" {
		t.Errorf("report: %+v", doc)
	}
	if !strings.Contains(errOut.String(), "[1/1] ") || strings.ContainsAny(errOut.String(), "\r\x1b") {
		t.Errorf("stderr lacks the plain progress lines:\n%q", errOut.String())
	}
}
