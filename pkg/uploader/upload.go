package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/transport"
)

// DefaultMaxReplyBytes caps how much of a reply is read. Upload pages are a
// few KB; a bigger reply is not one we can use anyway.
const DefaultMaxReplyBytes = 4 << 20

// maxBackoff caps one wait between attempts.
const maxBackoff = 30 * time.Second

// Options say what to upload where.
type Options struct {
	URL     string // the UploadExe.wc link
	ExePath string
	DLLPath string // optional companion DLL (module 7.15+)
	// Flavor is the server's flavor (module, webserver, isapi), for the
	// advice when the server refuses the upload's size.
	Flavor string
	// Name is the EXE's name as built ("build/Shop.exe") when ExePath is a
	// copy under another name (the archive); the server is told this one.
	Name string
	// Size is the EXE's size when it was read for the plan; the upload
	// refuses to start if the file no longer has it. 0 skips that check.
	Size int64
	// Retries is how many times a transient failure (connection refused or
	// reset, no reply, 502, 503) is retried. Re-sending is safe: an upload
	// only overwrites UpdateFile.
	Retries int
	// Backoff is the wait before the first retry; it doubles each time.
	Backoff time.Duration
	// Progress is told the bytes sent so far and the total; sent goes back
	// to 0 when the body is sent again. It may be called from other
	// goroutines, but not concurrently.
	Progress func(sent, total int64)
	// MaxReplyBytes caps the reply read (default DefaultMaxReplyBytes).
	MaxReplyBytes int64
}

