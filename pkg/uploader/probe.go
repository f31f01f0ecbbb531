package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// errBodyWanted ends a probe once the server asked for the body.
var errBodyWanted = errors.New("the server asked for the upload's body")

// probeBody is a request body that is never sent: the first Read means
// the server answered "100 Continue" (or did not answer in time), so the
// size was accepted and the probe stops there. Seek lets an NTLM
// transport replay it without reading it.
type probeBody struct{ wanted atomic.Bool }

func (b *probeBody) Read([]byte) (int, error) {
	b.wanted.Store(true)
	return 0, errBodyWanted
}
func (b *probeBody) Seek(int64, int) (int64, error) { return 0, nil }
func (b *probeBody) Close() error                   { return nil }

// ProbeLimit asks the server, without sending the EXE, whether it accepts
// an upload of bodyLen bytes: a POST to the upload link with the real
// Content-Length and "Expect: 100-continue". IIS's request filtering and
// Kestrel answer an over-limit request at once (404.13, 413, 500 "Request
// body too large"); a server that wants the body answers "100 Continue",
// and the probe ends there, before a byte of the body is sent. A server
// that ignores the Expect header is taken as accepting (the upload itself
// still checks). exeSize is the EXE's size and flavor the server's, for
// the error's advice (LimitAdvice).
//
// Only worth it above DefaultRequestLimit: smaller uploads pass any
// server's default limits, and the probe costs one aborted request.
func ProbeLimit(ctx context.Context, client *http.Client, uploadURL, flavor string, bodyLen, exeSize int64) error {
	body := &probeBody{}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uploadURL, body)
	if err != nil {
		return exitcode.New(exitcode.Usage, fmt.Errorf("the upload URL %q is not usable: %w", uploadURL, err))
	}
	req.ContentLength = bodyLen
	req.GetBody = func() (io.ReadCloser, error) { return body, nil }
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("Content-Type", "multipart/form-data; boundary=wcdeploy-size-probe")
	resp, err := client.Do(req)
	// A final reply is judged as it is, even if the transport began to send
	// the body meanwhile (its Expect wait ran out, or a reused connection was
	// retried): a 404.13 that came is a refusal. Only a request that ended
	// because the body was wanted, with no reply, means the size passed.
	if err != nil && (body.wanted.Load() || errors.Is(err, errBodyWanted)) {
		return nil
	}
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if code := exitcode.Of(err); code == exitcode.Auth || code == exitcode.Usage {
			return err
		}
		return fmt.Errorf("checking the upload size limit: %w", quiet(err))
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return exitcode.Errorf(exitcode.Auth, "the upload link refused the credentials (%d); check that the account is in the server's AdminAccount setting", resp.StatusCode)
	case tooLarge(resp.StatusCode, string(reply), bodyLen):
		return exitcode.New(exitcode.Upload, limitError(resp.StatusCode, exeSize, LimitAdvice(flavor, bodyLen)))
	}
	// Any other answer came without the body (for example the module's "no
	// file" page): the size itself was not refused.
	return nil
}
