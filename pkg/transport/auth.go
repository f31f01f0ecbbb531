package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	ntlmssp "github.com/Azure/go-ntlmssp"

	"github.com/wcdeploy/wcdeploy/pkg/exitcode"
)

// authTransport adds the credentials to requests for its own server and
// turns every 401 into an *AuthError.
type authTransport struct {
	base       http.RoundTripper // the wire: every request goes out through it (traced when Options.Log is set)
	negotiator ntlmssp.Negotiator
	origin     string
	host       string
	mode       string
	user       string
	password   string
	basicOK    bool // Basic may go out (https, loopback, or allowed by the profile)
	hasCAFile  bool

	guard    *Guard
	guardKey string

	mu           sync.Mutex
	learnedBasic bool  // the server asked for Basic only: send it pre-emptively
	refused      error // the server refused the credentials: never send them again
}

// Failure says why a login failed.
type Failure string

// The failures an AuthError reports.
const (
	// FailRefused: credentials went out and the server still said 401.
	FailRefused Failure = "refused"
	// FailNoUser: the server asks for a login and no user is configured.
	FailNoUser Failure = "no-user"
	// FailNoChallenge: a 401 that offers no scheme wcdeploy can use.
	FailNoChallenge Failure = "no-challenge"
	// FailScheme: the server offers only a scheme the profile rules out.
	FailScheme Failure = "scheme"
	// FailHandshake: the NTLM handshake could not be completed.
	FailHandshake Failure = "handshake"
	// FailForeignHost: a redirect led to another host that asks for a login.
	FailForeignHost Failure = "foreign-host"
	// FailLoginPage: the server redirected to a (forms) login page.
	FailLoginPage Failure = "login-page"
)

// AuthError is a failed login. It carries no secret.
type AuthError struct {
	Failure Failure
	Host    string   // the server's host:port
	User    string   // the configured user
	Scheme  string   // what was sent: Basic, NTLM or Negotiate
	Offered []string // the schemes the server offered in WWW-Authenticate
	Mode    string   // auto, basic or ntlm
	URL     string   // the redirect target for FailForeignHost and FailLoginPage
}

func (e *AuthError) offered() string {
	if len(e.Offered) == 0 {
		return "nothing"
	}
	return strings.Join(e.Offered, ", ")
}

func (e *AuthError) Error() string {
	switch e.Failure {
	case FailRefused:
		return fmt.Sprintf("%s refused the login of %q (%s, HTTP 401): check the user name (DOMAIN\\user or user@domain) and the password, and that the account is listed in AdminAccount in the application's web.config; wcdeploy sends the refused password no more this run, so the account is not locked out",
			e.Host, e.User, e.Scheme)
	case FailNoUser:
		return fmt.Sprintf("%s asks for a login (HTTP 401, offers %s) but no user is set: set username in the profile (--user, WCDEPLOY_USER) and give the password with WCDEPLOY_PASSWORD, --password-stdin or 'wcdeploy login'",
			e.Host, e.offered())
	case FailNoChallenge:
		return fmt.Sprintf("%s answered 401 without offering Basic or Windows authentication: enable Basic and/or Windows Authentication (beside Anonymous) for the application in IIS", e.Host)
	case FailScheme:
		if e.Mode == AuthNTLM {
			return fmt.Sprintf("%s offers only %s, but the profile sets auth: ntlm: set auth: auto or basic (over https), or enable Windows Authentication for the application in IIS", e.Host, e.offered())
		}
		return fmt.Sprintf("%s does not accept Basic (it offers %s): set auth: auto or ntlm in the profile, or enable Basic Authentication in IIS", e.Host, e.offered())
	case FailHandshake:
		return fmt.Sprintf("the Windows (NTLM) login to %s as %q did not complete (the server offered %s): the server must allow NTLMv2; or enable Basic Authentication and use auth: basic over https",
			e.Host, e.User, e.offered())
	case FailForeignHost:
		return fmt.Sprintf("%s redirected to %s, which asks for a login; wcdeploy never sends credentials to another host: use that address as the server URL if it is the right server", e.Host, e.URL)
	case FailLoginPage:
		return fmt.Sprintf("%s redirected to a login page (%s): the admin links need Basic or Windows authentication in IIS, not a forms login; check the server URL and the application's authentication settings", e.Host, e.URL)
	}
	return fmt.Sprintf("login to %s failed (%s)", e.Host, e.Failure)
}

