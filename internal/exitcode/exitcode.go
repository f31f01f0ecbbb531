// Package exitcode maps errors to the process exit codes that wcdeploy documents
// for scripts and pipelines. It is the only place that decides a code.
package exitcode

import (
	"context"
	"errors"
	"fmt"
)

// Code is a process exit code.
type Code int

// The documented exit codes (docs/exit-codes.md).
const (
	OK          Code = 0   // success or nothing to do
	Unexpected  Code = 1   // unexpected error
	Usage       Code = 2   // usage or configuration error, nothing contacted
	Auth        Code = 3   // authentication or authorisation failed
	Upload      Code = 4   // upload failed, nothing swapped
	Swap        Code = 5   // swap failed
	Verify      Code = 6   // the server answered but runs something else
	Partial     Code = 7   // some servers updated, some not
	Locked      Code = 8   // another run of the project and profile holds the lock, nothing contacted
	Interrupted Code = 130 // interrupted (Ctrl-C, SIGTERM)
)

// String names the code for JSON output and logs.
func (c Code) String() string {
	switch c {
	case OK:
		return "ok"
	case Usage:
		return "usage"
	case Auth:
		return "auth"
	case Upload:
		return "upload"
	case Swap:
		return "swap"
	case Verify:
		return "verify"
	case Partial:
		return "partial"
	case Locked:
		return "locked"
	case Interrupted:
		return "interrupted"
	default:
		return "unexpected"
	}
}

// Error carries an exit code with the error that caused it.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// New wraps err with code. A nil err stays nil.
func New(code Code, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Errorf formats an error (with %w support) that carries code.
func Errorf(code Code, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Of returns the exit code for err: the outermost *Error's code, 130 for a
// cancelled context, 0 for nil and 1 for anything else.
func Of(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.Canceled) {
		return Interrupted
	}
	return Unexpected
}
