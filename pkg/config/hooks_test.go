package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

func loadText(t *testing.T, text string) (*Loaded, error) {
	t.Helper()
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, FileName), text)
	return Load(Options{ConfigPath: path, Dir: dir})
}

func TestHooksVarsAndHealthAuth(t *testing.T) {
	ld, err := loadText(t, `
profiles:
  prod:
    rollout:
      drain_delay: 2s
      upload_parallel: 3
      hooks:
        before_swap: ./lb.sh drain "$WCDEPLOY_VAR_LB_SERVER"
        after_swap: [./lb.sh, ready, "be/web 1", 7]
        timeout: 90s
        pass_env: [AWS_SECRET_ACCESS_KEY]
      health:
        - {url: default.wc}
        - {url: admin/check.wc, auth: true}
    servers:
      - {name: web1, url: "https://web1.example.com/App/", vars: {lb_server: be/web1, Weight: 10}}
      - {name: web2, url: "https://web2.example.com/App/"}
`)
	if err != nil {
		t.Fatal(err)
	}
	r := ld.Profile.Rollout
	if r.DrainDelay != 2*time.Second || r.UploadParallel != 3 {
		t.Errorf("drain_delay %v, upload_parallel %d", r.DrainDelay, r.UploadParallel)
	}
	want := Hooks{
		BeforeSwap: Hook{Shell: `./lb.sh drain "$WCDEPLOY_VAR_LB_SERVER"`},
		AfterSwap:  Hook{Argv: []string{"./lb.sh", "ready", "be/web 1", "7"}},
		Timeout:    90 * time.Second,
		PassEnv:    []string{"AWS_SECRET_ACCESS_KEY"},
	}
	if !reflect.DeepEqual(r.Hooks, want) {
		t.Errorf("hooks = %+v\nwant    %+v", r.Hooks, want)
	}
	if got := r.Hooks.AfterSwap.String(); got != `./lb.sh ready "be/web 1" 7` {
		t.Errorf("String() = %s", got)
	}
	if r.Health[0].Auth || !r.Health[1].Auth {
		t.Errorf("health auth = %v, %v; want false, true", r.Health[0].Auth, r.Health[1].Auth)
	}
	// viper lowercases keys; the hooks upper-case them anyway.
	vars := map[string]string{}
	for k, v := range ld.Profile.Servers[0].Vars {
		vars[strings.ToUpper(k)] = v
	}
	if !reflect.DeepEqual(vars, map[string]string{"LB_SERVER": "be/web1", "WEIGHT": "10"}) {
		t.Errorf("vars = %v", ld.Profile.Servers[0].Vars)
	}
	if ld.Profile.Servers[1].Vars != nil {
		t.Errorf("web2 vars = %v", ld.Profile.Servers[1].Vars)
	}
}

func TestHookDefaults(t *testing.T) {
	ld, err := loadText(t, "profiles:\n  p:\n    servers: [{url: 'https://h/App/'}]\n")
	if err != nil {
		t.Fatal(err)
	}
	h := ld.Profile.Rollout.Hooks
	if h.Timeout != 0 || DefaultHookTimeout != 60*time.Second {
		t.Errorf("timeout %v", h.Timeout)
	}
	for _, k := range HookKeys {
		if !h.Point(k).IsZero() {
			t.Errorf("%s configured by default", k)
		}
	}
	if d := Defaults().Rollout; d.Hooks.Timeout != 0 || d.DrainDelay != 0 || d.UploadParallel != 0 {
		t.Errorf("Defaults().Rollout = %+v", d)
	}
}

func TestBadHooksAndVars(t *testing.T) {
	cases := []struct{ name, rollout, server, want string }{
		{"unknown point", "hooks: {before_swp: x}", "", `unknown key "before_swp"`},
		{"not a mapping", "hooks: ./x.sh", "", "rollout.hooks: must be a mapping"},
		{"mapping as hook", "hooks: {before_swap: {run: x}}", "", "rollout.hooks.before_swap: must be a command line"},
		{"empty list", "hooks: {after_swap: []}", "", "needs the program first"},
		{"list of lists", "hooks: {after_swap: [[a]]}", "", "item 0: must be text"},
		{"bare number timeout", "hooks: {timeout: 60}", "", "rollout.hooks.timeout: must be a duration with a unit"},
		{"zero timeout", "hooks: {timeout: 0s}", "", "must be a positive duration"},
		{"pass_env text", "hooks: {pass_env: AWS_KEY}", "", "pass_env: must be a list"},
		{"pass_env bad name", "hooks: {pass_env: [A-B]}", "", `"A-B" is not a variable name`},
		{"pass_env deploy password", "hooks: {pass_env: [WCDEPLOY_PASSWORD_FILE]}", "", "never reaches a hook"},
		{"negative drain", "drain_delay: -1s", "", "must not be negative"},
		{"negative upload_parallel", "upload_parallel: -1", "", "must not be negative"},
		{"health auth text", "health: [{url: x.wc, auth: yes please}]", "", "rollout.health[0]"},
		{"var name", "", ", vars: {lb-server: x}", `"lb-server" is not usable as a variable name`},
		{"var value", "", ", vars: {lb: [a]}", "vars.lb: must be text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := "profiles:\n  p:\n    servers: [{url: 'https://h/App/'" + c.server + "}]\n"
			if c.rollout != "" {
				text += "    rollout:\n      " + c.rollout + "\n"
			}
			_, err := loadText(t, text)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			if exitcode.Of(err) != exitcode.Usage {
				t.Errorf("exit code %d, want %d", exitcode.Of(err), exitcode.Usage)
			}
		})
	}
}

func TestSharedEndpoints(t *testing.T) {
	ld, err := loadText(t, `
profiles:
  p:
    servers:
      - {name: web1, url: "https://lb.example.com/App/"}
      - {name: web2, url: "https://LB.example.com:443/App/"}
      - {name: web3, url: "https://web3.example.com/App/"}
      - {name: web4, url: "http://lb.example.com/App/"}
      - {name: web5, url: "https://web5.example.com/App/", status_url: "https://web3.example.com/App/ModuleAdministration.wc"}
`)
	if err != nil {
		t.Fatal(err)
	}
	got := SharedEndpoints(ld.Profile.Servers)
	want := []SharedEndpoint{
		{Origin: "https://lb.example.com:443", Servers: []string{"web1", "web2"}},
		{Origin: "https://web3.example.com:443", Servers: []string{"web3", "web5"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SharedEndpoints = %+v, want %+v", got, want)
	}
	msg := got[0].Warning()
	for _, w := range []string{"web1, web2", "https://lb.example.com:443", "upload", "swap", "own node", "rollout.hooks"} {
		if !strings.Contains(msg, w) {
			t.Errorf("warning does not say %q: %s", w, msg)
		}
	}
	if n := SharedEndpoints(ld.Profile.Servers[2:4]); len(n) != 0 {
		t.Errorf("distinct servers reported as shared: %+v", n)
	}
}
