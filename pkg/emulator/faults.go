package emulator

import (
	"net/http"
	"strings"
	"time"
)

// FaultKind names an injected failure.
type FaultKind string

// The injectable faults. Action-level faults change what a handler does;
// the others replace the reply before authentication, like a proxy, a
// firewall or a sick server would.
const (
	// FaultSwapCopy makes the swap's copy fail with Message (default: the
	// "being used by another process" text for ExeFile).
	FaultSwapCopy FaultKind = "swap-copy"
	// FaultUploadDeleteFails makes deleting the old UpdateFile fail with
	// "Access to the path … is denied.": the module then answers both the
	// "Unable to save" and the success page with status 200 and the old size.
	FaultUploadDeleteFails FaultKind = "upload-delete-fails"
	// FaultVersionMismatch makes ExeFile report Version (default "0.0.0.0")
	// after the swap, as if another build were running.
	FaultVersionMismatch FaultKind = "version-mismatch"
	// FaultHealthFail makes normal pages answer 500 "An Error occurred".
	FaultHealthFail FaultKind = "health-fail"

	// FaultResetAfter reads Bytes of the request body, then resets the
	// connection (TCP RST).
	FaultResetAfter FaultKind = "reset-after"
	// FaultStall reads the request and never answers, until the client
	// gives up or the server closes.
	FaultStall FaultKind = "stall"
	// FaultDelay waits Delay before handling the request normally.
	FaultDelay FaultKind = "delay"
	// FaultLoginPage answers 200 with a sign-in form instead of the page
	// (a single-sign-on proxy in front of the server).
	FaultLoginPage FaultKind = "login-page"
	// FaultRespond answers Status (default 500) with Header and Body, or a
	// BodySize-byte filler body; Truncate announces more bytes than it sends
	// and drops the connection.
	FaultRespond FaultKind = "respond"
	// FaultRedirectLoop answers 302 to the same URL, forever.
	FaultRedirectLoop FaultKind = "redirect-loop"
)

// Fault is one injected failure.
type Fault struct {
	Kind FaultKind
	// Action limits the fault to one action: a canonical action name
	// ("uploadexe", "updateexe", "moduleadministration", "holdrequests",
	// "showstatus", …), "page" for normal (non-admin) requests, the aliases
	// "upload", "swap" and "status", or "" for every request.
	Action string
	// Times is how many matching requests the fault applies to; 0 = all.
	Times int

	Message  string        // FaultSwapCopy
	Version  string        // FaultVersionMismatch
	Bytes    int64         // FaultResetAfter
	Delay    time.Duration // FaultDelay
	Status   int           // FaultRespond
	Header   http.Header   // FaultRespond
	Body     []byte        // FaultRespond
	BodySize int64         // FaultRespond: filler body of this size instead of Body
	Truncate bool          // FaultRespond
}

type faultState struct {
	f    Fault
	left int // remaining uses; -1 = unlimited
}

// Inject adds a fault. Several faults may be active; the first one that
// matches a request's action and kind applies.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := f.Times
	if left <= 0 {
		left = -1
	}
	s.faults = append(s.faults, &faultState{f: f, left: left})
}

// ClearFaults removes every fault and any version override they caused.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.versionOverride = ""
}

// takeFault returns (and uses up one application of) the first fault of
// one of kinds that matches action.
func (s *Server) takeFault(action string, kinds ...FaultKind) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, st := range s.faults {
		if !matchAction(st.f.Action, action) || !hasKind(kinds, st.f.Kind) {
			continue
		}
		f := st.f
		if st.left > 0 {
			st.left--
			if st.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &f
	}
	return nil
}

func hasKind(kinds []FaultKind, k FaultKind) bool {
	for _, v := range kinds {
		if v == k {
			return true
		}
	}
	return false
}

func matchAction(want, action string) bool {
	want = strings.ToLower(want)
	switch want {
	case "", "*":
		return true
	case "upload":
		return action == "uploadexe"
	case "swap":
		return action == "updateexe"
	case "status":
		return action == "moduleadministration" || action == "administration" || action == "showstatus"
	}
	return want == action
}

var preFaults = []FaultKind{FaultResetAfter, FaultStall, FaultDelay, FaultLoginPage, FaultRespond, FaultRedirectLoop}

const loginPage = "<!DOCTYPE html>\r\n<html>\r\n<head>\r\n<title>Sign In</title>\r\n</head>\r\n<body>\r\n" +
	"<form method=\"post\" action=\"/adfs/ls/?SAMLRequest=emulated\" id=\"loginForm\">\r\n" +
	"<h1>Sign in</h1>\r\n<input id=\"userNameInput\" name=\"UserName\" type=\"email\" placeholder=\"someone@example.com\" />\r\n" +
	"<input id=\"passwordInput\" name=\"Password\" type=\"password\" placeholder=\"Password\" />\r\n" +
	"<span id=\"submitButton\" class=\"submit\" role=\"button\">Sign in</span>\r\n</form>\r\n</body>\r\n</html>\r\n"
