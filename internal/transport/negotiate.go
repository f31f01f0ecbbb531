package transport

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/transport/kerberos"
)

// KerberosOptions say where the Kerberos credentials and krb5.conf are and
// which service principal the server has.
type KerberosOptions struct {
	// Keytab is the profile's kerberos.keytab (else KRB5_CLIENT_KTNAME).
	Keytab string
	// Config is the profile's kerberos.config (else KRB5_CONFIG, else the
	// OS default krb5.conf).
	Config string
	// SPN is the server's service principal (spn:); empty is HTTP/<host>.
	SPN string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Off leaves the keytab and ticket cache alone: Kerberos only with the
	// password; with no User, the client sends no credentials at all
	// (health checks, the challenge of an anonymous request).
	Off bool
}

// StoredKerberos says whether Kerberos credentials that need no password
// (a keytab, or a ticket cache from kinit) are at hand for o's user, so a
// caller can leave the password to PasswordFunc. It contacts nobody.
func StoredKerberos(o Options) bool {
	if m := strings.ToLower(strings.TrimSpace(o.Auth)); m == AuthBasic || m == AuthNTLM {
		return false
	}
	return kerberos.HasStoredCredentials(kerberos.Settings{User: o.User, Keytab: o.Kerberos.Keytab, Config: o.Kerberos.Config, Getenv: o.Kerberos.Getenv, NoStored: o.Kerberos.Off})
}

func (t *authTransport) krbSettings() kerberos.Settings {
	return kerberos.Settings{User: t.user, Keytab: t.krbOpts.Keytab, Config: t.krbOpts.Config, Getenv: t.krbOpts.Getenv, NoStored: t.krbOpts.Off}
}

func (t *authTransport) spn() string { return kerberos.SPN(t.host, t.krbOpts.SPN) }

// krbStored says whether a keytab or ticket cache is at hand (looked up
// once per client).
func (t *authTransport) krbStored() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.krb != nil {
		return t.krb.Source() != kerberos.SourcePassword
	}
	if t.krbErr != nil {
		return false
	}
	return kerberos.HasStoredCredentials(t.krbSettings())
}

// krbClient makes the Kerberos client once: keytab, ticket cache, or the
// password.
func (t *authTransport) krbClient(req *http.Request) (*kerberos.Client, error) {
	t.mu.Lock()
	c, err := t.krb, t.krbErr
	t.mu.Unlock()
	if c != nil || err != nil {
		return c, err
	}
	var pwErr error
	c, err = kerberos.New(t.krbSettings(), func() (string, error) {
		p, err := t.pass(req.Context())
		pwErr = err
		return p, err
	})
	if err != nil && pwErr != nil {
		err = &noKerberos{err: pwErr}
	}
	t.mu.Lock()
	t.krb, t.krbErr = c, err
	t.mu.Unlock()
	return c, err
}

// noKerberos is a password that could not be had for a Kerberos login.
type noKerberos struct{ err error }

func (e *noKerberos) Error() string { return e.err.Error() }
func (e *noKerberos) Unwrap() error { return e.err }

// kerberos sends req once with a Negotiate (Kerberos) token: no 401 leg,
// so a body crosses the wire once.
func (t *authTransport) kerberos(req *http.Request) (*http.Response, error) {
	spn := t.spn()
	c, err := t.krbClient(req)
	var hdr string
	if err == nil {
		hdr, err = c.Header(spn)
	}
	if err != nil {
		return t.kerberosFailed(req, err)
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", hdr)
	resp, err := t.send(t.base, r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	discard(resp)
	t.learn(resp.Header)
	if c := parseChallenges(resp.Header); len(c.schemes) > 0 && !c.negotiate && t.mode == AuthKerberos {
		return nil, t.authErr(FailScheme, schemeKerberos, resp.Header)
	}
	if t.fallbackToBasic(resp.Header) {
		t.choose(Choice{Scheme: schemeBasic, Reason: "the server refused the Kerberos ticket for " + spn + ", and it also offers Basic (tried once)"})
		return t.basicAfter(req, schemeKerberos)
	}
	e := t.authErr(FailKerberos, schemeKerberos, resp.Header)
	var ae *AuthError
	if errors.As(e, &ae) {
		ae.SPN = spn
	}
	t.mu.Lock()
	t.refused = e // a refused ticket stays refused this run
	t.mu.Unlock()
	return nil, e
}

// kerberosFailed handles a ticket that could not be had. A refused
// password stops here (it counts towards the lockout); in auto mode other
// failures fall back to NTLM when the server offers it.
func (t *authTransport) kerberosFailed(req *http.Request, err error) (*http.Response, error) {
	var ke *kerberos.Error
	refused := errors.As(err, &ke) && ke.Refused()
	var nk *noKerberos
	switch {
	case errors.As(err, &nk):
		closeBody(req)
		return nil, t.noKerberosErr(nk.err)
	case !refused && t.mode == AuthAuto && t.user != "" && t.offeredRawNTLM() && t.hasPassword(req):
		why := "Kerberos: " + err.Error() + "; the server offers NTLM: using it"
		if errors.Is(err, kerberos.ErrNoCredentials) {
			why = "no Kerberos credentials; the server offers NTLM: using it"
		}
		t.choose(Choice{Scheme: schemeNTLM, Reason: why})
		return t.ntlm(req)
	case errors.Is(err, kerberos.ErrNoCredentials):
		closeBody(req)
		return nil, t.noKerberosErr(nil)
	}
	closeBody(req)
	e := exitcode.New(exitcode.Auth, &AuthError{Failure: FailKerberos, Host: t.host, User: t.user, Scheme: schemeKerberos,
		Mode: t.mode, SPN: t.spn(), Cause: err, Offered: t.offeredSchemes(nil), Reason: t.reason()})
	if refused {
		return nil, t.refuse(e)
	}
	return nil, e
}

// hasPassword says whether a password can be had for NTLM after Kerberos
// failed; without one the Kerberos error is the one to report.
func (t *authTransport) hasPassword(req *http.Request) bool {
	p, err := t.pass(req.Context())
	return err == nil && p != ""
}

func (t *authTransport) noKerberosErr(cause error) error {
	return exitcode.New(exitcode.Auth, &AuthError{Failure: FailNoKerberos, Host: t.host, User: t.user, Scheme: schemeKerberos,
		Mode: t.mode, SPN: t.spn(), Cause: cause, Offered: t.offeredSchemes(nil), Reason: t.reason()})
}

// offeredRawNTLM says whether the server offers NTLM itself: then a
// Kerberos failure falls back to it. A Negotiate-only server may accept
// Kerberos alone, and the Kerberos error says more.
func (t *authTransport) offeredRawNTLM() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.offered.ntlmRaw
}

// KerberosIdentity says which Kerberos identity a client made by New for
// serverURL with o would use (keytab and its principals, ticket cache
// principal and expiry) and, when that needs no password, whether a
// ticket for the server's SPN can be had from the KDC. It sends nothing
// to the server and shows no secret: for login, auth status and doctor.
func KerberosIdentity(serverURL string, o Options) kerberos.Identity {
	host := serverURL
	if u, err := url.Parse(serverURL); err == nil && u.Host != "" {
		host = u.Host
	}
	s := kerberos.Settings{User: o.User, Keytab: o.Kerberos.Keytab, Config: o.Kerberos.Config, Getenv: o.Kerberos.Getenv}
	return kerberos.Describe(s, kerberos.SPN(host, o.Kerberos.SPN))
}
