// Package transport builds the *http.Client that talks to one Web Connection
// server: Basic, Kerberos or NTLM authentication (IIS Windows
// authentication), TLS with an optional private CA, HTTP/1.1 keep-alive so an
// NTLM login made by a cheap GET also carries the upload that follows,
// redirects that never take credentials to another host, and proxies from
// the environment.
//
// Every 401 from the server comes back from the client as an *AuthError
// (exit code 3), never as a response, and once the server has refused the
// credentials the client sends them no more: a deploy to many servers must
// not lock the account out.
package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// Auth modes.
const (
	AuthAuto  = "auto"  // follow the server's challenge: NTLM/Negotiate when offered, else Basic
	AuthBasic = "basic" // Basic only
	AuthNTLM  = "ntlm"  // NTLM/Negotiate only
	// AuthKerberos is Kerberos (SPNEGO) only: a keytab, the ticket cache,
	// or the password to get a ticket from the KDC.
	AuthKerberos = "kerberos"
)

// ExpectContinueTimeout is how long a request with "Expect: 100-continue"
// (the upload size probe) waits for the server's answer before its body
// would go out. IIS and Kestrel refuse an over-limit size at once; the
// wait is generous so that a slow or loaded server's refusal is still
// heard, rather than taken for an accepted size.
const ExpectContinueTimeout = 5 * time.Second

// MaxRedirects is how many redirects a request may follow.
const MaxRedirects = 5

// Options configure the client for one server. The caller decides every
// value (wcdeploy's defaults live in pkg/config); a zero duration means no
// limit of the client's own, leaving the request's context to bound it, and
// a negative one is refused.
type Options struct {
	// Auth is auto (default), basic, ntlm or kerberos.
	Auth string
	// User is DOMAIN\user, user@domain or a local user name; empty sends no
	// credentials.
	User, Password string
	// PasswordFunc, when Password is empty, gives the password the first
	// time a scheme needs it (not when a Kerberos keytab or ticket cache
	// does); it is called at most once.
	PasswordFunc func(context.Context) (string, error)
	// Kerberos says where Kerberos credentials are and the server's SPN.
	Kerberos KerberosOptions
	// OnScheme, when set, is told which scheme the client uses and why
	// (the first choice and every fallback), for -v.
	OnScheme func(Choice)
	// CAFile is a PEM file with a private CA to trust besides the system's.
	CAFile string
	// InsecureSkipVerify turns certificate checks off; the caller warns.
	InsecureSkipVerify bool
	// AllowInsecureHTTP permits Basic (clear-text password) over plain
	// http:// to a host that is not loopback.
	AllowInsecureHTTP bool
	// ConnectTimeout bounds dialling and the TLS handshake (0: only the
	// request's context does).
	ConnectTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for a reply's headers after the
	// request went out (0: no limit; the swap takes seconds).
	ResponseHeaderTimeout time.Duration
	// ProgressTimeout ends a request when no byte moved on its connection,
	// either way, for this long (timeouts.response; 0: ResponseHeaderTimeout,
	// else DefaultProgressTimeout). See WithPhase for the swap's reply.
	ProgressTimeout time.Duration
	// Proxy picks the proxy; nil means HTTP_PROXY/HTTPS_PROXY/NO_PROXY.
	Proxy func(*http.Request) (*url.URL, error)
	// Guard, shared by the clients of one run, stops every server from
	// trying a user and password that one server has refused; nil keeps
	// the refusal to this client.
	Guard *Guard
	// Name is the server's name in request logs (default: the URL's host).
	Name string
	// Log, when set, is called once per request on the wire (each
	// handshake leg, redirect and retry) when its reply has been read; it
	// may be called from several goroutines.
	Log func(RequestLog)
}

// New returns the client for serverURL. It has no overall timeout (uploads
// can be long): callers bound every request with its context.
//
// A request body never goes into a 401 that a login could have avoided:
// the scheme is learned first (from a bodiless GET when needed). Basic and
// Kerberos then go out with every request, so the body crosses the wire
// once. NTLM is bound to the connection: a bodiless GET logs a keep-alive
// connection in, and the body goes out only on a logged-in connection (a
// new login first when the server closed it). A body is sent again only
// for Basic after NTLM or Kerberos could not complete, through GetBody:
// set GetBody for uploads. Callers must read and close each response body
// so the authenticated connection goes back to the pool.
func New(serverURL string, o Options) (*http.Client, error) {
	rt, err := newRoundTripper(serverURL, o, nil)
	if err != nil {
		return nil, err
	}
	// A cookie jar of its own: a sticky load balancer (IIS ARR's
	// ARRAffinity, a cloud balancer's cookie) then keeps this server's
	// login, upload, swap and verification on one node.
	jar, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	if err != nil {
		return nil, fmt.Errorf("cookie jar: %w", err)
	}
	return &http.Client{Transport: rt, CheckRedirect: rt.checkRedirect, Jar: jar}, nil
}

