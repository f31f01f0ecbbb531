package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/internal/transport/kerberos"
)

// kerberosCheck says which Kerberos identity a deploy would use (keytab or
// ticket cache principal, the cache's expiry) and asks the KDC for a
// ticket for the server's SPN. It talks to the KDC only, never to the
// server, and shows no secret. It runs after a failed login too: a ticket
// that cannot be had is often why the login failed.
type kerberosCheck struct{}

func (kerberosCheck) Name() string { return "kerberos" }

func (kerberosCheck) runsAfter(failed string) bool { return failed == (loginCheck{}).Name() }

// applies: the profile uses Kerberos on this server (auth: kerberos, or
// auto with a keytab or ticket cache at hand or the server offering
// Negotiate); auth basic and ntlm never do.
func (kerberosCheck) applies(s *server) bool {
	switch mode := strings.ToLower(strings.TrimSpace(s.o.Profile.Auth)); mode {
	case transport.AuthBasic, transport.AuthNTLM:
		return false
	case transport.AuthKerberos:
		return true
	}
	return transport.StoredKerberos(krbOptions(s)) || offersNegotiate(s.rep.AuthOffered)
}

func (kerberosCheck) Run(_ context.Context, s *server) Result {
	o := krbOptions(s)
	return judgeIdentity(transport.KerberosIdentity(s.target.URL, o), o.Kerberos.SPN != "", s.client != nil)
}

// krbOptions are the client options a deploy uses for the server, without
// the password.
func krbOptions(s *server) transport.Options {
	o := deploy.TransportOptions(&s.o.Profile, "")
	o.Kerberos.SPN = s.o.Profile.ServerSPN(s.target.Name)
	return o
}

// judgeIdentity turns what Describe found into a result. A ticket that
// cannot be had fails the check, or only warns when the login passed
// anyway (another scheme, or a password, logged in).
func judgeIdentity(id kerberos.Identity, spnSet, loggedIn bool) Result {
	bad := func(next string) Result {
		r := fail(exitcode.Auth, errors.New(id.String()), next)
		if loggedIn {
			r.Status, r.Code = Warn, 0
		}
		return r
	}
	switch {
	case id.SPNOK:
		return ok(id.String())
	case id.Source == "" && id.SPNError != "":
		return bad("")
	case id.Source == "":
		return bad("run kinit user@REALM (a FILE: ticket cache, KRB5CCNAME), or set kerberos.keytab (KRB5_CLIENT_KTNAME)")
	case id.Source == kerberos.SourcePassword:
		// No ticket was asked for: nothing here proves Kerberos works (the
		// login above may have used NTLM or Basic).
		return skip(id.String() + "; no ticket was checked: one would need the password (the login check shows which scheme the server took)")
	case id.SPNErrorKind == kerberos.KindSPN:
		return bad(spnHint(id.SPN, spnSet))
	}
	return bad("")
}

// spnHint says where the service principal came from and how to set the
// registered one.
func spnHint(spn string, spnSet bool) string {
	from := "the host of the server URL"
	if spnSet {
		from = "spn: in wcdeploy.yaml"
	}
	return fmt.Sprintf("the service principal asked for is %s (from %s): set spn: on this server in wcdeploy.yaml to the name registered for the site's account (setspn -Q %s on a domain machine shows who has it; a load-balanced name needs its own, see docs/authentication.md)", spn, from, spn)
}

func offersNegotiate(schemes []string) bool {
	for _, sc := range schemes {
		if strings.EqualFold(sc, "negotiate") {
			return true
		}
	}
	return false
}
