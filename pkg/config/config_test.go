package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// env turns a map into a Getenv function.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return fs
}

const fullFile = `
default_profile: prod
profiles:
  prod:
    exe: build/WcDemo.exe
    dll: build/WcDemo.dll
    username: 'CORP\deploy'
    auth: ntlm
    flavor: module
    ca_file: certs/ca.pem
    insecure_skip_verify: false
    allow_insecure_http: true
    timeouts: {connect: 5s, response: 1m, swap: 3m, status: 20s, keychain: 2s}
    retries: 2
    rollout:
      parallel: 8
      canary: 2
      max_failures: 1
      health:
        - {url: "default.wc", status: 200, contains: "Hello", timeout: 3s, retries: 4, interval: 500ms}
        - url: https://probe.example.com/ping
    archive: {keep: 9}
    servers:
      - {name: web1, url: "https://web1.example.com/App", group: blue}
      - {name: Web2, url: "https://web2.example.com/App/", flavor: webserver, group: green}
      - {name: old, url: "https://old.example.com/App/", flavor: isapi}
      - name: custom
        url: https://custom.example.com/App/
        upload_url: admin/UploadExe.wc
        update_url: https://custom.example.com/App/wc.wc?_maintain~UpdateExe
  Staging:
    exe: build/WcDemo.exe
    servers:
      - {url: "http://localhost:8080/App/"}
`

// project makes a project folder with the full file, the EXE, DLL and CA.
func project(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, FileName), fullFile)
	for _, f := range []string{"build/WcDemo.exe", "build/WcDemo.dll", "certs/ca.pem"} {
		writeFile(t, filepath.Join(dir, f), "x")
	}
	return dir
}

