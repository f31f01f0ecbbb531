package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/ui"
)

func TestEmulateRejectsRemoteListen(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"emulate", "--listen", "0.0.0.0:0", "--user", "a:b"}, "--allow-remote"},
		{[]string{"emulate", "--listen", "nonsense", "--user", "a:b"}, "not host:port"},
		{[]string{"emulate", "--listen", "127.0.0.1:0", "--user", "nopassword"}, "NAME:PASSWORD"},
		{[]string{"emulate", "--listen", "127.0.0.1:0", "--flavor", "iis-5"}, "unknown flavor"},
	}
	for _, tc := range cases {
		s, out, errOut := ui.Test("")
		code := run(tc.args, s, func(string) string { return "" })
		if code != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: code %d, stderr %q, stdout %q", tc.args, code, errOut, out)
		}
	}
}

func TestEmulateServesAndLogs(t *testing.T) {
	dir := t.TempDir()
	usersFile := filepath.Join(dir, "users.txt")
	if err := os.WriteFile(usersFile, []byte("# admins\nops:filepass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, out, errOut := ui.Test("")
	a := &app{deps: systemDeps(s, func(string) string { return "" })}
	stop := make(chan struct{})
	urls := make(chan string, 1)
	o := &emulateOptions{
		listen: "127.0.0.1:0", flavor: "module-7.14", users: []string{"wcadmin:flagpass"}, usersFile: usersFile,
		auth: "basic", adminAccount: "ANY", dir: filepath.Join(dir, "deploy"), swapDelay: 10 * time.Millisecond,
		culture: "en-US", maxRequestBytes: 1000, initialVersion: "2.0.0.1", template: "fallback", exeName: "WcDemo.exe",
		stop: stop, ready: func(u string) { urls <- u },
	}
	done := make(chan error, 1)
	go func() { done <- runEmulate(t.Context(), a, o) }()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("emulate ended early: %v\n%s", err, errOut)
	}
	req, _ := http.NewRequest("GET", base+"ModuleAdministration.wc", nil)
	req.SetBasicAuth("ops", "filepass")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status page as the users-file user: %d", resp.StatusCode)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("emulate: %v", err)
	}
	for _, want := range []string{base, base + "UploadExe.wc", base + "UpdateExe.wc", base + "ModuleAdministration.wc", "FileVersion 2.0.0.1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut.String(), "GET /ModuleAdministration.wc user=ops status=200") {
		t.Errorf("request not logged:\n%s", errOut)
	}
	for _, secret := range []string{"flagpass", "filepass"} {
		if strings.Contains(out.String()+errOut.String(), secret) {
			t.Errorf("a password appears in the output")
		}
	}
}
