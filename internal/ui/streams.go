// Package ui decides how wcdeploy talks to a person or a log: which streams are
// terminals, whether colour and redrawn progress are allowed, and how prompts
// read a secret without echo.
package ui

import (
	"bytes"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// Streams are the three standard streams plus what is known about them.
// Everything that writes for a person goes through one Streams value, so
// tests can swap in buffers and pretend to be a terminal.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer

	InTTY  bool // stdin is a terminal (prompts allowed)
	OutTTY bool // stdout is a terminal
	ErrTTY bool // stderr is a terminal (progress bars allowed)

	// NoColor is set from NO_COLOR or TERM=dumb.
	NoColor bool
	// Dumb: never redraw lines even on a terminal (TERM=dumb, a Windows
	// console that refuses ANSI sequences, or -v's request lines).
	Dumb bool

	// Columns, when set, is the terminals' width (tests pretend to be an
	// 80-column terminal); 0 asks the terminal.
	Columns int

	// ReadSecret reads a line from the terminal without echo. Tests replace it.
	ReadSecret func() (string, error)
}

// System returns the process's real streams.
func System() *Streams {
	s := &Streams{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		InTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		OutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		ErrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
	s.Dumb = os.Getenv("TERM") == "dumb"
	s.NoColor = ColorOff(os.Getenv) || s.Dumb
	s.applyVT(os.Stdout, os.Stderr, enableVT)
	s.ReadSecret = func() (string, error) {
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		return strings.TrimRight(string(b), "\r\n"), err
	}
	return s
}

// Test returns streams backed by buffers: stdin reads from in, and nothing is
// a terminal unless the caller says so.
func Test(in string) (s *Streams, out, errOut *bytes.Buffer) {
	out, errOut = &bytes.Buffer{}, &bytes.Buffer{}
	s = &Streams{In: strings.NewReader(in), Out: out, Err: errOut, NoColor: true}
	return s, out, errOut
}

// Interactive reports whether a person can be asked something: stdin and
// stderr are both terminals.
func (s *Streams) Interactive() bool { return s.InTTY && s.ErrTTY }

// LiveProgress reports whether progress may be redrawn in place (a bar, \r).
func (s *Streams) LiveProgress() bool { return s.ErrTTY && !s.Dumb }

// ColorOff reports whether NO_COLOR asks for no colour: only a non-empty
// value does (no-color.org), so an empty NO_COLOR= leaves colour on.
func ColorOff(getenv func(string) string) bool { return getenv("NO_COLOR") != "" }