// IsAuthFailure reports whether err (from a client made by New) is a failed
// login; its exit code is exitcode.Auth.
func IsAuthFailure(err error) bool {
	var ae *AuthError
	return errors.As(err, &ae)
}

// TLSError is a TLS failure with the setting that fixes it.
type TLSError struct {
	Host string
	Hint string
	Err  error
}

func (e *TLSError) Error() string {
	return fmt.Sprintf("TLS connection to %s failed: %v: %s", e.Host, e.Err, e.Hint)
}

func (e *TLSError) Unwrap() error { return e.Err }

func (t *authTransport) authErr(f Failure, scheme string, h http.Header) error {
	return exitcode.New(exitcode.Auth, &AuthError{Failure: f, Host: t.host, User: t.user, Scheme: scheme,
		Offered: parseChallenges(h).schemes, Mode: t.mode})
}

// RoundTrip implements http.RoundTripper.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if originOf(req.URL) != t.origin {
		return t.foreign(req)
	}
	if t.user == "" {
		resp, err := t.send(t.base, req)
		return t.check401(resp, err, FailNoUser, "")
	}
	t.mu.Lock()
	refused, learned := t.refused, t.learnedBasic
	t.mu.Unlock()
	if refused == nil {
		if other := t.guard.refusal(t.guardKey); other != nil {
			refused = exitcode.New(exitcode.Auth, fmt.Errorf("not tried on %s to avoid locking the account: %w", t.host, other))
		}
	}
	if refused != nil {
		closeBody(req)
		return nil, refused
	}
	if t.mode == AuthBasic || learned {
		return t.basic(req)
	}
	return t.negotiate(req)
}

// send is one round trip with TLS errors explained.
func (t *authTransport) send(rt http.RoundTripper, req *http.Request) (*http.Response, error) {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, t.explain(err)
	}
	return resp, nil
}

func (t *authTransport) check401(resp *http.Response, err error, f Failure, scheme string) (*http.Response, error) {
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	discard(resp)
	return nil, t.authErr(f, scheme, resp.Header)
}

// foreign sends a request for another origin (after a redirect) with no
// credentials at all.
func (t *authTransport) foreign(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" {
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
	}
	resp, err := t.send(t.base, req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	discard(resp)
	return nil, exitcode.New(exitcode.Auth, &AuthError{Failure: FailForeignHost, Host: t.host, User: t.user,
		Offered: parseChallenges(resp.Header).schemes, Mode: t.mode, URL: req.URL.Redacted()})
}

func (t *authTransport) basic(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.SetBasicAuth(t.user, t.password)
	resp, err := t.send(t.base, r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	discard(resp)
	if c := parseChallenges(resp.Header); c.ntlm && !c.basic {
		return nil, t.authErr(FailScheme, "Basic", resp.Header)
	}
	return nil, t.refuse(t.authErr(FailRefused, "Basic", resp.Header))
}

func (t *authTransport) refuse(err error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.refused == nil {
		t.refused = err
	}
	t.guard.refuse(t.guardKey, t.refused)
	return t.refused
}

// Guard remembers, for one run, the logins that a server refused, so the
// same user and password are not tried on the next server: with a domain
// account, every refused try counts towards its lockout.
type Guard struct {
	mu      sync.Mutex
	salt    [16]byte
	refused map[string]error
}

// NewGuard returns an empty Guard.
func NewGuard() *Guard {
	g := &Guard{refused: map[string]error{}}
	_, _ = rand.Read(g.salt[:])
	return g
}

// key identifies a user and password without keeping the password: a
// salted hash, so a different password for the same user is still tried.
func (g *Guard) key(user, password string) string {
	if g == nil {
		return ""
	}
	h := sha256.New()
	h.Write(g.salt[:])
	h.Write([]byte(strings.ToLower(user)))
	h.Write([]byte{0})
	h.Write([]byte(password))
	return string(h.Sum(nil))
}

func (g *Guard) refusal(key string) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refused[key]
}

