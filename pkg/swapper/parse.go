// Package swapper triggers the hot swap (UpdateExe.wc, wc-protocol.md §1.3),
// reads its reply (§3.3) and the status page (§5), and verifies what runs
// against the build that was deployed.
package swapper

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/wcpage"
)

// Swapped is what a successful swap reply says. The .NET module and the Web
// Server say it all; the ISAPI wc.dll only says "Exe Updated", so for it
// only ISAPI is set and the status page must tell the version.
type Swapped struct {
	FileName string `json:"file_name,omitempty"`
	SizeKB   int64  `json:"size_kb"`          // bytes/1000, integer division
	Version  string `json:"version"`          // StringFileInfo FileVersion; "" if n/a
	Date     string `json:"date,omitempty"`   // server local time, server culture
	ISAPI    bool   `json:"isapi,omitempty"`  // the reply was the ISAPI page
	Unread   bool   `json:"unread,omitempty"` // the server showed n/a for version and date
}

// Status is what the admin status page says (§5).
type Status struct {
	Header     string `json:"header"`         // e.g. "Web Connection Handler Status Page"
	Version    string `json:"version"`        // Exe Version; "" when the server shows n/a
	Date       string `json:"date,omitempty"` // ExeFile's last write time, server local time
	ExeFile    string `json:"exe_file,omitempty"`
	UpdateFile string `json:"update_file,omitempty"`
	Module     string `json:"module,omitempty"`     // "Dll Version" row, e.g. "7.15 (.NET Handler)"
	WebServer  string `json:"web_server,omitempty"` // "Web Server" row
	// Hold: the "Hold Requests" row says the requests are on hold (a swap
	// is running, or someone pressed HoldRequests.wc).
	Hold bool `json:"hold,omitempty"`
}

// onHold reads the "Hold Requests" row: "Servers on Hold" (module, Web
// Server, wc.dll) or a bare "On".
func onHold(cell string) bool {
	low := strings.ToLower(strings.TrimSpace(strings.ReplaceAll(cell, "\u00a0", " ")))
	return strings.Contains(low, "on hold") || low == "on" || strings.HasPrefix(low, "on ")
}

// Running converts to the type the rollout engine reports.
func (s *Status) Running() rollout.Running {
	v := s.Version
	if v == "" {
		v = "n/a"
	}
	return rollout.Running{Version: v, Date: s.Date, ExeFile: s.ExeFile}
}

// Headers of §3.3 and §1.5.
const (
	hdrUpdated      = "Exe File Updated" // .NET module, Web Server
	hdrUpdatedISAPI = "Exe Updated"      // ISAPI wc.dll
	hdrNotUpdated   = "Exe Not Updated"  // ISAPI wc.dll
	hdrCopyFailed   = "Unable to copy Update Exe file"
)

var kbRe = regexp.MustCompile(`^([0-9][0-9.,'’\s\x{00a0}\x{202f}]*)\s*kb$`)

// ParseSwapReply reads the reply to UpdateExe.wc. Success is status 200 with
// the "Exe File Updated" (.NET) or "Exe Updated" (ISAPI) page; anything else
// is an error saying what the server said and what to do. Errors carry
// exitcode.Auth for 401/403 and exitcode.Swap otherwise.
func ParseSwapReply(status int, body []byte) (*Swapped, error) {
	doc, err := wcpage.Parse(body)
	if err != nil {
		doc = &wcpage.Doc{}
	}
	summary := doc.Summary(300)
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return nil, authError(status, summary)
	}
	if p, ok := doc.Header(hdrCopyFailed); ok {
		return nil, exitcode.New(exitcode.Swap, copyFailed(status, p))
	}
	if _, ok := doc.Header(hdrNotUpdated); ok {
		return nil, exitcode.Errorf(exitcode.Swap, "the server did not update the EXE (%d %s)%s; see the server's error log, then run the deploy again", status, hdrNotUpdated, colon(messageOf(doc)))
	}
	if status == http.StatusOK {
		if p, ok := doc.Header(hdrUpdated); ok && p.Header != "" {
			s, err := details(p)
			if err != nil {
				return nil, uncertain(exitcode.New(exitcode.Swap, err))
			}
			return s, nil
		}
		if p, ok := doc.Header(hdrUpdatedISAPI); ok && p.Header != "" {
			return &Swapped{ISAPI: true}, nil
		}
		return nil, uncertain(exitcode.Errorf(exitcode.Swap, "the server answered 200 but not with the swap page (a login page or proxy?)%s; check the update URL (it ends in UpdateExe.wc) and whether it swapped on the status page", colon(summary)))
	}
	if status == http.StatusNotFound {
		return nil, exitcode.Errorf(exitcode.Swap, "the update URL was not found (404)%s; check update_url (it ends in UpdateExe.wc) and that *.wc is mapped to Web Connection", colon(summary))
	}
	return nil, uncertain(exitcode.Errorf(exitcode.Swap, "the swap failed (%d)%s; check the server's admin page before deploying again", status, colon(summary)))
}

