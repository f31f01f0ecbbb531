package transport

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"

	ntlmssp "github.com/Azure/go-ntlmssp"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// NTLM logs a TCP connection in, not a request: the handshake's two legs
// and the requests that follow must share one connection. The transport
// therefore knows its connections: which are open and which completed a
// login. A request body goes out only on a logged-in connection; when the
// server has closed that one, a bodiless GET logs a new connection in
// first. So the body crosses the wire once and never rides a handshake leg.

// connSet tracks the transport's open connections and their NTLM login.
type connSet struct {
	mu       sync.Mutex
	loggedIn map[net.Conn]bool // open connections; true once logged in
}

func newConnSet() *connSet { return &connSet{loggedIn: map[net.Conn]bool{}} }

// trackedConn removes itself from the set when closed.
type trackedConn struct {
	net.Conn
	set  *connSet
	once sync.Once
}

// ReadFrom passes a request body on to the connection's own ReadFrom
// (progressConn's large copy) instead of the transport's 32 KB one.
func (c *trackedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return copyTo(c.Conn, r)
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.set.forget(c) })
	return c.Conn.Close()
}

func (s *connSet) dialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, set: s}
		s.mu.Lock()
		s.loggedIn[tc] = false
		s.mu.Unlock()
		return tc, nil
	}
}

func (s *connSet) forget(c net.Conn) {
	s.mu.Lock()
	delete(s.loggedIn, c)
	s.mu.Unlock()
}

// own maps the connection a trace reports (maybe a *tls.Conn over ours)
// to the tracked one.
func own(c net.Conn) net.Conn {
	if tc, ok := c.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return c
}

func (s *connSet) markLoggedIn(c net.Conn) {
	if c == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, open := s.loggedIn[own(c)]; open {
		s.loggedIn[own(c)] = true
	}
}

func (s *connSet) isLoggedIn(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return c != nil && s.loggedIn[own(c)]
}

// anyLoggedIn says whether an open connection is logged in: the next
// request will most likely reuse it.
func (s *connSet) anyLoggedIn() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ok := range s.loggedIn {
		if ok {
			return true
		}
	}
	return false
}

// connTrace records the connection a request went out on.
type connTrace struct {
	mu   sync.Mutex
	conn net.Conn
}

func (ct *connTrace) with(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		ct.mu.Lock()
		ct.conn = i.Conn
		ct.mu.Unlock()
	}})
}

func (ct *connTrace) get() net.Conn {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return ct.conn
}

// errNotLoggedIn stops a body from leaving on a connection without a login.
var errNotLoggedIn = errors.New("the connection is not logged in")

// gate lets a body be read only when its request got a logged-in
// connection. The transport takes the connection (GotConn) before it reads
// the body, also when it retries on another connection.
type gate struct {
	set     *connSet
	mu      sync.Mutex
	ok      bool
	stopped bool
}

func (g *gate) gotConn(i httptrace.GotConnInfo) {
	g.mu.Lock()
	g.ok = g.set.isLoggedIn(i.Conn)
	g.mu.Unlock()
}

type gatedBody struct {
	g  *gate
	rc io.ReadCloser
}

func (b *gatedBody) Read(p []byte) (int, error) {
	b.g.mu.Lock()
	ok := b.g.ok
	if !ok {
		b.g.stopped = true
	}
	b.g.mu.Unlock()
	if !ok {
		return 0, errNotLoggedIn
	}
	return b.rc.Read(p)
}

func (b *gatedBody) Close() error { return b.rc.Close() }

// ntlm sends req with NTLM: a bodiless request runs the handshake on
// itself, a request with a body goes out on a logged-in connection only.
func (t *authTransport) ntlm(req *http.Request) (*http.Response, error) {
	if !hasBody(req) {
		if t.conns.anyLoggedIn() {
			resp, err := t.send(t.base, stripAuth(req))
			if err != nil || resp.StatusCode != http.StatusUnauthorized {
				return resp, err
			}
			discard(resp) // the server forgot the login: log in again
		}
		return t.handshake(req)
	}
	for try := 0; ; try++ {
		if !t.conns.anyLoggedIn() {
			if err := t.ntlmLogin(req); err != nil {
				closeBody(req)
				return nil, err
			}
		}
		body := req.Body
		if try > 0 {
			var err error
			if body, err = req.GetBody(); err != nil {
				return nil, fmt.Errorf("cannot send the request body again after a new NTLM login: %w", err)
			}
		}
		resp, stopped, err := t.sendGated(req, body)
		switch {
		case !stopped:
			if err == nil && resp.StatusCode == http.StatusUnauthorized {
				discard(resp)
				return nil, t.authErr(FailHandshake, t.ntlmScheme(), resp.Header)
			}
			return resp, err
		case try > 0 || req.GetBody == nil:
			return nil, exitcode.New(exitcode.Auth, &AuthError{Failure: FailConnClosed, Host: t.host, User: t.user, Mode: t.mode,
				Scheme: t.ntlmScheme(), Reason: t.reason()})
		}
		// The logged-in connection was closed before the body could go:
		// nothing of it was sent. Log a new connection in and send it there.
	}
}

