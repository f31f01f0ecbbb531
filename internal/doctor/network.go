package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/wcdeploy/wcdeploy/pkg/swapper"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/transport"
)

// certWarnWithin is how close to expiry a certificate gets a warning.
const certWarnWithin = 30 * 24 * time.Hour

// connectTimeout is the profile's (config owns the default and refuses 0).
func (s *server) connectTimeout() time.Duration { return s.o.Profile.Timeouts.Connect }

func (s *server) addr() string { return net.JoinHostPort(s.host, s.port) }

type dnsCheck struct{}

func (dnsCheck) Name() string { return "dns" }

func (dnsCheck) Run(ctx context.Context, s *server) Result {
	if net.ParseIP(s.host) != nil {
		return ok(s.host + " is an IP address")
	}
	ctx, cancel := context.WithTimeout(ctx, s.connectTimeout())
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, s.host)
	if err != nil {
		return fail(exitcode.Upload, fmt.Errorf("%s does not resolve: %w", s.host, err),
			"check the host name in the server URL, and the DNS or hosts file of this machine")
	}
	return ok(fmt.Sprintf("%s -> %s", s.host, strings.Join(addrs, ", ")))
}

type tcpCheck struct{}

func (tcpCheck) Name() string { return "tcp" }

func (tcpCheck) Run(ctx context.Context, s *server) Result {
	d := net.Dialer{Timeout: s.connectTimeout()}
	c, err := d.DialContext(ctx, "tcp", s.addr())
	if err != nil {
		return fail(exitcode.Upload, fmt.Errorf("cannot connect to %s: %w", s.addr(), transport.Quiet(err)),
			"check that the site is started, that it listens on this port, and that no firewall blocks it")
	}
	_ = c.Close()
	return ok("connected to " + s.addr())
}

// tlsCheck shakes hands with the TLS settings a deploy uses and verifies
// the chain itself, so the chain is shown even when it is not trusted.
type tlsCheck struct{}

func (tlsCheck) Name() string { return "tls" }

