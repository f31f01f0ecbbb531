package transport

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/transport/kerberos"
)

// authTransport adds the credentials to requests for its own server and
// turns every 401 into an *AuthError.
type authTransport struct {
	base      http.RoundTripper // the wire: every request goes out through it (traced when Options.Log is set)
	conns     *connSet
	origin    string
	host      string
	mode      string
	user      string
	password  string
	passFunc  func(context.Context) (string, error)
	basicOK   bool // Basic may go out (https, loopback, or allowed by the profile)
	hasCAFile bool
	krbOpts   KerberosOptions
	onScheme  func(Choice)

	guard *Guard

	mu         sync.Mutex
	scheme     string     // the scheme in use: Basic, NTLM or Kerberos; "" until the first 401
	offered    challenges // what the server's first 401 offered
	loginURL   string     // the last bodiless GET that logged a connection in
	fellBack   bool       // Basic was tried after NTLM or Kerberos could not complete
	tried      []string   // the schemes that sent credentials, in order
	choice     Choice
	krb        *kerberos.Client
	krbErr     error
	pwDone     bool
	pwErr      error
	guardKey   string
	guardKeyed bool
	refused    error // the server refused the credentials: never send them again
}

// Choice is the scheme a client picked for its server and why, for -v.
type Choice struct {
	Scheme string // Basic, NTLM, Negotiate (NTLM inside it) or Kerberos
	Reason string
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
	// FailConnClosed: the server closed every logged-in NTLM connection
	// before the request body could go out on it.
	FailConnClosed Failure = "connection-closed"
	// FailKerberos: no Kerberos ticket could be had (Cause says why), or the
	// server refused it.
	FailKerberos Failure = "kerberos"
	// FailNoKerberos: the server offers only Negotiate and there are no
	// Kerberos credentials.
	FailNoKerberos Failure = "no-kerberos"
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
	Scheme  string   // what was sent: Basic, NTLM, Negotiate or Kerberos
	Offered []string // the schemes the server offered in WWW-Authenticate
	Mode    string   // auto, basic, ntlm or kerberos
	URL     string   // the redirect target for FailForeignHost and FailLoginPage
	Tried   []string // the schemes that sent credentials, in order
	SPN     string   // the service principal, for Kerberos
	Cause   error    // the Kerberos error, for FailKerberos
	Reason  string   // why the client chose the scheme (Choice.Reason)
}

func (e *AuthError) offered() string {
	if len(e.Offered) == 0 {
		return "nothing"
	}
	return strings.Join(e.Offered, ", ")
}

func (e *AuthError) scheme() string {
	if len(e.Tried) > 1 {
		return strings.Join(e.Tried, ", then ")
	}
	return e.Scheme
}

// notAffinity names the causes of a Windows login that cannot complete.
const notAffinity = "a proxy or load balancer without connection affinity between wcdeploy and IIS (NTLM binds the login to one TCP connection: reach the node directly), Extended Protection for Authentication (wcdeploy sends no channel binding: set tokenChecking to None or Allow, or use Basic over https), or NTLM blocked by policy (use Kerberos: kinit, or kerberos.keytab)"

