package main

import (
	"cmp"
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
keychain (stored by 'wcdeploy login') or prompt. It never shows a password and
contacts no server. It exits with 3 when some server has no password source.`,
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
		row := AuthStatusServer{Name: s.Name, URL: s.URL, User: p.Username}
		req, err := deploy.CredentialRequest(p, s, o.req)
		if err == nil {
			row.Host = req.Host
			var src credentials.Source
			src, err = r.Which(ctx, req)
			row.Source = string(src)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			row.Error = err.Error()
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

func printAuthStatus(a *app, doc AuthStatus) error {
	if a.jsonOut {
		return output.JSON(a.out(), doc)
	}
	t := output.Table{Header: []string{"SERVER", "USER", "HOST", "PASSWORD FROM"}}
	for _, row := range doc.Servers {
		t.Add(row.Name, row.User, row.Host, cmp.Or(row.Source, "none"))
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
