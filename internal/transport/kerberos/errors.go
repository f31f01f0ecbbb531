package kerberos

import (
	"fmt"
	"strings"
)

// Kind is what went wrong in a Kerberos login.
type Kind string

// The kinds an *Error reports.
const (
	KindPassword     Kind = "password"      // the KDC refused the password (or key)
	KindClientName   Kind = "client"        // the KDC does not know the user
	KindSPN          Kind = "spn"           // the KDC does not know the service principal
	KindSkew         Kind = "clock-skew"    // clocks more than 5 minutes apart
	KindRealm        Kind = "realm"         // wrong realm, or no KDC known for it
	KindExpired      Kind = "expired"       // the ticket (cache) expired
	KindUnreachable  Kind = "kdc-down"      // no KDC answered
	KindRevoked      Kind = "revoked"       // the account is locked or disabled
	KindPasswordOld  Kind = "password-aged" // the password expired
	KindConfig       Kind = "config"        // krb5.conf, keytab or user name problem
	KindUnclassified Kind = "other"
)

// Error is a failed Kerberos step, with the fix. It carries no secret.
type Error struct {
	Kind      Kind
	Principal string // the client principal
	SPN       string // the service principal asked for
	Detail    string // gokrb5's text, or ours
}

func (e *Error) Error() string {
	who := e.Principal
	if who == "" {
		who = "the user"
	}
	switch e.Kind {
	case KindPassword:
		return fmt.Sprintf("the KDC refused the password (or keytab key) of %s: check the password; with a keytab, make it again (ktpass/ktutil) after a password change", who)
	case KindClientName:
		return fmt.Sprintf("the KDC does not know %s: check the user name and its realm (user@REALM)", who)
	case KindSPN:
		return fmt.Sprintf("the KDC knows no service principal %s: register it for the site's account (setspn -S %s DOMAIN\\account), or set spn: on the server in wcdeploy.yaml to the name registered (a load-balanced name needs its own)", e.SPN, e.SPN)
	case KindSkew:
		return fmt.Sprintf("Kerberos refused the login of %s because the clocks differ by more than 5 minutes (KRB_AP_ERR_SKEW): synchronise this machine's clock (NTP) with the domain", who)
	case KindRealm:
		return fmt.Sprintf("no KDC for the realm of %s (%s): check the realm (user@REALM, upper case) and the [realms] section of krb5.conf (KRB5_CONFIG or kerberos.config)", who, e.Detail)
	case KindExpired:
		return fmt.Sprintf("the Kerberos ticket of %s has expired (%s): run kinit %s again, or set kerberos.keytab", who, e.Detail, who)
	case KindUnreachable:
		return fmt.Sprintf("no KDC answered for %s (%s): check the kdc entries in krb5.conf (KRB5_CONFIG or kerberos.config), DNS and the firewall (port 88)", who, e.Detail)
	case KindRevoked:
		return fmt.Sprintf("the KDC says the account %s is locked or disabled: ask the domain administrators", who)
	case KindPasswordOld:
		return fmt.Sprintf("the password of %s has expired: change it, then log in again", who)
	case KindConfig:
		return "Kerberos: " + e.Detail
	}
	return fmt.Sprintf("the Kerberos login of %s for %s failed: %s", who, e.SPN, e.Detail)
}

// Refused says whether the error is a refused password or key: a try that
// counts towards the account's lockout.
func (e *Error) Refused() bool { return e.Kind == KindPassword }

// classify maps gokrb5's errors (text only: its error type keeps no code)
// to an *Error.
func (c *Client) classify(err error, spn string) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*Error); ok {
		return err
	}
	s := err.Error()
	e := &Error{Principal: c.principal, SPN: spn, Detail: shorten(s)}
	switch {
	case strings.Contains(s, "KDC_ERR_PREAUTH_FAILED"), strings.Contains(s, "Decrypting_Error"),
		strings.Contains(s, "KRB_AP_ERR_BAD_INTEGRITY"):
		e.Kind = KindPassword
	case strings.Contains(s, "KDC_ERR_C_PRINCIPAL_UNKNOWN"):
		e.Kind = KindClientName
	case strings.Contains(s, "KDC_ERR_S_PRINCIPAL_UNKNOWN"):
		e.Kind = KindSPN
	case strings.Contains(s, "KRB_AP_ERR_SKEW"):
		e.Kind = KindSkew
	case strings.Contains(s, "KRB_AP_ERR_TKT_EXPIRED"), strings.Contains(s, "TGT expired"):
		e.Kind = KindExpired
	case strings.Contains(s, "KDC_ERR_CLIENT_REVOKED"):
		e.Kind = KindRevoked
	case strings.Contains(s, "KDC_ERR_KEY_EXPIRED"):
		e.Kind = KindPasswordOld
	case strings.Contains(s, "KDC_ERR_WRONG_REALM"), strings.Contains(s, "no KDCs defined"),
		strings.Contains(s, "no KDC SRV records"):
		e.Kind = KindRealm
	case strings.Contains(s, "Networking_Error"):
		e.Kind = KindUnreachable
	default:
		e.Kind = KindUnclassified
	}
	if c.source == SourceCCache && (e.Kind == KindExpired || strings.Contains(s, "has no password or keytab")) {
		e.Kind = KindExpired
	}
	return e
}

// shorten keeps the last, most specific part of gokrb5's chained message.
func shorten(s string) string {
	if i := strings.LastIndex(s, " < "); i >= 0 {
		s = s[i+3:]
	}
	return strings.TrimSpace(s)
}
