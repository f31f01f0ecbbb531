package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/golden"
	"github.com/wcdeploy/wcdeploy/internal/ui"
)

var (
	// statusDate is the date a status page shows, in the emulator's culture.
	statusDate = regexp.MustCompile(`\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2}( [AP]M)?`)
	// jsonPath is a file path in a JSON document (escaped as JSON escapes it).
	jsonPath = regexp.MustCompile(`"(path|exe_file)": "[^"]*"`)
	// columnGap is the padding between table columns: its width follows
	// the values normalised away, so goldens keep one gap of two spaces.
	columnGap = regexp.MustCompile(`  +`)
)

// normaliseForm removes what changes from run to run from one form of a
// command's output: the local EXE's path, file paths, dates, ports, and the
// column padding that follows their width.
func normaliseForm(s, exe string) string {
	s = strings.ReplaceAll(s, exe, "EXE")
	s = jsonPath.ReplaceAllString(s, `"$1": "PATH"`)
	s = statusDate.ReplaceAllString(normalise(s), "DATE")
	if !strings.HasPrefix(strings.TrimPrefix(s, "== stdout\n"), "{") {
		s = columnGap.ReplaceAllString(s, "  ")
	}
	return s
}

// TestStatusGolden pins both forms of 'wcdeploy status' against two
// emulated servers, one current and one behind.
func TestStatusGolden(t *testing.T) {
	f := startFleet(t, 2, "parallel: 2, canary: 1", nil)
	e := newEnv(t)
	if r := f.run(t, e, "deploy", "--server", "web01"); r.code != 0 {
		t.Fatalf("deploy web01: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	for _, form := range []struct{ name, flag string }{{"status-table", ""}, {"status-json", "--json"}} {
		t.Run(form.name, func(t *testing.T) {
			args := []string{"status"}
			if form.flag != "" {
				args = append(args, form.flag)
			}
			r := f.run(t, e, args...)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
			}
			golden.Assert(t, form.name, []byte(normaliseForm(r.out, f.exe)))
		})
	}
}

// TestAuthStatusGolden pins both forms of 'wcdeploy auth status': one host
// with a password in the keychain, one with none.
func TestAuthStatusGolden(t *testing.T) {
	f := startFleet(t, 2, "parallel: 2", nil)
	kr := &memKeyring{entries: map[string]string{"wcdeploy/deploy@" + hostOf(t, f.servers[0].URL()): testPassword}}
	for _, form := range []struct{ name, flag string }{{"auth-status-table", ""}, {"auth-status-json", "--json"}} {
		t.Run(form.name, func(t *testing.T) {
			s, out, errOut := ui.Test("")
			args := []string{"--config", f.config, "auth", "status"}
			if form.flag != "" {
				args = append(args, form.flag)
			}
			code, err := credRun(t, s, nil, kr, args...)
			if code != 3 {
				t.Fatalf("exit %d (%v), want 3: web02 has no password\n%s%s", code, err, out, errOut)
			}
			noPassword(t, out.String(), errOut.String())
			got := "== stdout\n" + out.String() + "== stderr\n" + errOut.String()
			golden.Assert(t, form.name, []byte(normaliseForm(got, f.exe)))
		})
	}
}
