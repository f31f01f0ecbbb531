package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/internal/transport/kerberos"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// Helpers shared by the commands that need credentials (login, logout,
// auth status, deploy).

// newResolver builds the credential resolver for a profile. The profile's
// keychain timeout is stretched at a terminal, where an unlock dialog may
// need a person.
func newResolver(a *app, p *config.Profile, kr credentials.Keyring) *credentials.Resolver {
	r := &credentials.Resolver{Streams: a.io, Getenv: a.getenv, Keyring: kr, Timeout: p.Timeouts.Keychain}
	if a.io.Interactive() && r.Timeout < credentials.InteractiveTimeout {
		r.Timeout = credentials.InteractiveTimeout
	}
	return r
}

// warnInsecure says once that certificate checks are off.
func warnInsecure(a *app, p *config.Profile) {
	if p.InsecureSkipVerify {
		fmt.Fprintln(a.io.Err, "wcdeploy: warning: TLS certificates are not verified (insecure_skip_verify); use ca_file for a private CA instead")
	}
}

// credentialProfile loads the profile for a credentials command (the same
// loading as every other command) and lists its keychain hosts: entries are
// per user and server host, so a username and servers are required.
func credentialProfile(a *app, cmd *cobra.Command) (*config.Profile, []string, error) {
	ld, err := a.loadProfile(cmd, false)
	if err != nil {
		return nil, nil, err
	}
	if ld.Profile.Username == "" {
		return nil, nil, exitcode.Errorf(exitcode.Usage, "profile %q has no username: set username in wcdeploy.yaml, --user or WCDEPLOY_USER (DOMAIN\\user or user@domain for Windows accounts)", ld.Profile.Name)
	}
	hosts, err := deploy.KeychainHosts(&ld.Profile)
	if err != nil {
		return nil, nil, err
	}
	return &ld.Profile, hosts, nil
}

type authStatusOptions struct {
	req credentials.Request
}

func newAuthCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Show where the password for each server comes from",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newAuthStatusCmd(a))
	return cmd
}

