package uploader

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/wcpage"
)

// Result is what the server said about an accepted upload.
type Result struct {
	// Bytes is the size of UpdateFile on the server, as echoed.
	Bytes int64 `json:"bytes"`
	// UpdateFile is the server path the upload was saved to, as echoed.
	UpdateFile string `json:"update_file,omitempty"`
	// Attempts is how many times the body was sent (Upload only).
	Attempts int `json:"attempts,omitempty"`
}

// Page headers of §3.2.
const (
	hdrUploaded     = "File has been uploaded"
	hdrUnableToSave = "Unable to save Update Exe file"
)

// The echoed size is FileInfo.Length.ToString("n0"): server-culture group
// separators, e.g. 1,234,567 / 1.234.567 / 1 234 567 / 1'234'567.
var bytesRe = regexp.MustCompile(`\(\s*([0-9](?:[0-9.,'’\s\x{00a0}\x{202f}]*[0-9])?)\s*bytes\s*\)`)

// smallUpload is the size under which a 404 is taken for a wrong URL rather
// than a request limit: ASP.NET's default maxRequestLength.
const smallUpload = DefaultASPNETRequestKB * 1024

// Sent is what a reply answers: the EXE's size (the size the server must
// echo), the whole request's size and the server's flavor (both for the
// size-limit advice).
type Sent struct {
	ExeSize     int64
	RequestSize int64 // 0: taken as ExeSize
	Flavor      string
	// ReplyHeader is the reply's header, when there is one: it tells which
	// product answered (wcpage.Identify) for a page of another flavor.
	ReplyHeader http.Header
}

func (s Sent) request() int64 {
	if s.RequestSize > 0 {
		return s.RequestSize
	}
	return s.ExeSize
}

// CheckReply decides whether an upload reply accepts the upload, exactly as
// wc-protocol.md §3.2 says: status 200, the "File has been uploaded" page, no
// "Unable to save" anywhere (the module appends the success page after a
// failed save), and an echoed byte count equal to sent.ExeSize. Every other
// reply is an error that quotes the server and says what to do.
func CheckReply(status int, body []byte, sent Sent) (*Result, error) {
	localSize := sent.ExeSize
	doc, perr := wcpage.Parse(body)
	if perr != nil {
		doc = &wcpage.Doc{}
	}
	summary := doc.Summary(300)
	quote := func() string {
		if summary == "" {
			return ""
		}
		return ": " + summary
	}
	switch {
	case status == http.StatusUnauthorized:
		return nil, exitcode.Errorf(exitcode.Auth, "the server refused the credentials (401)%s; check the user name and password, and that the account is in the server's AdminAccount setting", quote())
	case status == http.StatusForbidden:
		return nil, exitcode.Errorf(exitcode.Auth, "the server denied access (403)%s; check that the account may use the admin links (AdminAccount) and that IIS allows the request", quote())
	}
	text := string(body)
	if tooLarge(status, text, sent.request()) {
		return nil, exitcode.New(exitcode.Upload, limitError(status, localSize, LimitAdvice(sent.Flavor, sent.request())))
	}
	if p, ok := doc.Header(hdrUnableToSave); ok || containsFold(text, "Unable to save") {
		msg := p.Message
		if msg == "" {
			msg = summary
		}
		return nil, exitcode.Errorf(exitcode.Upload, "the server could not save the upload: %s; check that the app pool's account can write the folder of UpdateFile and that no process holds the file open", strings.TrimSpace(msg))
	}
	if status == http.StatusOK {
		p, ok := doc.Header(hdrUploaded)
		if !ok || !containsFold(text, hdrUploaded) {
			if adv := wcpage.FlavorAdvice(sent.Flavor, sent.ReplyHeader, body); adv != "" {
				return nil, exitcode.Errorf(exitcode.Upload, "the server answered 200 but not with the upload page%s; %s", quote(), adv)
			}
			return nil, exitcode.Errorf(exitcode.Upload, "the server answered 200 but not with the upload page (a login page or proxy?)%s; check the upload URL and any single sign-on or proxy in front of the server", quote())
		}
		res, err := echoed(p)
		if err != nil {
			return nil, exitcode.New(exitcode.Upload, err)
		}
		if res.Bytes != localSize {
			return nil, exitcode.Errorf(exitcode.Upload, "the server saved %d bytes but the EXE has %d: the upload was cut short or altered on the way; run the deploy again", res.Bytes, localSize)
		}
		return res, nil
	}
	return nil, exitcode.New(exitcode.Upload, failure(status, doc, summary))
}

