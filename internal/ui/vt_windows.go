//go:build windows

package ui

import (
	"os"

	"golang.org/x/sys/windows"
)

// enableVT switches on virtual terminal processing for f's console, so the
// live view's cursor moves and colours are interpreted, not printed.
func enableVT(f *os.File) bool {
	h := windows.Handle(f.Fd())
	return vtEnabled(
		func() (uint32, error) {
			var mode uint32
			err := windows.GetConsoleMode(h, &mode)
			return mode, err
		},
		func(mode uint32) error { return windows.SetConsoleMode(h, mode) },
	)
}

// vtProcessing must be the SDK's flag: neither difference may be negative.
const (
	_ uint = vtProcessing - windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING
	_ uint = windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING - vtProcessing
)