// uncertainError marks a swap reply that does not tell whether the swap
// happened: a 200 that is not the swap page (damaged, or a proxy's), a
// success page without its details, a 5xx that is not the module's copy
// failure. Only the status page can settle it.
type uncertainError struct{ error }

func (e uncertainError) Unwrap() error { return e.error }

func uncertain(err error) error { return uncertainError{err} }

// IsUncertain reports whether a ParseSwapReply error leaves open whether
// the server swapped.
func IsUncertain(err error) bool {
	var u uncertainError
	return errors.As(err, &u)
}

func authError(status int, summary string) error {
	if status == http.StatusForbidden {
		return exitcode.Errorf(exitcode.Auth, "the server denied access (403)%s; check that the account may use the admin links (AdminAccount)", colon(summary))
	}
	return exitcode.Errorf(exitcode.Auth, "the server refused the credentials (401)%s; check the user name and password, and that the account is in the server's AdminAccount setting", colon(summary))
}

func messageOf(doc *wcpage.Doc) string {
	if len(doc.Pages) > 0 {
		return doc.Pages[0].Message
	}
	return ""
}

func colon(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// details reads "File Name: …<br/>File Size: 1,670 kb<br/>File Version:
// …<br/>File Date: …" from the success page's text lines.
func details(p wcpage.Page) (*Swapped, error) {
	s := &Swapped{}
	var haveSize, haveVersion bool
	for _, line := range p.Lines {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.ToLower(strings.TrimSpace(key)) {
		case "file name":
			s.FileName = val
		case "file size":
			m := kbRe.FindStringSubmatch(strings.ToLower(val))
			if m == nil {
				return nil, fmt.Errorf("the swap page's file size %q is not a number of kb; check the status page to see what runs", val)
			}
			n, err := strconv.ParseInt(digits(m[1]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("the swap page's file size %q is not a number: %w", val, err)
			}
			s.SizeKB, haveSize = n, true
		case "file version":
			haveVersion = true
			if strings.EqualFold(val, "n/a") {
				s.Unread = true
			} else {
				s.Version = val
			}
		case "file date":
			if strings.EqualFold(val, "n/a") {
				s.Unread = true
			} else {
				s.Date = val
			}
		}
	}
	if !haveSize || !haveVersion {
		return nil, errors.New("the server said the EXE was updated but not its size and version, so the swap cannot be verified; check the status page to see what runs")
	}
	return s, nil
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// copyFailed explains "Unable to copy Update Exe file": "The file copy
// failed: <exception><br/><br/><UpdateFile> to <ExeFile>".
func copyFailed(status int, p wcpage.Page) error {
	reason := p.Message
	if len(p.Lines) > 0 {
		reason = p.Lines[0]
	}
	reason = strings.TrimSpace(strings.TrimPrefix(reason, "The file copy failed:"))
	low := strings.ToLower(reason)
	var advice string
	switch {
	case strings.Contains(low, "being used by another process") || strings.Contains(low, "von einem anderen prozess verwendet"):
		advice = "the EXE is locked: the COM servers did not unload in time; run wcdeploy deploy again (the upload is kept), or stop the application pool and retry"
	case strings.Contains(low, "access to the path") || strings.Contains(low, "is denied") || strings.Contains(low, "zugriff"):
		advice = "the application pool's account may not write ExeFile's folder, or the file is read-only: fix the permissions, then run the deploy again"
	case strings.Contains(low, "could not find file") || strings.Contains(low, "could not find a part of the path"):
		advice = "UpdateFile is not there: the upload went elsewhere or never happened; run the deploy again (it uploads first) and check UpdateFile in web.config"
	case strings.Contains(low, "empty file name") || strings.Contains(low, "sourcefilename"):
		advice = "UpdateFile is not configured on the server: set UpdateFile in web.config"
	default:
		advice = "check the server's ExeFile and UpdateFile settings and its error log, then run the deploy again"
	}
	if reason == "" {
		reason = "(no reason given)"
	}
	return fmt.Errorf("the server could not swap in the new EXE (%d %s): %s; %s", status, hdrCopyFailed, reason, advice)
}

// ParseStatus reads the status page (ModuleAdministration.wc or the Web
// Server's admin page): the Exe Version row (version and date), Exe File,
// Update File, the module version and the web server. A page without the Exe
// Version row is an error (a login page, a proxy, the wrong URL).
func ParseStatus(body []byte) (*Status, error) {
	doc, err := wcpage.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("the status page is not readable HTML (%w); check the status URL", err)
	}
	cells, ok := doc.Row("Exe Version")
	if !ok {
		return nil, fmt.Errorf("the server answered but not with the status page (a login page or proxy?)%s; check the status URL (it ends in ModuleAdministration.wc)", colon(doc.Summary(200)))
	}
	st := &Status{}
	if hs := doc.Headers(); len(hs) > 0 {
		st.Header = hs[0]
	}
	if len(cells) > 0 {
		st.Version, st.Date = splitVersionDate(cells[0])
	}
	cell := func(name string) string {
		if c, ok := doc.Row(name); ok && len(c) > 0 {
			return strings.TrimSpace(strings.ReplaceAll(c[0], "\u00a0", " "))
		}
		return ""
	}
	st.ExeFile, st.UpdateFile = cell("Exe File"), cell("Update File")
	st.Module, st.WebServer = cell("Dll Version"), cell("Web Server")
	st.Hold = onHold(cell("Hold Requests"))
	return st, nil
}

var trailingDate = regexp.MustCompile(`\s+(\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b.*)$`)

// splitVersionDate splits "{FileVersion}&nbsp;&nbsp;&nbsp; {LastWriteTime}".
// The version string may itself contain spaces ("7.0.1 beta"), so the
// non-breaking spaces are the separator; a date-looking tail is the fallback.
func splitVersionDate(cell string) (version, date string) {
	clean := func(s string) string {
		s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "\u00a0"))
		if strings.EqualFold(s, "n/a") {
			return ""
		}
		return s
	}
	if v, d, ok := strings.Cut(cell, "\u00a0"); ok {
		return clean(v), clean(strings.ReplaceAll(d, "\u00a0", " "))
	}
	if m := trailingDate.FindStringSubmatchIndex(cell); m != nil {
		return clean(cell[:m[0]]), clean(cell[m[2]:m[3]])
	}
	return clean(cell), ""
}

