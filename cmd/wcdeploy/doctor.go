package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/credentials"
	"github.com/wcdeploy/wcdeploy/pkg/exitcode"
	"github.com/wcdeploy/wcdeploy/pkg/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/swapper"
	"github.com/wcdeploy/wcdeploy/pkg/transport"
)

// Default upload limits of a stock IIS application (wc-protocol.md §4.5).
const (
	iisMaxAllowedContentLength = 30_000_000 // requestFiltering, bytes
	aspnetMaxRequestLengthKB   = 4096       // httpRuntime, KB
	// multipartOverhead is a generous allowance for the form around the
	// file: boundaries, headers and the file name.
	multipartOverhead = 2048
	// certWarnWithin is how close to expiry a certificate gets a warning.
	certWarnWithin = 30 * 24 * time.Hour
)

// Check results.
const (
	checkOK   = "ok"
	checkWarn = "warn"
	checkFail = "fail"
)

type doctorCheck struct {
	Check  string `json:"check"`
	Result string `json:"result"` // ok, warn, fail
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

type doctorCert struct {
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	NotAfter time.Time `json:"not_after"`
	DNSNames []string  `json:"dns_names,omitempty"`
}

type doctorServer struct {
	Name        string        `json:"name"`
	URL         string        `json:"url"`
	OK          bool          `json:"ok"`
	AuthOffered []string      `json:"auth_offered,omitempty"`
	Chain       []doctorCert  `json:"tls_chain,omitempty"`
	Version     string        `json:"version,omitempty"`
	ExeFile     string        `json:"exe_file,omitempty"`
	UpdateFile  string        `json:"update_file,omitempty"`
	Module      string        `json:"module,omitempty"`
	Checks      []doctorCheck `json:"checks"`
	code        exitcode.Code
	err         error
}

func (d *doctorServer) add(check, result, detail, fix string) {
	d.Checks = append(d.Checks, doctorCheck{Check: check, Result: result, Detail: detail, Fix: fix})
}

// fail records a failed check; the first failure decides the exit code.
func (d *doctorServer) fail(check string, code exitcode.Code, err error, fix string) {
	d.add(check, checkFail, err.Error(), fix)
	if d.err == nil {
		d.code, d.err = code, err
	}
}

type doctorExe struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

type doctorDoc struct {
	Profile string         `json:"profile"`
	OK      bool           `json:"ok"`
	Exe     *doctorExe     `json:"exe,omitempty"`
	Servers []doctorServer `json:"servers"`
}

func newDoctorCmd(a *app) *cobra.Command {
	var cred credentials.Request
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check each server of the profile for what a deploy needs, changing nothing",
		Long: `doctor checks, for every server of the profile and without changing anything:
name resolution and the TCP connection, the TLS certificate chain and its expiry,
the authentication schemes the server offers (the challenge of an anonymous
request for the status page), whether the credentials pass AdminAccount (the
status page with the login), the version running, the ExeFile and UpdateFile
paths, and whether the local EXE fits the default upload limits of IIS and
ASP.NET (with the web.config fix when it does not).

It exits with 0 when every server would accept a deploy, 3 when a login fails,
2 for a configuration error, and 4 when a server cannot be reached or answers
wrongly. Warnings (a certificate that expires soon, an EXE above the default
limits) do not change the exit code.`,
		Example: `  wcdeploy doctor
  wcdeploy doctor --profile production --json
  WCDEPLOY_PASSWORD=... wcdeploy doctor --url https://web1.example.com/App/ --user 'CORP\deploy'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ld, err := a.loadProfile(cmd.Flags(), false)
			if err != nil {
				return err
			}
			return runDoctor(cmd.Context(), a, &ld.Profile, cred)
		},
	}
	config.AddFlags(cmd.Flags())
	credentials.AddFlags(cmd.Flags(), &cred)
	return cmd
}

func runDoctor(ctx context.Context, a *app, p *config.Profile, flags credentials.Request) error {
	if ctx == nil {
		ctx = context.Background()
	}
	doc := doctorDoc{Profile: p.Name, Servers: make([]doctorServer, len(p.Servers))}
	if p.Exe != "" {
		if st, err := os.Stat(p.Exe); err == nil && st.Mode().IsRegular() {
			doc.Exe = &doctorExe{Path: p.Exe, Size: st.Size()}
		}
	}
	resolver := newResolver(a, p, a.keyring)
	guard := transport.NewGuard() // a refused login is not tried on the next server
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(p.Rollout.Parallel, 4))
	for i, s := range p.Servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			doc.Servers[i] = diagnose(ctx, p, s, doc.Exe, func(ctx context.Context) (string, error) {
				if p.Username == "" {
					return "", nil
				}
				req, err := credentialRequest(p, s, flags)
				if err != nil {
					return "", err
				}
				c, err := resolver.Resolve(ctx, req)
				return c.Password, err
			}, guard)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return exitcode.New(exitcode.Interrupted, fmt.Errorf("doctor interrupted: %w", err))
	}

	var firstErr error
	doc.OK = true
	for _, s := range doc.Servers {
		if s.err != nil {
			doc.OK = false
			if firstErr == nil {
				firstErr = exitcode.New(s.code, fmt.Errorf("%s: %w", s.Name, s.err))
			}
		}
	}
	if a.jsonOut {
		enc := json.NewEncoder(a.out())
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return err
		}
	} else if err := printDoctor(a.out(), doc); err != nil {
		return err
	}
	if firstErr != nil {
		return reportedError(firstErr)
	}
	return nil
}

func printDoctor(w io.Writer, doc doctorDoc) error {
	if doc.Exe != nil {
		fmt.Fprintf(w, "local EXE %s: %d bytes\n", doc.Exe.Path, doc.Exe.Size)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tCHECK\tRESULT\tDETAIL")
	for _, s := range doc.Servers {
		for _, c := range s.Checks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, c.Check, c.Result, c.Detail)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range doc.Servers {
		for _, c := range s.Checks {
			if c.Fix != "" {
				fmt.Fprintf(w, "\n%s, %s: %s\n%s\n", s.Name, c.Check, c.Result, c.Fix)
			}
		}
	}
	bad := 0
	for _, s := range doc.Servers {
		if !s.OK {
			bad++
		}
	}
	if bad == 0 {
		fmt.Fprintf(w, "\n%d of %d servers ready to deploy\n", len(doc.Servers), len(doc.Servers))
	} else {
		fmt.Fprintf(w, "\n%d of %d servers would fail a deploy\n", bad, len(doc.Servers))
	}
	return nil
}

// diagnose runs every check on one server, stopping at the first that makes
// the later ones meaningless (no name, no connection, no trusted TLS).
func diagnose(ctx context.Context, p *config.Profile, s config.Server, exe *doctorExe,
	password func(context.Context) (string, error), guard *transport.Guard) (d doctorServer) {
	d = doctorServer{Name: s.Name, URL: rollout.RedactURL(s.URL)}
	defer func() { d.OK = d.err == nil }()

	u, err := url.Parse(s.URL)
	if err != nil || u.Hostname() == "" {
		d.fail("url", exitcode.Usage, fmt.Errorf("the server URL %q cannot be parsed", d.URL), "write it as https://host[:port]/App/")
		return d
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	connect := p.Timeouts.Connect

	if !checkDNS(ctx, &d, host, connect) || !checkTCP(ctx, &d, host, port, connect) {
		return d
	}
	if u.Scheme == "https" && !checkTLS(ctx, &d, p, host, port, connect) {
		return d
	}
	checkChallenge(ctx, &d, p, s, connect)
	if d.err != nil {
		return d
	}
	checkLogin(ctx, &d, p, s, password, guard)
	checkSize(&d, s, exe)
	return d
}

func checkDNS(ctx context.Context, d *doctorServer, host string, timeout time.Duration) bool {
	if ip := net.ParseIP(host); ip != nil {
		d.add("dns", checkOK, host+" is an IP address", "")
		return true
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(cctx, host)
	if err != nil {
		d.fail("dns", exitcode.Upload, fmt.Errorf("%s does not resolve: %w", host, err),
			"check the host name in the server URL, and the DNS or hosts file of this machine")
		return false
	}
	d.add("dns", checkOK, fmt.Sprintf("%s -> %s", host, strings.Join(addrs, ", ")), "")
	return true
}

func checkTCP(ctx context.Context, d *doctorServer, host, port string, timeout time.Duration) bool {
	start := time.Now()
	dialer := net.Dialer{Timeout: timeout}
	c, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		d.fail("tcp", exitcode.Upload, fmt.Errorf("cannot connect to %s: %w", net.JoinHostPort(host, port), err),
			"check that the site is started in IIS, that it listens on this port, and that no firewall blocks it")
		return false
	}
	_ = c.Close()
	d.add("tcp", checkOK, fmt.Sprintf("connected to %s in %s", net.JoinHostPort(host, port), time.Since(start).Round(time.Millisecond)), "")
	return true
}

// trustPool is the system roots plus the profile's ca_file.
func trustPool(p *config.Profile) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if p.CAFile == "" {
		return pool, nil
	}
	data, err := os.ReadFile(p.CAFile)
	if err != nil {
		return nil, fmt.Errorf("cannot read ca_file %s: %w", p.CAFile, err)
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("ca_file %s holds no PEM certificate", p.CAFile)
	}
	return pool, nil
}

func checkTLS(ctx context.Context, d *doctorServer, p *config.Profile, host, port string, timeout time.Duration) bool {
	pool, err := trustPool(p)
	if err != nil {
		d.fail("tls", exitcode.Usage, err, "fix ca_file in the profile: it must be a PEM file with the CA certificate")
		return false
	}
	// Verification is done below, by hand, so the chain can be shown even
	// when it is not trusted.
	dialer := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: &tls.Config{
		ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, //nolint:gosec // verified below
	}}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := dialer.DialContext(cctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		d.fail("tls", exitcode.Upload, fmt.Errorf("TLS handshake with %s failed: %w", host, err),
			"check that the site has an https binding with a certificate on this port (or use http:// if it has none)")
		return false
	}
	state := conn.(*tls.Conn).ConnectionState()
	_ = conn.Close()
	certs := state.PeerCertificates
	for _, c := range certs {
		d.Chain = append(d.Chain, doctorCert{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotAfter: c.NotAfter, DNSNames: c.DNSNames})
	}
	if len(certs) == 0 {
		d.fail("tls", exitcode.Upload, fmt.Errorf("%s sent no certificate", host), "")
		return false
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	leaf := certs[0]
	_, verr := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool, Intermediates: inter})
	now := time.Now()
	switch {
	case verr != nil && p.InsecureSkipVerify:
		d.add("tls", checkWarn, fmt.Sprintf("certificate of %s is not trusted (%v); accepted because insecure_skip_verify is on", host, verr),
			"trust the server's CA with ca_file (a PEM file) instead of insecure_skip_verify")
	case verr != nil:
		d.fail("tls", exitcode.Upload, fmt.Errorf("certificate of %s is not trusted: %w", host, verr),
			"set ca_file to the PEM file of the CA that issued the certificate (a self-signed certificate is its own CA), or install a certificate from a trusted CA on the server")
		return false
	case now.After(leaf.NotAfter):
		d.fail("tls", exitcode.Upload, fmt.Errorf("certificate of %s expired on %s", host, leaf.NotAfter.Format(time.DateOnly)), "renew the certificate in IIS")
		return false
	case leaf.NotAfter.Sub(now) < certWarnWithin:
		d.add("tls", checkWarn, fmt.Sprintf("certificate of %s expires on %s (in %d days)", host, leaf.NotAfter.Format(time.DateOnly), int(leaf.NotAfter.Sub(now).Hours()/24)),
			"renew the certificate in IIS before it expires")
	default:
		d.add("tls", checkOK, fmt.Sprintf("%s, issued by %s, valid until %s", leaf.Subject.CommonName, leaf.Issuer.CommonName, leaf.NotAfter.Format(time.DateOnly)), "")
	}
	return true
}

// checkChallenge asks for the status page without credentials, as the first
// leg of any login does, to see which schemes the server offers.
func checkChallenge(ctx context.Context, d *doctorServer, p *config.Profile, s config.Server, timeout time.Duration) {
	pool, err := trustPool(p)
	if err != nil {
		d.fail("auth offered", exitcode.Usage, err, "")
		return
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout}).DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: max(p.Timeouts.Response, timeout),
		TLSClientConfig:       &tls.Config{RootCAs: pool, InsecureSkipVerify: p.InsecureSkipVerify, MinVersion: tls.VersionTLS12}, //nolint:gosec // the user's setting
		ForceAttemptHTTP2:     false,
		TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cctx, cancel := context.WithTimeout(ctx, max(p.Timeouts.Status, timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, s.StatusURL, nil)
	if err != nil {
		d.fail("auth offered", exitcode.Usage, fmt.Errorf("the status URL %q is not usable: %w", rollout.RedactURL(s.StatusURL), err), "")
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		d.fail("auth offered", exitcode.Upload, fmt.Errorf("the status page could not be read: %w", err),
			"check that the server URL points at the Web Connection application")
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		scheme, _, _ := strings.Cut(strings.TrimSpace(v), " ")
		if scheme != "" {
			d.AuthOffered = append(d.AuthOffered, scheme)
		}
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized && len(d.AuthOffered) == 0:
		d.fail("auth offered", exitcode.Auth, errors.New("the status page answers 401 without offering Basic or Windows authentication"),
			"enable Windows Authentication and/or Basic Authentication (beside Anonymous) for the application in IIS")
	case resp.StatusCode == http.StatusUnauthorized:
		detail := strings.Join(d.AuthOffered, ", ")
		offered := strings.ToLower(detail)
		switch {
		case p.Auth == transport.AuthBasic && !strings.Contains(offered, "basic"):
			d.fail("auth offered", exitcode.Auth, fmt.Errorf("the server offers %s, but the profile sets auth: basic", detail),
				"set auth: auto or ntlm, or enable Basic Authentication for the application in IIS")
		case p.Auth == transport.AuthNTLM && !strings.Contains(offered, "ntlm") && !strings.Contains(offered, "negotiate"):
			d.fail("auth offered", exitcode.Auth, fmt.Errorf("the server offers %s, but the profile sets auth: ntlm", detail),
				"set auth: auto or basic (over https), or enable Windows Authentication for the application in IIS")
		default:
			d.add("auth offered", checkOK, detail, "")
		}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		d.add("auth offered", checkWarn, fmt.Sprintf("the status page redirects (%s) to %s", resp.Status, resp.Header.Get("Location")),
			"use the redirect's target as the server URL if it is the same application")
	case resp.StatusCode == http.StatusOK:
		d.add("auth offered", checkWarn, "the status page answers without a login (anonymous admin access)",
			"set AdminAccount in web.config to the deploy account, so the admin links need a login")
	case resp.StatusCode == http.StatusNotFound:
		d.fail("auth offered", exitcode.Upload, fmt.Errorf("the status page %s was not found (404)", rollout.RedactURL(s.StatusURL)),
			"check the server URL and flavor: the module's status page is ModuleAdministration.wc under the application")
	default:
		d.fail("auth offered", exitcode.Upload, fmt.Errorf("the status page answered %s to an anonymous request", resp.Status), "")
	}
}

// checkLogin logs in as a deploy would (same client, same rules) and reads
// the status page: version, ExeFile and UpdateFile.
func checkLogin(ctx context.Context, d *doctorServer, p *config.Profile, s config.Server,
	password func(context.Context) (string, error), guard *transport.Guard) {
	pw, err := password(ctx)
	if err != nil {
		d.fail("login", exitcode.Of(err), err, "")
		return
	}
	opts := transportOptions(p, pw)
	opts.Guard = guard
	c, err := transport.New(s.URL, opts)
	if err != nil {
		d.fail("login", exitcode.Of(err), err, "")
		return
	}
	if tr, ok := c.Transport.(interface{ CloseIdleConnections() }); ok {
		defer tr.CloseIdleConnections()
	}
	cctx, cancel := context.WithTimeout(ctx, max(p.Timeouts.Status, 5*time.Second))
	defer cancel()
	if err := transport.Login(cctx, c, s.StatusURL); err != nil {
		code := exitcode.Upload
		if transport.IsAuthFailure(err) {
			code = exitcode.Auth
		}
		d.fail("login", code, err, "")
		return
	}
	who := p.Username
	if who == "" {
		who = "no user"
	}
	d.add("login", checkOK, fmt.Sprintf("%s passes AdminAccount", who), "")
	st, err := swapper.FetchStatus(cctx, c, s.StatusURL)
	if err != nil {
		code := exitcode.Of(err)
		if code == exitcode.Unexpected {
			code = exitcode.Upload
		}
		d.fail("status page", code, err, "")
		return
	}
	d.Version, d.ExeFile, d.UpdateFile, d.Module = st.Version, st.ExeFile, st.UpdateFile, st.Module
	running := st.Version
	if running == "" {
		running = "n/a"
	}
	d.add("version", checkOK, running, "")
	if st.ExeFile == "" || st.UpdateFile == "" {
		d.add("paths", checkWarn, "the status page shows no ExeFile or UpdateFile",
			"set ExeFile and UpdateFile in the application's web.config (the swap needs both)")
	} else {
		d.add("paths", checkOK, fmt.Sprintf("ExeFile %s, UpdateFile %s", st.ExeFile, st.UpdateFile), "")
	}
}

// checkSize warns when the upload will exceed the stock request limits. The
// server's real limits cannot be read without an upload, so this is a warning.
func checkSize(d *doctorServer, s config.Server, exe *doctorExe) {
	if exe == nil {
		return
	}
	body := exe.Size + multipartOverhead
	mb := float64(exe.Size) / 1e6
	if s.Flavor == "isapi" {
		d.add("size", checkOK, fmt.Sprintf("%.1f MB; the ISAPI wc.dll limits uploads only by PostBufferLimit in wc.ini", mb), "")
		return
	}
	var fixes []string
	var over []string
	if body > iisMaxAllowedContentLength {
		over = append(over, fmt.Sprintf("IIS's default maxAllowedContentLength of %d bytes (the upload fails with 404.13)", iisMaxAllowedContentLength))
		fixes = append(fixes, fmt.Sprintf(`    <system.webServer>
      <security>
        <requestFiltering>
          <requestLimits maxAllowedContentLength="%d" />
        </requestFiltering>
      </security>
    </system.webServer>`, roundUpLimit(body*2)))
	}
	if s.Flavor != "webserver" && body > aspnetMaxRequestLengthKB*1024 {
		over = append(over, fmt.Sprintf("ASP.NET's default maxRequestLength of %d KB (the upload fails with \"Maximum request length exceeded\") unless web.config raises it, as Web Connection's generated web.config does", aspnetMaxRequestLengthKB))
		fixes = append(fixes, fmt.Sprintf(`    <system.web>
      <httpRuntime maxRequestLength="%d" executionTimeout="120" />
    </system.web>`, roundUpLimit(body*2)/1024))
	}
	if len(over) == 0 {
		d.add("size", checkOK, fmt.Sprintf("%.1f MB fits the default upload limits", mb), "")
		return
	}
	d.add("size", checkWarn, fmt.Sprintf("the EXE (%.1f MB) is larger than %s", mb, strings.Join(over, ", and ")),
		"in the application's web.config, inside <configuration>:\n"+strings.Join(fixes, "\n"))
}

// roundUpLimit rounds up to a whole 10 MB so the snippet reads well.
func roundUpLimit(n int64) int64 {
	const step = 10_000_000
	return (n + step - 1) / step * step
}
