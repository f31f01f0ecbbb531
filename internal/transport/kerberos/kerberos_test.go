package kerberos

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/krberror"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeConf(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "krb5.conf")
	conf := "[libdefaults]\n default_realm = CORP.EXAMPLE\n[realms]\n CORP.EXAMPLE = {\n  kdc = 127.0.0.1:1\n }\n"
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeKeytab(t *testing.T, principal, realm string) string {
	t.Helper()
	kt := keytab.New()
	if err := kt.AddEntry(principal, realm, "not-a-real-secret", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "user.keytab")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSPN(t *testing.T) {
	for host, want := range map[string]string{
		"web1.corp.example:443": "HTTP/web1.corp.example", "WEB1.Corp.Example.": "HTTP/web1.corp.example",
		"[::1]:8080": "HTTP/::1", "10.0.0.7": "HTTP/10.0.0.7",
	} {
		if got := SPN(host, ""); got != want {
			t.Errorf("SPN(%q) = %q, want %q", host, got, want)
		}
	}
	if got := SPN("10.0.0.7", "HTTP/web1.corp.example"); got != "HTTP/web1.corp.example" {
		t.Errorf("spn: not honoured: %q", got)
	}
}

func TestCredentialOrder(t *testing.T) {
	conf := writeConf(t)
	kt := writeKeytab(t, "deploy", "CORP.EXAMPLE")
	noCache := filepath.Join(t.TempDir(), "none")
	base := map[string]string{EnvConfig: conf, EnvCCache: "FILE:" + noCache}

	// The keytab from KRB5_CLIENT_KTNAME, its principal taken when no user is set.
	m := map[string]string{EnvClientKeytab: "FILE:" + kt}
	for k, v := range base {
		m[k] = v
	}
	c, err := New(Settings{Getenv: env(m)}, nil)
	if err != nil || c.Source() != SourceKeytab || c.Principal() != "deploy@CORP.EXAMPLE" {
		t.Fatalf("keytab: %v %+v", err, c)
	}
	if !HasStoredCredentials(Settings{User: `CORP\deploy`, Getenv: env(m)}) {
		t.Error("DOMAIN\\user did not find the keytab entry in the default realm")
	}
	// Another user's keytab named in the profile is an error, not a silent password login.
	if _, err := New(Settings{User: "ops@CORP.EXAMPLE", Keytab: kt, Getenv: env(base)}, nil); err == nil ||
		!strings.Contains(err.Error(), "no key for ops@CORP.EXAMPLE") {
		t.Errorf("wrong keytab: %v", err)
	}
	// Nothing stored and no password: ErrNoCredentials.
	if _, err := New(Settings{User: "deploy", Getenv: env(base)}, nil); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("no credentials: %v", err)
	}
	if HasStoredCredentials(Settings{User: "deploy", Getenv: env(base)}) {
		t.Error("stored credentials found where there are none")
	}
	// The password last, realm from user@REALM.
	asked := 0
	c, err = New(Settings{User: "deploy@other.example", Getenv: env(base)}, func() (string, error) { asked++; return "pw", nil })
	if err != nil || c.Source() != SourcePassword || c.Principal() != "deploy@OTHER.EXAMPLE" || asked != 1 {
		t.Errorf("password: %v %+v asked %d", err, c, asked)
	}
	if !CanUsePassword(Settings{User: "deploy", Getenv: env(base)}) || CanUsePassword(Settings{User: "deploy@NOWHERE.EXAMPLE", Getenv: env(base)}) {
		t.Error("CanUsePassword: want true for the configured realm only")
	}
	// A kerberos.config that does not exist is reported.
	if _, err := New(Settings{User: "deploy", Config: filepath.Join(t.TempDir(), "missing.conf")}, nil); err == nil ||
		!strings.Contains(err.Error(), "kerberos.config") {
		t.Errorf("missing kerberos.config: %v", err)
	}
}

func TestDescribeKeytab(t *testing.T) {
	kt := writeKeytab(t, "deploy", "CORP.EXAMPLE")
	id := Describe(Settings{User: "deploy", Keytab: kt, Getenv: env(map[string]string{EnvConfig: writeConf(t), EnvCCache: "FILE:/nonexistent"})}, "")
	if id.Source != SourceKeytab || id.Principal != "deploy@CORP.EXAMPLE" || id.Keytab != kt ||
		len(id.KeytabPrincipals) != 1 || id.KeytabPrincipals[0] != "deploy@CORP.EXAMPLE" {
		t.Errorf("%+v", id)
	}
	if s := id.String(); !strings.Contains(s, "deploy@CORP.EXAMPLE from keytab") || strings.Contains(s, "not-a-real-secret") {
		t.Errorf("String: %q", s)
	}
}

// The classification reads gokrb5's own error texts, made here by gokrb5
// from the KDC's error codes.
func TestClassify(t *testing.T) {
	c := &Client{principal: "deploy@CORP.EXAMPLE", source: SourcePassword}
	sname := types.NewPrincipalName(1, "HTTP/web1.corp.example")
	for code, want := range map[int32]Kind{
		errorcode.KRB_AP_ERR_SKEW:             KindSkew,
		errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN: KindSPN,
		errorcode.KDC_ERR_PREAUTH_FAILED:      KindPassword,
		errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN: KindClientName,
		errorcode.KDC_ERR_WRONG_REALM:         KindRealm,
		errorcode.KDC_ERR_CLIENT_REVOKED:      KindRevoked,
		errorcode.KDC_ERR_KEY_EXPIRED:         KindPasswordOld,
		errorcode.KRB_AP_ERR_TKT_EXPIRED:      KindExpired,
	} {
		kerr := messages.NewKRBError(sname, "CORP.EXAMPLE", code, "")
		err := krberror.Errorf(kerr, krberror.KDCError, "TGS Exchange Error: kerberos error response from KDC")
		got := c.classify(err, "HTTP/web1.corp.example")
		var e *Error
		if !errors.As(got, &e) || e.Kind != want {
			t.Errorf("code %d: got %v, want %s", code, got, want)
		}
	}
	spnErr := c.classify(krberror.Errorf(messages.NewKRBError(sname, "CORP.EXAMPLE", errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN, ""),
		krberror.KDCError, "TGS"), "HTTP/web1.corp.example")
	if !strings.Contains(spnErr.Error(), "HTTP/web1.corp.example") || !strings.Contains(spnErr.Error(), "spn:") {
		t.Errorf("unknown SPN message: %v", spnErr)
	}
	if skew := c.classify(krberror.Errorf(messages.NewKRBError(sname, "CORP.EXAMPLE", errorcode.KRB_AP_ERR_SKEW, ""),
		krberror.KRBMsgError, "AP"), "HTTP/web1"); !strings.Contains(skew.Error(), "5 minutes") || !strings.Contains(skew.Error(), "NTP") {
		t.Errorf("skew message: %v", skew)
	}
}
