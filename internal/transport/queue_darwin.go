package transport

import "golang.org/x/sys/unix"

// unsentBytes is how many bytes sit in the socket's send queue, or -1 if
// that cannot be told.
func unsentBytes(fd uintptr) int {
	n, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NWRITE)
	if err != nil {
		return -1
	}
	return n
}