func (g *Guard) refuse(key string, err error) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.refused[key]; !ok {
		g.refused[key] = err
	}
}

// negotiate lets go-ntlmssp run the NTLM/Negotiate handshake (it tries the
// request anonymously first, which succeeds on a connection that is already
// logged in), and handles what it leaves: a server that wants Basic, and
// the 401 after a refused login.
func (t *authTransport) negotiate(req *http.Request) (*http.Response, error) {
	legs := &legs{}
	r := req.Clone(context.WithValue(req.Context(), legsKey{}, legs))
	r.SetBasicAuth(t.user, t.password) // go-ntlmssp takes the credentials from here
	if r.Body != nil && r.Body != http.NoBody && r.GetBody != nil {
		if _, ok := r.Body.(io.Seeker); !ok {
			// Seekable, so go-ntlmssp replays it through GetBody instead of
			// reading the whole upload into memory.
			r.Body = &replayBody{get: r.GetBody, rc: r.Body}
		}
	}
	resp, err := t.send(t.negotiator, r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusUnauthorized {
		return resp, nil
	}
	discard(resp)
	c := parseChallenges(resp.Header)
	switch {
	case legs.authenticate:
		return nil, t.refuse(t.authErr(FailRefused, legs.scheme, resp.Header))
	case c.ntlm:
		return nil, t.authErr(FailHandshake, legs.scheme, resp.Header)
	case c.basic && t.mode == AuthAuto:
		if !t.basicOK {
			return nil, exitcode.Errorf(exitcode.Usage,
				"%s offers only Basic authentication over plain http://, which would send the password in clear text: use https://, or set allow_insecure_http: true in the profile if this network is trusted", t.host)
		}
		t.mu.Lock()
		t.learnedBasic = true
		t.mu.Unlock()
		b := req.Clone(req.Context())
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return nil, fmt.Errorf("%s asks for Basic authentication and the request body cannot be sent again: send a GET to the server first (preflight), or set the request's GetBody", t.host)
			}
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("cannot send the request body again for Basic authentication: %w", err)
			}
			b.Body = body
		}
		return t.basic(b)
	case c.basic:
		return nil, t.authErr(FailScheme, "", resp.Header)
	}
	return nil, t.authErr(FailNoChallenge, "", resp.Header)
}

// checkRedirect stops loops, reports login pages, and strips an
// Authorization header before a request leaves for another origin.
func (t *authTransport) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= MaxRedirects {
		return fmt.Errorf("%s redirected %d times (last to %s): stopped; check the server URL (is there a redirect loop?)",
			t.host, len(via), req.URL.Redacted())
	}
	if looksLikeLogin(req.URL) {
		return exitcode.New(exitcode.Auth, &AuthError{Failure: FailLoginPage, Host: t.host, User: t.user, Mode: t.mode, URL: req.URL.Redacted()})
	}
	if originOf(req.URL) != t.origin {
		req.Header.Del("Authorization")
	}
	return nil
}

