package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// An unknown key in wcdeploy.yaml is named with its line and, when a known
// key at that level is near, the key meant.
func TestUnknownKeyDidYouMean(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"profile:\n  prod: {}\n", `:1: unknown key "profile" at the top level (did you mean "profiles"?)`},
		{"profiles:\n  prod:\n    exee: a.exe\n", `:3: profile "prod": exee: unknown key "exee" (did you mean "exe"?)`},
		{"profiles:\n  prod:\n    usename: bob\n", `:3: profile "prod": usename: unknown key "usename" (did you mean "username"?)`},
		{"profiles:\n  prod:\n    user: bob\n", `:3: profile "prod": user: unknown key "user" (did you mean "username"?)`},
		{"profiles:\n  prod:\n    falvor: isapi\n", `(did you mean "flavor"?)`},
		{"profiles:\n  prod:\n    timeouts:\n      conect: 5s\n", `:4: profile "prod": timeouts.conect: unknown key "timeouts.conect" (did you mean "connect"?)`},
		{"profiles:\n  prod:\n    rollout:\n      paralel: 2\n", `:4: profile "prod": rollout.paralel: unknown key "rollout.paralel" (did you mean "parallel"?)`},
		{"profiles:\n  prod:\n    parallel: 2\n", `:3: profile "prod": parallel: unknown key "parallel" (did you mean "parallel" inside "rollout", as rollout: {parallel: ...}?)`},
		{"profiles:\n  prod:\n    connect-timeout: 2s\n", `(did you mean "connect" inside "timeouts"`},
		{"profiles:\n  prod:\n    url: https://w/App/\n", `:3: profile "prod": url: unknown key "url" (servers go in a list`},
		{"profiles:\n  prod:\n    servers:\n      - name: a\n        urll: https://a/App/\n", `:5: profile "prod": servers[0]: unknown key "urll" (did you mean "url"?)`},
		{"profiles:\n  prod:\n    rollout:\n      health:\n        - url: x\n          staus: 200\n", `:6: profile "prod": rollout.health[0]: unknown key "staus" (did you mean "status"?)`},
	} {
		p := writeConfig(t, tc.body)
		_, err := Load(Options{ConfigPath: p, Dir: filepath.Dir(p)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.body, err, tc.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), p+":") {
			t.Errorf("%q: error %v does not name the file and line", tc.body, err)
		}
	}
	// Nothing near: no guess.
	p := writeConfig(t, "profiles:\n  prod:\n    zzzzz: 1\n")
	if _, err := Load(Options{ConfigPath: p, Dir: filepath.Dir(p)}); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("zzzzz: %v", err)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"exe", "exe", 0}, {"exee", "exe", 1}, {"falvor", "flavor", 1}, {"conect", "connect", 1}, {"abc", "xyz", 3}, {"", "url", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}
