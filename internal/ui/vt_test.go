package ui

import (
	"errors"
	"os"
	"testing"
)

// TestVTEnabled: the decision over the console's answers, as Windows gives
// them: not a console, VT already on, switched on, refused.
func TestVTEnabled(t *testing.T) {
	errNoConsole := errors.New("the handle is invalid")
	errRefused := errors.New("the parameter is incorrect") // consoles before Windows 10 1511
	cases := []struct {
		name    string
		mode    uint32
		getErr  error
		setErr  error
		ok      bool
		setMode uint32 // 0: SetConsoleMode not called
	}{
		{"not a console", 0, errNoConsole, nil, false, 0},
		{"already on", 0x0007, nil, nil, true, 0},
		{"switched on", 0x0003, nil, nil, true, 0x0007},
		{"refused", 0x0003, nil, errRefused, false, 0x0007},
	}
	for _, c := range cases {
		var set uint32
		ok := vtEnabled(
			func() (uint32, error) { return c.mode, c.getErr },
			func(m uint32) error { set = m; return c.setErr },
		)
		if ok != c.ok || set != c.setMode {
			t.Errorf("%s: usable %v, set mode %#x; want %v, %#x", c.name, ok, set, c.ok, c.setMode)
		}
	}
}

// TestApplyVT: where the console refuses ANSI, progress goes in plain lines
// and without colour; streams that are not terminals are not asked.
func TestApplyVT(t *testing.T) {
	cases := []struct {
		name           string
		outTTY, errTTY bool
		outOK, errOK   bool
		live, color    bool
		asked          int
	}{
		{"both consoles take VT", true, true, true, true, true, true, 2},
		{"stderr refuses", true, true, true, false, false, false, 2},
		{"stdout refuses", true, true, false, true, true, false, 2},
		{"redirected to files", false, false, false, false, false, true, 0},
		{"stderr a console, stdout a pipe", false, true, false, true, true, true, 1},
	}
	for _, c := range cases {
		s := &Streams{OutTTY: c.outTTY, ErrTTY: c.errTTY}
		asked := 0
		s.applyVT(os.Stdout, os.Stderr, func(f *os.File) bool {
			asked++
			if f == os.Stderr {
				return c.errOK
			}
			return c.outOK
		})
		if s.LiveProgress() != c.live || !s.NoColor != c.color || asked != c.asked {
			t.Errorf("%s: live %v colour %v asked %d; want %v %v %d", c.name, s.LiveProgress(), !s.NoColor, asked, c.live, c.color, c.asked)
		}
	}
}