func TestLoadFullFile(t *testing.T) {
	dir := project(t)
	sub := filepath.Join(dir, "src", "deep")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	ld, err := Load(Options{Dir: sub, NeedExe: true, NeedServers: true})
	if err != nil {
		t.Fatal(err)
	}
	if ld.File != filepath.Join(dir, FileName) || ld.Dir != dir {
		t.Errorf("File, Dir = %q, %q", ld.File, ld.Dir)
	}
	if want := []string{"prod", "staging"}; !reflect.DeepEqual(ld.Profiles, want) {
		t.Errorf("Profiles = %v, want %v", ld.Profiles, want)
	}
	p := ld.Profile
	want := Profile{
		Name: "prod", Exe: filepath.Join(dir, "build", "WcDemo.exe"), DLL: filepath.Join(dir, "build", "WcDemo.dll"),
		Username: `CORP\deploy`, Auth: "ntlm", Flavor: "module", CAFile: filepath.Join(dir, "certs", "ca.pem"),
		AllowInsecureHTTP: true,
		Timeouts:          Timeouts{Connect: 5 * time.Second, Response: time.Minute, Swap: 3 * time.Minute, Status: 20 * time.Second, Keychain: 2 * time.Second},
		Retries:           2,
		Rollout: Rollout{Parallel: 8, Canary: 2, MaxFailures: 1, Health: []Health{
			{URL: "default.wc", Status: 200, Contains: "Hello", Timeout: 3 * time.Second, Retries: 4, Interval: 500 * time.Millisecond},
			{URL: "https://probe.example.com/ping", Status: 200, Timeout: 10 * time.Second, Retries: 5, Interval: 2 * time.Second},
		}},
		ArchiveKeep: 9,
		Servers: []Server{
			{Name: "web1", URL: "https://web1.example.com/App/", Flavor: "module", Group: "blue",
				UploadURL: "https://web1.example.com/App/UploadExe.wc", UpdateURL: "https://web1.example.com/App/UpdateExe.wc", StatusURL: "https://web1.example.com/App/ModuleAdministration.wc"},
			{Name: "Web2", URL: "https://web2.example.com/App/", Flavor: "webserver", Group: "green",
				UploadURL: "https://web2.example.com/App/UploadExe.wc", UpdateURL: "https://web2.example.com/App/UpdateExe.wc", StatusURL: "https://web2.example.com/App/ModuleAdministration.wc"},
			{Name: "old", URL: "https://old.example.com/App/", Flavor: "isapi",
				UploadURL: "https://old.example.com/App/wc.wc?wwMaint~FileUpload", UpdateURL: "https://old.example.com/App/wc.wc?_maintain~UpdateExe", StatusURL: "https://old.example.com/App/wc.wc?_maintain~ShowStatus"},
			{Name: "custom", URL: "https://custom.example.com/App/", Flavor: "module",
				UploadURL: "https://custom.example.com/App/admin/UploadExe.wc", UpdateURL: "https://custom.example.com/App/wc.wc?_maintain~UpdateExe", StatusURL: "https://custom.example.com/App/ModuleAdministration.wc"},
		},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("profile mismatch\n got %+v\nwant %+v", p, want)
	}
	h, err := p.Rollout.Health[0].ResolveURL(p.Servers[0].URL)
	if err != nil || h != "https://web1.example.com/App/default.wc" {
		t.Errorf("ResolveURL = %q, %v", h, err)
	}

	// Profile names are case-insensitive; the name defaults to the host.
	ld, err = Load(Options{Dir: dir, Profile: "STAGING"})
	if err != nil {
		t.Fatal(err)
	}
	if ld.Profile.Name != "staging" || ld.Profile.Servers[0].Name != "localhost:8080" || ld.Profile.Rollout.Parallel != 4 {
		t.Errorf("staging = %+v", ld.Profile)
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := Find(deep); err != nil || got != "" {
		// A wcdeploy.yaml above the temp folder would break this test's premise.
		if got != "" && !strings.HasPrefix(got, root) {
			t.Skipf("a %s exists above the temp folder: %s", FileName, got)
		}
		t.Fatalf("Find with no file = %q, %v", got, err)
	}
	yml := writeFile(t, filepath.Join(root, altFileName), "profiles: {}\n")
	if got, _ := Find(deep); got != yml {
		t.Errorf("Find = %q, want %q", got, yml)
	}
	mid := writeFile(t, filepath.Join(root, "a", FileName), "profiles: {}\n")
	if got, _ := Find(deep); got != mid {
		t.Errorf("Find = %q, want the nearest %q", got, mid)
	}
	// A folder with the config's name is skipped.
	if err := os.Mkdir(filepath.Join(deep, FileName), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, _ := Find(deep); got != mid {
		t.Errorf("Find = %q, want %q past a folder named %s", got, mid, FileName)
	}
}

func TestFlagsOnly(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "build", "App.exe"), "MZ")
	fs := flags(t, "--exe", "build/App.exe", "--url", "https://host/App", "--flavor", "module", "--user", "deploy")
	ld, err := Load(Options{Dir: dir, Flags: fs, NeedExe: true, NeedServers: true})
	if err != nil {
		t.Fatal(err)
	}
	p := ld.Profile
	if ld.File != "" || p.Name != DefaultProfileName || p.Exe != filepath.Join(dir, "build", "App.exe") || p.Username != "deploy" {
		t.Errorf("loaded %+v from %q", p, ld.File)
	}
	want := []Server{{Name: "host", URL: "https://host/App/", Flavor: "module",
		UploadURL: "https://host/App/UploadExe.wc", UpdateURL: "https://host/App/UpdateExe.wc", StatusURL: "https://host/App/ModuleAdministration.wc"}}
	if !reflect.DeepEqual(p.Servers, want) {
		t.Errorf("servers = %+v", p.Servers)
	}
	d := Defaults()
	if p.Timeouts != d.Timeouts || p.Retries != d.Retries || p.Rollout.Parallel != d.Rollout.Parallel || p.ArchiveKeep != d.ArchiveKeep {
		t.Errorf("defaults not applied: %+v", p)
	}

	// The same through the environment only.
	ld, err = Load(Options{Dir: dir, NeedExe: true, NeedServers: true, Getenv: env(map[string]string{
		"WCDEPLOY_EXE": "build/App.exe", "WCDEPLOY_URL": "http://127.0.0.1:9000/App/", "WCDEPLOY_FLAVOR": "isapi",
	})})
	if err != nil {
		t.Fatal(err)
	}
	if s := ld.Profile.Servers[0]; s.UpdateURL != "http://127.0.0.1:9000/App/wc.wc?_maintain~UpdateExe" || s.Name != "127.0.0.1:9000" {
		t.Errorf("server = %+v", s)
	}

	// Nothing at all: the error says what to pass.
	_, err = Load(Options{Dir: dir, NeedExe: true, NeedServers: true})
	if err == nil || !strings.Contains(err.Error(), "--exe") || exitcode.Of(err) != exitcode.Usage {
		t.Errorf("err = %v (code %d)", err, exitcode.Of(err))
	}
	_, err = Load(Options{Dir: dir, NeedServers: true})
	if err == nil || !strings.Contains(err.Error(), "--url") {
		t.Errorf("err = %v", err)
	}
}

