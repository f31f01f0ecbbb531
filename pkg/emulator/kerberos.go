package emulator

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// AuthKerberos enables Windows authentication with Kerberos only (the
// Negotiate provider of a site where NTLM is blocked): tokens are checked
// with the service keytab, Config.Keytab or KRB5_KTNAME.
const AuthKerberos = "kerberos"

// EnvKeytab is the MIT variable naming a service's keytab.
const EnvKeytab = "KRB5_KTNAME"

// ctxCredentials is the context key under which gokrb5 leaves the
// authenticated client's credentials.
const ctxCredentials = "github.com/jcmturner/gokrb5/v8/ctxCredentials"

func (s *Server) kerberosEnabled() bool { return s.cfg.Auth == AuthKerberos }

// loadKeytab reads the service keytab for AuthKerberos.
func loadKeytab(cfg *Config) (*keytab.Keytab, error) {
	p := cfg.Keytab
	if p == "" {
		p = strings.TrimPrefix(os.Getenv(EnvKeytab), "FILE:")
	}
	if p == "" {
		return nil, fmt.Errorf("emulator: auth kerberos needs the service keytab (HTTP/<host>): set %s or Config.Keytab", EnvKeytab)
	}
	kt, err := keytab.Load(p)
	if err != nil {
		return nil, fmt.Errorf("emulator: cannot read the keytab %s: %w", p, err)
	}
	return kt, nil
}

// kerberosLeg checks a Negotiate token (SPNEGO, or a raw Kerberos AP-REQ)
// with the keytab: each request carries its own, as IIS accepts them.
func (s *Server) kerberosLeg(data string) (string, string, authOutcome) {
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil || s.keytab == nil {
		return "", "", authFailed
	}
	var st spnego.SPNEGOToken
	if err := st.Unmarshal(b); err != nil {
		var k5 spnego.KRB5Token
		if k5.Unmarshal(b) != nil {
			return "", "", authFailed
		}
		st.Init = true
		st.NegTokenInit = spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{k5.OID}, MechTokenBytes: b}
	}
	svc := spnego.SPNEGOService(s.keytab, service.DecodePAC(false))
	ok, ctx, _ := svc.AcceptSecContext(&st)
	if !ok || ctx == nil {
		return "", "", authFailed
	}
	id, _ := ctx.Value(ctxCredentials).(*credentials.Credentials)
	if id == nil {
		return "", "", authFailed
	}
	domain := s.cfg.Domain
	if domain == "" {
		domain = id.Domain()
	}
	return domain + `\` + id.UserName(), "Negotiate", authOK
}

// proxyUser is the user an authenticating reverse proxy names in
// Config.ProxyUserHeader, or "".
func (s *Server) proxyUser(r *http.Request) string {
	if s.cfg.ProxyUserHeader == "" {
		return ""
	}
	return strings.TrimSpace(r.Header.Get(s.cfg.ProxyUserHeader))
}
