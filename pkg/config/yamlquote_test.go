package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// yamlQuote's output reads back as the same text, single-quoted when it can.
func TestYAMLQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{
		`CORP\deploy`, `build\App.exe`, `C:\new\App.exe`, `\\fileserver\share\App.exe`, "it's", `say "hi"`,
		"", " leading and trailing ", "#not a comment", "key: value", "- dash", "ünïcödé ✓", "tab\there",
		"line\nbreak", "bell\a", "yes", "null", "~", "0x10", "@at", "`tick`", "%percent", "{flow}", "[list]",
	} {
		q := yamlQuote(s)
		var m map[string]string
		if err := yaml.Unmarshal([]byte("v: "+q+"\n"), &m); err != nil || m["v"] != s {
			t.Errorf("%q written as %s reads back as %q (%v)", s, q, m["v"], err)
		}
		if !strings.ContainsAny(s, "\n\a") && !strings.HasPrefix(q, "'") {
			t.Errorf("%q written as %s, want single quotes", s, q)
		}
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A Windows backslash inside double quotes gives advice that names the
// file, line and key, and shows the value in single quotes and with \\.
func TestBackslashInDoubleQuotesAdvice(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"exe", "profiles:\n  prod:\n    exe: \"build\\App.exe\"  # the EXE\n",
			[]string{":3: exe: \"build\\App.exe\" has a backslash inside double quotes", `(\A is not a YAML escape)`, `'build\App.exe'`, `"build\\App.exe"`}},
		{"username in flow", "default_profile: prod\nprofiles:\n  prod:\n    servers:\n      - {name: web1, url: \"https://w/App/\", username: \"CORP\\deploy\"}\n",
			[]string{":5: username: \"CORP\\deploy\"", `'CORP\deploy'`, `"CORP\\deploy"`}},
		{"first line", "default_profile: \"CORP\\x\"\n", []string{":1: default_profile: \"CORP\\x\"", `'CORP\x'`}},
		{"\\n read as a line break", "profiles:\n  prod:\n    username: \"CORP\\nancy\"\n",
			[]string{":3: username: \"CORP\\nancy\" has a backslash inside double quotes, which YAML read as an escape", `'CORP\nancy'`, `"CORP\\nancy"`}},
		{"\\t in a path", "profiles:\n  prod:\n    exe: \"build\\tools\\App.exe\"\n",
			[]string{":3: exe: \"build\\tools\\App.exe\"", `'build\tools\App.exe'`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.body)
			_, err := Load(Options{ConfigPath: p, Dir: filepath.Dir(p)})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.HasPrefix(msg, p+":") {
				t.Errorf("error does not start with the file: %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

// What the advice says to write loads, with the backslash kept.
func TestSingleQuotedBackslashLoads(t *testing.T) {
	p := writeConfig(t, "profiles:\n  prod:\n    username: 'CORP\\deploy'\n    exe: \"build\\\\App.exe\"\n    servers: [{url: 'https://w/App/'}]\n")
	ld, err := Load(Options{ConfigPath: p, Dir: filepath.Dir(p)})
	if err != nil {
		t.Fatal(err)
	}
	if ld.Profile.Username != `CORP\deploy` {
		t.Errorf("username %q", ld.Profile.Username)
	}
	if want := filepath.Join(filepath.Dir(p), "build", "App.exe"); ld.Profile.Exe != want {
		t.Errorf("exe %q, want %q", ld.Profile.Exe, want)
	}
}

// A health check's contains: keeps its escapes: text with a line break may
// be meant there.
func TestEscapesKeptInContains(t *testing.T) {
	p := writeConfig(t, "profiles:\n  prod:\n    servers: [{url: 'https://w/App/'}]\n    rollout:\n      health:\n        - {url: default.wc, contains: \"a\\nb\"}\n")
	ld, err := Load(Options{ConfigPath: p, Dir: filepath.Dir(p)})
	if err != nil {
		t.Fatal(err)
	}
	if got := ld.Profile.Rollout.Health[0].Contains; got != "a\nb" {
		t.Errorf("contains %q", got)
	}
}
