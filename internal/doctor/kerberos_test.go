package doctor

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/authlab"
	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/internal/transport/kerberos"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

// The kerberos check against a real KDC and a Kerberos-only Apache: the
// profile's keytab and krb5.conf, no environment, no password.
func TestKerberosCheckAgainstLab(t *testing.T) {
	l := authlab.Start(t, emulator.Config{SwapDelay: -1})
	t.Setenv("KRB5CCNAME", "FILE:/nonexistent")
	t.Setenv("KRB5_CLIENT_KTNAME", "")
	t.Setenv("KRB5_CONFIG", "")
	url := l.URL(authlab.ModeKerberos)
	for _, tc := range []struct {
		name, auth, spn string
		want            Status
		code            exitcode.Code
		in, next        string
	}{
		{name: "auto", want: OK, in: "ticket for HTTP/localhost: ok"},
		{name: "auth kerberos", auth: "kerberos", want: OK, in: "from keytab"},
		{name: "wrong spn", spn: "HTTP/nowhere.example", want: Fail, code: exitcode.Auth, in: "HTTP/nowhere.example", next: "set spn: on this server"},
		{name: "auth ntlm: no row", auth: "ntlm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, upd, st, err := config.DeriveURLs(config.FlavorModule, url)
			if err != nil {
				t.Fatal(err)
			}
			p := config.Profile{Name: "lab", Username: l.Env["AUTHLAB_USER"], Auth: tc.auth,
				KerberosKeytab: l.Env["AUTHLAB_USER_KEYTAB"], KerberosConfig: l.Env["AUTHLAB_KRB5_CONFIG"],
				Servers: []config.Server{{Name: "web1", URL: url, SPN: tc.spn, Flavor: config.FlavorModule, UploadURL: up, UpdateURL: upd, StatusURL: st}}}
			client := func(anonymous bool) ClientFunc {
				return func(tg rollout.Target) (*http.Client, error) {
					o := deploy.TransportOptions(&p, "")
					o.Kerberos.SPN = p.ServerSPN(tg.Name)
					if anonymous {
						o.Auth, o.User, o.Kerberos.Off = transport.AuthAuto, "", true
					}
					return transport.New(tg.URL, o)
				}
			}
			rep := Run(context.Background(), Options{Profile: p, Client: client(false), Anonymous: client(true), Parallel: 1})
			var got *Result
			for i, c := range rep.Servers[0].Checks {
				if c.Check == "kerberos" {
					got = &rep.Servers[0].Checks[i]
				}
			}
			if tc.want == "" {
				if got != nil {
					t.Fatalf("a kerberos row for auth: %s: %+v", tc.auth, got)
				}
				return
			}
			if got == nil || got.Status != tc.want || got.Code != tc.code || !strings.Contains(got.Message, tc.in) || !strings.Contains(got.Message, l.Env["AUTHLAB_USER"]+"@") || !strings.Contains(got.Next, tc.next) {
				t.Fatalf("kerberos check %+v\nreport %+v", got, rep.Servers[0].Checks)
			}
			if strings.Contains(got.Message+got.Next, l.Password()) {
				t.Fatal("the password in the report")
			}
		})
	}
}

// judgeIdentity without a ticket: a fail that stops a deploy, or a warning
// when the login passed anyway.
func TestJudgeIdentityLoggedIn(t *testing.T) {
	id := kerberos.Identity{Source: kerberos.SourceKeytab, Principal: "deploy@CORP.EXAMPLE", Keytab: "/etc/deploy.keytab",
		SPN: "HTTP/web1.corp.example", SPNError: "the KDC knows no service principal HTTP/web1.corp.example", SPNErrorKind: kerberos.KindSPN}
	if r := judgeIdentity(id, false, false); r.Status != Fail || r.Code != exitcode.Auth || !strings.Contains(r.Next, "from the host of the server URL") {
		t.Errorf("not logged in: %+v", r)
	}
	if r := judgeIdentity(id, false, true); r.Status != Warn || r.Code != 0 {
		t.Errorf("logged in: %+v", r)
	}
}

// A password-only identity asks the KDC for nothing, so the check proves
// nothing: it is skipped, whether or not the login passed (by another
// scheme, perhaps), never "ok".
func TestJudgeIdentityPasswordOnly(t *testing.T) {
	id := kerberos.Identity{Source: kerberos.SourcePassword, Principal: "deploy@CORP.EXAMPLE", SPN: "HTTP/web1.corp.example"}
	for _, loggedIn := range []bool{false, true} {
		if r := judgeIdentity(id, false, loggedIn); r.Status != Skip || !strings.Contains(r.Message, "no ticket was checked") {
			t.Errorf("logged in %v: %+v", loggedIn, r)
		}
	}
}
