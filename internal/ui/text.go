package ui

import (
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// ANSI colours. Every code has the same length, so cells painted in a
// table keep its columns aligned; Plain pads a cell that has no colour.
const (
	Reset  = "\x1b[0m"
	Red    = "\x1b[31m"
	Green  = "\x1b[32m"
	Yellow = "\x1b[33m"
	Cyan   = "\x1b[36m"
	Dim    = "\x1b[90m" // grey
	Plain  = "\x1b[39m" // the default colour
)

// Paint colours s with code when on is set.
func Paint(on bool, code, s string) string {
	if !on {
		return s
	}
	return code + s + Reset
}

// OneLine keeps a message on one line so a log stays one event per line.
func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Truncate cuts s to n runes, marking the cut with an ellipsis.
func Truncate(s string, n int) string {
	if n <= 1 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// defaultWidth is assumed when the terminal does not say its width.
const defaultWidth = 100

// ErrWidth is the width of the terminal behind stderr, in columns.
func (s *Streams) ErrWidth() int { return s.widthOf(s.Err) }

// OutWidth is the width of the terminal behind stdout, in columns.
func (s *Streams) OutWidth() int { return s.widthOf(s.Out) }

// TableWidth is the width a table on stdout fits (output.Table.Width): the
// terminal's, or 0 for a file or pipe, which gets whole lines.
func (s *Streams) TableWidth() int {
	if !s.OutTTY {
		return 0
	}
	return s.OutWidth()
}

func (s *Streams) widthOf(w io.Writer) int {
	if s.Columns > 0 {
		return s.Columns
	}
	return width(w)
}

func width(w io.Writer) int {
	if f, ok := w.(interface{ Fd() uintptr }); ok {
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil && wd > 20 {
			return wd
		}
	}
	return defaultWidth
}