func newAuthStatusCmd(a *app) *cobra.Command {
	o := &authStatusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show, per server, the user and which password source a deploy would use",
		Long: `auth status shows, for every server of the profile, the user name, the host and
which source would supply the password: stdin, file, env (WCDEPLOY_PASSWORD),
keychain (stored by 'wcdeploy login') or prompt. When the profile uses
Kerberos (auth: kerberos, or auto with a keytab or ticket cache at hand) it also
shows the Kerberos identity a login would use: the keytab or ticket cache, its
principal, the cache's expiry, and whether the KDC gives a ticket for the
server's service principal (HTTP/<host>, or spn:). It never shows a password or
a key, and contacts no web server (only the KDC). It exits with 3 when some
server has no password source and no keytab or ticket cache, or when Kerberos is
the only way in and no ticket for the server can be had.`,
		Example: `  wcdeploy auth status
  wcdeploy auth status --profile prod --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAuthStatus(cmd.Context(), a, o, cmd)
		},
	}
	addConfigFlags("auth status", cmd.Flags(), selectFlags, keychainFlags)
	credentials.AddFlags(cmd.Flags(), &o.req)
	return cmd
}

// AuthStatus is the document 'wcdeploy auth status --json' prints.
type AuthStatus struct {
	Profile string             `json:"profile"`
	OK      bool               `json:"ok"`
	Servers []AuthStatusServer `json:"servers"`
}

// AuthStatusServer says where one server's password would come from.
type AuthStatusServer struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	User   string `json:"user"`
	Host   string `json:"host"`
	Source string `json:"source,omitempty"`
	Error  string `json:"error,omitempty"`
	// Kerberos is the identity a Kerberos login would use, when the
	// profile uses Kerberos (auth: kerberos, or auto with a keytab or
	// ticket cache at hand).
	Kerberos *kerberos.Identity `json:"kerberos,omitempty"`
}

func runAuthStatus(ctx context.Context, a *app, o *authStatusOptions, cmd *cobra.Command) error {
	p, _, err := credentialProfile(a, cmd)
	if err != nil {
		return err
	}
	r := newResolver(a, p, a.keyring)
	doc := AuthStatus{Profile: p.Name, Servers: make([]AuthStatusServer, 0, len(p.Servers))}
	var firstErr error
	for _, s := range p.Servers {
		row, err := authStatusRow(ctx, r, p, s, o.req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		doc.Servers = append(doc.Servers, row)
	}
	doc.OK = firstErr == nil
	if err := printAuthStatus(a, doc); err != nil {
		return err
	}
	if firstErr != nil {
		// Every row already says what is missing.
		return reportedError(firstErr)
	}
	return nil
}

// authStatusRow says where one server's password would come from and
// which Kerberos identity a login would use. With a keytab or ticket cache
// at hand a missing password is no error (a deploy asks for it only when
// the server wants another scheme); a ticket for the server that cannot
// be had is one when nothing else can log in.
func authStatusRow(ctx context.Context, r *credentials.Resolver, p *config.Profile, s config.Server, flags credentials.Request) (AuthStatusServer, error) {
	row := AuthStatusServer{Name: s.Name, URL: s.URL, User: p.Username}
	row.Kerberos = kerberosIdentity(p, s)
	req, err := deploy.CredentialRequest(p, s, flags)
	if err == nil {
		row.Host = req.Host
		var src credentials.Source
		src, err = r.Which(ctx, req)
		row.Source = string(src)
	}
	stored := row.Kerberos != nil && row.Kerberos.Source != "" && row.Kerberos.Source != kerberos.SourcePassword
	if err != nil && stored && ctx.Err() == nil {
		err = nil
	}
	if err != nil {
		row.Error = err.Error()
		return row, err
	}
	if id := row.Kerberos; id != nil && id.SPNError != "" && (row.Source == "" || strings.EqualFold(p.Auth, transport.AuthKerberos)) {
		return row, exitcode.New(exitcode.Auth, errors.New(id.SPNError))
	}
	return row, nil
}

// kerberosIdentity is the Kerberos identity a login to s would use, or nil
// when the profile does not use Kerberos there: auth basic or ntlm, or
// auto with no keytab or ticket cache at hand (this contacts no server,
// so it cannot ask whether s offers Negotiate). It contacts only the KDC.
func kerberosIdentity(p *config.Profile, s config.Server) *kerberos.Identity {
	o := deploy.TransportOptions(p, "")
	o.Kerberos.SPN = s.SPN
	if !strings.EqualFold(strings.TrimSpace(p.Auth), transport.AuthKerberos) && !transport.StoredKerberos(o) {
		return nil
	}
	id := transport.KerberosIdentity(s.URL, o)
	return &id
}

func printAuthStatus(a *app, doc AuthStatus) error {
	if a.jsonOut {
		return output.JSON(a.out(), doc)
	}
	krb := slices.ContainsFunc(doc.Servers, func(r AuthStatusServer) bool { return r.Kerberos != nil })
	t := output.Table{Header: []string{"SERVER", "USER", "HOST", "PASSWORD FROM"}}
	if krb {
		t.Header = append(t.Header, "KERBEROS")
	}
	for _, row := range doc.Servers {
		cells := []string{row.Name, row.User, row.Host, cmp.Or(row.Source, "none")}
		if krb {
			cells = append(cells, "not used")
			if row.Kerberos != nil {
				cells[4] = row.Kerberos.String()
			}
		}
		t.Add(cells...)
	}
	if err := t.Write(a.out()); err != nil {
		return err
	}
	for _, row := range doc.Servers {
		if row.Error != "" {
			fmt.Fprintf(a.io.Err, "wcdeploy: %s: %s\n", row.Name, row.Error)
		}
	}
	return nil
}