func (e *AuthError) Error() string {
	msg := e.message()
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

func (e *AuthError) message() string {
	switch e.Failure {
	case FailRefused:
		msg := fmt.Sprintf("%s refused the login of \"%s\" (%s, HTTP 401): check the user name (DOMAIN\\user or user@domain) and the password, and that the account is listed in AdminAccount in the application's web.config; wcdeploy does not send the refused password again in this run, so the account is not locked out",
			e.Host, e.User, e.scheme())
		if e.Scheme != "Basic" && len(e.Tried) < 2 {
			msg += "; if the password is right, the cause may be " + notAffinity
		}
		return msg
	case FailNoUser:
		return fmt.Sprintf("%s asks for a login (HTTP 401, offers %s) but no user is set: set username in the profile (--user, WCDEPLOY_USER) and give the password with WCDEPLOY_PASSWORD, --password-stdin or 'wcdeploy login'; for Kerberos run kinit or set kerberos.keytab",
			e.Host, e.offered())
	case FailNoChallenge:
		return fmt.Sprintf("%s answered 401 without offering Basic or Windows authentication: enable Basic and/or Windows Authentication (beside Anonymous) for the application in IIS", e.Host)
	case FailScheme:
		switch e.Mode {
		case AuthNTLM:
			return fmt.Sprintf("%s offers only %s, but the profile sets auth: ntlm: set auth: auto or basic (over https), or enable Windows Authentication for the application in IIS", e.Host, e.offered())
		case AuthKerberos:
			return fmt.Sprintf("%s offers only %s, but the profile sets auth: kerberos (which needs Negotiate): set auth: auto, or enable Windows Authentication with the Negotiate provider in IIS", e.Host, e.offered())
		}
		return fmt.Sprintf("%s does not accept Basic (it offers %s): set auth: auto, ntlm or kerberos in the profile, or enable Basic Authentication in IIS", e.Host, e.offered())
	case FailHandshake:
		return fmt.Sprintf("the Windows (%s) login to %s as \"%s\" did not complete (the server offered %s): likely causes: %s; the server must also allow NTLMv2",
			e.scheme(), e.Host, e.User, e.offered(), notAffinity)
	case FailConnClosed:
		return fmt.Sprintf("%s closed the connection after each NTLM login, before the upload could go out on it (the upload is sent only on a logged-in connection, so it never crosses twice): raise MaxKeepAliveRequests or keep-alive on the server or its proxy, or use Kerberos (kinit, kerberos.keytab) or Basic over https", e.Host)
	case FailKerberos:
		if e.Cause != nil {
			return fmt.Sprintf("Kerberos login to %s failed: %v", e.Host, e.Cause)
		}
		return fmt.Sprintf("%s refused the Kerberos ticket of \"%s\" for %s (HTTP 401): the service principal may be registered for another account than the site's application pool (setspn -Q %s), or set spn: on the server to the registered name; a proxy in front of IIS must pass Negotiate through",
			e.Host, e.User, e.SPN, e.SPN)
	case FailNoKerberos:
		return fmt.Sprintf("%s offers only Negotiate (Kerberos; it offered %s) and no Kerberos credentials are at hand: run kinit %s (a FILE: ticket cache, KRB5CCNAME), or set kerberos.keytab (KRB5_CLIENT_KTNAME); or give the password (WCDEPLOY_PASSWORD, 'wcdeploy login') with a krb5.conf that names the realm's KDC",
			e.Host, e.offered(), orPrincipal(e.User))
	case FailForeignHost:
		return fmt.Sprintf("%s redirected to %s, which asks for a login; wcdeploy never sends credentials to another host: use that address as the server URL if it is the right server", e.Host, e.URL)
	case FailLoginPage:
		return fmt.Sprintf("%s redirected to a login page (%s): the admin links need Basic or Windows authentication in IIS, not a forms login; check the server URL and the application's authentication settings", e.Host, e.URL)
	}
	return fmt.Sprintf("login to %s failed (%s)", e.Host, e.Failure)
}

func (e *AuthError) Unwrap() error { return e.Cause }

func orPrincipal(user string) string {
	if user == "" {
		return "user@REALM"
	}
	return user
}

// IsAuthFailure reports whether err (from a client made by New) is a failed
// login; its exit code is exitcode.Auth.
func IsAuthFailure(err error) bool {
	var ae *AuthError
	return errors.As(err, &ae)
}

// TLSError is a TLS failure with the setting that fixes it.
type TLSError struct {
	Host  string
	Cause string // what went wrong, in the user's terms ("" tells Err)
	Hint  string
	Err   error
}

func (e *TLSError) Error() string {
	cause := e.Cause
	if cause == "" {
		cause = strings.TrimPrefix(e.Err.Error(), "x509: ")
	}
	return fmt.Sprintf("TLS connection to %s failed: %s: %s", e.Host, cause, e.Hint)
}

func (e *TLSError) Unwrap() error { return e.Err }

// Internal names of the schemes in use.
const (
	schemeBasic    = "Basic"
	schemeNTLM     = "NTLM"
	schemeKerberos = "Kerberos"
)

func (t *authTransport) authErr(f Failure, scheme string, h http.Header) error {
	t.mu.Lock()
	tried := append([]string(nil), t.tried...)
	t.mu.Unlock()
	return exitcode.New(exitcode.Auth, &AuthError{Failure: f, Host: t.host, User: t.user, Scheme: scheme,
		Offered: t.offeredSchemes(h), Mode: t.mode, Tried: tried, Reason: t.reason()})
}

// reason says why the scheme in use was chosen, for error messages.
func (t *authTransport) reason() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.choice.Scheme == "" {
		return ""
	}
	return "why " + t.choice.Scheme + ": " + t.choice.Reason
}

