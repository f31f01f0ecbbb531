package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// Helpers shared by the commands that need credentials (login, logout,
// auth status, deploy).

// newResolver builds the credential resolver for a profile.
func newResolver(a *app, p *config.Profile, kr credentials.Keyring) *credentials.Resolver {
	return deploy.NewResolver(p, a.io, a.getenv, kr)
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
	config.AddCommandFlags("auth status", cmd.Flags(), config.SelectFlags, config.KeychainFlags)
	credentials.AddFlags(cmd.Flags(), &o.req)
	return cmd
}

// AuthStatusServer says where one server's password would come from.
type AuthStatusServer = deploy.AuthStatusServer

func runAuthStatus(ctx context.Context, a *app, o *authStatusOptions, cmd *cobra.Command) error {
	p, _, err := credentialProfile(a, cmd)
	if err != nil {
		return err
	}
	doc, err := deploy.CheckAuthStatus(ctx, newResolver(a, p, a.keyring), p, o.req)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if err := printAuthStatus(a, doc); err != nil {
		return err
	}
	if err != nil {
		// Every row already says what is missing.
		return reportedError(err)
	}
	return nil
}

func printAuthStatus(a *app, doc deploy.AuthStatus) error {
	if a.jsonOut {
		return output.JSON(a.out(), doc)
	}
	t := doc.Table()
	t.Width = a.io.TableWidth()
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
