package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/ui"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

func noEnv(string) string { return "" }

// runInitCmd runs the real command line with test streams.
func runInitCmd(t *testing.T, stdin string, tty bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	s, out, errOut := ui.Test(stdin)
	s.InTTY, s.ErrTTY = tty, tty
	code = run(append([]string{"init"}, args...), s, noEnv)
	return code, out.String(), errOut.String()
}

func loadWritten(t *testing.T, path, profile string) *config.Loaded {
	t.Helper()
	ld, err := config.Load(config.Options{ConfigPath: path, Profile: profile, Dir: filepath.Dir(path)})
	if err != nil {
		data, _ := os.ReadFile(path)
		t.Fatalf("written file does not load: %v\n%s", err, data)
	}
	return ld
}

func TestInitFromFlags(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "proj", config.FileName)
	if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runInitCmd(t, "", false, "--config", cfg, "--exe", filepath.Join(dir, "proj", "build", "App.exe"),
		"--url", "https://web1.example.com/App", "--user", `CORP\deploy`, "--name", "web1", "--flavor", "webserver", "--profile", "Prod")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "Wrote "+cfg) {
		t.Errorf("stdout = %q", stdout)
	}
	if !strings.Contains(stderr, "does not exist yet") || !strings.Contains(stderr, "wcdeploy login") {
		t.Errorf("stderr = %q", stderr)
	}
	data, _ := os.ReadFile(cfg)
	text := string(data)
	for _, want := range []string{`exe: 'build/App.exe'`, "timeouts:", "# health:", "WCDEPLOY_PASSWORD", `'CORP\deploy'`} {
		if !strings.Contains(text, want) {
			t.Errorf("file lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(strings.ToLower(text), "password:") {
		t.Errorf("file has a password key:\n%s", text)
	}
	ld := loadWritten(t, cfg, "")
	p := ld.Profile
	if p.Name != "prod" || p.Username != `CORP\deploy` || p.Flavor != "webserver" || p.Exe != filepath.Join(dir, "proj", "build", "App.exe") {
		t.Errorf("profile = %+v", p)
	}
	if len(p.Servers) != 1 || p.Servers[0].Name != "web1" || p.Servers[0].URL != "https://web1.example.com/App/" ||
		p.Servers[0].UpdateURL != "https://web1.example.com/App/UpdateExe.wc" {
		t.Errorf("servers = %+v", p.Servers)
	}
	if p.Timeouts != config.Defaults().Timeouts || p.Rollout.Parallel != 4 || p.ArchiveKeep != 5 {
		t.Errorf("written defaults differ from Defaults(): %+v", p)
	}

	// A second run refuses to overwrite; --force replaces.
	code, _, stderr = runInitCmd(t, "", false, "--config", cfg, "--exe", "a.exe", "--url", "https://h/")
	if code != int(exitcode.Usage) || !strings.Contains(stderr, "already exists") || !strings.Contains(stderr, "--force") {
		t.Errorf("overwrite: exit %d, %s", code, stderr)
	}
	code, _, stderr = runInitCmd(t, "", false, "--config", cfg, "--exe", "a.exe", "--url", "https://h2/", "--force")
	if code != 0 {
		t.Fatalf("--force: exit %d, %s", code, stderr)
	}
	if ld := loadWritten(t, cfg, ""); ld.Profile.Servers[0].Name != "h2" || ld.Profile.Name != "prod" {
		t.Errorf("after --force: %+v", ld.Profile)
	}
}

func TestInitInCurrentFolder(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, _, stderr := runInitCmd(t, "", false, "--exe", "build/App.exe", "--url", "http://10.0.0.5/App/", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "plain http") {
		t.Errorf("no plain-http note: %q", stderr)
	}
	ld := loadWritten(t, filepath.Join(dir, config.FileName), "")
	if ld.Profile.Exe != filepath.Join(dir, "build", "App.exe") {
		t.Errorf("exe = %q", ld.Profile.Exe)
	}
	// Found by walking up from a sub folder, as deploy will.
	sub := filepath.Join(dir, "src")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if ld, err := config.Load(config.Options{Dir: sub}); err != nil || ld.File != filepath.Join(dir, config.FileName) {
		t.Errorf("walk up: %+v, %v", ld, err)
	}
}

func TestInitJSON(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), config.FileName)
	code, stdout, stderr := runInitCmd(t, "", false, "--config", cfg, "--exe", "a.exe", "--url", "https://h/App/", "--json", "--flavor", "isapi")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		File    string
		Profile string
		Servers []config.Server
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if doc.File != cfg || doc.Profile != "prod" || len(doc.Servers) != 1 || doc.Servers[0].UploadURL != "https://h/App/wc.wc?wwMaint~FileUpload" {
		t.Errorf("doc = %+v", doc)
	}
}