// looksLikeLogin spots the usual forms-login redirects (ASP.NET forms
// authentication, ADFS, OAuth and SAML sign-in pages).
func looksLikeLogin(u *url.URL) bool {
	s := strings.ToLower(u.Path + "?" + u.RawQuery)
	for _, w := range []string{"login", "logon", "signin", "sign-in", "returnurl=", "/adfs/", "/oauth2/", "/saml"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// explain adds the fix to TLS errors.
func (t *authTransport) explain(err error) error {
	var (
		host    x509.HostnameError
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
	)
	fix := "if the server uses a private or self-signed CA, set ca_file to that CA's PEM file (insecure_skip_verify only for a throwaway test server)"
	if t.hasCAFile {
		fix = "the ca_file given does not vouch for this certificate: set ca_file to the PEM of the CA that signed the server's certificate"
	}
	switch {
	case errors.As(err, &host):
		return &TLSError{Host: t.host, Err: err, Hint: "the certificate is not issued for this name: use a host name the certificate names in the server URL, or fix the certificate; ca_file does not help here"}
	case errors.As(err, &unknown):
		return &TLSError{Host: t.host, Err: err, Hint: fix}
	case errors.As(err, &invalid):
		return &TLSError{Host: t.host, Err: err, Hint: "renew or fix the server's certificate; for a private CA set ca_file to its PEM file"}
	case errors.As(err, &verify):
		return &TLSError{Host: t.host, Err: err, Hint: fix}
	case errors.As(err, &record):
		return &TLSError{Host: t.host, Err: err, Hint: "the server did not answer with TLS: is this port plain http://?"}
	}
	return err
}

// legs records, per request, which Authorization headers go-ntlmssp sent.
type legs struct {
	authenticate bool   // an NTLM AUTHENTICATE message (the password proof) went out
	scheme       string // NTLM or Negotiate
}

type legsKey struct{}

type legRecorder struct{ next http.RoundTripper }

func (l *legRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if lg, ok := req.Context().Value(legsKey{}).(*legs); ok {
		scheme, token, _ := strings.Cut(req.Header.Get("Authorization"), " ")
		if scheme == "NTLM" || scheme == "Negotiate" {
			lg.scheme = scheme
			if b, err := base64.StdEncoding.DecodeString(token); err == nil && len(b) >= 12 && b[8] == 3 {
				lg.authenticate = true
			}
		}
	}
	resp, err := l.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		// go-ntlmssp sends the next leg before it reads this reply, which
		// would push the handshake onto a second connection and lose the
		// login. A 401 page is small: read it now so the connection is free.
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, err
}

// replayBody makes a GetBody-able body seekable to its start, so the NTLM
// handshake can resend it without holding it in memory.
type replayBody struct {
	get  func() (io.ReadCloser, error)
	rc   io.ReadCloser
	pos  int64
	read bool
}

func (b *replayBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.pos += int64(n)
	b.read = true
	return n, err
}

func (b *replayBody) Seek(offset int64, whence int) (int64, error) {
	switch {
	case whence == io.SeekCurrent && offset == 0:
		return b.pos, nil
	case whence == io.SeekStart && offset == 0:
		if !b.read {
			return 0, nil
		}
		_ = b.rc.Close()
		rc, err := b.get()
		if err != nil {
			return 0, err
		}
		b.rc, b.pos, b.read = rc, 0, false
		return 0, nil
	}
	return 0, errors.New("replayBody: only a rewind to the start is supported")
}

func (b *replayBody) Close() error { return b.rc.Close() }

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// discard reads a little of a body we don't use so the connection can be
// reused, then closes it.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// challenges are the schemes a 401 offers.
type challenges struct {
	basic, ntlm bool
	schemes     []string
}

// parseChallenges reads WWW-Authenticate headers (RFC 9110 11.6.1): one or
// more challenges per line, separated by commas, each a scheme followed by a
// token or parameters that may hold quoted commas.
func parseChallenges(h http.Header) challenges {
	var c challenges
	seen := map[string]bool{}
	for _, line := range h.Values("Www-Authenticate") {
		for _, part := range splitOutsideQuotes(line) {
			part = strings.TrimSpace(part)
			word, _, _ := strings.Cut(part, " ")
			if word == "" || strings.ContainsAny(word, "=\"") {
				continue // an auth-param of the previous challenge
			}
			switch strings.ToLower(word) {
			case "basic":
				c.basic = true
			case "ntlm", "negotiate":
				c.ntlm = true
			}
			if !seen[strings.ToLower(word)] {
				seen[strings.ToLower(word)] = true
				c.schemes = append(c.schemes, word)
			}
		}
	}
	return c
}

func splitOutsideQuotes(s string) []string {
	var parts []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case escaped:
			escaped = false
		case quoted && s[i] == '\\':
			escaped = true
		case s[i] == '"':
			quoted = !quoted
		case s[i] == ',' && !quoted:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}
