package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/internal/transport/kerberos"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

type loginOptions struct {
	req      credentials.Request
	noVerify bool
}

func newLoginCmd(a *app) *cobra.Command {
	o := &loginOptions{}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Store the password for the profile's servers in the OS keychain",
		Long: `login checks the password against the first server's status page, then stores
it in the OS keychain (Windows Credential Manager, macOS Keychain or the Secret
Service) for the profile's user on every server host, so later deploys need no
password. The password is typed at a prompt without echo, or given with
--password-stdin or --password-file; nothing is stored if the check fails.

When the profile uses Kerberos (auth: kerberos, or auto with a keytab or ticket
cache at hand), login first shows the Kerberos identity a deploy would use (the
keytab or ticket cache, its principal and the cache's expiry) and whether the
KDC gives a ticket for the first server's service principal. With a keytab or
ticket cache and no password given (no terminal, no --password-*), there is
nothing to store: login checks the Kerberos login against the first server
(unless --no-verify) and stores no password. It never shows a password or key.`,
		Example: `  wcdeploy login
  wcdeploy login --profile prod
  printf '%s' "$PW" | wcdeploy login --password-stdin
  wcdeploy login --url https://web1.example.com/App/ --user 'CORP\deploy' --no-verify`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLogin(cmd.Context(), a, o, cmd)
		},
	}
	config.AddCommandFlags("login", cmd.Flags(), config.SelectFlags, config.ConnectFlags)
	credentials.AddFlags(cmd.Flags(), &o.req)
	cmd.Flags().BoolVar(&o.noVerify, "no-verify", false, "store the password without checking it against a server")
	return cmd
}

func runLogin(ctx context.Context, a *app, o *loginOptions, cmd *cobra.Command) error {
	p, hosts, err := credentialProfile(a, cmd)
	if err != nil {
		return err
	}
	first := p.Servers[0]
	id := deploy.KerberosIdentity(p, first)
	if id != nil {
		a.logf("Kerberos for %s: %s", first.Name, id)
	}
	if !o.req.PasswordStdin && o.req.PasswordFile == "" && !a.io.Interactive() {
		if id != nil && id.Source != "" && id.Source != kerberos.SourcePassword {
			return kerberosLogin(ctx, a, o, p, id)
		}
		return exitcode.Errorf(exitcode.Usage, "no terminal to type the password on: pipe it with --password-stdin or pass --password-file")
	}
	req, err := deploy.CredentialRequest(p, first, o.req)
	if err != nil {
		return err
	}
	// Only the password given for this login: not the environment, not
	// what the keychain already holds.
	ask := &credentials.Resolver{Streams: a.io}
	cred, err := ask.Resolve(ctx, req)
	if err != nil {
		return err
	}

	verified := ""
	if !o.noVerify {
		warnInsecure(a, p)
		if err := deploy.CheckLogin(ctx, p, first, cred.Password, a.newClient); err != nil {
			return fmt.Errorf("%s: the password was not stored: %w", first.Name, err)
		}
		verified = first.Name
		a.logf("Logged in to %s as %s.", first.Name, p.Username)
	}

	stored, err := deploy.StorePassword(ctx, newResolver(a, p, a.keyring), p, hosts, cred.Password, verified, a.logf)
	if err != nil {
		return err
	}
	if a.jsonOut {
		return output.JSON(a.out(), deploy.LoginResult{Profile: p.Name, User: p.Username, Verified: verified, Stored: stored, Kerberos: id})
	}
	return nil
}

// kerberosLogin is login with a keytab or ticket cache at hand and no
// password given: deploys need no password, so none is stored. It checks
// that the KDC gives a ticket for the first server and, unless
// --no-verify, that the server lets the Kerberos identity in.
func kerberosLogin(ctx context.Context, a *app, o *loginOptions, p *config.Profile, id *kerberos.Identity) error {
	first := p.Servers[0]
	if id.SPNError != "" {
		return reportedError(exitcode.New(exitcode.Auth, fmt.Errorf("%s: %s", first.Name, id.SPNError)))
	}
	verified := ""
	if !o.noVerify {
		warnInsecure(a, p)
		if err := deploy.CheckLogin(ctx, p, first, "", a.newClient); err != nil {
			return fmt.Errorf("%s: the Kerberos login of %s failed: %w", first.Name, id.Principal, err)
		}
		verified = first.Name
		a.logf("Logged in to %s as %s with Kerberos (%s).", first.Name, id.Principal, id.Source)
	}
	a.logf("No password stored: with the %s, deploys need none.", id.Source)
	if a.jsonOut {
		return output.JSON(a.out(), deploy.LoginResult{Profile: p.Name, User: p.Username, Verified: verified, Stored: []string{}, Kerberos: id})
	}
	return nil
}

func newLogoutCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Delete the stored password for the profile's servers from the OS keychain",
		Long: `logout deletes what 'wcdeploy login' stored: the password of the profile's user
for every server host. Hosts with nothing stored are listed, not an error.`,
		Example: `  wcdeploy logout
  wcdeploy logout --profile prod --server web2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLogout(cmd.Context(), a, cmd)
		},
	}
	config.AddCommandFlags("logout", cmd.Flags(), config.SelectFlags, config.KeychainFlags)
	return cmd
}

func runLogout(ctx context.Context, a *app, cmd *cobra.Command) error {
	p, hosts, err := credentialProfile(a, cmd)
	if err != nil {
		return err
	}
	res, err := deploy.Logout(ctx, newResolver(a, p, a.keyring), p, hosts, a.logf)
	if err != nil {
		return err
	}
	if a.jsonOut {
		return output.JSON(a.out(), res)
	}
	return nil
}
