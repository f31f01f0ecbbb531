package main

import (
	"context"
	"errors"
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
	addConfigFlags("login", cmd.Flags(), selectFlags, connectFlags)
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
	id := kerberosIdentity(p, first)
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

	r := newResolver(a, p, a.keyring)
	var stored []string
	for _, h := range hosts {
		if err := r.Store(ctx, credentials.Request{User: p.Username, Host: h}, cred.Password); err != nil {
			err = storeFailed(err, verified)
			if len(stored) > 0 {
				return fmt.Errorf("stored for %v, but not for %s: %w", stored, h, err)
			}
			return err
		}
		stored = append(stored, h)
		a.logf("Stored the password of %s for %s in the OS keychain.", p.Username, h)
	}
	if a.jsonOut {
		return output.JSON(a.out(), LoginResult{p.Name, p.Username, verified, stored, id})
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
		return output.JSON(a.out(), LoginResult{p.Name, p.Username, verified, []string{}, id})
	}
	return nil
}

// storeFailed words a keychain failure for login: the advice is how later
// deploys get the password without a keychain, not another way to log in.
func storeFailed(err error, verified string) error {
	var ke *credentials.KeychainError
	if !errors.As(err, &ke) {
		return err
	}
	checked := ""
	if verified != "" {
		checked = fmt.Sprintf(" (%s accepted it)", verified)
	}
	return exitcode.New(exitcode.Of(err), fmt.Errorf("the password%s could not be saved in the OS keychain for %s: %w; unlock the keychain (on Linux: start a Secret Service, see docs/authentication.md), or skip login and give each deploy the password with %s, --password-file or --password-stdin",
		checked, ke.Account, ke.Err, credentials.EnvPassword))
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
	addConfigFlags("logout", cmd.Flags(), selectFlags, keychainFlags)
	return cmd
}

func runLogout(ctx context.Context, a *app, cmd *cobra.Command) error {
	p, hosts, err := credentialProfile(a, cmd)
	if err != nil {
		return err
	}
	r := newResolver(a, p, a.keyring)
	removed, none := []string{}, []string{}
	for _, h := range hosts {
		err := r.Forget(ctx, credentials.Request{User: p.Username, Host: h})
		switch {
		case err == nil:
			removed = append(removed, h)
			a.logf("Deleted the stored password of %s for %s.", p.Username, h)
		case errors.Is(err, credentials.ErrNotStored):
			none = append(none, h)
			a.logf("No password of %s was stored for %s.", p.Username, h)
		default:
			return err
		}
	}
	if a.jsonOut {
		return output.JSON(a.out(), LogoutResult{p.Name, p.Username, removed, none})
	}
	return nil
}

// LoginResult is the document 'wcdeploy login --json' prints.
type LoginResult struct {
	Profile  string   `json:"profile"`
	User     string   `json:"user"`
	Verified string   `json:"verified_on,omitempty"`
	Stored   []string `json:"stored"`
	// Kerberos is the identity a Kerberos login would use, when the
	// profile uses Kerberos.
	Kerberos *kerberos.Identity `json:"kerberos,omitempty"`
}

// LogoutResult is the document 'wcdeploy logout --json' prints.
type LogoutResult struct {
	Profile   string   `json:"profile"`
	User      string   `json:"user"`
	Removed   []string `json:"removed"`
	NotStored []string `json:"not_stored"`
}