// valuesFor returns three distinct valid raw values (file YAML text, env
// text, flag text) for a binding and the parsed values expected.
func valuesFor(b binding) (file, envv, flag string, want [3]any) {
	switch b.kind {
	case kString:
		switch b.key {
		case "auth":
			return "basic", "ntlm", "auto", [3]any{"basic", "ntlm", "auto"}
		case "flavor":
			return "webserver", "isapi", "module", [3]any{"webserver", "isapi", "module"}
		}
		return "from-file", "from-env", "from-flag", [3]any{"from-file", "from-env", "from-flag"}
	case kPath:
		return "file.bin", "env.bin", "flag.bin", [3]any{"file.bin", "env.bin", "flag.bin"}
	case kInt:
		return "7", "8", "9", [3]any{7, 8, 9}
	case kBool:
		// Defaults are false, so file sets true, env false, flag true.
		return "true", "false", "true", [3]any{true, false, true}
	case kDuration:
		return "11s", "12s", "13s", [3]any{11 * time.Second, 12 * time.Second, 13 * time.Second}
	}
	panic("unknown kind")
}

// TestPrecedenceEveryKey checks, for every profile key, that the file sets
// it, the environment beats the file, and the flag beats both.
func TestPrecedenceEveryKey(t *testing.T) {
	for _, b := range bindings {
		t.Run(b.key, func(t *testing.T) {
			dir := t.TempDir()
			cwd := filepath.Join(dir, "cwd")
			fileV, envV, flagV, want := valuesFor(b)
			// Paths must exist (ca_file is checked at load).
			for _, n := range []string{fileV, envV, flagV} {
				writeFile(t, filepath.Join(dir, n), "x")
				writeFile(t, filepath.Join(cwd, n), "x")
			}
			if b.kind == kPath {
				want = [3]any{filepath.Join(dir, fileV), filepath.Join(cwd, envV), filepath.Join(cwd, flagV)}
			}
			// Build the nested YAML for the key.
			parts := strings.Split(b.key, ".")
			yamlText := "profiles:\n  p:\n    servers: [{url: 'https://h/App/'}]\n"
			if len(parts) == 2 {
				yamlText += "    " + parts[0] + ":\n      " + parts[1] + ": " + fileV + "\n"
			} else {
				yamlText += "    " + parts[0] + ": " + fileV + "\n"
			}
			writeFile(t, filepath.Join(dir, FileName), yamlText)
			get := func(o Options) any {
				t.Helper()
				o.Dir = cwd
				o.ConfigPath = filepath.Join(dir, FileName)
				ld, err := Load(o)
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return reflectValue(b.field(&ld.Profile))
			}
			def := Defaults()
			if got := get(Options{}); got != want[0] {
				t.Errorf("file: got %v, want %v", got, want[0])
			}
			e := env(map[string]string{b.env(): envV})
			if got := get(Options{Getenv: e}); got != want[1] {
				t.Errorf("env %s: got %v, want %v", b.env(), got, want[1])
			}
			fs := flags(t, "--"+b.flag+"="+flagV)
			if got := get(Options{Getenv: e, Flags: fs}); got != want[2] {
				t.Errorf("flag --%s: got %v, want %v", b.flag, got, want[2])
			}
			// An empty variable and an unset flag hide nothing.
			if got := get(Options{Getenv: env(map[string]string{b.env(): ""}), Flags: flags(t)}); got != want[0] {
				t.Errorf("empty env: got %v, want the file's %v", got, want[0])
			}
			// Without the file's value, the default shows.
			writeFile(t, filepath.Join(dir, FileName), "profiles:\n  p: {}\n")
			if got, dv := get(Options{}), reflectValue(b.field(&def)); got != dv {
				t.Errorf("default: got %v, want %v", got, dv)
			}
		})
	}
}

