package transport

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/url"
)

// Quiet shows a network error in the user's terms, without what Go's
// libraries add: the addresses net.OpError prints ("write tcp
// 127.0.0.1:5123->10.0.0.7:443: ..."), url.Error's method and URL
// (`Get "https://…": …`), a context's "context canceled" and a file
// operation's name ("stat …: no such file or directory"). Callers name the
// server and the URL themselves. errors.Is/As still see the original error.
func Quiet(err error) error {
	if err == nil {
		return nil
	}
	return quietError{err}
}

type quietError struct{ err error }

func (q quietError) Error() string { return quietText(q.err) }

func quietText(err error) string {
	// A stalled connection's message already names the server and the
	// setting; the transport's wrapping ("connection broken: …") adds nothing.
	var stall *StallError
	if errors.As(err, &stall) {
		return stall.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil && err.Error() == ue.Error() {
		return quietText(ue.Err)
	}
	switch {
	case errors.Is(err, context.Canceled) && err.Error() == context.Canceled.Error():
		return "interrupted"
	case errors.Is(err, context.DeadlineExceeded) && err.Error() == context.DeadlineExceeded.Error():
		return "no answer in time"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && err.Error() == pe.Error() {
		if errors.Is(pe.Err, fs.ErrNotExist) {
			return pe.Path + " does not exist"
		}
		return pe.Path + ": " + pe.Err.Error()
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		return err.Error()
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