// offeredSchemes is what h offers, or else what the first 401 offered.
func (t *authTransport) offeredSchemes(h http.Header) []string {
	if s := parseChallenges(h).schemes; len(s) > 0 {
		return s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.offered.schemes
}

// RoundTrip implements http.RoundTripper.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if originOf(req.URL) != t.origin {
		return t.foreign(req)
	}
	if err := t.refusal(); err != nil {
		closeBody(req)
		return nil, err
	}
	t.mu.Lock()
	scheme := t.scheme
	t.mu.Unlock()
	if scheme == "" {
		var resp *http.Response
		var err error
		if scheme, resp, err = t.discover(req); scheme == "" || err != nil {
			return resp, err
		}
	}
	switch scheme {
	case schemeBasic:
		return t.basic(req)
	case schemeKerberos:
		return t.kerberos(req)
	}
	return t.ntlm(req)
}

// discover picks the scheme: the profile's, or in auto mode the server's
// answer to an anonymous request (a bodiless GET first when req has a
// body, so the body never goes into a 401). An empty scheme returns the
// server's answer as the request's.
func (t *authTransport) discover(req *http.Request) (string, *http.Response, error) {
	switch {
	case t.mode == AuthBasic && t.user != "":
		return t.choose(Choice{Scheme: schemeBasic, Reason: "auth: basic"}), nil, nil
	case t.mode == AuthNTLM && t.user != "":
		return t.choose(Choice{Scheme: schemeNTLM, Reason: "auth: ntlm"}), nil, nil
	case t.mode == AuthKerberos:
		return t.choose(Choice{Scheme: schemeKerberos, Reason: "auth: kerberos"}), nil, nil
	case t.user == "" && !t.krbStored():
		resp, err := t.send(t.base, req)
		resp, err = t.check401(resp, err, FailNoUser, "")
		return "", resp, err
	}
	probe := req
	if hasBody(req) {
		g, err := http.NewRequestWithContext(req.Context(), http.MethodGet, req.URL.String(), nil)
		if err != nil {
			return "", nil, err
		}
		probe = g
	}
	resp, err := t.send(t.base, stripAuth(probe))
	if err != nil {
		closeBody(req)
		return "", nil, err
	}
	if resp.StatusCode != http.StatusUnauthorized {
		if probe == req {
			return "", resp, nil
		}
		discard(resp) // no login needed: send the request as it is
		resp, err = t.send(t.base, req)
		return "", resp, err
	}
	discard(resp)
	t.learn(resp.Header)
	c, err := t.pick(parseChallenges(resp.Header), resp.Header)
	if err != nil {
		closeBody(req)
		return "", nil, err
	}
	return t.choose(c), nil, nil
}