// TestEveryFieldBound walks Profile's fields: each scalar one must have a
// binding (so a key, a flag and an env var), and each binding a flag.
func TestEveryFieldBound(t *testing.T) {
	var p Profile
	bound := map[uintptr]string{}
	for _, b := range bindings {
		bound[reflect.ValueOf(b.field(&p)).Pointer()] = b.key
	}
	special := map[string]bool{"Name": true, "Servers": true, "Rollout.Health": true, "Rollout.Hooks": true}
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		for i := 0; i < v.NumField(); i++ {
			f, name := v.Field(i), prefix+v.Type().Field(i).Name
			if special[name] {
				continue
			}
			if f.Kind() == reflect.Struct && f.Type() != reflect.TypeOf(time.Duration(0)) {
				walk(f, name+".")
				continue
			}
			if _, ok := bound[f.Addr().Pointer()]; !ok {
				t.Errorf("Profile.%s has no binding (key, flag, env)", name)
			}
		}
	}
	walk(reflect.ValueOf(&p).Elem(), "")
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	AddFlags(fs)
	for _, b := range bindings {
		if fs.Lookup(b.flag) == nil {
			t.Errorf("binding %s has no flag --%s", b.key, b.flag)
		}
	}
	for _, f := range []string{"url", "upload-url", "update-url", "status-url", "server", "group", "health-url"} {
		if fs.Lookup(f) == nil {
			t.Errorf("flag --%s is missing", f)
		}
	}
}