const prgModule = "*** Build\r\n" +
	"EXE_FILE          =         \"Shop\"\r\n" +
	"HTTP_UPLOADURL    =         \"https://shop.example.com/Shop/UploadExe.wc\"\r\n" +
	"HTTP_UPDATEURL    =         \"https://shop.example.com/Shop/UpdateExe.wc\"\r\n" +
	"*** for ISAPI use this url\r\n" +
	"* HTTP_UPLOADURL  =         \"https://shop.example.com/Shop/wc.wc?wwmaint~FileUpload\"\r\n" +
	"WEB_USERNAME      =         StrExtract(sys(0),\"# \",\"\")\r\n"

func TestInitFromPrg(t *testing.T) {
	cases := []struct {
		name, script string
		args         []string
		wantFlavor   string
		wantURL      string
		wantUpdate   string
		wantUser     string
		wantNote     string
	}{
		{name: "module", script: prgModule, wantFlavor: "module", wantURL: "https://shop.example.com/Shop/",
			wantUpdate: "https://shop.example.com/Shop/UpdateExe.wc", wantNote: "ISAPI upload link"},
		{name: "isapi", script: "#DEFINE EXE_FILE [Legacy]\n#define HTTP_UPLOADURL \"http://localhost/legacy/wc.wc?wwMaint~FileUpload\"\n" +
			"#DEFINE HTTP_UPDATEURL \"http://localhost/legacy/wc.wc?_maintain~UpdateExe\"\nWEB_USERNAME = 'ops'\n",
			wantFlavor: "isapi", wantURL: "http://localhost/legacy/", wantUpdate: "http://localhost/legacy/wc.wc?_maintain~UpdateExe", wantUser: "ops"},
		{name: "flags win", script: prgModule, args: []string{"--url", "https://other.example.com/Shop/", "--user", "me"},
			wantFlavor: "module", wantURL: "https://other.example.com/Shop/", wantUpdate: "https://other.example.com/Shop/UpdateExe.wc", wantUser: "me"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			prg := filepath.Join(dir, "deploy", "bld_App.prg")
			if err := os.MkdirAll(filepath.Dir(prg), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(prg, []byte(c.script), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(dir, config.FileName)
			args := append([]string{"--config", cfg, "--from-prg", prg}, c.args...)
			code, _, stderr := runInitCmd(t, "", false, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			data, _ := os.ReadFile(cfg)
			if !strings.Contains(string(data), "Imported from deploy/bld_App.prg") {
				t.Errorf("no import note:\n%s", data)
			}
			if c.wantNote != "" && !strings.Contains(string(data), c.wantNote) {
				t.Errorf("file lacks %q:\n%s", c.wantNote, data)
			}
			p := loadWritten(t, cfg, "").Profile
			s := p.Servers[0]
			if s.Flavor != c.wantFlavor || s.URL != c.wantURL || s.UpdateURL != c.wantUpdate || p.Username != c.wantUser {
				t.Errorf("server %+v user %q", s, p.Username)
			}
			// EXE_FILE is relative to the script's folder and has no extension.
			if filepath.Dir(p.Exe) != filepath.Join(dir, "deploy") || filepath.Ext(p.Exe) != ".exe" {
				t.Errorf("exe = %q", p.Exe)
			}
		})
	}
}

func TestInitErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, config.FileName)
	prgNoURL := filepath.Join(dir, "bld_X.prg")
	if err := os.WriteFile(prgNoURL, []byte("EXE_FILE = \"X\"\nHTTP_UPLOADURL = GetURL()\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"nothing without a terminal", nil, "init needs --exe and --url"},
		{"no url", []string{"--exe", "a.exe"}, "init needs --url"},
		{"bad url", []string{"--exe", "a.exe", "--url", "ftp://h/"}, "--url: the URL"},
		{"url with password", []string{"--exe", "a.exe", "--url", "https://bob:pa55@h/"}, "user name or password"},
		{"bad flavor", []string{"--exe", "a.exe", "--url", "https://h/", "--flavor", "iis"}, "must be one of module, webserver, isapi"},
		{"missing prg", []string{"--from-prg", filepath.Join(dir, "nope.prg")}, "--from-prg"},
		{"computed url", []string{"--from-prg", prgNoURL}, "init needs --url"},
		{"config is a folder", []string{"--config", dir, "--exe", "a.exe", "--url", "https://h/"}, "is a folder"},
		{"unknown flag", []string{"--bogus"}, "unknown flag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if c.name != "config is a folder" {
				args = append([]string{"--config", cfg}, args...)
			}
			code, _, stderr := runInitCmd(t, "", false, args...)
			if code != int(exitcode.Usage) || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want %q", code, stderr, c.want)
			}
			if strings.Contains(stderr, "pa55") {
				t.Errorf("stderr shows the password: %s", stderr)
			}
			if _, err := os.Stat(cfg); err == nil {
				t.Errorf("a file was written despite the error")
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".wcdeploy-init-") {
					t.Errorf("temp file left behind: %s", e.Name())
				}
			}
		})
	}
}