// pick is auto mode's choice: Kerberos when the server offers Negotiate
// and Kerberos credentials are at hand; else NTLM (raw or inside
// Negotiate); else Basic.
func (t *authTransport) pick(c challenges, h http.Header) (Choice, error) {
	switch {
	case c.negotiate && t.krbStored():
		return Choice{Scheme: schemeKerberos, Reason: "the server offers Negotiate and a Kerberos keytab or ticket cache is at hand"}, nil
	case t.user == "":
		return Choice{}, t.authErr(FailNoUser, "", h)
	case c.negotiate && !c.ntlmRaw && kerberos.CanUsePassword(t.krbSettings()):
		return Choice{Scheme: schemeKerberos, Reason: "the server offers only Negotiate; the password gets a Kerberos ticket from the realm's KDC"}, nil
	case c.ntlm:
		why := "the server offers NTLM"
		if !c.ntlmRaw {
			why = "the server offers Negotiate (NTLM inside it)"
		}
		return Choice{Scheme: schemeNTLM, Reason: why + " and no Kerberos keytab or ticket cache is at hand"}, nil
	case c.basic:
		if !t.basicOK {
			return Choice{}, exitcode.Errorf(exitcode.Usage,
				"%s offers only Basic authentication over plain http://, which would send the password in clear text: use https://, or set allow_insecure_http: true in the profile if this network is trusted", t.host)
		}
		return Choice{Scheme: schemeBasic, Reason: "the server offers only Basic"}, nil
	}
	return Choice{}, t.authErr(FailNoChallenge, "", h)
}

// choose records the scheme in use and tells OnScheme.
func (t *authTransport) choose(c Choice) string {
	t.mu.Lock()
	t.scheme, t.choice = c.Scheme, c
	t.mu.Unlock()
	if t.onScheme != nil {
		t.onScheme(c)
	}
	return c.Scheme
}

// learn keeps what the server's first 401 with challenges offered.
func (t *authTransport) learn(h http.Header) {
	c := parseChallenges(h)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.offered.schemes) == 0 && len(c.schemes) > 0 {
		t.offered = c
	}
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
	resp, err := t.send(t.base, stripAuth(req))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	discard(resp)
	return nil, exitcode.New(exitcode.Auth, &AuthError{Failure: FailForeignHost, Host: t.host, User: t.user,
		Offered: parseChallenges(resp.Header).schemes, Mode: t.mode, URL: req.URL.Redacted()})
}

