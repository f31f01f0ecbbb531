package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/internal/transport/kerberos"
	"github.com/wcdeploy/wcdeploy/internal/ui"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// The logic of the credential commands (login, logout, auth status).

// NewResolver builds the credential resolver for a profile. The profile's
// keychain timeout is stretched at a terminal, where an unlock dialog may
// need a person.
func NewResolver(p *config.Profile, s *ui.Streams, getenv func(string) string, kr credentials.Keyring) *credentials.Resolver {
	r := &credentials.Resolver{Streams: s, Getenv: getenv, Keyring: kr, Timeout: p.Timeouts.Keychain}
	if s.Interactive() && r.Timeout < credentials.InteractiveTimeout {
		r.Timeout = credentials.InteractiveTimeout
	}
	return r
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

// CheckAuthStatus builds the auth status document for every server of p.
// The error is the first server's failure (every row already says what is
// missing), or the context's error, which ends the check.
func CheckAuthStatus(ctx context.Context, r *credentials.Resolver, p *config.Profile, flags credentials.Request) (AuthStatus, error) {
	doc := AuthStatus{Profile: p.Name, Servers: make([]AuthStatusServer, 0, len(p.Servers))}
	var firstErr error
	for _, s := range p.Servers {
		row, err := authStatusRow(ctx, r, p, s, flags)
		if err != nil {
			if ctx.Err() != nil {
				return doc, ctx.Err()
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		doc.Servers = append(doc.Servers, row)
	}
	doc.OK = firstErr == nil
	return doc, firstErr
}

// authStatusRow says where one server's password would come from and
// which Kerberos identity a login would use. With a keytab or ticket cache
// at hand a missing password is no error (a deploy asks for it only when
// the server wants another scheme); a ticket for the server that cannot
// be had is one when nothing else can log in.
func authStatusRow(ctx context.Context, r *credentials.Resolver, p *config.Profile, s config.Server, flags credentials.Request) (AuthStatusServer, error) {
	row := AuthStatusServer{Name: s.Name, URL: s.URL, User: p.Username}
	row.Kerberos = KerberosIdentity(p, s)
	req, err := CredentialRequest(p, s, flags)
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

// Table is the auth status as the table 'wcdeploy auth status' prints; the
// KERBEROS column is there only when some server uses Kerberos.
func (doc AuthStatus) Table() output.Table {
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
	return t
}

// KerberosIdentity is the Kerberos identity a login to s would use, or nil
// when the profile does not use Kerberos there: auth basic or ntlm, or
// auto with no keytab or ticket cache at hand (this contacts no server,
// so it cannot ask whether s offers Negotiate). It contacts only the KDC.
func KerberosIdentity(p *config.Profile, s config.Server) *kerberos.Identity {
	o := TransportOptions(p, "")
	o.Kerberos.SPN = s.SPN
	if !strings.EqualFold(strings.TrimSpace(p.Auth), transport.AuthKerberos) && !transport.StoredKerberos(o) {
		return nil
	}
	id := transport.KerberosIdentity(s.URL, o)
	return &id
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

// StorePassword stores password for p's user on every host, saying each
// with logf. verified names the server that accepted the password, if
// one did. It returns the hosts stored.
func StorePassword(ctx context.Context, r *credentials.Resolver, p *config.Profile, hosts []string, password, verified string, logf func(string, ...any)) ([]string, error) {
	var stored []string
	for _, h := range hosts {
		if err := r.Store(ctx, credentials.Request{User: p.Username, Host: h}, password); err != nil {
			err = storeFailed(err, verified)
			if len(stored) > 0 {
				return stored, fmt.Errorf("stored for %v, but not for %s: %w", stored, h, err)
			}
			return stored, err
		}
		stored = append(stored, h)
		logf("Stored the password of %s for %s in the OS keychain.", p.Username, h)
	}
	return stored, nil
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
	msg := fmt.Sprintf("the password%s could not be saved in the OS keychain for %s: %s; unlock the keychain (on Linux: start a Secret Service, see docs/authentication.md), or skip login and give each deploy the password with %s, --password-file or --password-stdin",
		checked, ke.Account, ke.Cause(), credentials.EnvPassword)
	return exitcode.New(exitcode.Of(err), &storeError{msg: msg, err: err})
}

// storeError is storeFailed's message; errors.As still finds the
// KeychainError below it.
type storeError struct {
	msg string
	err error
}

func (e *storeError) Error() string { return e.msg }
func (e *storeError) Unwrap() error { return e.err }

// Logout deletes the password of p's user on every host, saying each with
// logf; hosts with nothing stored are listed, not an error.
func Logout(ctx context.Context, r *credentials.Resolver, p *config.Profile, hosts []string, logf func(string, ...any)) (LogoutResult, error) {
	res := LogoutResult{Profile: p.Name, User: p.Username, Removed: []string{}, NotStored: []string{}}
	for _, h := range hosts {
		err := r.Forget(ctx, credentials.Request{User: p.Username, Host: h})
		switch {
		case err == nil:
			res.Removed = append(res.Removed, h)
			logf("Deleted the stored password of %s for %s.", p.Username, h)
		case errors.Is(err, credentials.ErrNotStored):
			res.NotStored = append(res.NotStored, h)
			logf("No password of %s was stored for %s.", p.Username, h)
		default:
			return res, err
		}
	}
	return res, nil
}