func TestInitInteractive(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, config.FileName)
	t.Chdir(dir)
	// Blank exe first (required, asked again), a bad URL (asked again), a
	// bad flavor, then the default user (none).
	answers := "\nbuild/App.exe\nnot a url\nhttps://web1.example.com/App/\niis\nisapi\n\n"
	code, stdout, stderr := runInitCmd(t, answers, true)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Server EXE to deploy", "(required)", "Application URL", "the URL", "answer module, webserver or isapi", "User name"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("prompts lack %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stdout, "Server EXE") {
		t.Errorf("prompts went to stdout: %q", stdout)
	}
	p := loadWritten(t, cfg, "").Profile
	if p.Exe != filepath.Join(dir, "build", "App.exe") || p.Servers[0].Flavor != "isapi" || p.Username != "" {
		t.Errorf("profile = %+v", p)
	}

	// Running out of answers is an error, not a hang.
	code, _, stderr = runInitCmd(t, "", true, "--config", filepath.Join(dir, "other.yaml"))
	if code != int(exitcode.Usage) || !strings.Contains(stderr, "no answer") {
		t.Errorf("EOF: exit %d, %s", code, stderr)
	}

	// Defaults from the build script are offered and accepted with Enter.
	prg := filepath.Join(dir, "bld_Shop.prg")
	if err := os.WriteFile(prg, []byte("EXE_FILE = \"Shop\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runInitCmd(t, "\nhttps://shop.example.com/\n\nops\n", true, "--config", filepath.Join(dir, "shop.yaml"), "--from-prg", prg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "[Shop.exe]") {
		t.Errorf("no default offered: %s", stderr)
	}
	p = loadWritten(t, filepath.Join(dir, "shop.yaml"), "").Profile
	if p.Exe != filepath.Join(dir, "Shop.exe") || p.Username != "ops" || p.Servers[0].URL != "https://shop.example.com/" {
		t.Errorf("profile = %+v", p)
	}
}