func (t *authTransport) basic(req *http.Request) (*http.Response, error) {
	password, err := t.pass(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	r := req.Clone(req.Context())
	r.SetBasicAuth(t.user, password)
	resp, err := t.send(t.base, r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	discard(resp)
	t.learn(resp.Header)
	if c := parseChallenges(resp.Header); c.ntlm && !c.basic {
		return nil, t.authErr(FailScheme, schemeBasic, resp.Header)
	}
	return nil, t.refuse(t.authErr(FailRefused, schemeBasic, resp.Header))
}

// fallbackToBasic says whether auto mode may try Basic once after NTLM or
// Kerberos could not complete: the server offers it and it may go out.
func (t *authTransport) fallbackToBasic(h http.Header) bool {
	c := parseChallenges(h)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mode != AuthAuto || t.fellBack || t.user == "" || !t.basicOK || !(c.basic || t.offered.basic) {
		return false
	}
	t.fellBack = true
	return true
}

// basicAfter tries Basic once after prev could not complete; req's body
// (if any) is sent again through GetBody.
func (t *authTransport) basicAfter(req *http.Request, prev string) (*http.Response, error) {
	t.mu.Lock()
	t.tried = append(t.tried, prev, schemeBasic)
	t.mu.Unlock()
	b := req.Clone(req.Context())
	if hasBody(req) {
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
}

func (t *authTransport) refuse(err error) error {
	key, keyed := t.key()
	t.mu.Lock()
	if t.refused == nil {
		t.refused = err
	}
	err = t.refused
	t.mu.Unlock()
	if keyed {
		t.guard.refuse(key, err)
	}
	return err
}

// refusal is the refusal that stops this client: its own, or another
// server's refusal of the same user and password this run.
func (t *authTransport) refusal() error {
	t.mu.Lock()
	refused := t.refused
	t.mu.Unlock()
	if refused != nil {
		return refused
	}
	if key, ok := t.key(); ok {
		if other := t.guard.refusal(key); other != nil {
			return exitcode.New(exitcode.Auth, fmt.Errorf("not tried on %s to avoid locking the account: %w", t.host, other))
		}
	}
	return nil
}

// key is the Guard key of the user and password, once the password is
// known.
func (t *authTransport) key() (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.guardKeyed {
		return t.guardKey, true
	}
	if t.password == "" && t.passFunc != nil {
		return "", false
	}
	t.guardKey, t.guardKeyed = t.guard.key(t.user, t.password), true
	return t.guardKey, true
}

// pass is the password: Options.Password, or PasswordFunc's answer, asked
// once and only when a scheme needs it.
func (t *authTransport) pass(ctx context.Context) (string, error) {
	t.mu.Lock()
	if t.password != "" || t.passFunc == nil || t.pwDone {
		p, err := t.password, t.pwErr
		t.mu.Unlock()
		return p, err
	}
	t.mu.Unlock()
	p, err := t.passFunc(ctx)
	t.mu.Lock()
	if !t.pwDone {
		t.password, t.pwErr, t.pwDone = p, err, true
	}
	p, err = t.password, t.pwErr
	t.mu.Unlock()
	if err != nil {
		return "", err
	}
	return p, t.refusal()
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
		return &TLSError{Host: t.host, Err: err, Cause: hostCause(host),
			Hint: "use a host name the certificate names in the server URL, or fix the certificate; ca_file does not help here"}
	case errors.As(err, &unknown):
		return &TLSError{Host: t.host, Err: err, Cause: "the certificate is signed by an authority this machine does not trust" + issuer(unknown.Cert), Hint: fix}
	case errors.As(err, &invalid):
		return &TLSError{Host: t.host, Err: err, Hint: "renew or fix the server's certificate; for a private CA set ca_file to its PEM file"}
	case errors.As(err, &verify):
		return &TLSError{Host: t.host, Err: err, Hint: fix}
	case errors.As(err, &record):
		return &TLSError{Host: t.host, Err: err, Cause: "the server answered in plain HTTP, not TLS",
			Hint: "use http:// in the server URL, or the port that serves https"}
	}
	return err
}

// hostCause names the names a certificate is issued for.
func hostCause(e x509.HostnameError) string {
	if e.Certificate == nil {
		return "the certificate is not issued for " + e.Host
	}
	names := e.Certificate.DNSNames
	for _, ip := range e.Certificate.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "the certificate is not issued for " + e.Host + " (it names no host)"
	}
	const most = 4
	if len(names) > most {
		names = append(names[:most:most], fmt.Sprintf("%d more", len(names)-most))
	}
	return fmt.Sprintf("the certificate is issued for %s, not %s", strings.Join(names, ", "), e.Host)
}

// issuer is " (issuer NAME)" for a certificate's issuer, or "".
func issuer(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	name := c.Issuer.CommonName
	if name == "" && len(c.Issuer.Organization) > 0 {
		name = c.Issuer.Organization[0]
	}
	if name == "" {
		return ""
	}
	return " (issuer " + name + ")"
}

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
	basic     bool
	ntlm      bool // NTLM, raw or inside Negotiate
	ntlmRaw   bool // the NTLM scheme itself
	negotiate bool // Negotiate: Kerberos, or NTLM inside it
	schemes   []string
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
			case "ntlm":
				c.ntlm, c.ntlmRaw = true, true
			case "negotiate":
				c.ntlm, c.negotiate = true, true
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
