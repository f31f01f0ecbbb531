package transport

import (
	"errors"
	"net"
)

// Quiet shows a network error without the addresses net.OpError prints
// ("write tcp 127.0.0.1:5123->10.0.0.7:443: ..."): callers name the server
// themselves. errors.Is/As still see the original error.
func Quiet(err error) error {
	if err == nil {
		return nil
	}
	return quietError{err}
}

type quietError struct{ err error }

func (q quietError) Error() string {
	// A stalled connection's message already names the server and the
	// setting; the transport's wrapping ("connection broken: …") adds nothing.
	var stall *StallError
	if errors.As(q.err, &stall) {
		return stall.Error()
	}
	var op *net.OpError
	if !errors.As(q.err, &op) {
		return q.err.Error()
	}
	// "readfrom tcp a->b: write tcp a->b: use of closed network connection"
	for {
		var inner *net.OpError
		if !errors.As(op.Err, &inner) {
			break
		}
		op = inner
	}
	if op.Err == nil {
		return op.Op
	}
	return op.Err.Error()
}

func (q quietError) Unwrap() error { return q.err }
