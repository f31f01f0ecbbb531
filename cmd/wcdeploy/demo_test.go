package main

import (
	"strings"
	"testing"
)

// The README's first command: three emulated servers, two builds, a no-op
// run, all through the deploy code path, with nothing but loopback.
func TestDemo(t *testing.T) {
	r := runCLI(t, newEnv(t), "demo", "--swap-delay", "20ms", "--size", "2000000")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	for _, w := range []string{
		"WcDemo.exe 1.2.3.4: 3 of 3 servers updated; exit 0",
		"WcDemo.exe 1.2.3.5: 3 of 3 servers updated; exit 0",
		"WcDemo.exe 1.2.3.5: 0 of 3 servers updated, 3 already current; exit 0",
	} {
		if !strings.Contains(r.out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, r.out)
		}
	}
	if strings.Count(r.out, "1.2.3.4  1.2.3.5  yes     yes      yes") != 3 {
		t.Errorf("the second build was not verified on every server:\n%s", r.out)
	}
}