// Verify checks the swap reply against the build: the version string equal
// (or, failing that, the same dotted numbers: "1.2.3.5" = "1.2.3.05"), and
// the size in kb equal to wantSize/1000 (the server divides by 1000).
// A mismatch is an exitcode.Verify error.
func Verify(wantVersion string, wantSize int64, got *Swapped) error {
	if got == nil {
		return exitcode.Errorf(exitcode.Verify, "no swap reply to verify; check the status page to see what runs")
	}
	if got.ISAPI && got.Version == "" {
		return exitcode.Errorf(exitcode.Verify, "the ISAPI swap reply does not say which version runs; verify it on the status page")
	}
	runs := got.Version
	if runs == "" {
		runs = "an unreadable version (n/a)"
	}
	if !SameVersion(got.Version, wantVersion) {
		return exitcode.Errorf(exitcode.Verify, "runs %s, expected %s; the upload may have been replaced by another deploy, or UpdateFile points to another file", runs, wantVersion)
	}
	if wantSize >= 0 && got.SizeKB != wantSize/1000 {
		return exitcode.Errorf(exitcode.Verify, "runs %s but its size is %d kb, expected %d kb: another build with the same version runs; deploy again", runs, got.SizeKB, wantSize/1000)
	}
	return nil
}

// SameVersion compares FileVersion strings: equal after trimming, or equal
// as dotted numbers (leading zeros and missing trailing zero parts ignored).
func SameVersion(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	na, okA := dotted(a)
	nb, okB := dotted(b)
	if !okA || !okB {
		return false
	}
	for len(na) < len(nb) {
		na = append(na, 0)
	}
	for len(nb) < len(na) {
		nb = append(nb, 0)
	}
	for i := range na {
		if na[i] != nb[i] {
			return false
		}
	}
	return true
}

func dotted(s string) ([]uint64, bool) {
	parts := strings.Split(s, ".")
	out := make([]uint64, 0, len(parts))
	for _, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func parseDoc(body []byte) (*wcpage.Doc, error) { return wcpage.Parse(body) }