// echoed reads "<path> (1,234,567 bytes)" from the success page.
func echoed(p wcpage.Page) (*Result, error) {
	for i := len(p.Lines) - 1; i >= 0; i-- {
		line := p.Lines[i]
		loc := bytesRe.FindAllStringSubmatchIndex(line, -1)
		if loc == nil {
			continue
		}
		m := loc[len(loc)-1]
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, line[m[2]:m[3]])
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("the upload page's byte count %q is not a number: %w", line[m[2]:m[3]], err)
		}
		return &Result{Bytes: n, UpdateFile: strings.TrimSpace(line[:m[0]])}, nil
	}
	return nil, errors.New("the server said the file was uploaded but did not say how many bytes it saved, so the upload cannot be checked; look at the server's admin page, then run the deploy again")
}

// failure turns a failure page of §3.2 into an error with the next step.
func failure(status int, doc *wcpage.Doc, summary string) error {
	var hdr, msg string
	if len(doc.Pages) > 0 {
		hdr, msg = doc.Pages[0].Header, doc.Pages[0].Message
	}
	switch {
	case strings.EqualFold(hdr, "Missing File"), strings.EqualFold(hdr, "No files sent"), strings.EqualFold(hdr, "Invalid File Upload"):
		return fmt.Errorf("the server found no file in the upload (%d %s: %s); a proxy may have dropped the request body, or the server expects another upload format: check the upload URL", status, hdr, msg)
	case strings.EqualFold(hdr, "Can't find Exe file"):
		return fmt.Errorf("no .exe found in the upload (%d %s: %s); the server wants a file part whose name ends in .exe", status, hdr, msg)
	case strings.EqualFold(hdr, "UpdateExe setting not set"):
		return fmt.Errorf("UpdateFile is not configured on the server: set UpdateFile in web.config (webConnectionConfiguration) to the path the upload should be saved to (%d %s)", status, hdr)
	case strings.EqualFold(hdr, "An Error occurred"):
		return fmt.Errorf("the server failed while taking the upload (%d): %s; see the server's error log (ShowErrorLog.wc)", status, msg)
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable:
		return fmt.Errorf("the server is unavailable (%d)%s; try again when it is back", status, colon(summary))
	case status == http.StatusNotFound:
		return fmt.Errorf("the upload URL was not found (404)%s; check upload_url (it ends in UploadExe.wc) and that *.wc is mapped to Web Connection", colon(summary))
	default:
		return fmt.Errorf("the server did not accept the upload (%d)%s", status, colon(summary))
	}
}

func colon(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// tooLarge recognises the request size limits of §4.5: IIS request
// filtering's 404.13 (remote clients may see a plain 404), ASP.NET's
// "Maximum request length exceeded", Kestrel's "Request body too large", and
// a proxy's 413.
func tooLarge(status int, text string, size int64) bool {
	switch {
	case status == http.StatusRequestEntityTooLarge:
		return true
	case status == http.StatusNotFound:
		return size >= smallUpload || strings.Contains(text, "404.13") || containsFold(text, "Content Length Too Large")
	case status >= 500:
		return containsFold(text, "Request body too large") || containsFold(text, "Maximum request length exceeded")
	}
	return false
}

// limitError is a refused size: the server's answer and the advice.
func limitError(status int, exeSize int64, a Advice) error {
	return fmt.Errorf("the server's request size limit is below the EXE's size of %d bytes (%d): %s; "+
		"if the upload URL may be wrong, check it too", exeSize, status, a)
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