func TestServerFlagsAndEnv(t *testing.T) {
	dir := project(t)
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		want    []string // server names
		wantErr string
	}{
		{name: "all", want: []string{"web1", "Web2", "old", "custom"}},
		{name: "server flag", args: []string{"--server", "WEB2"}, want: []string{"Web2"}},
		{name: "server repeat", args: []string{"--server", "web1", "--server", "old,custom"}, want: []string{"web1", "old", "custom"}},
		{name: "group", args: []string{"--group", "blue"}, want: []string{"web1"}},
		{name: "group env", env: map[string]string{"WCDEPLOY_GROUP": "green"}, want: []string{"Web2"}},
		{name: "server env", env: map[string]string{"WCDEPLOY_SERVER": "old, web1"}, want: []string{"web1", "old"}},
		{name: "flag beats env", args: []string{"--server", "old"}, env: map[string]string{"WCDEPLOY_SERVER": "web1"}, want: []string{"old"}},
		{name: "both narrow", args: []string{"--group", "blue", "--server", "web1,old"}, want: []string{"web1"}},
		{name: "disjoint", args: []string{"--group", "blue", "--server", "old"}, wantErr: "select no server"},
		{name: "unknown server", args: []string{"--server", "web9"}, wantErr: `no server named "web9"`},
		{name: "unknown group", args: []string{"--group", "red"}, wantErr: `no server in group "red"`},
		{name: "url replaces", args: []string{"--url", "https://one.example.com/App/"}, want: []string{"one.example.com"}},
		{name: "link needs one", args: []string{"--update-url", "https://x/App/UpdateExe.wc"}, wantErr: "applies to one server, but 4"},
		{name: "link on one", args: []string{"--server", "web1", "--status-url", "Administration.wc"}, want: []string{"web1"}},
		{name: "link trap", args: []string{"--server", "old", "--update-url", "https://old.example.com/App/wc.wc?_maintain~UpdateExe&t=1"}, wantErr: `"updateexe&t=1"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ld, err := Load(Options{Dir: dir, Flags: flags(t, c.args...), Getenv: env(c.env)})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || exitcode.Of(err) != exitcode.Usage {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range ld.Profile.Servers {
				names = append(names, s.Name)
			}
			if !reflect.DeepEqual(names, c.want) {
				t.Errorf("servers = %v, want %v", names, c.want)
			}
			if c.name == "link on one" && ld.Profile.Servers[0].StatusURL != "https://web1.example.com/App/Administration.wc" {
				t.Errorf("status url = %q", ld.Profile.Servers[0].StatusURL)
			}
		})
	}
}

func TestHealthFlag(t *testing.T) {
	dir := project(t)
	ld, err := Load(Options{Dir: dir, Flags: flags(t, "--health-url", "ping.wc", "--health-url", "https://x.example.com/up")})
	if err != nil {
		t.Fatal(err)
	}
	h := ld.Profile.Rollout.Health
	if len(h) != 2 || h[0].URL != "ping.wc" || h[0].Status != 200 || h[1].Retries != DefaultHealthRetries {
		t.Errorf("health = %+v", h)
	}
	ld, err = Load(Options{Dir: dir, Getenv: env(map[string]string{"WCDEPLOY_HEALTH_URL": "a.wc,b.wc"})})
	if err != nil || len(ld.Profile.Rollout.Health) != 2 || ld.Profile.Rollout.Health[1].URL != "b.wc" {
		t.Errorf("env health = %+v, %v", ld.Profile.Rollout.Health, err)
	}
}

func TestProfileSelection(t *testing.T) {
	dir := t.TempDir()
	two := "profiles:\n  a: {}\n  B: {}\n"
	cases := []struct {
		name, file, flag string
		env              map[string]string
		want, wantErr    string
	}{
		{name: "only one", file: "profiles:\n  Solo: {}\n", want: "solo"},
		{name: "none in file", file: "profiles: {}\n", want: DefaultProfileName},
		{name: "empty file", file: "", want: DefaultProfileName},
		{name: "default_profile", file: "default_profile: B\n" + two, want: "b"},
		{name: "flag", file: "default_profile: b\n" + two, flag: "A", want: "a"},
		{name: "env", file: "default_profile: b\n" + two, env: map[string]string{"WCDEPLOY_PROFILE": "a"}, want: "a"},
		{name: "flag beats env", file: two, flag: "b", env: map[string]string{"WCDEPLOY_PROFILE": "a"}, want: "b"},
		{name: "ambiguous", file: two, wantErr: "no default_profile"},
		{name: "missing", file: two, flag: "c", wantErr: `profile "c" (from --profile) does not exist; profiles in the file: a, b`},
		{name: "bad default", file: "default_profile: z\n" + two, wantErr: `default_profile "z" is not one of`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(dir, c.name+".yaml"), c.file)
			ld, err := Load(Options{ConfigPath: path, Profile: c.flag, Getenv: env(c.env), Dir: dir})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ld.Profile.Name != c.want {
				t.Errorf("profile = %q, want %q", ld.Profile.Name, c.want)
			}
		})
	}
}

func TestConfigPathSources(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, filepath.Join(dir, "a.yaml"), "profiles:\n  a: {}\n")
	writeFile(t, filepath.Join(dir, "b.yaml"), "profiles:\n  b: {}\n")
	ld, err := Load(Options{Dir: dir, Getenv: env(map[string]string{"WCDEPLOY_CONFIG": "b.yaml"})})
	if err != nil || ld.Profile.Name != "b" {
		t.Fatalf("env config: %+v, %v", ld, err)
	}
	ld, err = Load(Options{Dir: dir, ConfigPath: a, Getenv: env(map[string]string{"WCDEPLOY_CONFIG": "b.yaml"})})
	if err != nil || ld.Profile.Name != "a" {
		t.Fatalf("flag config: %+v, %v", ld, err)
	}
	for _, p := range []string{"nope.yaml", "."} {
		if _, err := Load(Options{Dir: dir, ConfigPath: p}); err == nil || exitcode.Of(err) != exitcode.Usage {
			t.Errorf("--config %s: err = %v", p, err)
		}
	}
	if _, err := Load(Options{Dir: dir, Profile: "prod"}); err == nil || !strings.Contains(err.Error(), "needs a config file") {
		t.Errorf("profile without file: %v", err)
	}
}

func TestBadFiles(t *testing.T) {
	const pre = "profiles:\n  prod:\n    servers: [{name: w, url: 'https://w/App/'}]\n"
	cases := []struct {
		name, text string
		want       []string // all must appear in the error
	}{
		{"unknown top", "profile:\n  prod: {}\n", []string{`unknown key "profile" at the top level`}},
		{"unknown profile key", pre + "    exes: a.exe\n", []string{`profile "prod": exes`, `unknown key "exes"`, "known keys here: allow_insecure_http"}},
		{"unknown nested", pre + "    timeouts: {conect: 5s}\n", []string{`timeouts.conect`, "connect"}},
		{"unknown server key", "profiles:\n  prod:\n    servers: [{name: w, url: 'https://w/App/', nmae: x}]\n", []string{"servers[0]", `unknown key "nmae"`}},
		{"unknown health key", pre + "    rollout: {health: [{url: a.wc, stauts: 200}]}\n", []string{"rollout.health[0]", `"stauts"`}},
		{"servers as map", "profiles:\n  prod:\n    servers: {web1: {url: 'https://w/'}}\n", []string{"must be a list of servers"}},
		{"password", pre + "    password: hunter2\n", []string{":4:", "wcdeploy login", "WCDEPLOY_PASSWORD"}},
		{"nested password", "profiles:\n  prod:\n    servers: [{name: w, url: 'https://w/App/', Password: x}]\n", []string{"passwords never go"}},
		{"case duplicate", pre + "    exe: a.exe\n    EXE: b.exe\n", []string{`"profiles.prod.EXE" repeats "profiles.prod.exe"`}},
		{"case duplicate profile", "profiles:\n  prod: {}\n  Prod: {}\n", []string{"repeats"}},
		{"bad yaml", "profiles: [\n", []string{"not valid YAML"}},
		{"list top", "- a\n- b\n", []string{"top level must be a mapping"}},
		{"profile scalar", "profiles:\n  prod: 3\n", []string{`profile "prod" must be a mapping`}},
		{"bad flavor", pre + "    flavor: iis\n", []string{`profile "prod": flavor`, "must be one of module, webserver, isapi"}},
		{"bad server flavor", "profiles:\n  prod:\n    servers: [{name: w, url: 'https://w/App/', flavor: IIS}]\n", []string{"servers[0].flavor"}},
		{"bad auth", pre + "    auth: digest\n", []string{"auth: must be one of auto, basic, ntlm"}},
		{"negative retries", pre + "    retries: -1\n", []string{"retries: must not be negative, got -1"}},
		{"negative canary", pre + "    rollout: {canary: -2}\n", []string{"rollout.canary: must not be negative"}},
		{"zero parallel", pre + "    rollout: {parallel: 0}\n", []string{"rollout.parallel: must be at least 1"}},
		{"negative keep", pre + "    archive: {keep: -1}\n", []string{"archive.keep"}},
		{"float retries", pre + "    retries: 1.5\n", []string{"whole number"}},
		{"text retries", pre + "    retries: many\n", []string{"whole number"}},
		{"bad duration", pre + "    timeouts: {swap: 2 minutes}\n", []string{"timeouts.swap", "must be a duration"}},
		{"bare duration", pre + "    timeouts: {swap: 120}\n", []string{"timeouts.swap", "with a unit"}},
		{"zero duration", pre + "    timeouts: {connect: 0s}\n", []string{"timeouts.connect", "positive"}},
		{"negative duration", pre + "    timeouts: {status: -1s}\n", []string{"timeouts.status", "positive"}},
		{"bool text", pre + "    insecure_skip_verify: maybe\n", []string{"true or false"}},
		{"exe number", pre + "    exe: 12\n", []string{"must be text"}},
		{"timeouts scalar", pre + "    timeouts: 5s\n", []string{"timeouts: must be a mapping"}},
		{"bad url", "profiles:\n  prod:\n    servers: [{name: w, url: 'ftp://w/App/'}]\n", []string{"servers[0].url", "https://"}},
		{"url no host", "profiles:\n  prod:\n    servers: [{name: w, url: 'https:///App/'}]\n", []string{"no host"}},
		{"url is a link", "profiles:\n  prod:\n    servers: [{name: w, url: 'https://w/App/UploadExe.wc'}]\n", []string{"is a link"}},
		{"url query", "profiles:\n  prod:\n    servers: [{name: w, url: 'https://w/App/?x=1'}]\n", []string{"without ?query"}},
		{"url missing", "profiles:\n  prod:\n    servers: [{name: w}]\n", []string{"servers[0].url: is required"}},
		{"url with password", "profiles:\n  prod:\n    servers: [{name: w, url: 'https://bob:s3cr3t@w/App/'}]\n", []string{"user name or password"}},
		{"duplicate names", "profiles:\n  prod:\n    servers: [{name: web1, url: 'https://a/'}, {name: WEB1, url: 'https://b/'}]\n", []string{`server name "WEB1" is used twice`, "servers[1]", "servers[0]"}},
		{"duplicate hosts", "profiles:\n  prod:\n    servers: [{url: 'https://a/App1/'}, {url: 'https://a/App2/'}]\n", []string{`"a" is used twice`}},
		{"maintain trap", "profiles:\n  prod:\n    servers: [{name: w, url: 'https://w/App/', update_url: 'wc.wc?_maintain~UpdateExe&t=123'}]\n", []string{"update_url", `"&t=123"`, `"updateexe&t=123"`}},
		{"maintain trap encoded", "profiles:\n  prod:\n    servers: [{name: w, url: 'https://w/App/', status_url: 'wc.wc?_maintain~ShowStatus%26x'}]\n", []string{"status_url", "&x"}},
		{"health status", pre + "    rollout: {health: [{url: a.wc, status: 42}]}\n", []string{"rollout.health[0].status", "between 100 and 599"}},
		{"health no url", pre + "    rollout: {health: [{status: 200}]}\n", []string{"rollout.health[0].url: is required"}},
		{"health bad timeout", pre + "    rollout: {health: [{url: a.wc, timeout: soon}]}\n", []string{"rollout.health[0].timeout"}},
		{"health negative retries", pre + "    rollout: {health: [{url: a.wc, retries: -3}]}\n", []string{"rollout.health[0].retries"}},
		{"health not list", pre + "    rollout: {health: {url: a.wc}}\n", []string{"must be a list of checks"}},
		{"ca missing", pre + "    ca_file: nope.pem\n", []string{"ca_file", "does not exist"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, filepath.Join(dir, FileName), c.text)
			_, err := Load(Options{Dir: dir})
			if err == nil {
				t.Fatalf("no error for\n%s", c.text)
			}
			if exitcode.Of(err) != exitcode.Usage {
				t.Errorf("exit code = %d, want %d", exitcode.Of(err), exitcode.Usage)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("error does not name the file %s: %s", path, msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q: %s", w, msg)
				}
			}
			for _, secret := range []string{"hunter2", "s3cr3t"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error shows a secret: %s", msg)
				}
			}
		})
	}
}

func TestBadEnvAndFlags(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"env int", map[string]string{"WCDEPLOY_RETRIES": "lots"}, nil, "environment variable WCDEPLOY_RETRIES: must be a whole number"},
		{"env negative", map[string]string{"WCDEPLOY_PARALLEL": "-4"}, nil, "WCDEPLOY_PARALLEL: must be at least 1, got -4"},
		{"env duration", map[string]string{"WCDEPLOY_SWAP_TIMEOUT": "10"}, nil, "WCDEPLOY_SWAP_TIMEOUT: must be a duration"},
		{"env bool", map[string]string{"WCDEPLOY_INSECURE_SKIP_VERIFY": "yes please"}, nil, "WCDEPLOY_INSECURE_SKIP_VERIFY: must be true or false"},
		{"env flavor", map[string]string{"WCDEPLOY_FLAVOR": "IIS"}, nil, "WCDEPLOY_FLAVOR: must be one of"},
		{"flag negative", nil, []string{"--max-failures=-1"}, "--max-failures: must not be negative"},
		{"flag zero timeout", nil, []string{"--connect-timeout=0s"}, "--connect-timeout: must be a positive duration"},
		{"flag url", nil, []string{"--url", "host/App/"}, "--url: the URL"},
		{"flag url password", nil, []string{"--url", "https://u:topsecret@host/App/"}, "user name or password"},
		{"env health", map[string]string{"WCDEPLOY_HEALTH_URL": "ftp://x/"}, nil, "WCDEPLOY_HEALTH_URL"},
		{"exe missing", map[string]string{"WCDEPLOY_EXE": "nope.exe", "WCDEPLOY_URL": "https://h/"}, nil, "WCDEPLOY_EXE: " + filepath.Join(dir, "nope.exe") + " does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(Options{Dir: dir, Getenv: env(c.env), Flags: flags(t, c.args...), NeedExe: c.name == "exe missing"})
			if err == nil || !strings.Contains(err.Error(), c.want) || exitcode.Of(err) != exitcode.Usage {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestDeriveURLs(t *testing.T) {
	cases := []struct {
		flavor, base, up, upd, st, err string
	}{
		{"module", "https://h/App", "https://h/App/UploadExe.wc", "https://h/App/UpdateExe.wc", "https://h/App/ModuleAdministration.wc", ""},
		{"webserver", "http://127.0.0.1:5200/", "http://127.0.0.1:5200/UploadExe.wc", "http://127.0.0.1:5200/UpdateExe.wc", "http://127.0.0.1:5200/ModuleAdministration.wc", ""},
		{"isapi", "https://h/wconnect/", "https://h/wconnect/wc.wc?wwMaint~FileUpload", "https://h/wconnect/wc.wc?_maintain~UpdateExe", "https://h/wconnect/wc.wc?_maintain~ShowStatus", ""},
		{"module", "HTTPS://h", "https://h/UploadExe.wc", "https://h/UpdateExe.wc", "https://h/ModuleAdministration.wc", ""},
		{"iis", "https://h/", "", "", "", "unknown flavor"},
		{"module", "h/App", "", "", "", "https://"},
		{"module", "", "", "", "", "empty"},
	}
	for _, c := range cases {
		up, upd, st, err := DeriveURLs(c.flavor, c.base)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %s: err = %v, want %q", c.flavor, c.base, err, c.err)
			}
			continue
		}
		if err != nil || up != c.up || upd != c.upd || st != c.st {
			t.Errorf("%s %s = %q %q %q %v", c.flavor, c.base, up, upd, st, err)
		}
	}
}

func TestCheckLink(t *testing.T) {
	cases := []struct{ raw, want, err string }{
		{"UpdateExe.wc?t=1", "https://h/App/UpdateExe.wc?t=1", ""},
		{"/Other/UploadExe.wc", "https://h/Other/UploadExe.wc", ""},
		{"wc.wc?_maintain~UpdateExe", "https://h/App/wc.wc?_maintain~UpdateExe", ""},
		{"wc.wc?_maintain%7EUpdateExe", "https://h/App/wc.wc?_maintain%7EUpdateExe", ""},
		{"wc.wc?_maintain~UpdateExe&t=1", "", "&t=1"},
		{"wc.wc?x=1&_maintain~UpdateExe", "", "after the _maintain~ action"},
		{"wc.wc?_maintain", "", "without ~Action"},
		{"ftp://h/x", "", "http://"},
		{"https://u:pw@h/x", "", "user name or password"},
		{"https://h/x#y", "", "fragment"},
	}
	for _, c := range cases {
		got, err := CheckLink(c.raw, "https://h/App/")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err = %v, want %q", c.raw, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s = %q, %v; want %q", c.raw, got, err, c.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@h/x":    "https://REDACTED@h/x",
		"https://h/x@y":      "https://h/x@y",
		"no scheme":          "no scheme",
		"https://a@b@h?q=@1": "https://REDACTED@h?q=@1",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWindowsPaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "build", "App.exe"), "MZ")
	writeFile(t, filepath.Join(dir, FileName), "profiles:\n  p:\n    exe: 'build\\App.exe'\n    dll: 'C:\\Apps\\App.dll'\n")
	ld, err := Load(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if ld.Profile.Exe != filepath.Join(dir, "build", "App.exe") || ld.Profile.DLL != `C:\Apps\App.dll` {
		t.Errorf("exe %q dll %q", ld.Profile.Exe, ld.Profile.DLL)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(fullFile)
	f.Add("profiles:\n  p:\n    servers: [{url: 'https://h/'}]\n    rollout: {health: [{url: a.wc}]}\n")
	f.Add("default_profile: x\nprofiles: {x: {timeouts: {swap: 1s}}}\n")
	f.Add("profiles:\n  p: &a {exe: x}\n  q: *a\n")
	f.Add("")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		// Parsed from memory: a file per input makes the fuzzer crawl.
		ld, err := loadFrom(Options{Dir: dir}, dir, "fuzz.yaml", func() (*fileData, error) {
			return parseFile("fuzz.yaml", []byte(text))
		})
		if err != nil {
			if exitcode.Of(err) != exitcode.Usage {
				t.Fatalf("error without the usage exit code: %v", err)
			}
			return
		}
		for _, s := range ld.Profile.Servers {
			if !strings.HasSuffix(s.URL, "/") || s.UploadURL == "" || s.UpdateURL == "" || s.StatusURL == "" {
				t.Fatalf("server not complete: %+v", s)
			}
		}
		if ld.Profile.Rollout.Parallel < 1 || ld.Profile.Retries < 0 || ld.Profile.Timeouts.Swap <= 0 {
			t.Fatalf("invalid values passed validation: %+v", ld.Profile)
		}
	})
}

// TestDocsNameEveryKey keeps docs/configuration.md in step with the code.
func TestDocsNameEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	var want []string
	for _, b := range bindings {
		want = append(want, "`"+b.key+"`", "`--"+b.flag+"`", "`"+b.env()+"`")
	}
	for _, f := range []string{flagURL, flagUploadURL, flagUpdateURL, flagStatusURL, flagServer, flagGroup, flagHealthURL} {
		want = append(want, "--"+f, envName(f))
	}
	want = append(want, "`upload_url`", "`update_url`", "`status_url`", "`group`", "`contains`", "`interval`",
		"WCDEPLOY_CONFIG", "WCDEPLOY_PROFILE", "case-insensitive")
	for _, w := range want {
		if !strings.Contains(doc, w) {
			t.Errorf("docs/configuration.md does not mention %s", w)
		}
	}
}
