package deploy

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// NewClientFunc builds the HTTP client for one server (transport.New, or a
// test's own).
type NewClientFunc func(serverURL string, o transport.Options) (*http.Client, error)

// Clients gives each server of the run its authenticated client. The
// password is resolved per host through resolver, which asks once for what
// stdin or a prompt supplies; one refused login is not retried on every
// server.
func Clients(ctx context.Context, p config.Profile, resolver *credentials.Resolver, flags credentials.Request, newClient NewClientFunc) ClientFunc {
	guard := transport.NewGuard()
	return func(t rollout.Target) (*http.Client, error) {
		o := TransportOptions(&p, "")
		o.Kerberos.SPN = p.ServerSPN(t.Name)
		if p.Username != "" {
			r, err := CredentialRequest(&p, config.Server{URL: t.URL}, flags)
			if err != nil {
				return nil, err
			}
			// With a Kerberos keytab or ticket cache the password is asked
			// for only if a scheme needs it.
			resolve := func(ctx context.Context) (string, error) {
				cred, err := resolver.Resolve(ctx, r)
				return cred.Password, err
			}
			if o.PasswordFunc = resolve; !transport.StoredKerberos(o) {
				if o.Password, err = resolve(ctx); err != nil {
					return nil, err
				}
			}
		}
		// The swap holds the reply for seconds: the header wait must allow it.
		o.ResponseHeaderTimeout = max(p.Timeouts.Response, p.Timeouts.Swap)
		o.Guard = guard
		o.Name = t.Name
		return newClient(t.URL, o)
	}
}

// CredentialRequest is the credential request for one server: the
// profile's user on the server's host, plus the --password-* flags.
func CredentialRequest(p *config.Profile, s config.Server, flags credentials.Request) (credentials.Request, error) {
	host, err := credentials.HostOf(s.URL)
	if err != nil {
		return credentials.Request{}, err
	}
	flags.User, flags.Host = p.Username, host
	return flags, nil
}

// TransportOptions maps a profile to the HTTP client options for its servers.
func TransportOptions(p *config.Profile, password string) transport.Options {
	return transport.Options{
		Auth: p.Auth, User: p.Username, Password: password,
		CAFile: p.CAFile, InsecureSkipVerify: p.InsecureSkipVerify, AllowInsecureHTTP: p.AllowInsecureHTTP,
		Kerberos:       transport.KerberosOptions{Keytab: p.KerberosKeytab, Config: p.KerberosConfig},
		ConnectTimeout: p.Timeouts.Connect, ResponseHeaderTimeout: p.Timeouts.Response,
		// No byte moved for timeouts.response ends a request (the swap reply
		// waits timeouts.swap: the swapper marks its phase).
		ProgressTimeout: p.Timeouts.Response,
	}
}

// KeychainHosts lists the keychain hosts of the profile's servers, in
// order: keychain entries are per user and server host.
func KeychainHosts(p *config.Profile) ([]string, error) {
	var hosts []string
	seen := map[string]bool{}
	for _, s := range p.Servers {
		h, err := credentials.HostOf(s.URL)
		if err != nil {
			return nil, err
		}
		if !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	return hosts, nil
}

// CheckLogin reads s's status page with the password (none: the keytab or
// ticket cache) and changes nothing: login stores only a password that
// passes here.
func CheckLogin(ctx context.Context, p *config.Profile, s config.Server, password string, newClient NewClientFunc) error {
	o := TransportOptions(p, password)
	// A password is checked as the password, not through a keytab or
	// ticket cache that is also at hand.
	o.Kerberos.SPN, o.Kerberos.Off = s.SPN, password != ""
	c, err := newClient(s.URL, o)
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, p.Timeouts.Status)
	defer cancel()
	return transport.Login(ctx, c, cmp.Or(s.StatusURL, s.URL))
}

// AnonymousClients gives each server a client without the deploy
// credentials: for health checks of application pages (health[].auth
// false), which must never be sent the deploy user's password.
func AnonymousClients(p config.Profile, newClient NewClientFunc) ClientFunc {
	return func(t rollout.Target) (*http.Client, error) {
		o := TransportOptions(&p, "")
		o.Auth, o.User, o.Name, o.Kerberos.Off = transport.AuthAuto, "", t.Name, true
		return newClient(t.URL, o)
	}
}

// TraceClients wraps next so every client it builds prints one line per
// request on the wire to w (server, method, link, status, bytes, time, auth
// leg; never a credential).
func TraceClients(next NewClientFunc, w io.Writer) NewClientFunc {
	return func(serverURL string, o transport.Options) (*http.Client, error) {
		o.Log = func(r transport.RequestLog) { fmt.Fprintf(w, "request %s\n", r) }
		return next(serverURL, o)
	}
}