func (tlsCheck) Run(ctx context.Context, s *server) Result {
	if !s.https {
		return skip("http:// (no TLS)")
	}
	p := s.o.Profile
	conf, err := transport.TLSConfig(p.CAFile, p.InsecureSkipVerify)
	if err != nil {
		return fail(exitcode.Of(err), err, "fix ca_file in the profile: it must be a PEM file with the CA certificate")
	}
	roots := conf.RootCAs
	conf = conf.Clone()
	conf.ServerName, conf.InsecureSkipVerify = s.host, true //nolint:gosec // verified below
	ctx, cancel := context.WithTimeout(ctx, s.connectTimeout())
	defer cancel()
	conn, err := (&tls.Dialer{Config: conf}).DialContext(ctx, "tcp", s.addr())
	if err != nil {
		return fail(exitcode.Upload, fmt.Errorf("TLS handshake with %s failed: %w", s.host, transport.Quiet(err)),
			"check that the site has an https binding with a certificate on this port (or use http:// if it has none)")
	}
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	_ = conn.Close()
	for _, c := range certs {
		s.rep.Chain = append(s.rep.Chain, Cert{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotAfter: c.NotAfter, DNSNames: c.DNSNames})
	}
	if len(certs) == 0 {
		return fail(exitcode.Upload, fmt.Errorf("%s sent no certificate", s.host), "")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, verr := certs[0].Verify(x509.VerifyOptions{DNSName: s.host, Roots: roots, Intermediates: inter, CurrentTime: s.o.Now()})
	return certResult(s.host, certs[0], verr, p.InsecureSkipVerify, s.o.Now())
}

func certResult(host string, leaf *x509.Certificate, verr error, insecure bool, now time.Time) Result {
	expired := now.After(leaf.NotAfter)
	switch {
	case verr != nil && insecure:
		return warn(fmt.Sprintf("certificate of %s is not trusted (%v); accepted because insecure_skip_verify is on", host, verr),
			"trust the server's CA with ca_file (a PEM file) instead of insecure_skip_verify")
	case expired:
		return fail(exitcode.Upload, fmt.Errorf("certificate of %s expired on %s", host, leaf.NotAfter.Format(time.DateOnly)), "renew the certificate on the server")
	case verr != nil:
		return fail(exitcode.Upload, fmt.Errorf("certificate of %s is not trusted: %w", host, verr),
			"set ca_file to the PEM file of the CA that issued the certificate (a self-signed certificate is its own CA), or install a certificate from a trusted CA on the server")
	case leaf.NotAfter.Sub(now) < certWarnWithin:
		return warn(fmt.Sprintf("certificate of %s expires on %s (in %d days)", host, leaf.NotAfter.Format(time.DateOnly), int(leaf.NotAfter.Sub(now).Hours()/24)),
			"renew the certificate on the server before it expires")
	}
	return ok(fmt.Sprintf("%s, issued by %s, valid until %s", leaf.Subject.CommonName, leaf.Issuer.CommonName, leaf.NotAfter.Format(time.DateOnly)))
}

// offeredCheck asks for the status page without credentials, as the first
// leg of any login does, to see which schemes the server offers. The
// client is deploy's, without the user: transport reads the challenge.
type offeredCheck struct{}

func (offeredCheck) Name() string { return "auth offered" }

func (offeredCheck) Run(ctx context.Context, s *server) Result {
	c, err := s.o.Anonymous(s.target)
	if err != nil {
		return fail(exitcode.Of(err), err, "")
	}
	defer closeIdle(c)
	ctx, cancel := s.statusContext(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.target.StatusURL, nil)
	if err != nil {
		return fail(exitcode.Usage, fmt.Errorf("the status URL %q is not usable: %w", rollout.RedactURL(s.target.StatusURL), err), "")
	}
	resp, err := c.Do(req)
	var ae *transport.AuthError
	switch {
	case errors.As(err, &ae) && (ae.Failure == transport.FailNoUser || ae.Failure == transport.FailNoChallenge):
		s.rep.AuthOffered = ae.Offered
		return offered(s, ae.Offered)
	case errors.As(err, &ae):
		return fail(exitcode.Auth, ae, "")
	case err != nil:
		return fail(exitcode.Upload, fmt.Errorf("the status page could not be read: %w", transport.Quiet(unwrapURL(err))),
			"check that the server URL points at the Web Connection application")
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK && resp.Request.URL.String() != req.URL.String():
		return warn("the status page redirects to "+rollout.RedactURL(resp.Request.URL.String()),
			"use the redirect's target as the server URL if it is the same application")
	case resp.StatusCode == http.StatusOK:
		if _, err := swapper.ParseStatus(body); err != nil {
			// Not the status page at all (another flavor's page, the site's
			// home page): the AdminAccount check below tells what it is.
			return skip("the status URL answers 200 without a login, but not with the status page (see the AdminAccount check)")
		}
		return warn("the status page answers without a login (anonymous admin access)",
			"set AdminAccount to the deploy account, so the admin links need a login")
	case resp.StatusCode == http.StatusNotFound:
		return fail(exitcode.Upload, fmt.Errorf("the status page %s was not found (404)", rollout.RedactURL(s.target.StatusURL)),
			"check the server URL (the application's folder) and the flavor: the module's status page is ModuleAdministration.wc under the application")
	}
	return fail(exitcode.Upload, fmt.Errorf("the status page answered %s to an anonymous request", resp.Status), "")
}

// offered judges the schemes of the anonymous 401 against the profile's
// auth setting.
func offered(s *server, schemes []string) Result {
	basic, windows := false, false
	for _, sc := range schemes {
		basic = basic || strings.EqualFold(sc, "basic")
		windows = windows || strings.EqualFold(sc, "ntlm") || strings.EqualFold(sc, "negotiate")
	}
	list := strings.Join(schemes, ", ")
	switch auth := strings.ToLower(s.o.Profile.Auth); {
	case !basic && !windows:
		return fail(exitcode.Auth, errors.New("the status page answers 401 without offering Basic or Windows authentication"),
			"enable Windows Authentication and/or Basic Authentication (beside Anonymous) for the application in IIS")
	case auth == transport.AuthBasic && !basic:
		return fail(exitcode.Auth, fmt.Errorf("the server offers %s, but the profile sets auth: basic", list),
			"set auth: auto or ntlm, or enable Basic Authentication for the application in IIS")
	case auth == transport.AuthNTLM && !windows:
		return fail(exitcode.Auth, fmt.Errorf("the server offers %s, but the profile sets auth: ntlm", list),
			"set auth: auto or basic (over https), or enable Windows Authentication for the application in IIS")
	}
	return ok(list)
}
