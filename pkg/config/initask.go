package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// InitAsker asks on W for what init still needs; answers come from R,
// relative paths start at Dir.
type InitAsker struct {
	R   io.Reader
	W   io.Writer
	Dir string
}

// Ask fills the EXE, the URL, the flavor and the user, offering what v
// already holds as the default answer.
func (a InitAsker) Ask(v *InitValues) error {
	in := bufio.NewReader(a.R)
	exeDef := ""
	if v.Exe != "" {
		exeDef = SlashRel(a.Dir, v.Exe)
	}
	exe, err := a.question(in, "Server EXE to deploy (e.g. build/App.exe)", exeDef, true)
	if err != nil {
		return err
	}
	v.Exe = AbsPath(a.Dir, exe)
	if v.URL, err = a.until(in, "Application URL on the server (e.g. https://web1.example.com/App/)", v.URL, false, func(u string) (string, string) {
		if _, err := NormalizeBaseURL(u); err != nil {
			return "", "the URL " + err.Error()
		}
		return u, ""
	}); err != nil {
		return err
	}
	def := v.Flavor
	if def == "" {
		def = FlavorModule
	}
	if v.Flavor, err = a.until(in, "Server flavor: module, webserver or isapi", def, true, func(f string) (string, string) {
		f = strings.ToLower(f)
		if f == FlavorModule || f == FlavorWebServer || f == FlavorISAPI {
			return f, ""
		}
		return "", "answer module, webserver or isapi"
	}); err != nil {
		return err
	}
	v.User, err = a.question(in, "User name for the admin links (DOMAIN\\user for Windows auth; empty for none)", v.User, false)
	return err
}

// until repeats a required question until check returns the value and no
// problem; unless keepDef, a wrong answer's default is not offered again.
func (a InitAsker) until(in *bufio.Reader, q, def string, keepDef bool, check func(string) (string, string)) (string, error) {
	for {
		ans, err := a.question(in, q, def, true)
		if err != nil {
			return "", err
		}
		v, problem := check(ans)
		if problem == "" {
			return v, nil
		}
		fmt.Fprintf(a.W, "  %s\n", problem)
		if !keepDef {
			def = ""
		}
	}
}

func (a InitAsker) question(in *bufio.Reader, q, def string, required bool) (string, error) {
	for {
		if def != "" {
			fmt.Fprintf(a.W, "%s [%s]: ", q, def)
		} else {
			fmt.Fprintf(a.W, "%s: ", q)
		}
		line, err := in.ReadString('\n')
		ans := strings.TrimSpace(line)
		if ans == "" {
			ans = def
		}
		if ans != "" || !required {
			return ans, nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", exitcode.Errorf(exitcode.Usage, "no answer for %q; pass it as a flag instead", q)
			}
			return "", exitcode.Errorf(exitcode.Usage, "cannot read the answer: %w", err)
		}
		fmt.Fprintln(a.W, "  (required)")
	}
}
