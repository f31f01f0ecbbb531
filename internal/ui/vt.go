package ui

import "os"

// vtProcessing is the console mode flag that makes a Windows console
// interpret ANSI escape sequences (ENABLE_VIRTUAL_TERMINAL_PROCESSING).
const vtProcessing = 0x0004

// vtEnabled decides, from the console's answers, whether ANSI sequences may
// be written: getMode reports the console mode (an error: not a console,
// or it cannot say), setMode asks for a new one (an error: a console from
// before Windows 10 1511, which prints the sequences as text). The mode is
// set only when the flag is missing.
func vtEnabled(getMode func() (uint32, error), setMode func(uint32) error) bool {
	mode, err := getMode()
	if err != nil {
		return false
	}
	if mode&vtProcessing != 0 {
		return true
	}
	return setMode(mode|vtProcessing) == nil
}

// applyVT asks the console of each terminal stream to take ANSI sequences
// (enable is the OS call; streams that are not terminals are left alone)
// and, where it refuses, writes plain lines: no redraw when stderr refuses,
// no colour when either refuses.
func (s *Streams) applyVT(stdout, stderr *os.File, enable func(*os.File) bool) {
	errOK := !s.ErrTTY || enable(stderr)
	outOK := !s.OutTTY || enable(stdout)
	if !errOK {
		s.Dumb = true
	}
	if !errOK || !outOK {
		s.NoColor = true
	}
}
