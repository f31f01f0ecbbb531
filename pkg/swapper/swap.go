package swapper

import (
	"context"
	"errors"
	"fmt"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/wcpage"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/transport"
)

// maxReply caps how much of a reply is read; admin pages are a few KB and
// the status page about 13 KB.
const maxReply = 4 << 20

// statusTimeout bounds each status-page read after a lost swap reply.
const statusTimeout = 30 * time.Second

// settleEvery is how often the status page is read while the server holds
// its requests after a lost or unreadable swap reply.
const settleEvery = 250 * time.Millisecond

// LostReplyError says the swap request was sent but its reply was lost
// (timeout, dropped connection) or unreadable (Damaged: a 200 that is not
// the swap page, a 5xx that is not the module's), so whether it swapped is
// only known from the status page. Status is the page once the server was
// off hold (or, with Status.Hold, the last page read while it still held
// its requests), nil when it could not be read.
type LostReplyError struct {
	Cause     error   // why the reply was lost
	Damaged   bool    // a reply came but does not say whether it swapped
	Status    *Status // the status page afterwards, or nil
	StatusErr error   // why the status page could not be read
}

func (e *LostReplyError) Error() string {
	what := "lost"
	if e.Damaged {
		what = "unreadable"
	}
	if e.Status != nil {
		v := e.Status.Version
		if v == "" {
			v = "an unreadable version (n/a)"
		}
		hold := ""
		if e.Status.Hold {
			hold = ", still holding its requests"
		}
		return fmt.Sprintf("the swap reply was %s (%v); the server now runs %s (status page%s); check that this is the new build before deploying again", what, quiet(e.Cause), v, hold)
	}
	return fmt.Sprintf("the swap reply was %s (%v), and the status page could not be read either (%v); check the server's admin page before deploying again", what, quiet(e.Cause), e.StatusErr)
}

func (e *LostReplyError) Unwrap() []error {
	return []error{e.Cause, e.StatusErr}
}

// noReplay is the swap request's body: empty, but not nil and without
// GetBody. net/http's Transport re-sends a request by itself when a reused
// keep-alive connection dies before the reply starts, but only requests it
// considers replayable: GET/HEAD/OPTIONS/TRACE (or an Idempotency-Key
// header) with no body or with GetBody (Request.isReplayable, documented on
// Transport). A swap must never be sent twice behind our back, so it gets
// this body. On the wire nothing changes: for a GET, the Transport probes
// the body, finds it empty at once and sends no body and no
// Content-Length/Transfer-Encoding headers (TestSwapRequestOnTheWire).
// go-ntlmssp buffers it (zero bytes) to replay the handshake legs, which is
// fine: those legs are 401s that the module answers before the action runs.
type noReplay struct{}

func (noReplay) Read([]byte) (int, error) { return 0, io.EOF }
func (noReplay) Close() error             { return nil }

// Swap sends the swap request (GET updateURL) once, never retried, and reads
// its reply within timeout (the module sleeps 3 s and unloads the servers,
// so allow a minute or more). If the reply is lost (timeout, dropped
// connection) or unreadable, it reads statusURL until the server is off hold
// (at most timeout more) and returns a *LostReplyError saying what runs now. Errors carry exitcode.Swap, or exitcode.Auth for 401/403; a
// cancelled ctx is returned as context.Canceled without a code.
func Swap(ctx context.Context, client *http.Client, updateURL, statusURL string, timeout time.Duration) (*Swapped, error) {
	if client == nil {
		return nil, exitcode.New(exitcode.Swap, errors.New("swapper: no HTTP client"))
	}
	sctx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		sctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	// The module holds the swap's reply for seconds: its wait has the swap's
	// allowance, not the response timeout.
	phase := transport.Phase{Name: "swap", ReplyWait: timeout, ReplySetting: transport.SettingSwap}
	req, err := http.NewRequestWithContext(transport.WithPhase(sctx, phase), http.MethodGet, updateURL, noReplay{})
	if err != nil {
		return nil, exitcode.New(exitcode.Swap, fmt.Errorf("the update URL %q is not usable: %w", updateURL, err))
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() != nil {
			return nil, interrupted(ctx)
		}
		if sctx.Err() != nil || transient(err) {
			return nil, lost(ctx, client, statusURL, timeout, err, sctx.Err(), false)
		}
		return nil, exitcode.New(exitcode.Swap, fmt.Errorf("the swap request could not be sent: %w", quiet(err)))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		if ctx.Err() != nil {
			return nil, interrupted(ctx)
		}
		return nil, lost(ctx, client, statusURL, timeout, err, sctx.Err(), false)
	}
	s, err := ParseSwapReply(resp.StatusCode, body)
	if IsUncertain(err) {
		return nil, lost(ctx, client, statusURL, timeout, err, nil, true)
	}
	if err != nil && resp.StatusCode == http.StatusUnauthorized {
		// go-ntlmssp answers a handshake whose last leg failed on the
		// network with the first leg's 401, so after a successful
		// preflight a 401 may hide a swap that happened: say what runs.
		if st, serr := statusAfter(ctx, client, statusURL); serr == nil {
			return nil, exitcode.New(exitcode.Swap, fmt.Errorf("%w; yet the status page answers and shows %s running, so the swap may have happened", err, st.Running().Version))
		}
	}
	return s, err
}

