package ui

import (
	"io"
	"testing"
)

func TestTestStreams(t *testing.T) {
	s, out, errOut := Test("typed\n")
	if s.InTTY || s.OutTTY || s.ErrTTY || !s.NoColor {
		t.Errorf("test streams pretend to be a terminal or allow colour: %+v", s)
	}
	b, err := io.ReadAll(s.In)
	if err != nil || string(b) != "typed\n" {
		t.Errorf("stdin %q %v", b, err)
	}
	_, _ = io.WriteString(s.Out, "o")
	_, _ = io.WriteString(s.Err, "e")
	if out.String() != "o" || errOut.String() != "e" {
		t.Errorf("out %q err %q", out, errOut)
	}
}

func TestLiveProgressAndInteractive(t *testing.T) {
	cases := []struct {
		in, err, dumb     bool
		live, interactive bool
	}{
		{false, false, false, false, false},
		{false, true, false, true, false},
		{true, true, false, true, true},
		{true, true, true, false, true}, // TERM=dumb: a terminal that cannot redraw
		{true, false, false, false, false},
	}
	for _, c := range cases {
		s := &Streams{InTTY: c.in, ErrTTY: c.err, Dumb: c.dumb}
		if s.LiveProgress() != c.live || s.Interactive() != c.interactive {
			t.Errorf("%+v: live %v interactive %v", c, s.LiveProgress(), s.Interactive())
		}
	}
}

func TestColorOffOnlyForANonEmptyNoColor(t *testing.T) {
	for value, want := range map[string]bool{"": false, "1": true, "0": true, "yes": true} {
		if got := ColorOff(func(k string) string {
			if k == "NO_COLOR" {
				return value
			}
			return ""
		}); got != want {
			t.Errorf("NO_COLOR=%q: colour off %v, want %v", value, got, want)
		}
	}
}