// newRoundTripper takes a dial hook so tests can reach a loopback server
// under a name that is not loopback, without touching the network.
func newRoundTripper(serverURL string, o Options, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*authTransport, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, exitcode.Errorf(exitcode.Usage, "server URL %q is not an http:// or https:// URL with a host: write it as https://host[:port]/app", serverURL)
	}
	mode := strings.ToLower(strings.TrimSpace(o.Auth))
	switch mode {
	case "":
		mode = AuthAuto
	case AuthAuto, AuthBasic, AuthNTLM, AuthKerberos:
	case "negotiate", "windows":
		mode = AuthNTLM
	default:
		return nil, exitcode.Errorf(exitcode.Usage, "auth %q is not known: use auto, basic, ntlm or kerberos", o.Auth)
	}
	clearText := u.Scheme == "http" && !isLoopback(u.Hostname())
	if mode == AuthBasic && o.User != "" && clearText && !o.AllowInsecureHTTP {
		return nil, exitcode.Errorf(exitcode.Usage,
			"refusing to send a Basic password in clear text to %s over http://: use https://, or set allow_insecure_http: true in the profile if this network is trusted", u.Host)
	}

	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify} //nolint:gosec // only when the user asks, and the caller warns
	if o.CAFile != "" {
		pool, err := loadCA(o.CAFile)
		if err != nil {
			return nil, err
		}
		tlsConf.RootCAs = pool
	}
	if o.ConnectTimeout < 0 || o.ResponseHeaderTimeout < 0 {
		return nil, exitcode.Errorf(exitcode.Usage, "timeouts for %s must not be negative (connect %s, response %s)", u.Host, o.ConnectTimeout, o.ResponseHeaderTimeout)
	}
	connect := o.ConnectTimeout
	proxy := o.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	base := &http.Transport{
		Proxy:                 proxy,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   connect,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		ExpectContinueTimeout: ExpectContinueTimeout,
		// One server, one connection: NTLM logs the connection in, so the
		// request after the login must find that same connection idle.
		MaxIdleConns:        4,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     90 * time.Second,
		// HTTP/1.1 only: NTLM over HTTP/2 does not work with IIS.
		ForceAttemptHTTP2: false,
		TLSNextProto:      map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	if dial != nil {
		base.DialContext = dial
	}
	base.DialContext = progressDial(base.DialContext, u.Host, progressTimeout(o))
	// The connection set is outermost: it must see the conn the request gets.
	conns := newConnSet()
	base.DialContext = conns.dialer(base.DialContext)
	wire := newTrace(base, o.Name, u, o.Password, o.Log)
	t := &authTransport{
		base:      wire,
		conns:     conns,
		origin:    originOf(u),
		host:      u.Host,
		mode:      mode,
		user:      o.User,
		password:  o.Password,
		passFunc:  o.PasswordFunc,
		basicOK:   !clearText || o.AllowInsecureHTTP,
		hasCAFile: o.CAFile != "",
		krbOpts:   o.Kerberos,
		onScheme:  o.OnScheme,
		guard:     o.Guard,
	}
	return t, nil
}

func loadCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Usage, "cannot read ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		// No system pool (some minimal images): trust the given CA alone.
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, exitcode.Errorf(exitcode.Usage, "ca_file %s holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)", path)
	}
	return pool, nil
}

// isLoopback says whether host is this machine without resolving it:
// 127.0.0.0/8, ::1 or localhost.
func isLoopback(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

// originOf is scheme://host:port with the default port made explicit, so
// https://web1 and https://web1:443 are one origin and :8443 is another.
func originOf(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// SchemeOf says which scheme a client made by New uses for its server and
// why; ok is false before the first login or for another client.
func SchemeOf(c *http.Client) (Choice, bool) {
	t, ok := c.Transport.(*authTransport)
	if !ok {
		return Choice{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.choice, t.choice.Scheme != ""
}

// String describes the auth mode for logs, without the password.
func (t *authTransport) String() string {
	return fmt.Sprintf("%s as %q (auth %s)", t.host, t.user, t.mode)
}

// Login checks the client's credentials with one GET of pageURL (the admin
// status page is a good choice: it needs the login and changes nothing) and
// leaves the logged-in connection in the pool for the requests that follow.
func Login(ctx context.Context, c *http.Client, pageURL string) error {
	req, err := http.NewRequestWithContext(WithPhase(ctx, Phase{Name: "login"}), http.MethodGet, pageURL, nil)
	if err != nil {
		return exitcode.Errorf(exitcode.Usage, "cannot check the login at %q: %w", pageURL, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // not Go's 'Get "URL": …'
		}
		if exitcode.Of(err) == exitcode.Auth || ctx.Err() != nil {
			return err
		}
		return exitcode.Errorf(exitcode.Upload, "the login could not be checked at %s: %w; check that the server is up and the server URL", req.URL.Redacted(), Quiet(err))
	}
	defer resp.Body.Close()
	// Read the page to its end so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode >= 400 {
		return fmt.Errorf("%s answered %s to the login check: check that the URL points at the Web Connection application", req.URL.Redacted(), resp.Status)
	}
	return nil
}
