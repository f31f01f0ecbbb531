package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorsNameTheLine: a mistake in the file is reported on its line,
// at every level the file is checked.
func TestErrorsNameTheLine(t *testing.T) {
	const head = "profiles:\n  prod:\n    servers:\n      - name: w\n        url: 'https://w/App/'\n"
	cases := []struct {
		name, text, want string
	}{
		{"top key", "default_profile: prod\nprofile:\n  prod: {}\n", FileName + ":2: unknown key \"profile\" at the top level"},
		{"profile key", head + "    exes: a.exe\n", FileName + ":6: profile \"prod\": exes: unknown key \"exes\""},
		{"nested key", head + "    timeouts:\n      swap: 1m\n      conect: 5s\n", FileName + ":8: profile \"prod\": timeouts.conect"},
		{"server key", head + "        nmae: x\n", FileName + ":6: profile \"prod\": servers[0]: unknown key \"nmae\""},
		{"health key", head + "    rollout:\n      health:\n        - url: a.wc\n          stauts: 200\n", FileName + ":9: profile \"prod\": rollout.health[0]: unknown key \"stauts\""},
		{"bad value", head + "    retries: -1\n", FileName + ":6: profile \"prod\": retries: must not be negative"},
		{"bad server url", "profiles:\n  prod:\n    servers:\n      - name: w\n        url: 'ftp://w/App/'\n", FileName + ":5: profile \"prod\": servers[0].url"},
		{"profile scalar", "profiles:\n  prod: 3\n", FileName + ":2: profile \"prod\" must be a mapping"},
		{"default_profile list", "default_profile: [a]\nprofiles: {a: {}}\n", FileName + ":1: default_profile must be text, not a list"},
		{"profiles list", "profiles: [a]\n", FileName + ":1: profiles must be a mapping"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, FileName), c.text)
			_, err := Load(Options{Dir: dir})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestFileKeysCaseInsensitiveAndAliases: keys are case-insensitive (viper
// holds them lower-cased), and YAML anchors, aliases and merge keys work as
// YAML defines them.
func TestFileKeysCaseInsensitiveAndAliases(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, FileName), `Default_Profile: Blue
Profiles:
  Blue: &blue
    Retries: 7
    Timeouts: {Swap: 3m}
    Servers: [{Name: web1, URL: 'https://web1/App/'}]
  green:
    <<: *blue
    retries: 2
  red: *blue
`)
	for _, tc := range []struct {
		profile string
		retries int
	}{{"", 7}, {"green", 2}, {"red", 7}} {
		ld, err := Load(Options{Dir: dir, Profile: tc.profile})
		if err != nil {
			t.Fatalf("profile %q: %v", tc.profile, err)
		}
		p := ld.Profile
		if p.Retries != tc.retries || p.Timeouts.Swap.Minutes() != 3 || len(p.Servers) != 1 || p.Servers[0].Name != "web1" {
			t.Errorf("profile %q: retries %d, swap %s, servers %+v", tc.profile, p.Retries, p.Timeouts.Swap, p.Servers)
		}
	}
}
