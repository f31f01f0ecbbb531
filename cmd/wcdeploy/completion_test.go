package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const completionConfig = `default_profile: staging
profiles:
  Production:
    username: 'CORP\deploy'
    servers:
      - {name: web1, url: "https://web1.example.com/App/", group: blue}
      - {name: web2, url: "https://web2.example.com/App/", group: green}
  staging:
    username: deploy
    servers:
      - {name: stage1, url: "https://stage.example.com/App/"}
`

func writeCompletionConfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wcdeploy.yaml")
	if err := os.WriteFile(p, []byte(completionConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompletionScripts(t *testing.T) {
	tests := []struct {
		shell, marker string
	}{
		{"bash", "__start_wcdeploy"},
		{"zsh", "#compdef wcdeploy"},
		{"fish", "complete -c wcdeploy"},
		{"powershell", "Register-ArgumentCompleter"},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			e := newEnv(t)
			// A config that cannot be read proves the script needs none.
			e["WCDEPLOY_CONFIG"] = filepath.Join(t.TempDir(), "missing.yaml")
			r := runCLI(t, e, "completion", tt.shell)
			if r.code != 0 {
				t.Fatalf("completion %s exited %d: %s", tt.shell, r.code, r.errOut)
			}
			if !strings.Contains(r.out, tt.marker) {
				t.Errorf("completion %s: no %q in the script:\n%.400s", tt.shell, tt.marker, r.out)
			}
			if r.errOut != "" {
				t.Errorf("completion %s wrote to stderr: %q", tt.shell, r.errOut)
			}
		})
	}
}

// complete runs cobra's hidden __complete as a shell does on Tab and returns
// the candidates (without descriptions) and the directive line.
func runComplete(t *testing.T, e env, args ...string) ([]string, string) {
	t.Helper()
	r := runCLI(t, e, append([]string{"__complete"}, args...)...)
	if r.code != 0 {
		t.Fatalf("__complete %v exited %d: %s", args, r.code, r.errOut)
	}
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	var names []string
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t")
		names = append(names, name)
	}
	return names, lines[len(lines)-1]
}

func TestCompleteNames(t *testing.T) {
	cfg := writeCompletionConfig(t)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"profiles", []string{"deploy", "--profile", ""}, []string{"production", "staging"}},
		{"profiles with prefix", []string{"status", "-p", "st"}, []string{"staging"}},
		{"servers of the default profile", []string{"deploy", "--server", ""}, []string{"stage1"}},
		{"servers of --profile", []string{"deploy", "--profile", "production", "--server", ""}, []string{"web1", "web2"}},
		{"groups", []string{"status", "--profile", "production", "--group", ""}, []string{"blue", "green"}},
		{"servers of auth status", []string{"auth", "status", "--profile", "production", "--server", "w"}, []string{"web1", "web2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e["WCDEPLOY_CONFIG"] = cfg
			got, directive := runComplete(t, e, tt.args...)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("__complete %v = %v, want %v", tt.args, got, tt.want)
			}
			if directive != ":4" { // ShellCompDirectiveNoFileComp
				t.Errorf("directive %q, want :4 (no file completion)", directive)
			}
		})
	}
}

func TestCompleteWithoutConfig(t *testing.T) {
	e := newEnv(t)
	e["WCDEPLOY_CONFIG"] = filepath.Join(t.TempDir(), "missing.yaml")
	got, _ := runComplete(t, e, "deploy", "--profile", "")
	if len(got) != 0 {
		t.Errorf("profiles without a config: %v, want none", got)
	}
	got, _ = runComplete(t, e, "deploy", "--server", "")
	if len(got) != 0 {
		t.Errorf("servers without a config: %v, want none", got)
	}
}

func TestCompleteDescribesServers(t *testing.T) {
	e := newEnv(t)
	e["WCDEPLOY_CONFIG"] = writeCompletionConfig(t)
	r := runCLI(t, e, "__complete", "deploy", "--profile", "production", "--server", "")
	if !strings.Contains(r.out, "web1\thttps://web1.example.com/App/") {
		t.Errorf("server completion lacks the URL as description:\n%s", r.out)
	}
	r = runCLI(t, e, "__complete", "deploy", "--profile", "")
	if !strings.Contains(r.out, "staging\tdefault profile") {
		t.Errorf("profile completion does not mark the default:\n%s", r.out)
	}
}
