package transport

import "golang.org/x/sys/unix"

// unsentBytes is how many bytes sit in the socket's send queue (not yet
// acknowledged by the peer), or -1 if that cannot be told.
func unsentBytes(fd uintptr) int {
	n, err := unix.IoctlGetInt(int(fd), unix.TIOCOUTQ) // SIOCOUTQ
	if err != nil {
		return -1
	}
	return n
}