func interrupted(ctx context.Context) error {
	return fmt.Errorf("the swap was interrupted and may or may not have happened; check the status page: %w", context.Cause(ctx))
}

// lost settles a lost or unreadable swap reply from the status page.
func lost(ctx context.Context, client *http.Client, statusURL string, within time.Duration, cause, deadline error, damaged bool) error {
	if deadline != nil {
		cause = fmt.Errorf("no reply in time: %w", deadline)
	}
	e := &LostReplyError{Cause: cause, Damaged: damaged}
	e.Status, e.StatusErr = Settle(ctx, client, statusURL, within)
	if ctx.Err() != nil && e.Status == nil {
		return interrupted(ctx)
	}
	return exitcode.New(exitcode.Swap, e)
}

// Settle reads the status page until the server is off hold, for at most
// within (at least one read): a swap whose reply was lost may still be
// running, and what it did is only known once the hold is released. The
// page is returned with Hold set when the server still held its requests
// at the end; the error is the last read's when none succeeded.
func Settle(ctx context.Context, client *http.Client, statusURL string, within time.Duration) (*Status, error) {
	end := time.Now().Add(within)
	var last *Status
	for {
		st, err := statusAfter(ctx, client, statusURL)
		if err == nil {
			last = st
			if !st.Hold {
				return st, nil
			}
		}
		left := time.Until(end)
		if ctx.Err() != nil || left <= 0 {
			if last != nil {
				return last, nil
			}
			return nil, err
		}
		select { // the last read comes at the end of the window
		case <-ctx.Done():
		case <-time.After(min(settleEvery, left)):
		}
	}
}

func statusAfter(ctx context.Context, client *http.Client, statusURL string) (*Status, error) {
	if statusURL == "" {
		return nil, errors.New("no status URL")
	}
	sctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	return FetchStatus(sctx, client, statusURL)
}

// FetchStatus GETs the status page and parses it. 401/403 carry
// exitcode.Auth; other errors carry no code, since the caller knows whether
// this is a preflight or a verification.
func FetchStatus(ctx context.Context, client *http.Client, statusURL string) (*Status, error) {
	return FetchStatusFor(ctx, client, statusURL, "")
}

// FetchStatusFor is FetchStatus for a server of the configured flavor
// (module, webserver or isapi): a page that comes from another product says
// which flavor to use (wcpage.FlavorAdvice).
func FetchStatusFor(ctx context.Context, client *http.Client, statusURL, flavor string) (*Status, error) {
	if client == nil {
		return nil, errors.New("swapper: no HTTP client")
	}
	req, err := http.NewRequestWithContext(transport.WithPhase(ctx, transport.Phase{Name: "status"}), http.MethodGet, statusURL, nil)
	if err != nil {
		return nil, fmt.Errorf("the status URL %q is not usable: %w", statusURL, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("reading the status page: %w", context.Cause(ctx))
		}
		if exitcode.Of(err) == exitcode.Auth {
			return nil, err // a refused login says what to check itself
		}
		var tlsErr *transport.TLSError
		if msg := quiet(err).Error(); strings.HasSuffix(msg, "?") || errors.As(err, &tlsErr) {
			// The cause asks the question, or gives the fix, itself.
			return nil, fmt.Errorf("the status page could not be read: %w", quiet(err))
		}
		return nil, fmt.Errorf("the status page could not be read: %w; check that the server is up and the status URL", quiet(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return nil, fmt.Errorf("the status page was cut off: %w", quiet(err))
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, authErrorFromBody(resp.StatusCode, body)
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("the status page was not found (404) at %s: is the server URL the application's folder (e.g. https://host/App/), not the site's root? check the URL and the flavor (the module's status page is ModuleAdministration.wc under the application)", rollout.RedactURL(statusURL))
	case resp.StatusCode >= 500:
		return nil, fmt.Errorf("the status page answered %d%s; the server's admin pages fail: open the status page in a browser on the server, check the Windows event log and the Web Connection settings in web.config, then run 'wcdeploy doctor'", resp.StatusCode, colon(summaryOf(body)))
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("the status page answered %d%s", resp.StatusCode, colon(summaryOf(body)))
	}
	st, err := ParseStatus(body)
	if err != nil {
		if adv := wcpage.FlavorAdvice(flavor, resp.Header, body); adv != "" {
			return nil, fmt.Errorf("the server answered but not with the status page%s; %s", colon(summaryOf(body)), adv)
		}
	}
	return st, err
}

func authErrorFromBody(status int, body []byte) error {
	return authError(status, summaryOf(body))
}

func summaryOf(body []byte) string {
	doc, err := parseDoc(body)
	if err != nil {
		return ""
	}
	return doc.Summary(200)
}

// quiet hides the addresses in network errors; see transport.Quiet.
func quiet(err error) error { return transport.Quiet(err) }

// transient says whether a transport error means the connection broke
// (refused, reset, closed before a reply) rather than a configuration
// problem (TLS, DNS, URL).
func transient(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false // never reached the server: not a lost reply
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	for _, e := range []syscall.Errno{syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE} {
		if errors.Is(err, e) {
			return true
		}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch uintptr(errno) {
		case 10053, 10054: // WSAECONNABORTED, WSAECONNRESET
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
