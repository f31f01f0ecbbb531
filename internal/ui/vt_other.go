//go:build !windows

package ui

import "os"

// enableVT: terminals outside Windows interpret ANSI sequences already.
func enableVT(*os.File) bool { return true }