// Upload sends the EXE (and DLL) to o.URL and checks the reply with
// CheckReply. The body is streamed with an exact Content-Length; the only
// time limit is ctx, since a slow but healthy upload of a big EXE must not be
// cut off by a fixed timeout. Errors carry exitcode.Auth or exitcode.Upload;
// a cancelled ctx is returned as context.Canceled without a code.
func Upload(ctx context.Context, client *http.Client, o Options) (*Result, error) {
	if client == nil {
		return nil, exitcode.New(exitcode.Upload, errors.New("uploader: no HTTP client"))
	}
	body, err := NewNamedBody(o.ExePath, o.DLLPath, o.Name)
	if err != nil {
		return nil, exitcode.New(exitcode.Upload, err)
	}
	defer body.Close()
	if o.Size > 0 && body.FileSize() != o.Size {
		return nil, exitcode.New(exitcode.Upload, fmt.Errorf("%w: the EXE %s has %d bytes now but had %d when the deploy started; let the build finish, then run the deploy again",
			ErrChanged, o.ExePath, body.FileSize(), o.Size))
	}
	if o.Progress != nil {
		body.SetProgress(o.Progress)
		// No progress after Upload returns, even from a transport goroutine
		// still draining a failed request's body.
		defer body.SetProgress(nil)
	}
	maxReply := o.MaxReplyBytes
	if maxReply <= 0 {
		maxReply = DefaultMaxReplyBytes
	}
	wait := o.Backoff
	for attempt := 1; ; attempt++ {
		res, retry, err := send(ctx, client, o, body, maxReply)
		if err == nil {
			res.Attempts = attempt
			return res, nil
		}
		if !retry || attempt > o.Retries {
			if attempt > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return nil, err
		}
		if o.Progress != nil {
			o.Progress(0, body.Len())
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("the upload was interrupted: %w", ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, maxBackoff)
	}
}

// send makes one attempt; retry says whether another attempt may help.
func send(ctx context.Context, client *http.Client, o Options, body *Body, maxReply int64) (res *Result, retry bool, err error) {
	target := o.URL
	// Each attempt reads its own clone: the transport may still be reading
	// the previous one when it gives up on a connection.
	req, err := http.NewRequestWithContext(transport.WithPhase(ctx, transport.Phase{Name: "upload"}), http.MethodPost, target, body.Clone())
	if err != nil {
		return nil, false, exitcode.New(exitcode.Upload, fmt.Errorf("the upload URL %q is not usable: %w", target, err))
	}
	req.ContentLength = body.Len() // never chunked: IIS and proxies dislike it
	req.GetBody = func() (io.ReadCloser, error) { return body.Clone(), nil }
	req.Header.Set("Content-Type", body.ContentType())
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error repeats the URL; the caller names the server, and a
		// URL may carry user info.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if cerr := ctx.Err(); cerr != nil {
			if errors.Is(cerr, context.Canceled) {
				return nil, false, fmt.Errorf("the upload was interrupted: %w", cerr)
			}
			return nil, false, exitcode.New(exitcode.Upload, fmt.Errorf("the upload did not finish in time: %w", cerr))
		}
		if cerr := body.Err(); cerr != nil {
			return nil, false, exitcode.New(exitcode.Upload, cerr)
		}
		// The transport already decided: a refused login (3) or an unsafe
		// setting (2) keeps its code and is never retried (account lockout).
		if code := exitcode.Of(err); code == exitcode.Auth || code == exitcode.Usage {
			return nil, false, fmt.Errorf("the upload could not be sent: %w", err)
		}
		if transient(err) {
			if cutOff(err) {
				// IIS (and Kestrel) answer an over-limit upload and close
				// the connection without reading the body: the client may
				// see the reset before the 404.13 page (wc-protocol.md §4.5).
				return nil, true, exitcode.New(exitcode.Upload, fmt.Errorf("the server closed the connection while the EXE was being sent: %w; "+
					"check that the server is up, and that its request size limit allows the upload's %d bytes (a server refuses a larger upload with 404.13, "+
					"a 500 page or a reset): %s", quiet(err), body.Len(), LimitAdvice(o.Flavor, body.Len())))
			}
			return nil, true, exitcode.New(exitcode.Upload, fmt.Errorf("the connection failed during the upload: %w; check that the server is up and reachable", quiet(err)))
		}
		if stall := (*transport.StallError)(nil); errors.As(err, &stall) {
			return nil, false, exitcode.New(exitcode.Upload, fmt.Errorf("the upload did not finish: %w", quiet(err)))
		}
		return nil, false, exitcode.New(exitcode.Upload, fmt.Errorf("the upload could not be sent: %w", quiet(err)))
	}
	defer resp.Body.Close()
	reply, rerr := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if rerr != nil && ctx.Err() != nil {
		return nil, false, fmt.Errorf("the upload was interrupted: %w", ctx.Err())
	}
	if cerr := body.Err(); cerr != nil {
		return nil, false, exitcode.New(exitcode.Upload, cerr)
	}
	if rerr != nil && len(reply) == 0 {
		// The server took the upload but the reply was lost: sending it
		// again only overwrites UpdateFile again.
		return nil, transient(rerr), exitcode.New(exitcode.Upload, fmt.Errorf("the upload's reply was cut off (%d): %w", resp.StatusCode, rerr))
	}
	res, err = CheckReply(resp.StatusCode, reply, Sent{ExeSize: body.FileSize(), RequestSize: body.Len(), Flavor: o.Flavor, ReplyHeader: resp.Header})
	if err != nil {
		retry = resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusServiceUnavailable
		return nil, retry, err
	}
	return res, false, nil
}

// quiet hides the addresses in network errors; see transport.Quiet.
func quiet(err error) error { return transport.Quiet(err) }

// transient says whether a transport error is worth another attempt: the
// connection was refused, reset or closed before a reply. TLS, DNS and
// certificate errors and redirect loops are not.
// cutOff: the server reset or closed the connection under the request
// (not a refused or unreachable connection).
func cutOff(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	for _, e := range []syscall.Errno{syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE} {
		if errors.Is(err, e) {
			return true
		}
	}
	return errors.Is(err, net.ErrClosed)
}

func transient(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary || dns.IsTimeout
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	// A reset seen by the transport's reader closes the connection under
	// its writer, which then reports net.ErrClosed.
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	for _, e := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE} {
		if errors.Is(err, e) {
			return true
		}
	}
	// Windows reports WSAECONNABORTED, WSAECONNRESET, WSAECONNREFUSED.
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch uintptr(errno) {
		case 10053, 10054, 10061:
			return true
		}
	}
	return false
}