// sendGated sends req anonymously with body, which is read only on a
// logged-in connection. stopped reports that the connection was not.
func (t *authTransport) sendGated(req *http.Request, body io.ReadCloser) (*http.Response, bool, error) {
	g := &gate{set: t.conns}
	ctx := httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: g.gotConn})
	r := stripAuth(req.WithContext(ctx))
	r.Body = &gatedBody{g: g, rc: body}
	if req.GetBody != nil {
		r.GetBody = func() (io.ReadCloser, error) {
			b, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			return &gatedBody{g: g, rc: b}, nil
		}
	}
	resp, err := t.send(t.base, r)
	g.mu.Lock()
	stopped := g.stopped
	g.mu.Unlock()
	if stopped {
		if resp != nil {
			discard(resp)
		}
		return nil, true, nil
	}
	return resp, false, err
}

// ntlmLogin logs a connection in with a bodiless GET: the page the last
// login used (the status page, when callers follow Login's advice), else
// the request's own URL (a GET of UploadExe.wc changes nothing).
func (t *authTransport) ntlmLogin(req *http.Request) error {
	t.mu.Lock()
	u := t.loginURL
	t.mu.Unlock()
	if u == "" {
		u = req.URL.String()
	}
	g, err := http.NewRequestWithContext(req.Context(), http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := t.handshake(g)
	if err != nil {
		return err
	}
	discard(resp)
	return nil
}

// ntlmScheme is the header scheme for NTLM: raw NTLM when the server
// offers it, else NTLM inside Negotiate.
func (t *authTransport) ntlmScheme() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.offered.ntlmRaw || !t.offered.negotiate {
		return "NTLM"
	}
	return "Negotiate"
}

// handshake runs NEGOTIATE and AUTHENTICATE on the bodiless req and
// returns the server's answer to the AUTHENTICATE leg.
func (t *authTransport) handshake(req *http.Request) (*http.Response, error) {
	password, err := t.pass(req.Context())
	if err != nil {
		if t.negotiateOnly() {
			return nil, t.noKerberosErr(err)
		}
		return nil, err
	}
	scheme := t.ntlmScheme()
	neg, err := ntlmssp.NewNegotiateMessage("", "")
	if err != nil {
		return nil, err
	}
	var tr connTrace
	r := req.Clone(tr.with(req.Context()))
	r.Header.Set("Authorization", scheme+" "+base64.StdEncoding.EncodeToString(neg))
	resp, err := t.send(t.base, r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err // accepted at once (RFC 4559 allows it)
	}
	discard(resp)
	challenge := challengeToken(resp.Header, scheme)
	if challenge == nil {
		t.learn(resp.Header)
		if c := parseChallenges(resp.Header); c.basic && !c.ntlm {
			return nil, t.authErr(FailScheme, scheme, resp.Header)
		}
		if t.negotiateOnly() {
			// NTLM inside Negotiate got no challenge: a Kerberos-only site.
			return nil, t.noKerberosErr(nil)
		}
		return nil, t.authErr(FailHandshake, scheme, resp.Header)
	}
	auth, err := ntlmssp.NewAuthenticateMessage(challenge, t.user, password, nil)
	if err != nil {
		return nil, exitcode.New(exitcode.Auth, fmt.Errorf("the NTLM challenge of %s cannot be answered (%v): the server must allow NTLMv2; or use Kerberos or Basic over https", t.host, err))
	}
	first := tr.get()
	r = req.Clone(tr.with(req.Context()))
	r.Header.Set("Authorization", scheme+" "+base64.StdEncoding.EncodeToString(auth))
	resp, err = t.send(t.base, r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		discard(resp)
		sameConn := own(first) == own(tr.get())
		return t.ntlmRefused(req, resp.Header, sameConn)
	}
	t.conns.markLoggedIn(tr.get())
	if req.Method == http.MethodGet {
		t.mu.Lock()
		t.loginURL = req.URL.String()
		t.mu.Unlock()
	}
	return resp, nil
}

// ntlmRefused handles a 401 to the AUTHENTICATE leg: a wrong password, or a
// handshake that could not complete (a proxy without connection affinity,
// Extended Protection, NTLM blocked). In auto mode Basic is tried once
// when the server offers it and it may go out.
func (t *authTransport) ntlmRefused(req *http.Request, h http.Header, sameConn bool) (*http.Response, error) {
	scheme := t.ntlmScheme()
	if t.fallbackToBasic(h) {
		why := "the NTLM login did not complete"
		if !sameConn {
			why += " (its two legs went out on different connections)"
		}
		t.choose(Choice{Scheme: "Basic", Reason: why + ", and the server also offers Basic (tried once)"})
		return t.basicAfter(req, scheme)
	}
	f := FailRefused
	if !sameConn {
		f = FailHandshake
	}
	return nil, t.refuse(t.authErr(f, scheme, h))
}

// negotiateOnly says whether the server offers Negotiate and nothing else.
func (t *authTransport) negotiateOnly() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.offered.negotiate && !t.offered.ntlmRaw && !t.offered.basic
}

// challengeToken is the server's NTLM CHALLENGE for scheme, or nil.
func challengeToken(h http.Header, scheme string) []byte {
	for _, v := range h.Values("Www-Authenticate") {
		s, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
		if !ok || !strings.EqualFold(s, scheme) {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(tok))
		if err == nil && len(b) >= 12 && string(b[:8]) == "NTLMSSP\x00" && b[8] == 2 {
			return b
		}
	}
	return nil
}

func stripAuth(req *http.Request) *http.Request {
	if req.Header.Get("Authorization") == "" {
		return req
	}
	r := req.Clone(req.Context())
	r.Header.Del("Authorization")
	return r
}

// hasBody says whether req carries a body worth protecting.
func hasBody(req *http.Request) bool {
	return req.Body != nil && req.Body != http.NoBody && req.ContentLength != 0
}
